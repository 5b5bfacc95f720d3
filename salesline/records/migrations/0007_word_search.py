"""Word search: each record's folded words (`search_text`), filled for the rows already there,
and indexed by the database's full-text machinery (see records/search_index.py)."""

from django.db import migrations, models

from salesline.records import search_index

KINDS = {"company": "records_company", "person": "records_person", "lead": "records_lead"}


def fill_and_index(apps, schema_editor):
    for model_name, table in KINDS.items():
        search_index.backfill(schema_editor, apps.get_model("records", model_name))
        search_index.install(schema_editor, table)


def drop_index(apps, schema_editor):
    for table in KINDS.values():
        search_index.uninstall(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0006_person_details"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model_name,
                name="search_text",
                field=models.TextField(blank=True, default="", editable=False),
            )
            for model_name in KINDS
        ),
        migrations.RunPython(fill_and_index, drop_index),
    ]
