"""The forecast: GET /forecast (Monte-Carlo P10/P50/P90 per month and the weighted pipeline)
and GET /forecast/accuracy (past snapshots against what closed). Definitions in
docs/metrics.md, "Forecast"."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from salesline.analytics.filters import parse_metric_filters, pipeline_named
from salesline.analytics.forecast_selectors import (
    FORECAST_PARAMETERS,
    forecast_accuracy,
    forecast_report,
    parse_forecast_options,
)
from salesline.core.errors import ProblemList, ValidationFailed

from .common import actor_of

router = Router(tags=["forecast"])


class PeriodOut(Schema):
    period: str
    weighted: float
    p10: float
    p50: float
    p90: float
    count_p50: int


class CountsOut(Schema):
    period: str
    count_p10: int
    count_p50: int
    count_p90: int
    mean: float
    count_mean: float


class QuarterOut(Schema):
    period: str
    months: int
    weighted: float
    p10: float
    p50: float
    p90: float
    count_p10: int
    count_p50: int
    count_p90: int


class ForecastOut(Schema):
    periods: list[PeriodOut]
    trials: int
    seed: int
    pipeline: str
    horizon: int
    probability: str
    as_of: str
    counts: list[CountsOut]
    quarters: list[QuarterOut]
    weighted_buckets: dict[str, float]
    weighted_total: float
    open_opportunities: int
    modelled: int
    not_modelled: int
    currencies: list[str]


class AccuracyRowOut(Schema):
    period: str
    snapshot_week: str
    snapshot_taken_at: str
    snapshot_backfilled: bool
    p10: float
    p50: float
    p90: float
    count_p50: int
    actual_value: float
    actual_count: int
    error: float
    within: bool
    count_within: bool


class AccuracyOut(Schema):
    pipeline: str
    periods: list[AccuracyRowOut]


def _query_param(name: str, description: str, kind: str = "string") -> dict:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "schema": {"type": kind},
        "description": description,
    }


PIPELINE_PARAMETER = _query_param("pipeline", "pipeline key (default: the first pipeline)")
FORECAST_QUERY = [
    PIPELINE_PARAMETER,
    _query_param("trials", "Monte-Carlo trials, 1..100000 (default 10000)", "integer"),
    _query_param("seed", "random seed, 0..4294967295 (default: chosen and returned)", "integer"),
    _query_param("horizon", "months forecast from the current one, 1..24 (default 6)", "integer"),
    _query_param("probability", "weighted pipeline: configured (default) or calibrated"),
    _query_param("owner_id", "an opportunity list filter; every list filter is taken"),
]


@router.get(
    "",
    response=ForecastOut,
    operation_id="forecast",
    summary="Monte-Carlo forecast of won value and count per month, and the weighted pipeline",
    openapi_extra={"parameters": FORECAST_QUERY},
)
def forecast(request: HttpRequest):
    """P10/P50/P90 of the value won per month (`periods`, with the weighted pipeline and the
    P50 of the count) and per quarter, from replaying the observed stage transitions and
    durations. The same seed gives the same numbers. Bad parameters are 422, named."""
    actor = actor_of(request)
    problems = ProblemList()
    options = filters = None
    # Every bad parameter at once: the forecast's own and the filters'.
    try:
        options = parse_forecast_options(request.GET)
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    try:
        filters = parse_metric_filters(actor, request.GET, handled=FORECAST_PARAMETERS)
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    problems.raise_if_any("The query is not valid.")
    assert options is not None and filters is not None  # noqa: S101
    return forecast_report(
        actor=actor,
        filters=filters,
        trials=options.trials,
        seed=options.seed,
        horizon=options.horizon,
        probability=options.probability,
    )


@router.get(
    "/accuracy",
    response=AccuracyOut,
    operation_id="forecast_accuracy",
    summary="Past forecast snapshots against what actually closed won",
    openapi_extra={"parameters": [PIPELINE_PARAMETER]},
)
def accuracy(request: HttpRequest):
    """Per past month: the P50 of the latest snapshot taken before it against the value won
    in it, and whether that fell within P10–P90."""
    problems = ProblemList()
    for name in request.GET:
        if name != "pipeline":
            problems.add(("query", name), f"Unknown parameter '{name}'.", type="unknown_filter")
    problems.raise_if_any("The query is not valid.")
    actor = actor_of(request)
    pipeline = pipeline_named(actor, request.GET.get("pipeline", "").strip() or None)
    return {
        "pipeline": pipeline.key,
        "periods": forecast_accuracy(actor=actor, pipeline_key=pipeline.key),
    }
