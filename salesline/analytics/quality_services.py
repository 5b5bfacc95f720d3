"""Keeping opportunities' quality ratings current: the analytics app's only writes, to its own
QualityRating rows (never to the pipeline's).

An opportunity is rated again when something about it changes (event handlers, see
quality_wiring), every day for what time alone changes (activity ageing, a close date passing),
and all at once after the definition's `quality:` section changes (`quality_rerate`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.pipeline.definition import pipeline_of
from salesline.pipeline.models import ChecklistTick, Opportunity
from salesline.pipeline.selectors import stage_facts
from salesline.process.selectors import definition_for
from salesline.records.models import Note

from .models import QualityRating, QualityRerating
from .quality import QualityDefinition, QualityFacts, Rating, rate, stages_passed
from .quality_definition import quality_of

CHUNK = 2_000


def _latest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


def _ratings(
    organisation: Organisation, opportunities: Sequence[Opportunity], now: datetime
) -> Iterator[tuple[Opportunity, Rating]]:
    """Each opportunity's rating, from three queries per chunk (ticks, latest notes)."""
    spec = definition_for(organisation)
    quality = quality_of(spec)
    ids = [opportunity.pk for opportunity in opportunities]
    ticked: dict[int, set[str]] = defaultdict(set)
    for opportunity_id, item in ChecklistTick.objects.filter(opportunity_id__in=ids).values_list(
        "opportunity_id", "item"
    ):
        ticked[opportunity_id].add(item)
    last_note = dict(
        Note.objects.filter(opportunity_id__in=ids, deleted_at=None)
        .values("opportunity_id")
        .annotate(latest=Max("created_at"))
        .values_list("opportunity_id", "latest")
    )
    for opportunity in opportunities:
        yield (
            opportunity,
            rate_one(
                quality,
                spec,
                opportunity,
                ticked=frozenset(ticked.get(opportunity.pk, ())),
                last_note=last_note.get(opportunity.pk),
                now=now,
            ),
        )


def rate_one(
    quality: QualityDefinition,
    spec: Any,
    opportunity: Opportunity,
    *,
    ticked: frozenset[str],
    last_note: datetime | None,
    now: datetime,
) -> Rating:
    try:
        stages = pipeline_of(spec, opportunity.pipeline.key).stages
    except KeyError:  # a pipeline the definition no longer has: judged without its gates
        stages = ()
    current = opportunity.stage.key
    facts = QualityFacts(
        stages=stages,
        stage=current,
        move_facts=stage_facts(opportunity, spec, ticked, "", stages_passed(stages, current)),
        has_contact=opportunity.primary_contact_id is not None,
        last_activity=_latest(last_note, opportunity.stage_entered_at, opportunity.updated_at),
        now=now,
    )
    return rate(quality, facts)


def _save(organisation: Organisation, rated: Iterable[tuple[Opportunity, Rating]], now) -> int:
    rows = [
        QualityRating(
            organisation=organisation,
            opportunity=opportunity,
            score=rating.score,
            band=rating.band,
            reasons=[reason.as_dict() for reason in rating.reasons],
            rated_at=now,
            # Only live opportunities are rated (_live), so open here is open and not deleted.
            is_open=opportunity.status == Opportunity.Status.OPEN,
        )
        for opportunity, rating in rated
    ]
    QualityRating.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["opportunity"],
        update_fields=["score", "band", "reasons", "rated_at", "is_open"],
    )
    return len(rows)


def _live(organisation: Organisation):
    return Opportunity.objects.filter(organisation=organisation, deleted_at=None).select_related(
        "pipeline", "stage"
    )


def quality_rate(*, organisation: Organisation, opportunity_ids: Iterable[int]) -> int:
    """Rate these opportunities of the organisation now (the live ones; another organisation's
    ids are ignored); how many were rated."""
    now = timezone.now()
    opportunities = list(_live(organisation).filter(pk__in=list(opportunity_ids)))
    if not opportunities:
        return 0
    with transaction.atomic():
        return _save(organisation, _ratings(organisation, opportunities, now), now)


def _live_open() -> Exists:
    """Whether the rating's opportunity is open and not deleted, as the database has it now."""
    return Exists(
        Opportunity.objects.filter(
            pk=OuterRef("opportunity_id"), status=Opportunity.Status.OPEN, deleted_at=None
        )
    )


def quality_open_sync(*, organisation: Organisation, opportunity_ids: Iterable[int]) -> int:
    """Set these ratings' open copy from their opportunities as they are now (after a deletion,
    which rates nothing); how many ratings were looked at. Read at the UPDATE, not from the
    event, so handlers running out of order (deleted, then restored) still end right."""
    return QualityRating.objects.filter(
        organisation=organisation, opportunity_id__in=list(opportunity_ids)
    ).update(is_open=_live_open())


def _close_stale(organisation: Organisation) -> int:
    """Ratings still marked open whose opportunity is closed or deleted (a handler lost or
    overtaken): cleared after the daily re-rating, walking only the open ratings' index."""
    return (
        QualityRating.objects.filter(organisation=organisation, is_open=True)
        .exclude(_live_open())
        .update(is_open=False)
    )


def _rate_all(organisation: Organisation, now: datetime) -> int:
    rated = 0
    last_id = 0
    while True:
        chunk = list(_live(organisation).filter(pk__gt=last_id).order_by("pk")[:CHUNK])
        if not chunk:
            _close_stale(organisation)
            return rated
        with transaction.atomic():
            rated += _save(organisation, _ratings(organisation, chunk, now), now)
        last_id = chunk[-1].pk


def quality_rerate(*, actor: Actor) -> int:
    """Rate every live opportunity of the actor's organisation again (after the quality
    section changed, or from `salesline quality rerate`); audited; how many were rated."""
    now = timezone.now()
    rated = _rate_all(actor.organisation, now)
    with transaction.atomic():
        QualityRerating.objects.update_or_create(
            organisation=actor.organisation, defaults={"rerated_on": now.date()}
        )
        audit.record(
            actor=actor,
            action="quality_rerate",
            obj=actor.organisation,
            changes={"rated": [None, rated]},
        )
    return rated


def quality_rerate_daily(*, organisation: Organisation, today: date) -> int | None:
    """The day's re-rating of one organisation, done by the one worker that claims the day
    (a conditional UPDATE, safe with several workers); None when another had it already."""
    QualityRerating.objects.get_or_create(organisation=organisation)
    claimed = (
        QualityRerating.objects.filter(organisation=organisation)
        .exclude(rerated_on=today)
        .update(rerated_on=today)
    )
    if not claimed:
        return None
    return _rate_all(organisation, timezone.now())
