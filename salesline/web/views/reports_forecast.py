"""Reports → Forecast: the weighted pipeline and the Monte-Carlo P10/P50/P90 per month and
quarter for a pipeline and filter, the seed (to run the same forecast again), the accuracy of
past weekly snapshots, and "take this week's snapshot now" for those allowed."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from salesline.analytics.filters import parse_metric_filters, pipeline_named
from salesline.analytics.forecast_selectors import (
    DEFAULT_HORIZON,
    DEFAULT_TRIALS,
    FORECAST_PARAMETERS,
    MAX_HORIZON,
    MAX_SEED,
    MAX_TRIALS,
    forecast_accuracy,
    forecast_report,
    parse_forecast_options,
)
from salesline.analytics.forecast_services import SNAPSHOT_ROLES, forecast_snapshot_take
from salesline.core.errors import ProblemList, ValidationFailed
from salesline.pipeline.definition import pipelines_of
from salesline.process.selectors import definition_for

from ..errors import bind_problems, on_refusal
from ..formatting import number
from .common import member_page, page_context


def _money(value: float | None) -> str:
    return "—" if value is None else number(value, 2)


def _rows(report: dict) -> tuple[list[dict], list[dict]]:
    counts = {row["period"]: row for row in report["counts"]}
    months = [
        {
            "period": row["period"],
            "weighted": _money(row["weighted"]),
            "p10": _money(row["p10"]),
            "p50": _money(row["p50"]),
            "p90": _money(row["p90"]),
            "count": f"{counts[row['period']]['count_p10']}–{counts[row['period']]['count_p90']}",
            "count_p50": row["count_p50"],
        }
        for row in report["periods"]
    ]
    quarters = [
        {
            "period": row["period"],
            "partial": row["months"] < 3,
            "months": row["months"],
            "weighted": _money(row["weighted"]),
            "p10": _money(row["p10"]),
            "p50": _money(row["p50"]),
            "p90": _money(row["p90"]),
            "count": f"{row['count_p10']}–{row['count_p90']}",
            "count_p50": row["count_p50"],
        }
        for row in report["quarters"]
    ]
    return months, quarters


@member_page
def forecast_page(request: HttpRequest, actor) -> HttpResponse:
    pipelines = pipelines_of(definition_for(actor.organisation))
    # An empty input is no filter (a form sends every input).
    params = {name: value for name, value in request.GET.items() if value.strip()}
    context = page_context(
        request,
        actor,
        section="forecast",
        pipelines=pipelines,
        params=params,
        problems=[],
        report=None,
        limits={
            "trials": MAX_TRIALS,
            "horizon": MAX_HORIZON,
            "seed": MAX_SEED,
            "default_trials": DEFAULT_TRIALS,
            "default_horizon": DEFAULT_HORIZON,
        },
        can_snapshot=actor.has_role(*SNAPSHOT_ROLES),
    )
    if not pipelines:
        return render(request, "web/reports/forecast.html", context)

    def refused(error) -> HttpResponse:
        context["problems"] = bind_problems(None, error)
        return render(request, "web/reports/forecast.html", context, status=400)

    on_refusal(request, refused)
    problems = ProblemList()
    options = filters = None
    try:
        options = parse_forecast_options(params)
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    try:
        filters = parse_metric_filters(actor, params, handled=FORECAST_PARAMETERS)
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    problems.raise_if_any("The forecast cannot be run with these settings.")
    assert options is not None and filters is not None  # noqa: S101
    report = forecast_report(
        actor=actor,
        filters=filters,
        trials=options.trials,
        seed=options.seed,
        horizon=options.horizon,
        probability=options.probability,
    )
    months, quarters = _rows(report)
    accuracy = forecast_accuracy(actor=actor, pipeline_key=report["pipeline"])
    again = {**params, "pipeline": report["pipeline"], "seed": str(report["seed"])}
    context.update(
        report=report,
        pipeline_key=report["pipeline"],
        months=months,
        quarters=quarters,
        buckets={name: _money(value) for name, value in report["weighted_buckets"].items()},
        weighted_total=_money(report["weighted_total"]),
        currency=report["currencies"][0] if len(report["currencies"]) == 1 else "",
        mixed_currencies=len(report["currencies"]) > 1,
        same_again=f"{reverse('web:reports-forecast')}?{urlencode(again)}",
        accuracy=[
            row
            | {
                "p50_text": _money(row["p50"]),
                "p10_text": _money(row["p10"]),
                "p90_text": _money(row["p90"]),
                "actual_text": _money(row["actual_value"]),
                "error_text": _money(row["error"]),
            }
            for row in accuracy
        ],
        accuracy_backfilled=any(row["snapshot_backfilled"] for row in accuracy),
    )
    return render(request, "web/reports/forecast.html", context)


@member_page
@require_POST
def snapshot_page(request: HttpRequest, actor) -> HttpResponse:
    """Take this week's snapshot of a pipeline now (the worker takes it weekly otherwise)."""
    pipeline = pipeline_named(actor, request.POST.get("pipeline", "").strip() or None)
    snapshot, taken = forecast_snapshot_take(actor=actor, pipeline_key=pipeline.key)
    if taken:
        messages.success(request, f"Took the forecast snapshot of {snapshot.week}.")
    else:
        messages.info(
            request, f"The snapshot of {snapshot.week} was taken already: a week keeps its first."
        )
    return redirect(f"{reverse('web:reports-forecast')}?{urlencode({'pipeline': pipeline.key})}")


urlpatterns = [
    path("reports/forecast/", forecast_page, name="reports-forecast"),
    path("reports/forecast/snapshot/", snapshot_page, name="reports-forecast-snapshot"),
]
