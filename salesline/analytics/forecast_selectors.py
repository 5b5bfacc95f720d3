"""Forecast reads scoped to an actor: the forecast of a pipeline (the contract's JSON) and the
accuracy of past forecasts (docs/metrics.md, "Forecast")."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db.models import Q

from salesline.core.actors import Actor
from salesline.core.errors import ProblemList
from salesline.core.models import AuditEvent
from salesline.pipeline.definition import PipelineSpec
from salesline.pipeline.models import Opportunity, StageChange

from . import forecast
from .extract import flow_history
from .history import NONE, FlowHistory, Stays, epoch_seconds, stays_of
from .models import ForecastSnapshot
from .opportunity_reads import deal_terms_of, open_in_pipeline

if TYPE_CHECKING:
    from .filters import MetricFilters

DEFAULT_TRIALS = 10_000
MAX_TRIALS = 100_000
DEFAULT_HORIZON = 6
MAX_HORIZON = 24
#: Seeds are drawn from and accepted in 0..MAX_SEED (a JSON number exact in every language).
MAX_SEED = 2**32 - 1
CONFIGURED, CALIBRATED = "configured", "calibrated"
PROBABILITIES = (CONFIGURED, CALIBRATED)


def new_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


# The stays of the last few histories read (see stays_for).
STAYS_KEPT = 2
_stays_kept: OrderedDict[tuple[int, ...], tuple[tuple[weakref.ref, ...], Stays]] = OrderedDict()
_stays_lock = threading.Lock()


def _history_columns(history: FlowHistory) -> dict[str, np.ndarray]:
    """The columns a Stays shares with its history."""
    return {
        "opportunity": history.opportunity,
        "stage": history.stage,
        "kind": history.kind,
        "entered": history.at,
    }


def stays_for(history: FlowHistory) -> Stays:
    """`stays_of(history)`, kept for the last STAYS_KEPT histories whose columns are the very
    same arrays. The extract keeps an organisation's columns between requests (only `as_of`
    changes) and replaces them, never changes them in place, when the history grows: the same
    arrays mean the same stays. Only the derived columns are kept (weakly tied to the
    history's), so a history the extract lets go is not held here."""
    if history.stay_ends is not None:
        return stays_of(history)  # kept with the history itself
    columns = (history.opportunity, history.at, history.stage, history.kind)
    key = tuple(id(column) for column in columns)
    with _stays_lock:
        for old_key in [k for k, (refs, _) in _stays_kept.items() if refs[0]() is None]:
            del _stays_kept[old_key]
        kept = _stays_kept.get(key)
        if kept is not None and all(
            ref() is column for ref, column in zip(kept[0], columns, strict=True)
        ):
            _stays_kept.move_to_end(key)
            return dataclasses.replace(kept[1], **_history_columns(history))
    stays = stays_of(history)
    with _stays_lock:
        # Kept without the history's own columns (they are put back from the history asked
        # for), so nothing here keeps an old history alive.
        # (Fresh empty arrays: a slice would be a view keeping its base alive.)
        empty = {
            name: np.empty(0, dtype=column.dtype)
            for name, column in _history_columns(history).items()
        }
        _stays_kept[key] = (
            tuple(weakref.ref(column) for column in columns),
            dataclasses.replace(stays, **empty),
        )
        while len(_stays_kept) > STAYS_KEPT:
            _stays_kept.popitem(last=False)
    return stays


@dataclass(frozen=True)
class OpenOpportunities:
    ids: np.ndarray  # int64, ascending
    values: dict[int, float]
    stage_keys: list[str]
    close_days: np.ndarray  # float64 day numbers, NaN: no expected close date
    currencies: set[str]


def _open_opportunities(
    actor: Actor, pipeline_key: str, ids: np.ndarray | None
) -> OpenOpportunities:
    """The live open opportunities of the pipeline (only `ids` among them when given)."""
    rows = open_in_pipeline(actor.organisation, pipeline_key)
    wanted = None if ids is None else set(ids.tolist())
    kept_ids: list[int] = []
    values: dict[int, float] = {}
    stage_keys: list[str] = []
    close_days: list[float] = []
    currencies: set[str] = set()
    for pk, value, close, stage_key, currency in rows:
        if wanted is not None and pk not in wanted:
            continue
        kept_ids.append(pk)
        if value is not None:
            values[pk] = value
            currencies.add(currency)
        stage_keys.append(stage_key)
        close_days.append(np.nan if close is None else close)
    return OpenOpportunities(
        ids=np.array(kept_ids, dtype=np.int64),
        values=values,
        stage_keys=stage_keys,
        close_days=np.array(close_days, dtype=np.float64),
        currencies=currencies,
    )


def stage_probabilities(
    pipeline: PipelineSpec, history: FlowHistory, probability: str
) -> dict[str, float]:
    """Each stage's probability (0..100): as configured, or as observed (the calibration of
    docs/metrics.md) where there is a sample, else as configured."""
    configured = {stage.key: float(stage.probability) for stage in pipeline.stages}
    if probability != CALIBRATED:
        return configured
    from .filters import stage_defs
    from .flow import calibration

    observed = calibration(history, pipeline=pipeline.key, stages=stage_defs(pipeline))
    return configured | {row.key: row.observed for row in observed if row.observed is not None}


def forecast_result(
    *,
    actor: Actor,
    pipeline: PipelineSpec,
    opportunity_ids: np.ndarray | None = None,
    trials: int = DEFAULT_TRIALS,
    seed: int | None = None,
    horizon: int = DEFAULT_HORIZON,
    probability: str = CONFIGURED,
) -> dict[str, Any]:
    """The forecast of a pipeline's open opportunities (the contract's JSON and more); for
    callers that have a pipeline but no request filters (the weekly snapshot)."""
    history = flow_history(actor.organisation)
    return _forecast(
        history,
        stays_for(history),
        pipeline,
        _open_opportunities(actor, pipeline.key, opportunity_ids),
        trials=trials,
        seed=seed,
        horizon=horizon,
        probability=probability,
    )


# --- the forecast as it would have been ------------------------------------------------------

#: The opportunity fields the forecast reads that the audit trail records changes of.
TERMS = ("value", "expected_close_date")
#: The audit actions that edit an opportunity, whose "before" is what it was until then. A
#: creation's (create, convert) is "nothing": an opportunity created after a moment whose
#: stage history was imported from before it had its value all along.
EDITS = ("update", "move")


@dataclass(frozen=True)
class TermChange:
    at: int  # epoch seconds
    opportunity: int
    field: str  # one of TERMS
    before: Any  # as the audit trail stored it (text for a value or a date)


def term_changes_since(organisation, moment: datetime) -> list[TermChange]:
    """The edits of opportunities' values and expected close dates the audit trail recorded
    after `moment`, oldest first (with what each field was before)."""
    events = (
        AuditEvent.objects.filter(
            organisation=organisation,
            object_type="opportunity",
            action__in=EDITS,
            at__gt=moment,
        )
        .filter(Q(changes__has_key="value") | Q(changes__has_key="expected_close_date"))
        .order_by("at", "id")
        .values_list("at", "object_id", "changes")
    )
    changes = []
    for at, object_id, recorded in events.iterator(chunk_size=5_000):
        if not object_id.isdecimal() or not isinstance(recorded, dict):
            continue
        for name in TERMS:
            pair = recorded.get(name)
            if isinstance(pair, list) and len(pair) == 2:
                changes.append(TermChange(epoch_seconds(at), int(object_id), name, pair[0]))
    return changes


def _value_then(text: Any) -> float | None:
    return None if text is None else float(Decimal(str(text)))


def _date_then(text: Any) -> date | None:
    return None if text is None else date.fromisoformat(str(text)[:10])


def _as_then(earlier: dict, key: tuple[int, str], parse, today: Any) -> Any:
    if key not in earlier:
        return today
    try:
        return parse(earlier[key])
    except (ArithmeticError, ValueError):
        return today  # an entry the trail cannot give back: today's stands for it


def _open_then(
    actor: Actor,
    pipeline: PipelineSpec,
    history: FlowHistory,
    stays: Stays,
    changes: list[TermChange],
) -> OpenOpportunities:
    """The pipeline's opportunities open at `history.as_of` (the history cut then): in the
    stage they were in then, with the value and expected close date they had then. Those are
    today's, put back to what the audit trail says they were before the first change after
    that moment; a change it did not record (a bulk load) leaves today's."""
    positions = forecast.open_positions(
        history, stays, stage_codes=_open_stage_codes(history, pipeline)
    )
    stage_of = dict(zip(positions.opportunity.tolist(), positions.stage.tolist(), strict=True))
    terms = {
        pk: (value, close, currency)
        for pk, value, close, currency in deal_terms_of(
            actor.organisation, np.array(sorted(stage_of), dtype=np.int64)
        )
    }
    earlier: dict[tuple[int, str], Any] = {}
    for change in changes:
        if change.at > history.as_of and change.opportunity in terms:
            earlier.setdefault((change.opportunity, change.field), change.before)
    ids: list[int] = []
    values: dict[int, float] = {}
    stage_keys: list[str] = []
    close_days: list[float] = []
    currencies: set[str] = set()
    for pk in sorted(terms):
        value, close, currency = terms[pk]
        value = _as_then(earlier, (pk, "value"), _value_then, value)
        close = _as_then(earlier, (pk, "expected_close_date"), _date_then, close)
        ids.append(pk)
        if value is not None:
            values[pk] = value
            currencies.add(currency)
        stage_keys.append(history.stages[stage_of[pk]][1])
        close_days.append(np.nan if close is None else forecast.day_number(close))
    return OpenOpportunities(
        ids=np.array(ids, dtype=np.int64),
        values=values,
        stage_keys=stage_keys,
        close_days=np.array(close_days, dtype=np.float64),
        currencies=currencies,
    )


def forecast_as_of(
    *,
    actor: Actor,
    pipeline: PipelineSpec,
    as_of: datetime,
    history: FlowHistory | None = None,
    changes: list[TermChange] | None = None,
    trials: int = DEFAULT_TRIALS,
    seed: int | None = None,
    horizon: int = DEFAULT_HORIZON,
) -> dict[str, Any]:
    """The forecast as it would have been made at `as_of` (a past moment): from the history
    of the changes up to it and the opportunities open then. `history` (the organisation's
    history read now) and `changes` (`term_changes_since` a moment no later than `as_of`)
    may be passed in to read them once for many moments."""
    history = flow_history(actor.organisation) if history is None else history
    if changes is None:
        changes = term_changes_since(actor.organisation, as_of)
    then = history.until(epoch_seconds(as_of))
    # Not kept by stays_for: a cut is used once, and keeping it would push out the live one.
    stays = stays_of(then)
    open_then = _open_then(actor, pipeline, then, stays, changes)
    return _forecast(then, stays, pipeline, open_then, trials=trials, seed=seed, horizon=horizon)


def _open_stage_codes(history: FlowHistory, pipeline: PipelineSpec) -> np.ndarray:
    codes = [history.stage_code(pipeline.key, s.key) for s in pipeline.stages if s.kind == "open"]
    return np.array([c for c in codes if c != NONE], dtype=np.int32)


def _forecast(
    history: FlowHistory,
    stays: Stays,
    pipeline: PipelineSpec,
    open_now: OpenOpportunities,
    *,
    trials: int,
    seed: int | None,
    horizon: int,
    probability: str = CONFIGURED,
) -> dict[str, Any]:
    seed = new_seed() if seed is None else seed
    months = forecast.month_starts(history.as_of, horizon)
    today = datetime.fromtimestamp(history.as_of, tz=UTC).date()
    probabilities = stage_probabilities(pipeline, history, probability)
    weighted = forecast.weighted_pipeline(
        values=np.array([open_now.values.get(int(pk), 0.0) for pk in open_now.ids.tolist()]),
        probabilities=np.array([probabilities.get(key, 0.0) for key in open_now.stage_keys]),
        close_days=open_now.close_days,
        today=today,
        months=months,
    )
    positions = forecast.open_positions(
        history,
        stays,
        stage_codes=_open_stage_codes(history, pipeline),
        values=open_now.values,
        opportunity_ids=open_now.ids,
    )
    result = forecast.monte_carlo(
        history, stays, positions, horizon=horizon, trials=trials, seed=seed
    )
    periods = [
        {
            "period": month.period,
            "weighted": weighted.months[index],
            "p10": month.value.p10,
            "p50": month.value.p50,
            "p90": month.value.p90,
            "count_p50": int(month.count.p50),
        }
        for index, month in enumerate(result.months)
    ]
    return {
        "pipeline": pipeline.key,
        "periods": periods,
        "trials": trials,
        "seed": seed,
        "horizon": horizon,
        "probability": probability,
        "as_of": datetime.fromtimestamp(history.as_of, tz=UTC).isoformat(),
        "counts": [
            {
                "period": month.period,
                "count_p10": int(month.count.p10),
                "count_p50": int(month.count.p50),
                "count_p90": int(month.count.p90),
                "mean": month.value.mean,
                "count_mean": month.count.mean,
            }
            for month in result.months
        ],
        "quarters": [_quarter(quarter, weighted, result.months) for quarter in result.quarters],
        "weighted_buckets": weighted.buckets,
        "weighted_total": round(sum(weighted.months) + sum(weighted.buckets.values()), 2),
        "open_opportunities": int(open_now.ids.shape[0]),
        "modelled": result.open_count - result.not_modelled,
        "not_modelled": result.not_modelled + int(open_now.ids.shape[0]) - result.open_count,
        "currencies": sorted(open_now.currencies),
    }


def _quarter(quarter, weighted, months) -> dict[str, Any]:
    inside = [i for i, month in enumerate(months) if _quarter_of(month.period) == quarter.period]
    return {
        "period": quarter.period,
        "months": quarter.months,
        "weighted": round(sum(weighted.months[i] for i in inside), 2),
        "p10": quarter.value.p10,
        "p50": quarter.value.p50,
        "p90": quarter.value.p90,
        "count_p10": int(quarter.count.p10),
        "count_p50": int(quarter.count.p50),
        "count_p90": int(quarter.count.p90),
    }


def _quarter_of(period: str) -> str:
    year, month = period.split("-")
    return f"{year}-Q{(int(month) - 1) // 3 + 1}"


def forecast_report(
    *,
    actor: Actor,
    filters: MetricFilters,
    trials: int = DEFAULT_TRIALS,
    seed: int | None = None,
    horizon: int = DEFAULT_HORIZON,
    probability: str = CONFIGURED,
) -> dict[str, Any]:
    """`{"periods": [{period, weighted, p10, p50, p90, count_p50}], "trials", "seed"}` plus
    quarters, count percentiles, the weighted buckets and what the forecast covers. A seed is
    chosen (and returned) when none is given; the same seed gives the same numbers."""
    return forecast_result(
        actor=actor,
        pipeline=filters.pipeline,
        opportunity_ids=filters.opportunity_ids(),
        trials=trials,
        seed=seed,
        horizon=horizon,
        probability=probability,
    )


# --- accuracy --------------------------------------------------------------------------------


def _month_bounds(period: str) -> tuple[datetime, datetime]:
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if month == 12
        else datetime(year, month + 1, 1, tzinfo=UTC)
    )
    return start, end


