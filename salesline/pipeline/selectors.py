"""Reads of pipelines, the board and opportunity history, scoped by actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.process.selectors import VersionKey

from .models import Opportunity, Pipeline, Stage, StageChange


def stage_for(
    *, actor: Actor, version: VersionKey | None, pipeline_key: str, stage_key: str
) -> Stage:
    """A stage of the organisation by keys, its pipeline with it. The caller has checked the keys
    against the definition version in force, which materialised these rows; they are read once
    per version and process (a move then costs no query for them)."""
    if version is not None:
        stage = _stages_of_version(version).get((pipeline_key, stage_key))
        if stage is not None:
            return stage
    return Stage.objects.select_related("pipeline").get(
        pipeline__organisation=actor.organisation, pipeline__key=pipeline_key, key=stage_key
    )


@lru_cache(maxsize=256)
def _stages_of_version(version: VersionKey) -> dict[tuple[str, str], Stage]:
    # Keyed like the parsed definition (id, organisation, load time): a new version, a new read.
    _, organisation_id, _ = version
    return {
        (stage.pipeline.key, stage.key): stage
        for stage in Stage.objects.filter(pipeline__organisation_id=organisation_id).select_related(
            "pipeline"
        )
    }


def pipeline_list(*, actor: Actor) -> QuerySet[Pipeline]:
    return Pipeline.objects.filter(organisation=actor.organisation).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    )


def pipeline_get_for(*, actor: Actor, pipeline_id: int) -> Pipeline:
    pipeline = pipeline_list(actor=actor).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound(f"No pipeline with id {pipeline_id}.")
    return pipeline


def opportunity_history(*, actor: Actor, opportunity_id: int) -> QuerySet[StageChange]:
    if not Opportunity.objects.filter(
        organisation=actor.organisation, pk=opportunity_id, deleted_at=None
    ).exists():
        raise NotFound(f"No opportunity with id {opportunity_id}.")
    return StageChange.objects.filter(
        organisation=actor.organisation, opportunity_id=opportunity_id
    ).order_by("at", "id")


# ---------------------------------------------------------------- the board (kanban)

# Won and lost columns show what closed lately: a pipeline's history grows without end, and
# the board is for the work in hand.
RECENTLY_CLOSED = timedelta(days=30)


@dataclass(frozen=True)
class BoardFilters:
    """What narrows a board: one owner and an expected-close-date range (all optional)."""

    owner_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None


@dataclass(frozen=True)
class ColumnTotal:
    count: int = 0
    # Amounts in different currencies are never added together: one sum per currency.
    values: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class CardCursor:
    """Where a column's page ended: the last card's sort value and id. Open columns sort by
    expected close date (None once the undated cards, which come last, are reached); won and
    lost columns by the time they closed."""

    value: date | datetime | None
    id: int


BOARD_CARD_FIELDS = (
    "id",
    "name",
    "value",
    "currency",
    "expected_close_date",
    "owner__full_name",
    "owner__email",
    "company__name",
)


def closed_since() -> datetime:
    return timezone.now() - RECENTLY_CLOSED


def _board_rows(actor: Actor, filters: BoardFilters) -> QuerySet[Opportunity]:
    rows = Opportunity.objects.filter(organisation=actor.organisation, deleted_at=None)
    if filters.owner_id is not None:
        rows = rows.filter(owner_id=filters.owner_id)
    if filters.close_from is not None:
        rows = rows.filter(expected_close_date__gte=filters.close_from)
    if filters.close_to is not None:
        rows = rows.filter(expected_close_date__lte=filters.close_to)
    return rows


def board_totals(
    *, actor: Actor, pipeline: Pipeline, filters: BoardFilters
) -> dict[int, ColumnTotal]:
    """Stage id -> count and value of every matching opportunity (closed ones: those closed
    lately), however many cards the columns show: two grouped queries, each a range scan of
    an index per stage."""
    stages = list(pipeline.stages.all())
    open_ids = [s.pk for s in stages if s.kind == Stage.Kind.OPEN]
    closed_ids = [s.pk for s in stages if s.kind != Stage.Kind.OPEN]
    rows = _board_rows(actor, filters)
    grouped = [
        rows.filter(stage_id__in=open_ids),
        rows.filter(stage_id__in=closed_ids, closed_at__gte=closed_since()),
    ]
    counts: dict[int, int] = {}
    values: dict[int, list[tuple[str, Decimal]]] = {}
    for queryset in grouped:
        for row in (
            queryset.values("stage_id", "currency")
            .annotate(count=Count("id"), total=Sum("value"))
            .order_by()
        ):
            counts[row["stage_id"]] = counts.get(row["stage_id"], 0) + row["count"]
            if row["total"] is not None:
                values.setdefault(row["stage_id"], []).append((row["currency"], row["total"]))
    return {
        stage.pk: ColumnTotal(
            count=counts.get(stage.pk, 0),
            values=tuple(sorted(values.get(stage.pk, ()), key=lambda cv: (-cv[1], cv[0]))),
        )
        for stage in stages
    }


def _after(rows: QuerySet, column: str, op: str, cursor: CardCursor) -> QuerySet:
    # The non-strict bound lets the index start at the cursor; the OR only breaks ties.
    return rows.filter(
        Q(**{f"{column}__{op}e": cursor.value})
        & (Q(**{f"{column}__{op}": cursor.value}) | Q(**{f"id__{op}": cursor.id}))
    )


def board_cards(
    *,
    actor: Actor,
    stage: Stage,
    filters: BoardFilters,
    after: CardCursor | None = None,
    limit: int = 20,
) -> tuple[list[dict[str, Any]], CardCursor | None]:
    """One page of a column's cards as dicts, and the cursor of the next page (or None).

    Open stages show the nearest expected close first, undated cards last; won and lost the
    latest closed first. Each is a range scan of an index (opportunity_board_open,
    opportunity_board_closed), so a page costs the same in a column of ten or a million.
    """
    rows = _board_rows(actor, filters).filter(stage=stage)
    if stage.kind != Stage.Kind.OPEN:
        rows = rows.filter(closed_at__gte=closed_since())
        if after is not None:
            rows = _after(rows, "closed_at", "lt", after)
        cards = list(
            rows.order_by("-closed_at", "-id").values(*BOARD_CARD_FIELDS, "closed_at")[: limit + 1]
        )
        if len(cards) <= limit:
            return cards, None
        cards = cards[:limit]
        return cards, CardCursor(cards[-1]["closed_at"], cards[-1]["id"])
    cards = []
    if after is None or after.value is not None:
        dated = rows.filter(expected_close_date__isnull=False)
        if after is not None:
            dated = _after(dated, "expected_close_date", "gt", after)
        cards = list(
            dated.order_by("expected_close_date", "id").values(*BOARD_CARD_FIELDS)[: limit + 1]
        )
    if len(cards) <= limit:
        undated = rows.filter(expected_close_date__isnull=True)
        if after is not None and after.value is None:
            undated = undated.filter(id__gt=after.id)
        cards += list(undated.order_by("id").values(*BOARD_CARD_FIELDS)[: limit + 1 - len(cards)])
    if len(cards) <= limit:
        return cards, None
    cards = cards[:limit]
    return cards, CardCursor(cards[-1]["expected_close_date"], cards[-1]["id"])


def board_card(*, actor: Actor, opportunity_id: int) -> dict[str, Any]:
    """One card's data (after a move), or NotFound for another organisation's opportunity."""
    card = (
        Opportunity.objects.filter(
            organisation=actor.organisation, pk=opportunity_id, deleted_at=None
        )
        .values(*BOARD_CARD_FIELDS, "stage_id")
        .first()
    )
    if card is None:
        raise NotFound(f"No opportunity with id {opportunity_id}.")
    return card
