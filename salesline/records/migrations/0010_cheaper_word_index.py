"""SQLite's word index made again with cheaper writes: no positions (`detail=column`), one
prefix index (3 characters), segments merged 16 at a time, and rows an import inserts indexed
by the import a chunk at a time rather than by the insert trigger (records/search_index.py).
Nothing changes on PostgreSQL."""

from django.db import migrations

from salesline.records import search_index


def rebuild(apps, schema_editor):
    for table in search_index.TABLES:
        search_index.rebuild_sqlite(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0009_search_last_word"),
        ("pipeline", "0009_search_last_word"),
    ]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
