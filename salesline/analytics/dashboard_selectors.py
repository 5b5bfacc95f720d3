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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Sum

from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.core.spreadsheets import CSV_CONTENT_TYPE, csv_chunks
from salesline.pipeline.models import Pipeline, StageChange

from . import charts, series
from .campaign_selectors import campaign_report
from .extract import flow_history
from .filters import MetricFilters
from .flow import flow_metrics

# The flow metrics read won values the same way (one query per chunk of ids).
from .flow_selectors import WonValues
from .forecast_selectors import forecast_report
from .history import WON, FlowHistory, stays_of

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300
# The dashboard's fan chart replays this many futures with a fixed seed: the same filter
# draws the same fan, and the cached report stays true to what a reload would compute.
FORECAST_TRIALS = 10_000
FORECAST_SEED = 12
FORECAST_HORIZON = 6
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
    # The cache key it was computed under: what is rendered from it may be cached by it too.
    cache_key: str = ""

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


__all__ = ["CSV_CONTENT_TYPE", "Dashboard", "chart_csv", "dashboard_report"]


# ---------------------------------------------------------------- the other reports


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A report another part of analytics provides, or None while it is not there yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# ---------------------------------------------------------------- filters


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


def cache_key(organisation, filters: MetricFilters) -> str:
    digest = hashlib.sha256(filters.key.encode()).hexdigest()[:32]
    return f"analytics:dashboard:{organisation.pk}:{history_state(organisation)}:{digest}"


# ---------------------------------------------------------------- the report


def dashboard_report(*, actor: Actor, filters: MetricFilters) -> Dashboard:
    """The dashboard of `filters` (cached; see the module)."""
    key = cache_key(actor.organisation, filters)
    found = cache.get(key)
    if found is not None:
        return found
    report = _compute(actor, filters)
    report.cache_key = key
    cache.set(key, report, CACHE_SECONDS)
    return report


def _won_values(actor: Actor, history: FlowHistory, codes: np.ndarray):
    """The values of every opportunity ever won in the pipeline, read once (a query per chunk)
    for all the weeks' metrics."""
    won = np.unique(history.opportunity[(history.kind == WON) & np.isin(history.stage, codes)])
    values = WonValues(actor)(won)
    return lambda ids: values


def _compute(actor: Actor, filters: MetricFilters) -> Dashboard:
    pipeline_key = filters.pipeline_key
    stages = filters.stages
    names = {stage.key: stage.name for stage in stages}
    period = filters.period
    start, end = period.start, period.end
    history = flow_history(actor.organisation)
    ids = filters.opportunity_ids()
    if ids is not None:
        history = history.select(history.opportunities_mask(ids))
    codes = history.pipeline_codes(pipeline_key)
    stays = stays_of(history)
    won_values = _won_values(actor, history, codes)
    metrics = flow_metrics(
        history,
        pipeline=pipeline_key,
        stages=stages,
        period=period,
        won_values=won_values,
        stays=stays,
    )
    velocity_rows = series.velocity_trend(
        history,
        pipeline=pipeline_key,
        start=start,
        end=end,
        won_values=won_values,
        stays=stays,
    )
    flow_rows, step = series.cumulative_flow(history, pipeline_key, stages, start, end, stays=stays)
    built = [
        charts.funnel_chart(series.funnel(history, pipeline_key, stages, start, end), names),
        charts.cumulative_flow_chart(flow_rows, names, step),
        charts.time_in_stage_chart(
            series.time_in_stage(history, pipeline_key, stages, start, end, stays=stays), names
        ),
        _forecast_chart(actor, filters),
        charts.velocity_chart(velocity_rows),
        _campaign_chart(actor, filters.date_from, filters.date_to),
        _quality_chart(actor, filters),
    ]
    in_pipeline = np.isin(stays.stage, codes)
    created = in_pipeline & stays.first & (stays.entered >= start) & (stays.entered < end)
    return Dashboard(
        pipeline_key=pipeline_key,
        pipeline_name=filters.pipeline.name,
        date_from=filters.date_from,
        date_to=filters.date_to,
        charts=built,
        key_numbers=[
            ("new opportunities", int(np.count_nonzero(created))),
            ("open at the period's end", metrics.open_at_end),
            ("won", metrics.won),
            ("lost", metrics.lost),
            ("win rate", metrics.win_rate),
            ("average won value", metrics.average_won_value),
            ("average cycle days", metrics.average_cycle_days),
            ("sales velocity (value per day)", metrics.sales_velocity),
        ],
        empty=not bool(in_pipeline.any()),
    )


def _forecast_chart(actor: Actor, filters: MetricFilters) -> charts.Chart:
    report = forecast_report(
        actor=actor,
        filters=filters,
        trials=FORECAST_TRIALS,
        seed=FORECAST_SEED,
        horizon=FORECAST_HORIZON,
    )
    return charts.forecast_chart(report["periods"], trials=report.get("trials"))


def _campaign_chart(actor: Actor, date_from: date, date_to: date) -> charts.Chart:
    rows = campaign_report(actor=actor, date_from=date_from, date_to=date_to)
    return charts.campaign_table(
        [
            (
                row["name"],
                row["currency"],
                row["cost"],
                row["leads"],
                row["opportunities"],
                row["won"],
                row["won_value"],
                row["cost_per_lead"],
                row["cost_per_opportunity"],
                row["cost_per_won"],
                row["return"],
            )
            for row in rows
        ]
    )


def _quality_chart(actor: Actor, filters: MetricFilters) -> charts.Chart:
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
