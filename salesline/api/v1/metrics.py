"""Flow metrics and calibration: GET /metrics/flow, GET /metrics/calibration, POST
/metrics/calibration/apply (admin). Definitions in docs/metrics.md."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router, Schema

from salesline.analytics.calibration_services import calibration_apply
from salesline.analytics.filters import parse_metric_filters
from salesline.analytics.flow_selectors import calibration_report, flow_report
from salesline.core.errors import ProblemList

from .common import actor_of

router = Router(tags=["metrics"])


class BottleneckOut(Schema):
    stage: str
    evidence: list[str]
    score: float


class StageFlowOut(Schema):
    stage: str
    arrivals: int
    exits: dict[str, int]
    conversion_to_next: float | None
    conversion_to_won: float | None
    median_days_in_stage: float | None
    p85_days_in_stage: float | None
    wip: int
    stalled: int
    name: str
    kind: str
    exit_count: int
    resolved_exits: int
    exits_per_week: float | None
    wip_at_start: int
    wip_age: dict[str, int]
    median_wip_age_days: float | None
    stalled_after_days: int


class CycleTimeOut(Schema):
    median_days: float | None
    p85_days: float | None
    won_median_days: float | None


class WeekOut(Schema):
    week: str
    monday: str
    won: int
    closed: int


class FlowOut(Schema):
    pipeline: str
    from_: str = Field(alias="from")
    to: str
    stages: list[StageFlowOut]
    win_rate: float | None
    average_won_value: float | None
    average_cycle_days: float | None
    sales_velocity: float | None
    bottleneck: BottleneckOut | None
    won: int
    lost: int
    valued_won: int
    currencies: list[str]
    open_at_end: int
    cycle_time: CycleTimeOut
    throughput: list[WeekOut]
    filters: dict[str, str]
    age_bands: list[str]
    definitions: dict[str, str]


class StageCalibrationOut(Schema):
    stage: str
    configured: int
    observed: float | None
    sample: int
    low: float | None
    high: float | None
    name: str
    won: int
    still_open: int
    suggested: int | None


class CalibrationOut(Schema):
    pipeline: str
    stages: list[StageCalibrationOut]


class CalibrationApplyIn(Schema):
    pipeline: Annotated[str, Field(min_length=1, max_length=60)]
    stage: Annotated[str, Field(min_length=1, max_length=60)]
    probability: int

    model_config = {"extra": "forbid"}


class CalibrationApplyOut(Schema):
    pipeline: str
    stage: str
    probability: int
    version: int


def _query_param(name: str, description: str) -> dict:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


FLOW_PARAMETERS = [
    _query_param("pipeline", "pipeline key (default: the first pipeline)"),
    _query_param("from", "first day, YYYY-MM-DD (default: 89 days before `to`)"),
    _query_param("to", "last day, YYYY-MM-DD (default: today, UTC)"),
    _query_param("owner_id", "an opportunity list filter; every list filter is taken"),
]


@router.get(
    "/flow",
    response=FlowOut,
    by_alias=True,
    operation_id="flow_metrics",
    summary="Flow metrics of a pipeline for a period and filter",
    openapi_extra={"parameters": FLOW_PARAMETERS},
)
def flow(request: HttpRequest):
    """Per stage: arrivals, exits by destination, conversion to the next stage and to won,
    median and 85th-percentile days in stage, WIP, stalled; overall: win rate, average won
    value, average cycle days, sales velocity, the bottleneck with its evidence. Filters: the
    opportunity list's (`owner_id`, `sector`, `source`, `cf_<key>`, …); a bad one is 422."""
    actor = actor_of(request)
    filters = parse_metric_filters(actor, request.GET)
    return flow_report(actor=actor, filters=filters)


@router.get(
    "/calibration",
    response=CalibrationOut,
    operation_id="flow_calibration",
    summary="Configured against observed win probability per open stage",
    openapi_extra={"parameters": [FLOW_PARAMETERS[0]]},
)
def calibration(request: HttpRequest):
    """Probabilities in 0..100, with the sample size and a 95 % Wilson score interval."""
    problems = ProblemList()
    for name in request.GET:
        if name != "pipeline":
            problems.add(("query", name), f"Unknown parameter '{name}'.", type="unknown_filter")
    problems.raise_if_any("The query is not valid.")
    pipeline = request.GET.get("pipeline", "").strip() or None
    return calibration_report(actor=actor_of(request), pipeline_key=pipeline)


@router.post(
    "/calibration/apply",
    response=CalibrationApplyOut,
    operation_id="apply_calibration",
    summary="Set a stage's configured probability, e.g. to the observed one (admin)",
)
def apply(request: HttpRequest, payload: CalibrationApplyIn):
    """Edits the process definition through its service: a new version, audited."""
    row = calibration_apply(
        actor=actor_of(request),
        pipeline_key=payload.pipeline,
        stage_key=payload.stage,
        probability=payload.probability,
    )
    return {
        "pipeline": payload.pipeline,
        "stage": payload.stage,
        "probability": payload.probability,
        "version": row.version,
    }
