"""The quality rating on the web: the panel of the opportunity page (score, band, and each
unmet spec as a link to where it is put right) and the quality report under /reports/."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from salesline.analytics.quality_definition import quality_of
from salesline.analytics.quality_selectors import (
    ListFilters,
    quality_distribution,
    quality_lowest,
    quality_rating_for,
)
from salesline.core.errors import ValidationFailed
from salesline.pipeline.definition import pipelines_of
from salesline.process.selectors import definition_for
from salesline.records.fields import KINDS
from salesline.records.filters import RESERVED, parse_list_query
from salesline.records.services import custom_field_defs

from ..errors import bind_problems
from .common import member_page, page_context

#: Where each kind of unmet spec is put right: the edit form, the move page (its checklist)
#: or the note form.
_FIX = {
    "checklist": "move",
    "recent_activity": "note",
}


def _action(kind: str, opportunity_id: int) -> str:
    match _FIX.get(kind, "edit"):
        case "move":
            return reverse("web:board-move", args=[opportunity_id]) + "?back=record"
        case "note":
            return "#notes"
    return reverse("web:record-edit", args=["opportunities", opportunity_id])


def panel_context(actor, opportunity) -> dict[str, Any]:
    rating = quality_rating_for(actor=actor, opportunity=opportunity)
    return {
        "rating": rating,
        "met": [reason for reason in rating.reasons if reason["met"]],
        "unmet": [
            {**reason, "href": _action(reason["kind"], opportunity.pk)}
            for reason in rating.reasons
            if not reason["met"]
        ],
    }


@member_page
def quality_report(request: HttpRequest, actor) -> HttpResponse:
    """The distribution of the open opportunities' ratings and the lowest rated, for a pipeline
    and the opportunity list's filters (`?pipeline=…&owner_id=…`)."""
    params = {k: v for k, v in request.GET.items() if k not in RESERVED and v != ""}
    definition = definition_for(actor.organisation)
    pipelines = pipelines_of(definition)
    context = page_context(
        request,
        actor,
        section="quality",
        pipelines=pipelines,
        good=quality_of(definition).good,
        pipeline=params.get("pipeline", ""),
        problems=[],
        distribution=None,
        lowest=[],
    )
    try:
        query = parse_list_query(
            KINDS["opportunity"], params, lambda: custom_field_defs(actor, "opportunity")
        )
    except ValidationFailed as error:  # a bad filter is shown on the page (400), never a 500
        context["problems"] = bind_problems(None, error)
        return render(request, "web/reports/quality.html", context, status=400)
    filters = ListFilters(query=query if params else None)
    context["distribution"] = quality_distribution(actor=actor, filters=filters)
    context["lowest"] = quality_lowest(actor=actor, filters=filters)
    context["peak"] = max(row["count"] for row in context["distribution"]["deciles"]) or 1
    return render(request, "web/reports/quality.html", context)


urlpatterns = [path("reports/quality/", quality_report, name="reports-quality")]
