"""The analytics app's own rows. It never writes the pipeline's."""

from django.db import models
from django.utils import timezone


class ForecastSnapshot(models.Model):
    """A Monte-Carlo forecast of one pipeline as taken in one ISO week: kept so that what was
    forecast can later be compared with what closed (forecast accuracy). One per organisation,
    pipeline and week, however many workers try to take it."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    pipeline_key = models.CharField(max_length=60)
    taken_at = models.DateTimeField(default=timezone.now)
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    # Per month and quarter: period, weighted, p10/p50/p90 of won value, count_p10/50/90.
    periods = models.JSONField(default=list)
    quarters = models.JSONField(default=list)
    trials = models.PositiveIntegerField()
    seed = models.BigIntegerField()

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "pipeline_key", "iso_year", "iso_week"],
                name="forecast_snapshot_one_per_week",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_key} {self.iso_year}-W{self.iso_week:02d}"

    @property
    def week(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"


from .cost_models import CostEntry, CostSettings  # noqa: E402, F401
from .report_models import WeeklyReportDelivery  # noqa: E402, F401
