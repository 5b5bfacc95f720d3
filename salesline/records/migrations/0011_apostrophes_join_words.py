"""A word with an apostrophe is also a word joined ("O'Connor": "o", "connor" and "oconnor"), and
a name's last word is joined ("oconnor"): `search_text` and `search_last_word` are computed again
(only rows whose value changes are written). See records.matching.search_words."""

from django.db import migrations

from salesline.records import search_index

KINDS = ("company", "person", "lead")


def fill(apps, schema_editor):
    for model_name in KINDS:
        model = apps.get_model("records", model_name)
        search_index.backfill(schema_editor, model)
        search_index.backfill_last_word(schema_editor, model, collate=False)
        # The rows it changed left GIN entries pending: searches would scan them until
        # autovacuum merged them.
        search_index.merge_pending(schema_editor.connection, model._meta.db_table)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0010_cheaper_word_index"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
