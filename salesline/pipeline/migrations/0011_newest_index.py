"""PostgreSQL: the opportunities' index by id for the word-search count, as records migration
0012 adds for the other kinds."""

from django.db import migrations

from salesline.records import search_index


def install(apps, schema_editor):
    search_index.install_newest(schema_editor, "pipeline_opportunity")


def uninstall(apps, schema_editor):
    search_index.uninstall_newest(schema_editor, "pipeline_opportunity")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0010_apostrophes_join_words"),
        ("records", "0012_newest_index"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
