"""Ratings keep whether their opportunity is open (and not deleted), with an index for the
open-only lists and the quality report.

Both steps are plain SQL so they stay fast at a million ratings: Django's AddField of a NOT
NULL column would copy the whole table on SQLite, where ALTER TABLE ADD COLUMN with a constant
default does not; the fill is one UPDATE of the open ones (about 1 %), the rest keep the
default false."""

from django.db import migrations, models


def add_column(apps, schema_editor):
    table = schema_editor.quote_name("analytics_qualityrating")
    if schema_editor.connection.vendor == "postgresql":
        # A constant default is a catalogue change on PostgreSQL (no rewrite); dropped after,
        # as Django leaves no database default behind.
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN is_open boolean DEFAULT false NOT NULL"
        )
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN is_open DROP DEFAULT")
    else:
        # SQLite cannot drop a default; it is never used, every insert names the column.
        schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN is_open bool DEFAULT 0 NOT NULL")
    schema_editor.execute(
        "UPDATE analytics_qualityrating SET is_open = %s WHERE opportunity_id IN ("
        " SELECT id FROM pipeline_opportunity WHERE status = 'open' AND deleted_at IS NULL)",
        [True],
    )


def analyse(apps, schema_editor):
    # Updating 1 % of the rows starts no autovacuum analyse: without it the planner would not
    # know how rare is_open is until much later.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE analytics_qualityrating")


def drop_column(apps, schema_editor):
    table = schema_editor.quote_name("analytics_qualityrating")
    schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN is_open")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_forecast_snapshot_backfilled_at"),
        ("pipeline", "0012_sources_campaigns_and_imported_history"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="qualityrating",
                    name="is_open",
                    field=models.BooleanField(default=False),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
        migrations.AddIndex(
            model_name="qualityrating",
            index=models.Index(
                fields=["is_open", "organisation", "score", "opportunity", "band"],
                name="quality_open_by_score",
            ),
        ),
        migrations.RunPython(analyse, migrations.RunPython.noop),
    ]
