# Costs on network enquiries: a plain id (the enquiry is in a sibling app), its reference, and
# the check widened to exactly one of lead, opportunity and enquiry.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_quality_rating_is_open"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="costentry",
            name="cost_entry_on_exactly_one_record",
        ),
        migrations.AddField(
            model_name="costentry",
            name="enquiry_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="costentry",
            name="enquiry_reference",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddIndex(
            model_name="costentry",
            index=models.Index(fields=["enquiry_id", "date"], name="cost_entry_enquiry"),
        ),
        migrations.AddConstraint(
            model_name="costentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("enquiry_id__isnull", True),
                        ("lead__isnull", True),
                        ("opportunity__isnull", False),
                    ),
                    models.Q(
                        ("enquiry_id__isnull", True),
                        ("lead__isnull", False),
                        ("opportunity__isnull", True),
                    ),
                    models.Q(
                        ("enquiry_id__isnull", False),
                        ("lead__isnull", True),
                        ("opportunity__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="cost_entry_on_exactly_one_record",
            ),
        ),
    ]
