"""Apostrophes join words of opportunities too: as records migration 0011 does for the other
kinds."""

from django.db import migrations

from salesline.records import search_index


def fill(apps, schema_editor):
    model = apps.get_model("pipeline", "Opportunity")
    search_index.backfill(schema_editor, model)
    search_index.backfill_last_word(schema_editor, model, collate=False)
    search_index.merge_pending(schema_editor.connection, model._meta.db_table)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0009_search_last_word"),
        ("records", "0011_apostrophes_join_words"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
