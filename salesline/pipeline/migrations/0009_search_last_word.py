"""Surnames ranked second in word search over opportunities: as records migration 0009 does
for the other kinds."""

from django.db import migrations, models

from salesline.records import search_index


def fill(apps, schema_editor):
    model = apps.get_model("pipeline", "Opportunity")
    search_index.backfill(schema_editor, model)
    search_index.backfill_last_word(schema_editor, model)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0008_word_search"),
        ("records", "0009_search_last_word"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="search_last_word",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organisation", "search_last_word", "search_name", "id"],
                name="opportunity_last_word",
            ),
        ),
    ]
