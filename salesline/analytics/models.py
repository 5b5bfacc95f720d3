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
    # Set when the snapshot of a past week was computed later from the history as it stood
    # then (forecast_snapshot_backfill), empty when it was taken in its week: a reader of the
    # accuracy table should know which forecasts were really made at the time.
    backfilled_at = models.DateTimeField(null=True, blank=True)

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


class QualityRating(models.Model):
    """An opportunity's quality rating as last computed (analytics.quality): kept current by
    event handlers and a daily re-rating, so lists sort and filter by it with an index instead
    of rating a million opportunities per page."""

    class Band(models.TextChoices):
        GOOD = "good", "Good"
        FAIR = "fair", "Fair"
        POOR = "poor", "Poor"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.OneToOneField(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="quality_rating"
    )
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=10, choices=Band.choices)
    # A copy of "the opportunity is open and not deleted", so open-only lists and the quality
    # report read the 1 % of ratings that are open from an index instead of walking past every
    # closed deal's. Written with each rating, cleared when the opportunity is deleted
    # (quality_wiring) and checked by the daily re-rating. Lists still check the opportunity,
    # so a copy that lags the worker hides a row for a moment but never shows a closed one; the
    # report's counts trust it (quality_selectors).
    is_open = models.BooleanField(default=False)
    # [{key, kind, weight, met, met_share, text}, ...] in the definition's order.
    reasons = models.JSONField(default=list)
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # A list ordered by quality walks this index and joins each opportunity by its id.
            models.Index(fields=["organisation", "score", "opportunity"], name="quality_by_score"),
            models.Index(fields=["organisation", "band", "score"], name="quality_by_band"),
            # The same walk over open opportunities only (the web list's default, the report);
            # with the band, the report's counts per score and band read only the index.
            # is_open leads so that SQLite cannot take it for a list of every status (it would
            # sort a million rows: the index covers those lists' columns, and until ANALYZE
            # has seen it looks cheap); with (organisation, is_open, …) it did.
            models.Index(
                fields=["is_open", "organisation", "score", "opportunity", "band"],
                name="quality_open_by_score",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} ({self.band})"


class QualityRerating(models.Model):
    """When an organisation's ratings were last all computed again: the daily re-rating claims
    the day with a conditional UPDATE, so of several workers only one does it."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    rerated_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.rerated_on}"


class HistoryRead(models.Model):
    """The worker's read of an organisation's whole flow history (analytics.history_reads):
    asked for when a page needs a history too large to read inside a request, and how far it
    got, which the pages show meanwhile. One row per organisation, reused for each read."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Reading"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # The pipelines' history revisions the read was asked for: a later import asks again.
    revisions = models.JSONField(default=list)
    rows_read = models.BigIntegerField(default=0)
    fraction_done = models.FloatField(default=0.0)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched with every part read: a read that stops moving for long was lost with its worker.
    updated_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.state} {self.rows_read}"


from .cost_models import CostEntry, CostSettings  # noqa: E402, F401
from .report_models import WeeklyReportDelivery  # noqa: E402, F401
