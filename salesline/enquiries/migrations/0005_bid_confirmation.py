from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_role_special_projects_coordinator"),
        ("enquiries", "0004_application_members_at_decision"),
    ]

    operations = [
        migrations.AddField(
            model_name="bid",
            name="confirmed_members",
            field=models.ManyToManyField(blank=True, related_name="+", to="accounts.organisation"),
        ),
    ]
