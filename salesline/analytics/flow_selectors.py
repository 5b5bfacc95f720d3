"""Reads of the flow metrics and the calibration, scoped to the actor's organisation.

The history comes from `extract.flow_history` (live opportunities only); the values of won
opportunities from the database, a query per chunk of ids. The dictionaries returned are the
API's JSON (the contract's keys, plus the extra keys documented in docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from salesline.core.actors import Actor

from .extract import flow_history
from .filters import MetricFilters, parse_metric_filters, pipeline_named, stage_defs
from .flow import AGE_BAND_LABELS, DEFINITIONS, FlowMetrics, calibration, flow_metrics
from .history import FlowHistory
from .opportunity_reads import values_of


class WonValues:
    """The values of won opportunities, read from the database; remembers the currencies."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.currencies: set[str] = set()

    def __call__(self, ids: np.ndarray) -> Mapping[int, float]:
        values: dict[int, float] = {}
        for pk, value, currency in values_of(self.actor.organisation, ids):
            values[pk] = value
            self.currencies.add(currency)
        return values


def _history(actor: Actor, filters: MetricFilters, history: FlowHistory | None) -> FlowHistory:
    history = history if history is not None else flow_history(actor.organisation)
    ids = filters.opportunity_ids()
    if ids is not None:
        history = history.select(history.opportunities_mask(ids))
    return history


def flow_metrics_for(
    *, actor: Actor, filters: MetricFilters, history: FlowHistory | None = None
) -> tuple[FlowMetrics, set[str]]:
    """The metrics as computed (flow.FlowMetrics) and the currencies of the won values: for
    callers that want more than the JSON (the dashboard's series). `history` is the
    organisation's whole history when the caller has read it already."""
    values = WonValues(actor)
    metrics = flow_metrics(
        _history(actor, filters, history),
        pipeline=filters.pipeline_key,
        stages=filters.stages,
        period=filters.period,
        won_values=values,
    )
    return metrics, values.currencies


def flow_report(
    *, actor: Actor, filters: MetricFilters, history: FlowHistory | None = None
) -> dict:
    """The flow metrics of a pipeline for a period and filter: the contract's JSON."""
    metrics, currencies = flow_metrics_for(actor=actor, filters=filters, history=history)
    return {
        "pipeline": filters.pipeline_key,
        "from": filters.date_from.isoformat(),
        "to": filters.date_to.isoformat(),
        "stages": [
            {
                "stage": stage.key,
                "arrivals": stage.arrivals,
                "exits": stage.exits,
                "conversion_to_next": stage.conversion_to_next,
                "conversion_to_won": stage.conversion_to_won,
                "median_days_in_stage": stage.median_days_in_stage,
                "p85_days_in_stage": stage.p85_days_in_stage,
                "wip": stage.wip,
                "stalled": stage.stalled,
                "name": stage.name,
                "kind": stage.kind,
                "exit_count": stage.exit_count,
                "resolved_exits": stage.resolved_exits,
                "exits_per_week": stage.exits_per_week,
                "wip_at_start": stage.wip_start,
                "wip_age": dict(zip(AGE_BAND_LABELS, stage.wip_age_bands, strict=True)),
                "median_wip_age_days": stage.median_wip_age_days,
                "stalled_after_days": stage.stalled_after_days,
            }
            for stage in metrics.stages
        ],
        "win_rate": metrics.win_rate,
        "average_won_value": metrics.average_won_value,
        "average_cycle_days": metrics.average_cycle_days,
        "sales_velocity": metrics.sales_velocity,
        "bottleneck": (
            {
                "stage": metrics.bottleneck.stage,
                "evidence": list(metrics.bottleneck.evidence),
                "score": metrics.bottleneck.score,
            }
            if metrics.bottleneck
            else None
        ),
        "won": metrics.won,
        "lost": metrics.lost,
        "valued_won": metrics.valued_won,
        "currencies": sorted(currencies),
        "open_at_end": metrics.open_at_end,
        "cycle_time": {
            "median_days": metrics.cycle_median_days,
            "p85_days": metrics.cycle_p85_days,
            "won_median_days": metrics.won_cycle_median_days,
        },
        "throughput": [
            {"week": week.week, "monday": week.monday, "won": week.won, "closed": week.closed}
            for week in metrics.weekly
        ],
        "filters": dict(filters.record_params),
        "age_bands": list(AGE_BAND_LABELS),
        "definitions": DEFINITIONS,
    }


def calibration_report(
    *, actor: Actor, pipeline_key: str | None, history: FlowHistory | None = None
) -> dict:
    """Configured against observed win probability per open stage: the contract's JSON."""
    pipeline = pipeline_named(actor, pipeline_key)
    history = history if history is not None else flow_history(actor.organisation)
    rows = calibration(history, pipeline=pipeline.key, stages=stage_defs(pipeline))
    return {
        "pipeline": pipeline.key,
        "stages": [
            {
                "stage": row.key,
                "configured": row.configured,
                "observed": row.observed,
                "sample": row.sample,
                "low": row.low,
                "high": row.high,
                "name": row.name,
                "won": row.won,
                "still_open": row.still_open,
                "suggested": row.suggested,
            }
            for row in rows
        ],
    }


#: The period `stage_flow` reads when given none: a year, so seasonal stages count.
STAGE_FLOW_DAYS = 365


def stage_flow(*, actor: Actor, start=None, end=None) -> dict:
    """The observed flow of the organisation's default pipeline, for other apps (core.measures'
    "stage_flow"; capacity fills a simulation from it): per open stage, in the definition's
    order, the conversion to the next stage and the median days in stage (calendar days), as
    `flow_report` computes them, over [start, end] (dates; default the last `STAGE_FLOW_DAYS`
    days). {"pipeline", "from", "to", "stages": [{"stage", "name", "conversion_to_next",
    "median_days_in_stage", "exits"}]}; a figure without stays to measure is None."""
    import datetime as dt

    from django.utils import timezone

    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=STAGE_FLOW_DAYS - 1)
    filters = parse_metric_filters(actor, {"from": start.isoformat(), "to": end.isoformat()})
    metrics, _ = flow_metrics_for(actor=actor, filters=filters)
    return {
        "pipeline": filters.pipeline_key,
        "from": filters.date_from.isoformat(),
        "to": filters.date_to.isoformat(),
        "stages": [
            {
                "stage": stage.key,
                "name": stage.name,
                "conversion_to_next": stage.conversion_to_next,
                "median_days_in_stage": stage.median_days_in_stage,
                "exits": stage.exit_count,
            }
            for stage in metrics.stages
            if stage.kind == "open"
        ],
    }
