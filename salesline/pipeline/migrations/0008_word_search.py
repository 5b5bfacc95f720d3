"""Word search over opportunities: as records migration 0006 does for the other kinds."""

from django.db import migrations, models

from salesline.records import search_index

TABLE = "pipeline_opportunity"


def fill_and_index(apps, schema_editor):
    search_index.backfill(schema_editor, apps.get_model("pipeline", "Opportunity"))
    search_index.install(schema_editor, TABLE)


def drop_index(apps, schema_editor):
    search_index.uninstall(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0007_permanent_flow_history"),
        ("records", "0007_word_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_and_index, drop_index),
    ]
