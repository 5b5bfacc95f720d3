"""Reads of pipelines, process definitions and opportunity history, scoped by actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .definitions import ProcessDefinitionSpec, spec_from_dict
from .models import Opportunity, Pipeline, ProcessDefinition, Stage, StageChange

EMPTY_DEFINITION = ProcessDefinitionSpec(
    name="", description="", minimum_fields={}, custom_fields=(), pipelines=()
)


@lru_cache(maxsize=256)
def _parsed(definition_id: int, organisation_id: int, loaded_at) -> ProcessDefinitionSpec:
    # Definition rows are immutable (a new load writes a new version). The id alone is not a
    # safe key: SQLite hands a deleted or rolled-back row's id to the next insert, so the key
    # also names the organisation and the load time.
    return spec_from_dict(ProcessDefinition.objects.get(pk=definition_id).spec)


def definition_row_for(organisation) -> ProcessDefinition | None:
    return (
        ProcessDefinition.objects.filter(organisation=organisation)
        .order_by("-version")
        .only("id", "version", "organisation_id", "loaded_at")
        .first()
    )


def definition_for(organisation) -> ProcessDefinitionSpec:
    """The process definition in force for an organisation (empty before any load)."""
    row = definition_row_for(organisation)
    if row is None:
        return EMPTY_DEFINITION
    return _parsed(row.pk, row.organisation_id, row.loaded_at)


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
    """Where a column's page ended: the last card's expected close date (None once the
    undated cards are reached, which come last) and id."""

    close_date: date | None
    id: int


BOARD_CARD_FIELDS = ("id", "name", "value", "currency", "expected_close_date", "owner__email")


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
    """Stage id -> count and value of every matching opportunity: one grouped query, however
    many cards the columns show."""
    stage_ids = [stage.pk for stage in pipeline.stages.all()]
    rows = (
        _board_rows(actor, filters)
        .filter(stage_id__in=stage_ids)
        .values("stage_id", "currency")
        .annotate(count=Count("id"), total=Sum("value"))
        .order_by()
    )
    counts: dict[int, int] = {}
    values: dict[int, list[tuple[str, Decimal]]] = {}
    for row in rows:
        counts[row["stage_id"]] = counts.get(row["stage_id"], 0) + row["count"]
        if row["total"] is not None:
            values.setdefault(row["stage_id"], []).append((row["currency"], row["total"]))
    return {
        stage_id: ColumnTotal(
            count=counts.get(stage_id, 0),
            values=tuple(sorted(values.get(stage_id, ()), key=lambda cv: (-cv[1], cv[0]))),
        )
        for stage_id in stage_ids
    }


def board_cards(
    *,
    actor: Actor,
    stage: Stage,
    filters: BoardFilters,
    after: CardCursor | None = None,
    limit: int = 20,
) -> tuple[list[dict[str, Any]], CardCursor | None]:
    """One page of a column's cards as dicts, and the cursor of the next page (or None).

    Open stages show the nearest expected close first; won and lost the latest first. Cards
    without a date come last, by id. Each part is a range scan of the opportunity_board
    index, so a page costs the same in a column of ten or of ten thousand.
    """
    rows = _board_rows(actor, filters).filter(stage=stage)
    descending = stage.kind != Stage.Kind.OPEN
    cards: list[dict[str, Any]] = []
    if after is None or after.close_date is not None:
        dated = rows.filter(expected_close_date__isnull=False)
        if after is not None:
            op = "lt" if descending else "gt"
            # The non-strict bound lets the index start at the cursor; the OR breaks ties.
            dated = dated.filter(
                Q(**{f"expected_close_date__{op}e": after.close_date})
                & (
                    Q(**{f"expected_close_date__{op}": after.close_date})
                    | Q(**{f"id__{op}": after.id})
                )
            )
        sign = "-" if descending else ""
        cards = list(
            dated.order_by(f"{sign}expected_close_date", f"{sign}id").values(*BOARD_CARD_FIELDS)[
                : limit + 1
            ]
        )
    if len(cards) <= limit:
        undated = rows.filter(expected_close_date__isnull=True)
        if after is not None and after.close_date is None:
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
