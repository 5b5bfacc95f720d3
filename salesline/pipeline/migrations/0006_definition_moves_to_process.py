from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0005_my_open_opportunities_index"),
        ("process", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ProcessDefinition")],
            database_operations=[],
        ),
    ]
