"""Reads of pipelines, the board and opportunity history, scoped by actor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.process.definition import ProcessDefinitionSpec
from salesline.process.kinds import builtin_fields, list_columns
from salesline.process.selectors import VersionKey, definition_for

from .definition import pipeline_of
from .facts import fact_values, facts_named
from .fields import OPPORTUNITY
from .gates import (
    CLOSED_KINDS,
    MoveFacts,
    NamePattern,
    Requirement,
    StageSpec,
    gate_requirements,
    name_matches,
    stages_entered,
)
from .models import ChecklistTick, Opportunity, Pipeline, Stage, StageChange


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
    return (
        StageChange.objects.filter(organisation=actor.organisation, opportunity_id=opportunity_id)
        .select_related("actor")
        .order_by("at", "id")
    )


# ---------------------------------------------------------------- gates, before the move


def ticked_items(opportunity: Opportunity) -> set[str]:
    return set(ChecklistTick.objects.filter(opportunity=opportunity).values_list("item", flat=True))


def stage_facts(
    opportunity: Opportunity,
    spec: ProcessDefinitionSpec,
    ticked: frozenset[str],
    reason: str,
    entered: Sequence[StageSpec] = (),
) -> MoveFacts:
    """What a gate is evaluated on: the opportunity's fields (custom ones by key), the ticked
    checklist items, the reason given, and the registered facts (a signed agreement) that the
    gates of the stages `entered` require — asked for those stages only, so a move into a stage
    that needs none pays nothing for them."""
    fields: dict[str, Any] = {
        name: getattr(opportunity, field.attr) for name, field in OPPORTUNITY.fields.items()
    }
    fields.update(opportunity.custom_fields or {})
    named = facts_named(entered)
    fields.update(fact_values(opportunity, entered) if named else {})
    return MoveFacts(
        fields=fields,
        ticked=ticked,
        reason=reason,
        labels=spec.labels("opportunity", builtin_fields()) | {f.key: f.label for f in named},
        messages={fact.key: fact.message for fact in named},
    )


def _stage_specs(spec: ProcessDefinitionSpec, pipeline_key: str) -> tuple[StageSpec, ...]:
    try:
        return pipeline_of(spec, pipeline_key).stages
    except KeyError:  # a definition loaded since without this pipeline: nothing to show
        return ()


def move_requirements(
    *, actor: Actor, opportunity: Opportunity | None, pipeline_key: str, stage_key: str
) -> list[Requirement]:
    """Every criterion a move of `opportunity` to the stage must meet (for a new opportunity,
    what creating it there must meet), marked met or not by what is stored now: the gates of
    every stage the move enters, as `opportunity_move` would check them."""
    spec = definition_for(actor.organisation)
    stages = _stage_specs(spec, pipeline_key)
    if stage_key not in {s.key for s in stages}:
        return []
    current = None
    if (
        opportunity is not None
        and opportunity.pipeline.key == pipeline_key
        and opportunity.stage.kind == Stage.Kind.OPEN
    ):
        current = opportunity.stage.key
    entered = stages_entered(stages, current, stage_key)
    if opportunity is None:
        named = facts_named(entered)
        facts = MoveFacts(
            fields={},
            labels=spec.labels("opportunity", builtin_fields()) | {f.key: f.label for f in named},
            messages={fact.key: fact.message for fact in named},
        )
    else:
        facts = stage_facts(opportunity, spec, frozenset(ticked_items(opportunity)), "", entered)
    return [requirement for stage in entered for requirement in gate_requirements(stage, facts)]


@dataclass(frozen=True)
class NameRule:
    stage: str  # the name of the first stage whose gate has the pattern
    pattern: NamePattern

    def allows(self, name: str) -> bool:
        return name_matches(self.pattern.regex, name)


def name_rule(*, actor: Actor, pipeline_key: str) -> NameRule | None:
    """The pipeline's rule for opportunity names: the first stage gate with a name pattern
    (where it first bites), for forms to show and proposals to follow."""
    for stage in _stage_specs(definition_for(actor.organisation), pipeline_key):
        if stage.gate.name_pattern is not None:
            return NameRule(stage.name, stage.gate.name_pattern)
    return None


@dataclass(frozen=True)
class PathStep:
    key: str
    name: str
    state: str  # done | current | ahead (open stages) ; won | lost when it is the current one


@dataclass(frozen=True)
class ChecklistRow:
    key: str
    label: str
    stage: str  # the name of the stage whose gate asks for it
    tick: ChecklistTick | None


@dataclass(frozen=True)
class StagePath:
    """An opportunity's way through its pipeline: the open stages in order, where it stands,
    what the next stage needs, and its checklist with who ticked what."""

    steps: list[PathStep]
    next_stage: StageSpec | None
    needs: list[Requirement]
    checklist: list[ChecklistRow]


def opportunity_stage_path(*, actor: Actor, opportunity: Opportunity) -> StagePath:
    spec = definition_for(actor.organisation)
    stages = _stage_specs(spec, opportunity.pipeline.key)
    current = opportunity.stage
    open_stages = [s for s in stages if s.kind not in CLOSED_KINDS]
    position = next((i for i, s in enumerate(open_stages) if s.key == current.key), None)
    steps = []
    for index, stage in enumerate(open_stages):
        if position is None:
            state = "done" if current.kind == Stage.Kind.WON else "ahead"
        else:
            state = "done" if index < position else "current" if index == position else "ahead"
        steps.append(PathStep(stage.key, stage.name, state))
    if current.kind != Stage.Kind.OPEN:
        steps.append(PathStep(current.key, current.name, str(current.kind)))
    ticks = {
        t.item: t
        for t in ChecklistTick.objects.filter(opportunity=opportunity).select_related("actor")
    }
    next_stage = None
    if position is not None and position + 1 < len(open_stages):
        next_stage = open_stages[position + 1]
    entered = [next_stage] if next_stage is not None else []
    facts = stage_facts(opportunity, spec, frozenset(ticks), "", entered)
    needs = gate_requirements(next_stage, facts) if next_stage is not None else []
    checklist = [
        ChecklistRow(item.key, item.label, stage.name, ticks.get(item.key))
        for stage in stages
        for item in stage.gate.checklist
    ]
    return StagePath(steps, next_stage, needs, checklist)


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
    expected close date (None among the undated cards, which come first); won and lost columns
    by the time they closed."""

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


