from django.conf import settings
from django.db import models
from django.utils import timezone

from salesline.records.models import RecordBase, alive_index


class Pipeline(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    # Raised by every write that changes this pipeline's past (a history import, a purge):
    # copies of the flow history kept elsewhere (analytics) know to read it again.
    history_revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="pipeline_unique_key")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    key = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "key"], name="stage_unique_key")]

    def __str__(self) -> str:
        return self.name


class Opportunity(RecordBase):
    class Status(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    class Sector(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    company = models.ForeignKey(
        "records.Company",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    primary_contact = models.ForeignKey(
        "records.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="EUR")
    expected_close_date = models.DateField(null=True, blank=True)
    data_volume = models.CharField(max_length=120, blank=True)
    sector = models.CharField(max_length=10, choices=Sector.choices, blank=True)
    win_probability = models.PositiveSmallIntegerField(null=True, blank=True)
    vertical = models.CharField(max_length=120, blank=True)
    # Where it came from: the converted lead's source and first-touch campaign, or set directly.
    source = models.CharField(max_length=120, blank=True)
    campaign = models.ForeignKey(
        "records.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    status_report = models.TextField(blank=True)
    use_case = models.TextField(blank=True)
    business_case = models.TextField(blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "opportunities"
        indexes = [
            alive_index("organisation", "-created_at", "-id", name="opportunity_recent"),
            alive_index("organisation", "stage", "-created_at", name="opportunity_stage"),
            alive_index("organisation", "search_name", "id", name="opportunity_search"),
            alive_index(
                "organisation",
                "search_last_word",
                "search_name",
                "id",
                name="opportunity_last_word",
            ),
            # The board. An open column's cards come in expected-close order from this index,
            # and the columns' counts and sums read nothing else (a covering index: SQLite
            # needs every column the query names in it, deleted_at included).
            alive_index(
                "organisation",
                "stage",
                "expected_close_date",
                "id",
                "owner",
                "currency",
                "value",
                "deleted_at",
                name="opportunity_board_open",
            ),
            # A won or lost column's cards, latest closed first.
            alive_index(
                "organisation", "stage", "closed_at", "id", name="opportunity_board_closed"
            ),
            # The campaign report: a period's opportunities, and its wins with their value,
            # per campaign, each from an index alone.
            alive_index(
                "organisation",
                "campaign",
                "created_at",
                "deleted_at",
                name="opportunity_campaign",
            ),
            models.Index(
                fields=[
                    "organisation",
                    "campaign",
                    "closed_at",
                    "currency",
                    "value",
                    "status",
                    "deleted_at",
                ],
                name="opportunity_campaign_won",
                condition=models.Q(status="won", deleted_at__isnull=True),
            ),
            # Home's "my open opportunities by stage": a member's few open deals among a
            # million closed ones, counted and summed from the index alone.
            models.Index(
                fields=["organisation", "owner", "stage", "value", "status", "deleted_at"],
                name="opportunity_mine_open",
                condition=models.Q(status="open", deleted_at__isnull=True),
            ),
        ]


class StageChange(models.Model):
    """One move of an opportunity: the permanent flow history the metrics read.

    Each side keeps its pipeline, stage and stage kind as they were, as text, so history
    survives a stage's removal and a later change of kind; the pipeline links are kept while
    the pipeline exists. When a purge removes the opportunity, the row stays, anonymised: the
    link becomes empty, `opportunity_ref` still groups one deal's moves, the reason is cleared.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, related_name="stage_changes"
    )
    opportunity_ref = models.PositiveBigIntegerField(default=0)
    # The pipeline moved into (kept when its pipeline is removed later, as its key).
    pipeline = models.ForeignKey(Pipeline, on_delete=models.SET_NULL, null=True, related_name="+")
    to_pipeline_key = models.CharField(max_length=60, blank=True)
    to_stage = models.CharField(max_length=60)
    to_stage_kind = models.CharField(max_length=10, blank=True)
    from_pipeline = models.ForeignKey(
        Pipeline, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_pipeline_key = models.CharField(max_length=60, blank=True)
    from_stage = models.CharField(max_length=60, blank=True)
    from_stage_kind = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    # Written by a stage-history import (history from another CRM), not by a move in Salesline.
    imported = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "at"]),
            models.Index(fields=["organisation", "pipeline", "at"]),
            models.Index(
                fields=["organisation", "opportunity_ref", "at"], name="stage_change_history"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '∅'} → {self.to_stage}"


class ChecklistTick(models.Model):
    """A ticked gate checklist item, with who ticked it and when."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="ticks")
    item = models.CharField(max_length=60)
    stage = models.CharField(max_length=60)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "item"], name="tick_unique_item")
        ]

    def __str__(self) -> str:
        return self.item
