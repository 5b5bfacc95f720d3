"""Reports → Flow and calibration: the flow metrics of a pipeline for a period and filter, the
bottleneck, and each open stage's configured against observed win probability with a one-click
change (admins; confirmed; through the same service as the API)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from salesline.accounts.selectors import member_list
from salesline.accounts.services import require_admin
from salesline.analytics.calibration_services import calibration_apply, calibration_check
from salesline.analytics.extract import flow_history
from salesline.analytics.filters import parse_metric_filters
from salesline.analytics.flow import DEFINITIONS
from salesline.analytics.flow_selectors import calibration_report, flow_report
from salesline.pipeline.definition import pipelines_of
from salesline.process.selectors import definition_for

from ..errors import bind_problems, on_refusal
from ..formatting import number
from .common import member_page, page_context
from .settings import _is_admin

# The columns of the stage table: (heading, key of its definition, whether it is a number).
STAGE_COLUMNS = (
    ("Arrivals", "arrivals", True),
    ("Exits (to)", "exits", False),
    ("To next", "conversion_to_next", True),
    ("To won", "conversion_to_won", True),
    ("Median days", "median_days_in_stage", True),
    ("85th pct. days", "p85_days_in_stage", True),
    ("WIP", "wip", True),
    ("WIP age", "wip_age", False),
    ("Stalled", "stalled", True),
)
# The legend's names of the definitions (docs/metrics.md's).
LEGEND_NAMES = {
    "arrivals": "Arrivals",
    "exits": "Exits",
    "conversion_to_next": "Conversion to next",
    "conversion_to_won": "Conversion to won",
    "median_days_in_stage": "Median days in stage",
    "p85_days_in_stage": "85th percentile days in stage",
    "wip": "WIP",
    "wip_age": "WIP age",
    "stalled": "Stalled",
    "exits_per_week": "Exits per week",
    "win_rate": "Win rate",
    "average_won_value": "Average won value",
    "average_cycle_days": "Average cycle",
    "sales_velocity": "Sales velocity",
    "throughput": "Weekly throughput",
    "cycle_time": "Cycle time to close",
}
# The record filters the form offers; any other list filter in the URL is taken as well.
FORM_FILTERS = ("owner_id", "sector", "vertical")
NONE = "—"


def _percent(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f} %"


def _days(days: float | None) -> str:
    return NONE if days is None else f"{days:.1f}"


def _money(value: float | None, currencies: list[str]) -> str:
    if value is None:
        return NONE
    shown = number(value, 2)
    return f"{shown} {currencies[0]}" if len(currencies) == 1 else shown


def _stage_rows(report: dict) -> list[dict]:
    names = {stage["stage"]: stage["name"] for stage in report["stages"]}
    rows = []
    for stage in report["stages"]:
        exits = ", ".join(
            f"{names.get(to, to)} {count}"
            for to, count in sorted(stage["exits"].items(), key=lambda item: -item[1])
        )
        ages = [f"{label}: {count}" for label, count in stage["wip_age"].items() if count]
        rows.append(
            {
                "key": stage["stage"],
                "name": stage["name"],
                "kind": stage["kind"],
                "cells": list(
                    zip(
                        (
                            str(stage["arrivals"]),
                            exits or "none",
                            _percent(stage["conversion_to_next"]),
                            _percent(stage["conversion_to_won"]),
                            _days(stage["median_days_in_stage"]),
                            _days(stage["p85_days_in_stage"]),
                            str(stage["wip"]),
                            "; ".join(ages) or NONE,
                            f"{stage['stalled']}" if stage["kind"] == "open" else NONE,
                        ),
                        (numeric for _, _, numeric in STAGE_COLUMNS),
                        strict=True,
                    )
                ),
                "stalled_after_days": stage["stalled_after_days"],
            }
        )
    return rows


def _calibration_rows(report: dict) -> list[dict]:
    return [
        {
            **stage,
            "observed_text": _percent(
                None if stage["observed"] is None else stage["observed"] / 100
            ),
            "interval_text": (
                NONE if stage["low"] is None else f"{stage['low']:.1f} – {stage['high']:.1f} %"
            ),
            "can_apply": stage["suggested"] is not None
            and stage["suggested"] != stage["configured"],
        }
        for stage in report["stages"]
    ]


def _bottleneck_name(report: dict) -> str:
    bottleneck = report["bottleneck"]
    if bottleneck is None:
        return ""
    return next(s["name"] for s in report["stages"] if s["stage"] == bottleneck["stage"])


@member_page
def flow_page(request: HttpRequest, actor) -> HttpResponse:
    pipelines = pipelines_of(definition_for(actor.organisation))
    # An empty input is no filter (a form sends every input).
    params = {name: value for name, value in request.GET.items() if value.strip()}
    context = page_context(
        request,
        actor,
        section="flow",
        pipelines=pipelines,
        members=member_list(actor=actor),
        params=params,
        definitions=DEFINITIONS,
        columns=[
            {"heading": heading, "key": key, "text": DEFINITIONS[key], "numeric": numeric}
            for heading, key, numeric in STAGE_COLUMNS
        ],
        legend=[(key, LEGEND_NAMES.get(key, key), text) for key, text in DEFINITIONS.items()],
        is_admin=_is_admin(actor),
        problems=[],
        report=None,
    )
    if not pipelines:
        return render(request, "web/reports/flow.html", context)

    def refused(error) -> HttpResponse:
        context["problems"] = bind_problems(None, error)
        return render(request, "web/reports/flow.html", context, status=400)

    on_refusal(request, refused)
    filters = parse_metric_filters(actor, params)
    history = flow_history(actor.organisation)  # read once for both tables
    report = flow_report(actor=actor, filters=filters, history=history)
    calibration = calibration_report(
        actor=actor, pipeline_key=filters.pipeline_key, history=history
    )
    context.update(
        filters=filters,
        report=report,
        stage_rows=_stage_rows(report),
        calibration_rows=_calibration_rows(calibration),
        bottleneck_name=_bottleneck_name(report),
        win_rate=_percent(report["win_rate"]),
        average_won_value=_money(report["average_won_value"], report["currencies"]),
        average_cycle_days=_days(report["average_cycle_days"]),
        sales_velocity=_money(report["sales_velocity"], report["currencies"]),
        cycle_median=_days(report["cycle_time"]["median_days"]),
        cycle_p85=_days(report["cycle_time"]["p85_days"]),
        # Nothing ever entered the pipeline: say how to begin rather than show zeros.
        never_used=not history.entered(filters.pipeline_key),
        has_record_filters=bool(filters.record_params),
    )
    return render(request, "web/reports/flow.html", context)


@member_page
@require_http_methods(["GET", "POST"])
def calibrate_page(request: HttpRequest, actor) -> HttpResponse:
    """Confirm, then set a stage's configured probability (the calibration table's Apply):
    admins only, as the service says."""
    require_admin(actor, "change its process")
    source = request.POST if request.method == "POST" else request.GET
    context = page_context(
        request,
        actor,
        section="flow",
        back=reverse("web:reports-flow"),
        problems=[],
        row=None,
    )

    def refused(error) -> HttpResponse:
        context["problems"] = bind_problems(None, error)
        return render(request, "web/reports/calibrate.html", context, status=400)

    on_refusal(request, refused)
    raw = source.get("probability", "").strip()
    pipeline, stage = calibration_check(
        actor=actor,
        pipeline_key=source.get("pipeline", ""),
        stage_key=source.get("stage", ""),
        # A number only when it is one: the check names anything else.
        probability=int(raw) if raw.removeprefix("-").isdecimal() and len(raw) < 10 else raw,
    )
    probability = int(raw)
    back = f"{reverse('web:reports-flow')}?{urlencode({'pipeline': pipeline.key})}"
    context.update(pipeline=pipeline, stage=stage, probability=probability, back=back)
    if request.method == "POST":
        previous = stage.probability
        row = calibration_apply(
            actor=actor, pipeline_key=pipeline.key, stage_key=stage.key, probability=probability
        )
        messages.success(
            request,
            f"{stage.name}'s win probability is now {probability} % (it was {previous} %): "
            f"version {row.version} of the process definition.",
        )
        return redirect(back)
    report = calibration_report(actor=actor, pipeline_key=pipeline.key)
    context["row"] = next((r for r in report["stages"] if r["stage"] == stage.key), None)
    return render(request, "web/reports/calibrate.html", context)


urlpatterns = [
    path("reports/flow/", flow_page, name="reports-flow"),
    path("reports/flow/calibrate/", calibrate_page, name="reports-flow-calibrate"),
]
