"""The weekly report's deliveries: one row per organisation, week and recipient."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class WeeklyReportDelivery(models.Model):
    """The weekly PDF report mailed to one manager for one ISO week.

    The row is created (unique per organisation, week and address) in the transaction that
    claims it, so however many workers run, each manager is mailed once a week. Its
    `message_id` is fixed at creation: a send interrupted after the SMTP server accepted the
    mail is re-sent with the same Message-ID (docs/metrics.md, "Dashboard and report").
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    week = models.CharField(max_length=8)  # ISO week, "2026-W49"
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    email = models.EmailField(max_length=254)
    message_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Set while a worker sends it; an old claim is a worker that died: the send is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "week", "email"], name="weekly_report_once"
            )
        ]
        indexes = [models.Index(fields=["status", "claimed_at"], name="weekly_report_due")]

    def __str__(self) -> str:
        return f"{self.week} → {self.email} ({self.status})"
