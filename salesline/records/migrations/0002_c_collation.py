"""On PostgreSQL, the internal matching columns use the "C" collation.

They hold case-folded keys compared byte by byte. Under a linguistic collation (en_US…) neither
`LIKE 'abc%'` nor `ORDER BY` could use a plain B-tree index; under "C" a prefix is one range scan
of the same index that serves name ordering — the query SQLite runs too. SQLite's default BINARY
collation already behaves this way, so nothing is done there.
"""

from django.db import migrations

COLUMNS = {
    "records_company": ("search_name", "match_name", "email_domain"),
    "records_person": ("search_name", "email"),
    "records_lead": ("search_name", "email"),
    "pipeline_opportunity": ("search_name",),
}


def byte_order_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            schema_editor.execute(
                f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar(255) COLLATE "C"'
                if column != "email"
                else f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar(254) COLLATE "C"'
            )


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("pipeline", "0002_initial"),
    ]

    operations = [migrations.RunPython(byte_order_collation, migrations.RunPython.noop)]
