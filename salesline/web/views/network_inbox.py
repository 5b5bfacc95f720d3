"""A network's shared inbox for its members: the enquiries (filters, search, pages, overdue
ones marked), one enquiry with its timeline and the triage form (category, guidance, checklist,
suggested questions, the sales criteria, the suggested reply to send or keep as a draft), and
the duty rota (who is on duty now and next, every period, adding one, the hand-over and its
acknowledgement). Every change goes through the enquiries app's services, as the API's do;
a non-member gets 404, a member who may not do something the 403 page. No JavaScript needed.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from salesline.core.errors import Conflict, NotFound, Problem, ValidationFailed
from salesline.core.ids import MAX_ID
from salesline.enquiries import access, referrals, rota_services, states, triage_services
from salesline.enquiries.models import Category, Enquiry, EnquiryStatus, Network, Skill
from salesline.enquiries.network_rules import rules_for
from salesline.enquiries.rota import day_after

from ..errors import problem_lines
from .common import member_page, page_context

SECTION = "network"
PAGE_SIZE = 25
SEARCH_MAX = 100


def _network(actor, slug: str) -> Network:
    network = access.network_get_for(actor=actor, slug=slug)
    return Network.objects.select_related("organisation", "coordinator").get(pk=network.pk)


# ------------------------------------------------------------------------------- the inbox


@member_page
def network_enquiries(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    today = timezone.localdate()
    status = request.GET.get("status", "")
    category = request.GET.get("category", "")
    chair = request.GET.get("chair", "")
    query = request.GET.get("q", "").strip()[:SEARCH_MAX]
    problems: list[str] = []
    enquiries = network.enquiries.select_related("chair_org").order_by("-received_at", "-pk")
    if status:
        if status in EnquiryStatus.values:
            enquiries = enquiries.filter(status=status)
        else:
            problems.append(f"Unknown status '{status[:40]}'.")
    if category:
        if category in Category.values:
            enquiries = enquiries.filter(category=category)
        else:
            problems.append(f"Unknown category '{category[:40]}'.")
    if chair:
        enquiries = enquiries.filter(chair_org__slug=chair)
    if query:
        enquiries = enquiries.filter(
            Q(reference__icontains=query)
            | Q(name__icontains=query)
            | Q(email__icontains=query)
            | Q(organisation_name__icontains=query)
        )
    page_text = request.GET.get("page", "1")
    page = int(page_text) if page_text.isdecimal() and 0 < len(page_text) < 7 else 1
    page = max(page, 1)
    rows = [] if problems else list(enquiries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    filters = {
        key: value
        for key, value in (
            ("status", status),
            ("category", category),
            ("chair", chair),
            ("q", query),
        )
        if value
    }
    context = page_context(
        request,
        actor,
        section=SECTION,
        network=network,
        rows=[{"enquiry": e, "overdue": states.is_overdue(e, today)} for e in rows],
        problems=problems,
        statuses=EnquiryStatus.choices,
        categories=Category.choices,
        chairs=[member.organisation for member in access.members_of(network)],
        status=status,
        category=category,
        chair=chair,
        q=query,
        filtered=bool(filters),
        page=page,
        previous_query=urlencode({**filters, "page": page - 1}) if page > 1 else "",
        next_query=urlencode({**filters, "page": page + 1}) if more else "",
        rota_now=rota_services.rota_now(network, today),
    )
    return render(request, "web/networks/enquiries.html", context, status=400 if problems else 200)


# ------------------------------------------------------------------------------- one enquiry


def _enquiry_context(request, actor, network: Network, enquiry: Enquiry, **extra) -> dict:
    rules = rules_for(network)
    chosen = request.POST.get("category") or request.GET.get("category") or enquiry.category
    category = rules.category(chosen) if chosen else None
    suggested = None
    if category is not None:
        key = triage_services.suggested_key(rules, category, enquiry.eligible, enquiry.country)
        suggested = triage_services.suggested_reply_for(network, enquiry, category, key)
    may_work = access.is_coordinator(network, actor) or access.is_chair(network, actor)
    answers = enquiry.answers or {}
    return page_context(
        request,
        actor,
        section=SECTION,
        network=network,
        enquiry=enquiry,
        overdue=states.is_overdue(enquiry, timezone.localdate()),
        timeline=referrals.enquiry_timeline(actor=actor, enquiry=enquiry),
        categories=Category.choices,
        chosen=chosen or "",
        category=category,
        sales=rules.sales,
        answers=answers,
        answer_skills=set(answers.get("skills") or ()),
        skills=list(Skill.objects.filter(network=network).order_by("name")),
        suggested=suggested,
        checklist_done=set(enquiry.checklist_done or ()),
        may_work=may_work,
        referrals_url=f"/networks/{network.slug}/enquiries/{enquiry.pk}/referrals/",
        **{"problems": [], **extra},
    )


@member_page
@require_http_methods(["GET", "POST"])
def network_enquiry(request: HttpRequest, actor, slug: str, enquiry_id: int) -> HttpResponse:
    network = _network(actor, slug)
    if enquiry_id > MAX_ID:
        raise NotFound(f"No enquiry {enquiry_id}.")
    enquiry = (
        network.enquiries.select_related("chair_org", "chair_person", "triaged_by")
        .filter(pk=enquiry_id)
        .first()
    )
    if enquiry is None:
        raise NotFound(f"No enquiry {enquiry_id}.")
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _enquiry_action(request, actor, enquiry, action)
        except (ValidationFailed, Conflict) as error:
            enquiry.refresh_from_db()
            context = _enquiry_context(
                request, actor, network, enquiry, problems=problem_lines(error)
            )
            return render(request, "web/networks/enquiry.html", context, status=error.status)
        messages.success(request, done)
        return redirect(reverse("web:network_enquiry", args=[network.slug, enquiry.pk]))
    return render(
        request,
        "web/networks/enquiry.html",
        _enquiry_context(request, actor, network, enquiry),
    )


def _enquiry_action(request: HttpRequest, actor, enquiry: Enquiry, action: str) -> str:
    post = request.POST
    if action == "triage":
        answers: dict[str, Any] = {}
        for key in ("budget", "timescale", "technology", "brief"):
            value = post.get(key, "").strip()
            if value:
                answers[key] = value
        skills = post.getlist("skills")
        if skills:
            answers["skills"] = skills
        result = triage_services.enquiry_triage(
            actor=actor,
            enquiry_id=enquiry.pk,
            category=post.get("category", ""),
            answers=answers,
        )
        if post.get("category") != Category.SALES:
            return "Triaged."
        if result.eligible:
            return "Feasible: recorded as a lead in the network pipeline."
        return "Not feasible: the decline is drafted. " + " ".join(result.reasons)
    if action == "checklist":
        triage_services.enquiry_checklist_tick(
            actor=actor, enquiry_id=enquiry.pk, done=post.getlist("done")
        )
        return "Checklist saved."
    if action in ("send", "draft"):
        triage_services.enquiry_reply(
            actor=actor,
            enquiry_id=enquiry.pk,
            template=post.get("template", ""),
            subject=post.get("subject"),
            body=post.get("body"),
            send=action == "send",
        )
        return "Reply sent." if action == "send" else "Reply kept as a draft."
    raise ValidationFailed("Nothing was changed.", [])


# ------------------------------------------------------------------------------- the rota


def _rota_context(request, actor, network: Network, **extra) -> dict:
    today = timezone.localdate()
    periods = list(rota_services.rota_periods(network))
    following = {period.starts_on: period for period in periods}
    coordinator = access.is_coordinator(network, actor)
    rows = []
    for period in periods:
        after = day_after(period.ends_on)
        incoming = following.get(after) if after is not None else None
        rows.append(
            {
                "period": period,
                "current": period.starts_on <= today <= period.ends_on,
                "past": period.ends_on < today,
                "incoming": incoming,
                "may_hand_over": period.acknowledged_at is None
                and (coordinator or rota_services.is_user_of(actor, period.organisation_id)),
                "may_acknowledge": incoming is not None
                and period.handover_written_at is not None
                and period.acknowledged_at is None
                and rota_services.is_user_of(actor, incoming.organisation_id),
            }
        )
    last = periods[-1] if periods else None
    start_after = day_after(last.ends_on) if last else today
    removing_text = request.GET.get("remove", "")
    removing = None
    if coordinator and removing_text.isdecimal() and len(removing_text) < 19:
        removing = next((p for p in periods if p.pk == int(removing_text)), None)
    return page_context(
        request,
        actor,
        section=SECTION,
        network=network,
        now=rota_services.rota_now(network, today),
        rows=rows,
        coordinator=coordinator,
        members=[member.organisation for member in access.members_of(network)],
        period_months=rules_for(network).rota_period_months,
        open_count=rota_services.open_enquiries(network).count(),
        form=request.POST if request.method == "POST" else {},
        **{"problems": [], **extra},
        start_value=(request.POST.get("starts_on") if request.method == "POST" else "")
        or (start_after.isoformat() if start_after else ""),
        removing=removing,
    )


@member_page
@require_http_methods(["GET", "POST"])
def network_rota(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    if request.method == "POST":
        try:
            done = _rota_action(request, actor, network)
        except (ValidationFailed, Conflict) as error:
            context = _rota_context(request, actor, network, problems=problem_lines(error))
            return render(request, "web/networks/rota.html", context, status=error.status)
        messages.success(request, done)
        return redirect(reverse("web:network_rota", args=[network.slug]))
    return render(request, "web/networks/rota.html", _rota_context(request, actor, network))


def _date(text: str, field: str, *, required: bool) -> date | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationFailed("The rota period was not added.", [_problem(field, "required")])
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "The rota period was not added.", [_problem(field, f"'{text[:20]}' is not a date")]
        ) from None


def _problem(field: str, what: str) -> Problem:
    return Problem(loc=(field,), msg=f"{field.replace('_', ' ').capitalize()}: {what}.")


def _rota_action(request: HttpRequest, actor, network: Network) -> str:
    post = request.POST
    action = post.get("action", "")
    period_text = post.get("period", "")
    period_id = int(period_text) if period_text.isdecimal() and len(period_text) < 19 else 0
    if action == "add":
        access.require_coordinator(network, actor, "change the rota")
        starts_on = _date(post.get("starts_on", ""), "starts_on", required=True)
        if starts_on is None:  # required: _date has refused it
            raise ValidationFailed("The rota period was not added.", [])
        period = rota_services.rota_period_create(
            actor=actor,
            network_slug=network.slug,
            org_slug=post.get("org", ""),
            person_email=post.get("person", ""),
            starts_on=starts_on,
            ends_on=_date(post.get("ends_on", ""), "ends_on", required=False),
        )
        return f"{period.organisation.name} is on duty from {period.starts_on:%d %B %Y}."
    if action == "update":
        period = rota_services.rota_period_update(
            actor=actor,
            period_id=period_id,
            person_email=post.get("person", "").strip() or None,
            starts_on=_date(post.get("starts_on", ""), "starts_on", required=False),
            ends_on=_date(post.get("ends_on", ""), "ends_on", required=False),
        )
        return (
            f"{period.organisation.name}'s period is now {period.starts_on:%d %B %Y} to "
            f"{period.ends_on:%d %B %Y}."
        )
    if action == "delete":
        rota_services.rota_period_delete(actor=actor, period_id=period_id)
        return "The period was removed from the rota."
    if action == "handover":
        rota_services.rota_handover_write(
            actor=actor, period_id=period_id, notes=post.get("notes", "")
        )
        return "Hand-over written; the incoming chair is asked to acknowledge it."
    if action == "acknowledge":
        rota_services.rota_acknowledge(actor=actor, period_id=period_id)
        return "Hand-over acknowledged."
    raise ValidationFailed("Nothing was changed.", [])


urlpatterns = [
    path("networks/<slug:slug>/enquiries/", network_enquiries, name="network_enquiries"),
    path(
        "networks/<slug:slug>/enquiries/<int:enquiry_id>/",
        network_enquiry,
        name="network_enquiry",
    ),
    path("networks/<slug:slug>/rota/", network_rota, name="network_rota"),
]
