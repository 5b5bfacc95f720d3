"""The dashboard's numbers: every chart's data as JSON, and each chart's table as CSV — the
same numbers as the page (/reports/) and the weekly PDF report."""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router

from salesline.analytics import dashboard_selectors
from salesline.analytics.filters import parse_metric_filters

from .common import actor_of

router = Router(tags=["metrics"])

FILTERS_DOC = (
    "Filters as the flow metrics take them: `pipeline` (key; the first pipeline when left "
    "out), `from` and `to` (YYYY-MM-DD; the last 90 days by default), and the opportunity "
    "list's filters (`owner_id`, `source`, `cf_<key>`, …). A bad one answers 422 naming it."
)


def _report(request: HttpRequest):
    actor = actor_of(request)
    params = {name: value for name, value in request.GET.items() if value.strip()}
    filters = parse_metric_filters(actor, params)
    return dashboard_selectors.dashboard_report(actor=actor, filters=filters)


@router.get("", operation_id="get_dashboard", summary="Every chart's data", description=FILTERS_DOC)
def get_dashboard(request: HttpRequest):
    return _report(request).as_json()


@router.get(
    "/{chart}.csv",
    operation_id="get_dashboard_chart_csv",
    summary="One chart's data as CSV",
    description="`chart` is one of: "
    + ", ".join(dashboard_selectors.CHART_ORDER)
    + ". "
    + FILTERS_DOC,
)
def get_chart_csv(request: HttpRequest, chart: str):
    chunks, name = dashboard_selectors.chart_csv(_report(request), chart)
    response = StreamingHttpResponse(chunks, content_type=dashboard_selectors.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def register(api) -> None:
    api.add_router("/metrics/dashboard", router)
