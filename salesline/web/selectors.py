"""Reads that only pages need, scoped by actor like every selector."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from salesline.core.actors import Actor
from salesline.core.models import AuditEvent
from salesline.pipeline.models import Opportunity, StageChange
from salesline.records.selectors import note_list


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


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    kind: str  # note | stage | audit
    who: str
    text: str


def record_timeline(*, actor: Actor, kind: str, obj, limit: int = 100) -> list[TimelineEntry]:
    """Notes, stage changes and audit events of one record, newest first."""

    entries: list[TimelineEntry] = []
    notes, _ = note_list(actor=actor, target={kind: obj.pk}, limit=limit, offset=0)
    entries += [
        TimelineEntry(n.created_at, "note", n.author.email if n.author else "", n.body)
        for n in notes.select_related("author")
    ]
    if kind == "opportunity":
        changes = StageChange.objects.filter(
            organisation=actor.organisation, opportunity_id=obj.pk
        ).order_by("-at", "-id")[:limit]
        entries += [
            TimelineEntry(
                c.at,
                "stage",
                c.actor_label,
                f"moved from {c.from_stage or '(new)'} to {c.to_stage}",
            )
            for c in changes
        ]
    events = AuditEvent.objects.filter(
        organisation=actor.organisation,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
    ).order_by("-at", "-id")[:limit]
    entries += [
        TimelineEntry(
            e.at, "audit", e.actor_label, f"{e.action}: {', '.join(sorted(e.changes)) or '—'}"
        )
        for e in events
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
