from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0004_import_dry_run_ran_as"),
        ("process", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CustomField")],
            database_operations=[],
        ),
    ]
