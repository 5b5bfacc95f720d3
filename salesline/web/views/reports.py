"""The reports dashboard (/reports/): every chart for a pipeline, period and filter, each with
its text alternative, its table and its CSV; the weekly report as a PDF.

The filter form submits with GET; htmx swaps only the charts (`#dashboard-results`), and the
page works the same without JavaScript (the text alternatives and tables show, no pictures).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from salesline.accounts.selectors import member_list
from salesline.analytics import dashboard_selectors, report
from salesline.analytics.charts import figure_text
from salesline.analytics.filters import parse_metric_filters
from salesline.core.errors import DomainError
from salesline.pipeline.definition import pipelines_of
from salesline.pipeline.models import Opportunity
from salesline.process.selectors import definition_for

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

PAGE = "web/reports/dashboard.html"


def _params(request: HttpRequest) -> dict[str, str]:
    """The filter's parameters, empty ones dropped (a blank select means "any")."""
    return {name: value for name, value in request.GET.items() if value.strip()}


@require_GET
@member_page
def dashboard(request: HttpRequest, actor) -> HttpResponse:
    params = _params(request)
    context = {
        "section": "dashboard",
        "pipelines": pipelines_of(definition_for(actor.organisation)),
        "members": member_list(actor=actor),
        "params": params,
        "query": request.GET.urlencode(),
        "date_from": "",
        "date_to": "",
    }
    template = (
        "web/reports/dashboard.html#results" if request.htmx else "web/reports/dashboard.html"
    )

    def refused(error: DomainError) -> HttpResponse:
        problems = bind_problems(None, error)
        return render(
            request,
            template,
            page_context(request, actor, **context, problems=problems),
            status=error.status,
        )

    on_refusal(request, refused)
    has_opportunities = Opportunity.objects.filter(organisation=actor.organisation).exists()
    if not context["pipelines"] or not has_opportunities:
        return render(request, template, page_context(request, actor, **context, nothing_yet=True))
    filters = parse_metric_filters(actor, params)
    report_data = dashboard_selectors.dashboard_report(actor=actor, filters=filters)
    charts = [
        {
            "key": chart.key,
            "title": chart.title,
            "description": chart.description,
            "spec": chart.spec,
            "spec_json": json.dumps(chart.spec, separators=(",", ":")) if chart.spec else "",
            "columns": chart.columns,
            "rows": [[figure_text(cell) for cell in row] for row in chart.rows],
        }
        for chart in report_data.charts
    ]
    key_numbers = [(name, figure_text(value)) for name, value in report_data.key_numbers]
    context["date_from"] = report_data.date_from.isoformat()
    context["date_to"] = report_data.date_to.isoformat()
    return render(
        request,
        template,
        page_context(
            request,
            actor,
            **context,
            dashboard=report_data,
            charts=charts,
            key_numbers=key_numbers,
            pipeline_key=report_data.pipeline_key,
        ),
    )


@require_GET
@member_page
def chart_csv(request: HttpRequest, actor, chart: str) -> HttpResponse:
    params = _params(request)
    filters = parse_metric_filters(actor, params)
    report_data = dashboard_selectors.dashboard_report(actor=actor, filters=filters)
    return csv_response(report_data, chart)


def csv_response(report_data, chart_key: str) -> HttpResponse:
    chunks, name = dashboard_selectors.chart_csv(report_data, chart_key)
    response = StreamingHttpResponse(chunks, content_type=dashboard_selectors.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@member_page
def weekly_pdf(request: HttpRequest, actor) -> HttpResponse:
    params = _params(request)
    filters = parse_metric_filters(actor, params)
    report_data = dashboard_selectors.dashboard_report(actor=actor, filters=filters)
    pdf = report.report_pdf(organisation=actor.organisation, dashboard=report_data)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"salesline-report-{report_data.pipeline_key}-{report_data.date_to}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("reports/", dashboard, name="reports"),
    path("reports/data/<slug:chart>.csv", chart_csv, name="reports-csv"),
    path("reports/report.pdf", weekly_pdf, name="reports-pdf"),
]
