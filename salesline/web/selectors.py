"""Reads that only pages need, scoped by actor like every selector."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from salesline.core.actors import Actor
from salesline.pipeline.models import Opportunity


@dataclass(frozen=True)
class StageSummary:
    pipeline: str
    stage: str
    count: int
    value: Decimal


def my_open_opportunities_by_stage(*, actor: Actor) -> list[StageSummary]:
    """The actor's open opportunities, counted and summed per stage, in pipeline order."""
    rows = (
        Opportunity.objects.filter(
            organisation=actor.organisation,
            owner=actor.user,
            deleted_at=None,
            status=Opportunity.Status.OPEN,
        )
        .values("pipeline__name", "pipeline__position", "stage__name", "stage__position")
        .annotate(count=Count("id"), value=Sum("value"))
        .order_by("pipeline__position", "pipeline__name", "stage__position")
    )
    return [
        StageSummary(r["pipeline__name"], r["stage__name"], r["count"], r["value"] or Decimal("0"))
        for r in rows
    ]
