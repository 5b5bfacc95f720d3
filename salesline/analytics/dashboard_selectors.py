"""The dashboard: every chart's data for one organisation, pipeline, period and filter, read
from the flow history and the other reports, cached (docs/metrics.md, "Dashboard and report").

The page, the API (`/api/v1/metrics/dashboard`, its CSVs) and the weekly PDF report all call
`dashboard_report`, so they show the same numbers.

Caching: a report is kept per organisation, filter and *history state* — the newest stage
change's id and the pipelines' history revisions — so a new move, a history import or a purge
makes the next request compute afresh; edits that move no stage (a deal's value, its owner, a
deletion) show within CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Sum

from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.core.spreadsheets import CSV_CONTENT_TYPE, csv_chunks
from salesline.pipeline.models import Opportunity, Pipeline, StageChange

from . import charts, series
from .extract import flow_history
from .history import WON, FlowHistory, epoch_seconds, stays_of

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300
# The dashboard's fan chart replays this many futures with a fixed seed: the same filter
# draws the same fan, and the cached report stays true to what a reload would compute.
FORECAST_TRIALS = 10_000
FORECAST_SEED = 12
FORECAST_HORIZON = 6
ID_CHUNK = 5_000
CHART_ORDER = (
    "funnel",
    "cumulative-flow",
    "time-in-stage",
    "forecast",
    "velocity",
    "campaigns",
    "quality",
)


@dataclass
class Dashboard:
    pipeline_key: str
    pipeline_name: str
    date_from: date
    date_to: date
    charts: list[charts.Chart]
    key_numbers: list[tuple[str, Any]] = field(default_factory=list)
    empty: bool = False

    def chart(self, key: str) -> charts.Chart:
        for chart in self.charts:
            if chart.key == key:
                return chart
        raise KeyError(key)

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline_key,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "key_numbers": {name: value for name, value in self.key_numbers},
            "charts": {chart.key: chart.as_json() for chart in self.charts},
        }


def chart_csv(report: Dashboard, chart_key: str) -> tuple[Iterator[str], str]:
    """One chart's table as CSV text in pieces (formulas neutralised) and its file name;
    NotFound for a chart the dashboard does not have."""
    try:
        chart = report.chart(chart_key)
    except KeyError:
        raise NotFound(
            f"No chart '{chart_key}'. The charts are: {', '.join(CHART_ORDER)}."
        ) from None
    period = f"{report.date_from}-{report.date_to}"
    name = f"{report.pipeline_key}-{chart.key}-{period}.csv"
    return csv_chunks(chart.columns, chart.rows), name


__all__ = ["CSV_CONTENT_TYPE", "Dashboard", "chart_csv", "dashboard_report", "parse_filters"]


# ---------------------------------------------------------------- the other reports


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A report another part of analytics provides, or None while it is not there yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# ---------------------------------------------------------------- filters


def parse_filters(actor: Actor, params: Mapping[str, Any]) -> Any:
    """The metrics filters (`analytics.filters.parse_metric_filters`, shared with the flow
    metrics and the forecast): pipeline, from, to and the opportunity list's filters."""
    parse = _optional("salesline.analytics.filters", "parse_metric_filters")
    if parse is None:
        from .interim_filters import parse_metric_filters as parse
    return parse(actor, params)


def filter_pipeline_key(filters: Any) -> str:
    pipeline = filters.pipeline
    return pipeline if isinstance(pipeline, str) else pipeline.key


def filter_period(filters: Any) -> tuple[date, date]:
    return filters.date_from, filters.date_to