def _won_in(actor: Actor, pipeline_key: str, start: datetime, end: datetime) -> tuple[float, int]:
    """Value and count of the live opportunities that entered a won stage of the pipeline in
    [start, end) (each once, however often it was won)."""
    won_ids = set(
        StageChange.objects.filter(
            organisation=actor.organisation,
            to_pipeline_key=pipeline_key,
            to_stage_kind="won",
            at__gte=start,
            at__lt=end,
            opportunity__isnull=False,
            opportunity__deleted_at__isnull=True,
        ).values_list("opportunity_id", flat=True)
    )
    value = 0.0
    ids = sorted(won_ids)
    for offset in range(0, len(ids), 5_000):
        for amount in Opportunity.objects.filter(
            organisation=actor.organisation, pk__in=ids[offset : offset + 5_000]
        ).values_list("value", flat=True):
            value += float(amount or 0)
    return round(value, 2), len(ids)


def forecast_accuracy(
    *, actor: Actor, pipeline_key: str, now: datetime | None = None
) -> list[dict]:
    """Per past month that a snapshot forecast: the latest snapshot taken before the month
    began, its P10/P50/P90, what actually closed won in the month (value and count) and
    whether it fell within P10–P90, and whether that snapshot was backfilled (computed later
    from the history as it stood then) rather than taken at the time. Oldest month first."""
    now = now or datetime.now(tz=UTC)
    current_month = datetime(now.year, now.month, 1, tzinfo=UTC)
    snapshots = list(
        ForecastSnapshot.objects.filter(
            organisation=actor.organisation, pipeline_key=pipeline_key
        ).order_by("taken_at", "id")
    )
    # For each period: the latest snapshot taken before it began (a later one knew more).
    chosen: dict[str, tuple[ForecastSnapshot, dict]] = {}
    for snapshot in snapshots:
        for entry in snapshot.periods:
            start, _ = _month_bounds(entry["period"])
            if snapshot.taken_at < start < current_month:
                chosen[entry["period"]] = (snapshot, entry)
    rows = []
    for period in sorted(chosen):
        snapshot, entry = chosen[period]
        start, end = _month_bounds(period)
        actual_value, actual_count = _won_in(actor, pipeline_key, start, end)
        rows.append(
            {
                "period": period,
                "snapshot_week": snapshot.week,
                "snapshot_taken_at": snapshot.taken_at.isoformat(),
                "snapshot_backfilled": snapshot.backfilled_at is not None,
                "p10": entry["p10"],
                "p50": entry["p50"],
                "p90": entry["p90"],
                "count_p50": entry["count_p50"],
                "actual_value": actual_value,
                "actual_count": actual_count,
                "error": round(actual_value - entry["p50"], 2),
                "within": entry["p10"] <= actual_value <= entry["p90"],
                "count_within": entry.get("count_p10", entry["count_p50"])
                <= actual_count
                <= entry.get("count_p90", entry["count_p50"]),
            }
        )
    return rows


