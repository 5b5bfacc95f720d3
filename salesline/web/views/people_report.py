"""Reports › People and activity: per salesperson, business-development meetings per week
against capacity, activities per open opportunity and on-time task completion."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from salesline.accounts.selectors import member_list
from salesline.analytics import activity_selectors as activity
from salesline.core.errors import ValidationFailed
from salesline.pipeline.definition import pipelines_of
from salesline.playbooks.task_selectors import task_on_time_rate
from salesline.process.selectors import definition_for

from ..errors import bind_problems
from .common import member_page, page_context


@member_page
def people_report_page(request: HttpRequest, actor) -> HttpResponse:
    context = {
        "section": "people",
        "members": sorted(member_list(actor=actor), key=lambda m: m.label.lower()),
        "pipelines": pipelines_of(definition_for(actor.organisation)),
    }
    try:
        report = activity.people_report(
            actor=actor, raw=request.GET, on_time_rate=task_on_time_rate
        )
    except ValidationFailed as error:
        context.update(query=request.GET, errors=bind_problems(None, error))
        status = 400
    else:
        people = report["people"]
        context.update(
            report=report,
            weeks=[week["week"] for week in people[0]["weeks"]] if people else [],
            query={
                "pipeline": report["pipeline"],
                "from": report["from"].isoformat(),
                "to": report["to"].isoformat(),
                "owner_id": str(report["owner_id"] or ""),
            },
        )
        status = 200
    return render(
        request, "web/reports/people.html", page_context(request, actor, **context), status=status
    )


urlpatterns = [path("reports/people/", people_report_page, name="reports-people")]
