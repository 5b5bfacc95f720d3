"""How the quality rating stays current: the `quality:` section, the handlers of the events
that change what an opportunity is rated on, the daily re-rating for what time alone changes,
the re-rating of everything when the section changes, and the list's quality column."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.core.models import DomainEvent

#: The events that can change an opportunity's rating, and whether one concerns an opportunity.
_RECORD_EVENTS = ("record_changed", "stage_entered")


def _about_opportunity(event: DomainEvent) -> bool:
    return event.object_type == "opportunity" and event.payload.get("change") != "deleted"


def _opportunity_deleted(event: DomainEvent) -> bool:
    return event.object_type == "opportunity" and event.payload.get("change") == "deleted"


def _note_on_opportunity(event: DomainEvent) -> bool:
    return event.payload.get("record") == "opportunity"


def rate_changed_opportunity(event: DomainEvent) -> None:
    from .quality_services import quality_rate

    if event.organisation is not None:  # events about an opportunity always have one
        quality_rate(organisation=event.organisation, opportunity_ids=[int(event.object_id)])


def rate_imported_history(event: DomainEvent) -> None:
    """A stage-history import rewrote these opportunities' stage, status and creation time
    without a move event each: rate them again (their rating's `is_open` copy included)."""
    from .quality_services import quality_rate

    if event.organisation is not None:
        ids = [int(pk) for pk in event.payload.get("opportunity_ids", ())]
        quality_rate(organisation=event.organisation, opportunity_ids=ids)


def unlist_deleted_opportunity(event: DomainEvent) -> None:
    """A deleted opportunity's rating stays (a restore rates it again) but no longer counts as
    open: the open-only lists and the quality report filter on that copy."""
    from .quality_services import quality_open_sync

    if event.organisation is not None:
        quality_open_sync(organisation=event.organisation, opportunity_ids=[int(event.object_id)])


def rate_noted_opportunity(event: DomainEvent) -> None:
    from .quality_services import quality_rate

    if event.organisation is not None:
        record_id = int(event.payload["record_id"])
        quality_rate(organisation=event.organisation, opportunity_ids=[record_id])


def rerate_every_day() -> None:
    """Every organisation's ratings once a day (the first worker to claim the day does it)."""
    from salesline.accounts.models import Organisation

    from .quality_services import quality_rerate_daily

    today = timezone.localdate()
    for organisation in Organisation.objects.order_by("pk"):
        quality_rerate_daily(organisation=organisation, today=today)


def _no_loss(organisation: Any, spec: Any, lines: Any) -> list:
    return []  # ratings are derived: a new quality section loses nothing


def _rerate_when_changed(organisation: Any, spec: Any) -> None:
    """Inside the load's transaction: when the quality section differs from the one in force,
    rate everything again once the new definition is committed."""
    from salesline.core.tasks import organisation_marker
    from salesline.process.selectors import definition_for

    from .quality_definition import quality_of
    from .tasks import quality_rerate_run

    if quality_of(definition_for(organisation)) == quality_of(spec):
        return
    transaction.on_commit(
        lambda: quality_rerate_run.enqueue(
            organisation.pk, **organisation_marker(quality_rerate_run, organisation)
        )
    )


def register() -> None:
    from salesline.core import events
    from salesline.core.tasks import register_periodic
    from salesline.pipeline.history_import import REWRITTEN_EVENT
    from salesline.process.definition import register_section
    from salesline.process.kinds import ListColumn, register_list_column
    from salesline.process.services import register_materialiser

    from .quality_definition import QUALITY_SECTION, SECTION_KEY

    register_section(QUALITY_SECTION)
    register_materialiser(SECTION_KEY, check=_no_loss, materialise=_rerate_when_changed)
    for kind in _RECORD_EVENTS:
        events.register(
            kind,
            rate_changed_opportunity,
            name="analytics.quality.rate",
            wants=_about_opportunity,
        )
    events.register(
        "record_changed",
        unlist_deleted_opportunity,
        name="analytics.quality.deleted",
        wants=_opportunity_deleted,
    )
    events.register(REWRITTEN_EVENT, rate_imported_history, name="analytics.quality.history")
    events.register(
        "note_added",
        rate_noted_opportunity,
        name="analytics.quality.note",
        wants=_note_on_opportunity,
    )
    register_periodic("quality-daily", rerate_every_day)
    register_list_column(
        "opportunity",
        ListColumn(
            name="quality",
            path="quality_rating__score",
            label="Quality",
            choice_filter=("quality_band", "quality_rating__band", ("good", "fair", "poor")),
            scope="quality_rating__organisation_id",
            tie="quality_rating__opportunity_id",
            copied_filter=("status", "open", "quality_rating__is_open"),
            detail_path="quality_rating__reasons",
        ),
    )
