# The process app takes over two models without touching their tables: the definition versions
# (from pipeline) and the custom fields (from records).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("pipeline", "0005_my_open_opportunities_index"),
        ("records", "0004_import_dry_run_ran_as"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ProcessDefinition",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("version", models.PositiveIntegerField()),
                        ("source", models.TextField()),
                        ("spec", models.JSONField()),
                        ("loaded_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("loaded_by", models.CharField(max_length=254)),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="accounts.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "pipeline_processdefinition",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("organisation", "version"),
                                name="definition_unique_version",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CustomField",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("record", models.CharField(max_length=20)),
                        ("key", models.CharField(max_length=60)),
                        ("label", models.CharField(max_length=120)),
                        (
                            "type",
                            models.CharField(
                                choices=[
                                    ("text", "Text"),
                                    ("number", "Number"),
                                    ("date", "Date"),
                                    ("choice", "Choice"),
                                    ("boolean", "Boolean"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("choices", models.JSONField(blank=True, default=list)),
                        ("help", models.CharField(blank=True, max_length=255)),
                        ("position", models.PositiveIntegerField(default=0)),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="accounts.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "records_customfield",
                        "ordering": ["record", "position", "id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("organisation", "record", "key"),
                                name="custom_field_unique_key",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