def snapshot_list(*, actor: Actor, pipeline_key: str, limit: int = 12) -> list[ForecastSnapshot]:
    return list(
        ForecastSnapshot.objects.filter(organisation=actor.organisation, pipeline_key=pipeline_key)[
            :limit
        ]
    )


# --- parameters ------------------------------------------------------------------------------

FORECAST_PARAMETERS = ("trials", "seed", "horizon", "probability")


@dataclass(frozen=True)
class ForecastOptions:
    trials: int = DEFAULT_TRIALS
    seed: int | None = None
    horizon: int = DEFAULT_HORIZON
    probability: str = CONFIGURED


def _last(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return "" if value is None else str(value).strip()


def parse_forecast_options(params: Any) -> ForecastOptions:
    """`trials` (1..MAX_TRIALS), `seed` (0..MAX_SEED), `horizon` (months, 1..MAX_HORIZON) and
    `probability` (configured or calibrated) from query parameters; every bad one is reported
    at once (422), naming it. Absent or empty means the default."""
    problems = ProblemList()
    getter = params.getlist if hasattr(params, "getlist") else params.get
    raw = {name: _last(getter(name)) for name in FORECAST_PARAMETERS}

    def whole(name: str, low: int, high: int, default: int | None) -> int | None:
        text = raw[name]
        if not text:
            return default
        try:
            number = int(text)
        except ValueError:
            problems.add(("query", name), f"'{name}' must be a whole number, not '{text}'.")
            return default
        if not low <= number <= high:
            problems.add(("query", name), f"'{name}' must be between {low} and {high}.")
            return default
        return number

    trials = whole("trials", 1, MAX_TRIALS, DEFAULT_TRIALS)
    seed = whole("seed", 0, MAX_SEED, None)
    horizon = whole("horizon", 1, MAX_HORIZON, DEFAULT_HORIZON)
    probability = raw["probability"] or CONFIGURED
    if probability not in PROBABILITIES:
        problems.add(
            ("query", "probability"),
            f"'probability' must be one of {', '.join(PROBABILITIES)}, not '{probability}'.",
        )
        probability = CONFIGURED
    problems.raise_if_any("The query is not valid.")
    return ForecastOptions(
        trials=trials or DEFAULT_TRIALS,
        seed=seed,
        horizon=horizon or DEFAULT_HORIZON,
        probability=probability,
    )