def history_state(organisation) -> str:
    """What changes whenever the history does: the newest stage change and the revisions."""
    newest = (
        StageChange.objects.filter(organisation=organisation)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    revisions = Pipeline.objects.filter(organisation=organisation).aggregate(
        total=Sum("history_revision")
    )["total"]
    return f"{newest or 0}.{revisions or 0}"


def cache_key(organisation, params: Mapping[str, Any]) -> str:
    items = sorted((str(name), str(value)) for name, value in params.items())
    digest = hashlib.sha256(repr(items).encode()).hexdigest()[:32]
    return f"analytics:dashboard:{organisation.pk}:{history_state(organisation)}:{digest}"


# ---------------------------------------------------------------- the report


def dashboard_report(*, actor: Actor, filters: Any, params: Mapping[str, Any]) -> Dashboard:
    """The dashboard of the filter `params` parsed into `filters` (cached; see the module)."""
    key = cache_key(actor.organisation, params)
    found = cache.get(key)
    if found is not None:
        return found
    report = _compute(actor, filters)
    cache.set(key, report, CACHE_SECONDS)
    return report


def _period_seconds(date_from: date, date_to: date) -> tuple[int, int]:
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    return epoch_seconds(start), epoch_seconds(end)


def _narrowed(history: FlowHistory, filters: Any) -> FlowHistory:
    ids = filters.opportunity_ids()
    return history if ids is None else history.select(history.opportunities_mask(ids))


def _won_values(organisation, history: FlowHistory, pipeline_codes: np.ndarray) -> dict[int, float]:
    """The value of every opportunity that was ever won in the pipeline."""
    won = np.unique(
        history.opportunity[(history.kind == WON) & np.isin(history.stage, pipeline_codes)]
    )
    values: dict[int, float] = {}
    ids = won.tolist()
    for index in range(0, len(ids), ID_CHUNK):
        rows = Opportunity.objects.filter(
            organisation=organisation, pk__in=ids[index : index + ID_CHUNK]
        ).values_list("pk", "value")
        values.update((pk, float(value or 0)) for pk, value in rows)
    return values


def _compute(actor: Actor, filters: Any) -> Dashboard:
    organisation = actor.organisation
    pipeline_key = filter_pipeline_key(filters)
    pipeline = (
        Pipeline.objects.filter(organisation=organisation, key=pipeline_key)
        .prefetch_related("stages")
        .get()
    )
    stages = [series.StageRef(stage.key, stage.name, stage.kind) for stage in pipeline.stages.all()]
    names = {stage.key: stage.name for stage in stages}
    date_from, date_to = filter_period(filters)
    start, end = _period_seconds(date_from, date_to)
    history = _narrowed(flow_history(organisation), filters)
    codes = history.pipeline_codes(pipeline_key)
    in_pipeline = np.isin(history.stage, codes)
    empty = not bool(in_pipeline.any())

    funnel_rows = series.funnel(history, pipeline_key, stages, start, end)
    flow_rows, step = series.cumulative_flow(history, pipeline_key, stages, start, end)
    stay_rows = series.time_in_stage(history, pipeline_key, stages, start, end)
    velocity_rows = series.velocity_trend(
        history, pipeline_key, start, end, _won_values(organisation, history, codes)
    )
    built = [
        charts.funnel_chart(funnel_rows, names),
        charts.cumulative_flow_chart(flow_rows, names, step),
        charts.time_in_stage_chart(stay_rows, names),
        _forecast_chart(actor, filters),
        charts.velocity_chart(velocity_rows),
        _campaign_chart(actor, date_from, date_to),
        _quality_chart(actor, filters),
    ]
    return Dashboard(
        pipeline_key=pipeline_key,
        pipeline_name=pipeline.name,
        date_from=date_from,
        date_to=date_to,
        charts=built,
        key_numbers=_key_numbers(history, codes, start, end, velocity_rows),
        empty=empty,
    )


def _key_numbers(history, codes, start, end, velocity_rows) -> list[tuple[str, Any]]:
    stays = stays_of(history)
    mine = np.isin(stays.stage, codes)
    moment = min(end, history.as_of)
    open_now = mine & (stays.kind == 0) & (stays.entered <= moment)
    open_now &= stays.ongoing | (stays.left > moment)
    closed = mine & (stays.kind != 0) & (stays.entered >= start) & (stays.entered < end)
    won = int(np.count_nonzero(closed & (stays.kind == WON)))
    lost = int(np.count_nonzero(closed)) - won
    arrivals = int(
        np.count_nonzero(mine & stays.first & (stays.entered >= start) & (stays.entered < end))
    )
    velocity = velocity_rows[-1][5] if velocity_rows else None
    return [
        ("new opportunities", arrivals),
        ("open at the period's end", int(np.count_nonzero(open_now))),
        ("won", won),
        ("lost", lost),
        ("win rate", won / (won + lost) if won + lost else None),
        ("sales velocity (value per day)", velocity),
    ]


def _forecast_chart(actor: Actor, filters: Any) -> charts.Chart:
    forecast_report = _optional("salesline.analytics.forecast_selectors", "forecast_report")
    if forecast_report is None:
        return charts.forecast_chart([])
    report = forecast_report(
        actor=actor,
        filters=filters,
        trials=FORECAST_TRIALS,
        seed=FORECAST_SEED,
        horizon=FORECAST_HORIZON,
    )
    return charts.forecast_chart(report["periods"], trials=report.get("trials"))


def _campaign_chart(actor: Actor, date_from: date, date_to: date) -> charts.Chart:
    campaign_report = _optional("salesline.analytics.campaign_selectors", "campaign_report")
    if campaign_report is None:
        return charts.campaign_table([])
    report = campaign_report(actor=actor, date_from=date_from, date_to=date_to)
    rows = report.get("campaigns", []) if isinstance(report, dict) else report
    return charts.campaign_table(
        [
            (
                row.get("name") or row.get("campaign"),
                row.get("cost"),
                row.get("leads"),
                row.get("opportunities"),
                row.get("won"),
                row.get("won_value"),
                row.get("cost_per_lead"),
                row.get("cost_per_opportunity"),
                row.get("cost_per_won"),
                row.get("return"),
            )
            for row in rows
        ]
    )


def _quality_chart(actor: Actor, filters: Any) -> charts.Chart:
    quality_distribution = _optional(
        "salesline.analytics.quality_selectors", "quality_distribution"
    )
    if quality_distribution is None:
        return charts.quality_chart([])
    report = quality_distribution(actor=actor, filters=filters)
    bands = report.get("bands", [])
    return charts.quality_chart(
        [(band.get("label") or band.get("band"), band.get("count", 0)) for band in bands]
    )
