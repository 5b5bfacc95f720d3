"""Word search ranks surnames second: each record's folded last name word (`search_last_word`),
filled for the rows already there, in the "C" collation on PostgreSQL, and a B-tree of it per
organisation (see records/selectors.py, `Search`). The words of names in scripts with spacing
marks (Devanagari vowel signs) were cut at the marks: `search_text` is computed again."""

from django.db import migrations, models

from salesline.records import search_index

KINDS = ("company", "person", "lead")


def fill(apps, schema_editor):
    for model_name in KINDS:
        model = apps.get_model("records", model_name)
        search_index.backfill(schema_editor, model)
        search_index.backfill_last_word(schema_editor, model)


def last_word_index(kind: str) -> models.Index:
    return models.Index(
        condition=models.Q(("deleted_at__isnull", True)),
        fields=["organisation", "search_last_word", "search_name", "id"],
        name=f"{kind}_last_word",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0008_import_job_file_kind_and_notes"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=kind,
                name="search_last_word",
                field=models.CharField(blank=True, default="", editable=False, max_length=255),
            )
            for kind in KINDS
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        *(migrations.AddIndex(model_name=kind, index=last_word_index(kind)) for kind in KINDS),
    ]
