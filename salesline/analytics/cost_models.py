"""Time and expenses spent on business development, and the organisation's rate for time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CostSettings(models.Model):
    """An organisation's hourly rate for logged time, and the currency new costs default to.

    Each time entry copies the rate in force when it is logged (it may give its own), so a new
    rate changes what is logged from then on, never what was logged before."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.hourly_rate} {self.currency}/h"


class CostEntry(models.Model):
    """Time or an expense spent on one lead, one opportunity or one network enquiry (travel, a
    stand, a dinner, a chair's duty).

    Exactly one of `lead`, `opportunity` and `enquiry_id` is set. An enquiry lives in the
    network's own books, another organisation, and in the enquiries app, which analytics may not
    import: `enquiry_id` is a plain id checked through core.measures ("visible_enquiry") when
    logged, and `enquiry_reference` keeps its reference for display. The entry itself belongs to
    the member organisation that spent the time or money. `amount` is what the entry costs in
    `currency`: an expense's as given, a time entry's minutes × `hourly_rate` ÷ 60, rounded to
    the cent when logged."""

    class Kind(models.TextChoices):
        TIME = "time", "Time"
        EXPENSE = "expense", "Expense"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    enquiry_id = models.PositiveBigIntegerField(null=True, blank=True)
    enquiry_reference = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500, blank=True)
    date = models.DateField()
    # Who spent the time or the money (a member); the entry may be logged by someone else.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "cost entries"
        indexes = [
            models.Index(fields=["organisation", "date"], name="cost_entry_date"),
            models.Index(fields=["opportunity", "date"], name="cost_entry_opportunity"),
            models.Index(fields=["lead", "date"], name="cost_entry_lead"),
            models.Index(fields=["enquiry_id", "date"], name="cost_entry_enquiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(opportunity__isnull=False, lead__isnull=True, enquiry_id__isnull=True)
                    | Q(opportunity__isnull=True, lead__isnull=False, enquiry_id__isnull=True)
                    | Q(opportunity__isnull=True, lead__isnull=True, enquiry_id__isnull=False)
                ),
                name="cost_entry_on_exactly_one_record",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="time", minutes__isnull=False, hourly_rate__isnull=False)
                    | Q(kind="expense", minutes__isnull=True)
                ),
                name="cost_entry_time_has_minutes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on {self.date}"