def _card_fields() -> tuple[str, ...]:
    """A card's fields and the columns other apps keep for opportunities' lists (the quality
    score, band and reasons), read through their relation: the pipeline names no such app."""
    extra: list[str] = []
    for column in list_columns("opportunity").values():
        extra.append(column.path)
        if column.choice_filter:
            extra.append(column.choice_filter[1])
        if column.detail_path:
            extra.append(column.detail_path)
    return (*BOARD_CARD_FIELDS, *extra)


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

    Open stages show undated cards first (a deal without a close date is a gap to fill, never
    one hidden behind "Show more"), then the nearest expected close; won and lost the latest
    closed first. Each is a range scan of an index (opportunity_board_open,
    opportunity_board_closed), so a page costs the same in a column of ten or a million.
    """
    rows = _board_rows(actor, filters).filter(stage=stage)
    if stage.kind != Stage.Kind.OPEN:
        rows = rows.filter(closed_at__gte=closed_since())
        if after is not None:
            rows = _after(rows, "closed_at", "lt", after)
        cards = list(
            rows.order_by("-closed_at", "-id").values(*_card_fields(), "closed_at")[: limit + 1]
        )
        if len(cards) <= limit:
            return cards, None
        cards = cards[:limit]
        return cards, CardCursor(cards[-1]["closed_at"], cards[-1]["id"])
    cards = []
    if after is None or after.value is None:
        undated = rows.filter(expected_close_date__isnull=True)
        if after is not None:
            undated = undated.filter(id__gt=after.id)
        cards = list(undated.order_by("id").values(*_card_fields())[: limit + 1])
    if len(cards) <= limit:
        dated = rows.filter(expected_close_date__isnull=False)
        if after is not None and after.value is not None:
            dated = _after(dated, "expected_close_date", "gt", after)
        cards += list(
            dated.order_by("expected_close_date", "id").values(*_card_fields())[
                : limit + 1 - len(cards)
            ]
        )
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
        .values(*_card_fields(), "stage_id")
        .first()
    )
    if card is None:
        raise NotFound(f"No opportunity with id {opportunity_id}.")
    return card
