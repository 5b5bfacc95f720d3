"""Reports › Campaigns and costs: the campaign report (with its CSV), campaigns' forms, the
hourly rate, and the "Time and expenses" panel's writes on lead and opportunity pages.

Forms post to the services the API calls, so a page refuses exactly what the API refuses, each
problem beside the input it names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from salesline.accounts.models import Role
from salesline.analytics import campaign_selectors, cost_selectors, cost_services
from salesline.core import spreadsheets
from salesline.core.errors import DomainError, ValidationFailed
from salesline.core.ids import is_id
from salesline.records import campaign_selectors as selectors
from salesline.records import campaign_services as services
from salesline.records.models import Campaign

from .. import forms
from ..errors import bind_problems, on_refusal
from ..formatting import day, money
from .common import member_page, page_context

SECTION = "campaigns"
CAMPAIGN_FIELDS = ("name", "kind", "starts_on", "ends_on", "cost", "currency", "description")
# The report's columns: (key, heading), in the table's and the CSV's order.
REPORT_COLUMNS = (
    ("name", "Campaign"),
    ("kind", "Kind"),
    ("currency", "Currency"),
    ("cost", "Cost"),
    ("leads", "Leads"),
    ("opportunities", "Opportunities"),
    ("won", "Won deals"),
    ("won_value", "Won value"),
    ("cost_per_lead", "Cost per lead"),
    ("cost_per_opportunity", "Cost per opportunity"),
    ("cost_per_won", "Cost per won deal"),
    ("return", "Return"),
)
MONEY_COLUMNS = frozenset(
    {"cost", "won_value", "cost_per_lead", "cost_per_opportunity", "cost_per_won"}
)
# The network enquiries' row is named for what it is; its kind needs no label of its own.
KIND_LABELS = {**dict(Campaign.Kind.choices), campaign_selectors.ENQUIRIES: ""}


def _id(value: int) -> int:
    if not is_id(value):
        raise Http404("No such campaign.")
    return value


def _is_admin(actor) -> bool:
    return actor.user is None or actor.has_role(Role.ADMIN)


def _shown(key: str, row: Mapping[str, Any]) -> str:
    """One cell of the report as the page shows it; "—" where a figure cannot be computed."""
    value = row.get(key)
    if key == "kind":
        return str(KIND_LABELS.get(value, value or ""))
    if value is None:
        return "—"
    if key in MONEY_COLUMNS:
        return money(value, row["currency"])
    if key == "return":
        return f"{value:.0%}"
    return str(value)


def _period_values(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in ("from", "to")}


@member_page
def campaign_report(request: HttpRequest, actor) -> HttpResponse:
    """The report for a period (`from`/`to`, each optional), as a table or (`format=csv`) a
    file. A bad date is shown beside its input, with the report for no period."""
    values = _period_values(request)
    problems: dict[str, list[str]] = {}
    try:
        period = cost_selectors.parse_period(values)
    except ValidationFailed as error:
        for problem in error.problems:
            problems.setdefault(str(problem.loc[-1]), []).append(problem.msg)
        period = cost_selectors.Period()
    rows, totals = campaign_selectors.campaign_report_with_totals(
        actor=actor, date_from=period.date_from, date_to=period.date_to
    )
    if request.GET.get("format") == "csv" and not problems:
        return _csv_response(rows, totals, period)
    settings = cost_selectors.cost_settings_for(actor=actor)
    return render(
        request,
        "web/reports/campaigns.html",
        page_context(
            request,
            actor,
            section=SECTION,
            values=values,
            problems=problems,
            period=period,
            headings=[heading for _, heading in REPORT_COLUMNS],
            rows=[
                {
                    "campaign_id": row["campaign_id"],
                    "dates": _dates(row),
                    "cells": [(heading, _shown(key, row)) for key, heading in REPORT_COLUMNS],
                }
                for row in rows
            ],
            totals=[
                [
                    (heading, _shown(key, {**total, "name": "All", "kind": ""}))
                    for key, heading in REPORT_COLUMNS
                ]
                for total in totals
            ],  # fmt: skip
            has_campaigns=selectors.campaign_list(actor=actor).exists(),
            rate=money(settings.hourly_rate, settings.currency),
            is_admin=_is_admin(actor),
            csv_query=f"?from={values['from']}&to={values['to']}&format=csv",
        ),
        status=422 if problems else 200,
    )


def _dates(row: Mapping[str, Any]) -> str:
    starts, ends = row.get("starts_on"), row.get("ends_on")
    if starts and ends and ends != starts:
        return f"{day(starts)} – {day(ends)}"
    return day(starts)


def _csv_response(rows, totals, period) -> StreamingHttpResponse:
    """The table as CSV: numbers as numbers, text neutralised (core.spreadsheets), totals
    last as rows named "All campaigns"."""
    header = ["campaign_id", *(key for key, _ in REPORT_COLUMNS)]
    lines = [[row.get("campaign_id"), *(row.get(key) for key, _ in REPORT_COLUMNS)] for row in rows]
    lines += [
        [None, "All campaigns", "", *(total.get(key) for key, _ in REPORT_COLUMNS[2:])]
        for total in totals
    ]
    span = "-".join(d.isoformat() for d in (period.date_from, period.date_to) if d) or "all"
    response = StreamingHttpResponse(
        spreadsheets.csv_chunks(header, lines), content_type=spreadsheets.CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="campaigns-{span}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- campaign forms


def _inputs(values: Mapping[str, str]) -> list[forms.Input]:
    kinds = [(value, label) for value, label in Campaign.Kind.choices]
    return [
        forms.Input("name", "Name", "text", values.get("name", ""), required=True, max_length=200),
        forms.Input("kind", "Kind", "select", values.get("kind", "other"), options=kinds),
        forms.Input("starts_on", "Start date", "date", values.get("starts_on", "")),
        forms.Input("ends_on", "End date", "date", values.get("ends_on", "")),
        forms.Input(
            "cost",
            "Cost",
            "number",
            values.get("cost", ""),
            attrs={"step": "0.01", "min": "0"},
            help="What the campaign itself cost (a stand, a mailing house). Time and expenses "
            "on its leads and opportunities are added to it in the report.",
        ),
        forms.Input(
            "currency", "Currency", "text", values.get("currency", ""), required=True, max_length=3
        ),
        forms.Input("description", "Description", "textarea", values.get("description", "")),
    ]


def _values_of(campaign: Campaign) -> dict[str, str]:
    return {name: forms.as_text(getattr(campaign, name)) for name in CAMPAIGN_FIELDS} | {
        "version": str(campaign.version)
    }


def _form_page(
    request: HttpRequest, actor, campaign: Campaign | None, save: Callable[[dict], Campaign]
) -> HttpResponse:
    posted = request.method == "POST"
    if posted:
        values = {name: request.POST.get(name, "") for name in (*CAMPAIGN_FIELDS, "version")}
    elif campaign is not None:
        values = _values_of(campaign)
    else:
        values = {"currency": cost_selectors.cost_settings_for(actor=actor).currency}
    inputs = _inputs(values)

    def render_page(status: int, general=()) -> HttpResponse:
        return render(
            request,
            "web/reports/campaign_form.html",
            page_context(
                request,
                actor,
                section=SECTION,
                campaign=campaign,
                inputs=inputs,
                version=values.get("version", ""),
                general=list(general),
            ),
            status=status,
        )

    if not posted:
        return render_page(200)

    def refused(error: DomainError) -> HttpResponse:
        return render_page(error.status, bind_problems(inputs, error))

    on_refusal(request, refused)
    saved = save({name: values[name] for name in CAMPAIGN_FIELDS})
    messages.success(request, f"Campaign “{saved.name}” saved.")
    return redirect("web:reports-campaigns")


@member_page
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest, actor) -> HttpResponse:
    return _form_page(
        request, actor, None, lambda data: services.campaign_create(actor=actor, data=data)
    )


def _posted_version(request: HttpRequest) -> int | None:
    text = request.POST.get("version", "")
    return int(text) if text.isdecimal() else None


@member_page
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, actor, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(actor=actor, campaign_id=_id(campaign_id))
    return _form_page(
        request,
        actor,
        campaign,
        lambda data: services.campaign_update(
            actor=actor,
            campaign_id=campaign.pk,
            data=data,
            expected_version=_posted_version(request),
        ),
    )


@member_page
@require_http_methods(["GET", "POST"])
def campaign_delete(request: HttpRequest, actor, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get_for(actor=actor, campaign_id=_id(campaign_id))
    if request.method == "POST":
        services.campaign_delete(actor=actor, campaign_id=campaign.pk)
        messages.success(
            request, f"Campaign “{campaign.name}” deleted. It can be restored for 30 days."
        )
        return redirect("web:reports-campaigns")
    return render(
        request,
        "web/reports/campaign_delete.html",
        page_context(request, actor, section=SECTION, campaign=campaign),
    )


@member_page
@require_http_methods(["GET", "POST"])
def cost_settings(request: HttpRequest, actor) -> HttpResponse:
    """The hourly rate for logged time and the default currency (an admin's to change)."""
    current = cost_selectors.cost_settings_for(actor=actor)
    posted = request.method == "POST"
    values = (
        {name: request.POST.get(name, "") for name in ("hourly_rate", "currency")}
        if posted
        else {"hourly_rate": forms.as_text(current.hourly_rate), "currency": current.currency}
    )
    inputs = [
        forms.Input(
            "hourly_rate",
            "Hourly rate",
            "number",
            values["hourly_rate"],
            attrs={"step": "0.01", "min": "0"},
            help="What an hour of a member's time costs. Time logged from now on is costed at "
            "it; what was logged before keeps its rate. Empty: time must give its own rate.",
        ),
        forms.Input(
            "currency", "Currency", "text", values["currency"], required=True, max_length=3
        ),
    ]

    def render_page(status: int, general=()) -> HttpResponse:
        return render(
            request,
            "web/reports/cost_settings.html",
            page_context(
                request,
                actor,
                section=SECTION,
                inputs=inputs,
                general=list(general),
                is_admin=_is_admin(actor),
            ),
            status=status,
        )

    if not posted:
        return render_page(200)
    on_refusal(request, lambda error: render_page(error.status, bind_problems(inputs, error)))
    cost_services.cost_settings_update(actor=actor, data=values)
    messages.success(request, "Hourly rate saved.")
    return redirect("web:reports-campaigns")


# ---------------------------------------------------------------- the record panel's writes


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@member_page
@require_POST
def cost_add(request: HttpRequest, actor) -> HttpResponse:
    """Log time (hours and minutes) or an expense on the lead, opportunity or network enquiry
    the panel is on."""
    post = request.POST
    data: dict[str, Any] = {
        name: post.get(name, "").strip()
        for name in ("kind", "amount", "currency", "description", "date", "lead_id")
        if post.get(name, "").strip()
    }
    for name in ("opportunity_id", "enquiry_id"):
        if post.get(name, "").strip():
            data[name] = post[name].strip()
    if data.get("kind") == "time":
        data.pop("amount", None)
        data["minutes"] = _minutes_of(post.get("hours", ""), post.get("minutes", ""))
    back = _back(request, reverse("web:home"))

    def refused(error: DomainError) -> HttpResponse:
        for message in [problem.msg for problem in error.problems] or [str(error)]:
            messages.error(request, message)
        return redirect(f"{back}#costs")

    on_refusal(request, refused)
    entry = cost_services.cost_entry_create(actor=actor, data=data)
    messages.success(request, f"Logged {money(entry.amount, entry.currency)}.")
    return redirect(f"{back}#costs")


def _minutes_of(hours: str, minutes: str) -> str:
    """Hours (decimals allowed: 1.5) and minutes as whole minutes, as text for the service,
    which names what is wrong with it."""
    try:
        total = round(float(hours or 0) * 60) + int(minutes or 0)
    except ValueError:
        return f"{hours}:{minutes}"
    return str(total) if total else ""


@member_page
@require_POST
def cost_delete(request: HttpRequest, actor, cost_id: int) -> HttpResponse:
    back = _back(request, reverse("web:home"))
    cost_services.cost_entry_delete(actor=actor, cost_entry_id=_id(cost_id))
    messages.success(request, "Cost deleted.")
    return redirect(f"{back}#costs")


urlpatterns = [
    path("reports/campaigns/", campaign_report, name="reports-campaigns"),
    path("reports/campaigns/new/", campaign_create, name="campaign-create"),
    path("reports/campaigns/<int:campaign_id>/", campaign_edit, name="campaign-edit"),
    path("reports/campaigns/<int:campaign_id>/delete/", campaign_delete, name="campaign-delete"),
    path("reports/campaigns/hourly-rate/", cost_settings, name="cost-settings"),
    path("costs/new/", cost_add, name="cost-add"),
    path("costs/<int:cost_id>/delete/", cost_delete, name="cost-delete"),
]
