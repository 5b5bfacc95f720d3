"""PostgreSQL: an index of each organisation's live records by id, which the word-search count
walks backwards for a dense word (records.search_index.count_sql). Nothing on SQLite."""

from django.db import migrations

from salesline.records import search_index

TABLES = ("records_company", "records_person", "records_lead")


def install(apps, schema_editor):
    for table in TABLES:
        search_index.install_newest(schema_editor, table)


def uninstall(apps, schema_editor):
    for table in TABLES:
        search_index.uninstall_newest(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0011_apostrophes_join_words"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
