"""The meeting planner's pages: meeting requests (what needs a meeting), the plan form (whose
days, from when, how many), a plan's itinerary (day, town, meetings, travel) against the greedy
plan, with dropping and moving a meeting and accepting the plan.

Every write is the API's: scheduling.planner, with the same problems and rules. Without
JavaScript every button is a plain post that comes back to the page with a message.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.accounts.models import Membership, Role
from salesline.accounts.selectors import coordinated_by
from salesline.core.errors import DomainError, Problem, ValidationFailed
from salesline.core.ids import is_id
from salesline.pipeline.models import Opportunity
from salesline.scheduling import appointment_selectors, capacity, planner
from salesline.scheduling.models import MeetingRequest

from .common import member_page, page_context

PAGE_SIZE = 25


def _id(value: int) -> int:
    if not is_id(value):
        raise Http404("No such plan.")
    return value


def _messages_of(error: DomainError) -> list[str]:
    if error.problems:
        return [problem.msg for problem in error.problems]
    return [str(error)]


def _plannable_people(actor) -> list[tuple[int, str]]:
    """Whose calendars the actor may plan: their own, those they coordinate, anyone's (admin)."""
    members = Membership.objects.filter(
        organisation=actor.organisation, user__is_active=True
    ).select_related("user")
    if actor.has_role(Role.ADMIN):
        ids = {m.user_id for m in members if m.role == Role.SALESPERSON} | {actor.user.pk}
    else:
        coordinated = coordinated_by(organisation=actor.organisation, coordinator_id=actor.user.pk)
        ids = {actor.user.pk, *coordinated}
    people = {m.user_id: (m.user.full_name or m.user.email) for m in members if m.user_id in ids}
    return sorted(people.items(), key=lambda item: item[1].lower())


def _next_monday() -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 - today.weekday())


@member_page
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, actor) -> HttpResponse:
    """The plan form: a salesperson (coordinators pick whom), a start date and a number of
    days; posting runs the planner and shows the proposal."""
    people = _plannable_people(actor)
    values = {
        "owner_id": request.POST.get("owner_id")
        or str(appointment_selectors.default_calendar_owner(actor=actor) or actor.user.pk),
        "start": request.POST.get("start") or _next_monday().isoformat(),
        "days": request.POST.get("days") or "7",
    }
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            owner_id = int(values["owner_id"])
            start = dt.date.fromisoformat(values["start"])
            days = int(values["days"])
        except ValueError:
            problems = ["Pick a salesperson, a start date (YYYY-MM-DD) and a number of days."]
            status = 422
        else:
            try:
                plan = planner.plan_create(
                    actor=actor, data={"owner_id": owner_id, "start": start, "days": days}
                )
            except DomainError as error:
                problems, status = _messages_of(error), error.status
            else:
                return redirect(reverse("web:plan-detail", args=[plan.pk]))
    recent = planner.plan_list(actor=actor, limit=10)
    names = dict(people)
    return render(
        request,
        "web/planner/new.html",
        page_context(
            request,
            actor,
            people=people,
            values=values,
            problems=problems,
            recent=[(plan, names.get(plan.owner_id, f"member {plan.owner_id}")) for plan in recent],
        ),
        status=status,
    )


def _itinerary(plan) -> list[dict]:
    pattern = capacity.pattern_for(plan.organisation, plan.owner_id)
    zone = capacity.zone_of(pattern)
    days: dict[dt.date, dict] = {}
    for meeting in planner.plan_meetings(plan):
        local = meeting.starts_at.astimezone(zone)
        day = days.setdefault(
            local.date(), {"date": local.date(), "meetings": [], "travel": 0, "towns": Counter()}
        )
        company = meeting.request.opportunity.company
        town = (company.city if company else "") or meeting.request.address or "—"
        day["towns"][town] += 1
        day["travel"] += meeting.travel_minutes_before
        day["meetings"].append(
            {
                "id": meeting.pk,
                "starts": local,
                "ends": meeting.ends_at.astimezone(zone),
                "travel": meeting.travel_minutes_before,
                "opportunity": meeting.request.opportunity,
                "objective": meeting.request.objective,
                "town": town,
                "move_value": local.strftime("%Y-%m-%dT%H:%M"),
            }
        )
    out = []
    for day in sorted(days.values(), key=lambda d: d["date"]):
        day["city"] = ", ".join(town for town, _ in day["towns"].most_common(2))
        out.append(day)
    return out


@member_page
@require_GET
def plan_detail(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = planner.plan_get_for(actor=actor, plan_id=_id(plan_id))
    itinerary = _itinerary(plan)
    opportunities = {
        o.pk: o
        for o in Opportunity.objects.filter(
            organisation=actor.organisation,
            pk__in=[u["opportunity_id"] for u in plan.unplanned],
        )
    }
    unplanned = [
        {"opportunity": opportunities.get(u["opportunity_id"]), **u} for u in plan.unplanned
    ]
    count = sum(len(day["meetings"]) for day in itinerary)
    pattern = capacity.pattern_for(actor.organisation, plan.owner_id)
    naive = (
        f"{plan.naive_travel_minutes} minutes of travel for {plan.naive_meetings} "
        f"meeting{'s' if plan.naive_meetings != 1 else ''}"
    )
    difference = plan.naive_travel_minutes - plan.total_travel_minutes
    if plan.naive_meetings == count and difference > 0:
        comparison = f"{naive}: this plan travels {difference} minutes less."
    elif plan.naive_meetings < count:
        comparison = f"{naive}: this plan fits {count - plan.naive_meetings} more."
    else:
        comparison = f"{naive}."
    return render(
        request,
        "web/planner/detail.html",
        page_context(
            request,
            actor,
            plan=plan,
            owner=plan.owner,
            itinerary=itinerary,
            unplanned=unplanned,
            count=count,
            comparison=comparison,
            zone=pattern.time_zone,
            has_base=pattern.base_latitude is not None,
            editable=plan.status == "proposed",
        ),
    )


def _after(request: HttpRequest, plan_id: int, action) -> HttpResponse:
    try:
        message = action()
    except DomainError as error:
        for text in _messages_of(error):
            messages.error(request, text)
    else:
        messages.success(request, message)
    return redirect(reverse("web:plan-detail", args=[plan_id]))


@member_page
@require_POST
def plan_drop(request: HttpRequest, actor, plan_id: int, meeting_id: int) -> HttpResponse:
    def drop() -> str:
        planner.plan_drop_meeting(actor=actor, plan_id=_id(plan_id), meeting_id=_id(meeting_id))
        return "Meeting dropped from the plan."

    return _after(request, plan_id, drop)


@member_page
@require_POST
def plan_move(request: HttpRequest, actor, plan_id: int, meeting_id: int) -> HttpResponse:
    def move() -> str:
        plan = planner.plan_get_for(actor=actor, plan_id=_id(plan_id))
        zone = capacity.zone_of(capacity.pattern_for(actor.organisation, plan.owner_id))
        raw = request.POST.get("starts_at", "")
        try:
            local = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationFailed(
                problems=[Problem(("starts_at",), "New time must be a date and time.")]
            ) from None
        starts_at = local if local.tzinfo else local.replace(tzinfo=zone)
        planner.plan_move_meeting(
            actor=actor, plan_id=plan.pk, meeting_id=_id(meeting_id), starts_at=starts_at
        )
        return f"Meeting moved to {starts_at.astimezone(zone):%a %d %b %H:%M}."

    return _after(request, plan_id, move)


@member_page
@require_POST
def plan_accept(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    def accept() -> str:
        plan = planner.plan_accept(actor=actor, plan_id=_id(plan_id))
        return (
            f"Plan accepted: {plan.meetings.count()} meetings are on the calendar and their "
            "invitations are drafted."
        )

    return _after(request, plan_id, accept)


@member_page
@require_http_methods(["GET", "POST"])
def request_list(request: HttpRequest, actor) -> HttpResponse:
    """Meeting requests, highest priority first, and a form to add one."""
    problems: list[str] = []
    status = 200
    form = {
        "opportunity_id": request.POST.get("opportunity_id", ""),
        "objective": request.POST.get("objective", ""),
        "priority": request.POST.get("priority", "3"),
        "duration_minutes": request.POST.get("duration_minutes", "60"),
        "deadline": request.POST.get("deadline", ""),
    }
    if request.method == "POST":
        data: dict = {"objective": form["objective"], "deadline": form["deadline"] or None}
        for name in ("opportunity_id", "priority", "duration_minutes"):
            value = form[name].strip()
            data[name] = int(value) if value.isdecimal() else (value or None)
        try:
            planner.request_create(actor=actor, data=data)
        except DomainError as error:
            problems, status = _messages_of(error), error.status
        else:
            messages.success(request, "Meeting request added.")
            return redirect(reverse("web:meeting-requests"))
    show = request.GET.get("status", "open")
    if show not in MeetingRequest.Status.values:
        show = "open"
    raw_page = request.GET.get("page", "1")
    page = int(raw_page) if raw_page.isdecimal() and 1 <= int(raw_page) <= 10**6 else 1
    filters = planner.RequestFilters(status=show, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    items, count = planner.request_list(actor=actor, filters=filters)
    opportunities = (
        Opportunity.objects.filter(organisation=actor.organisation, deleted_at=None, status="open")
        .order_by("name")
        .only("id", "name")[:300]
    )
    return render(
        request,
        "web/planner/requests.html",
        page_context(
            request,
            actor,
            items=items,
            count=count,
            show=show,
            statuses=MeetingRequest.Status.values,
            page=page,
            previous_query=f"status={show}&page={page - 1}" if page > 1 else "",
            next_query=f"status={show}&page={page + 1}" if page * PAGE_SIZE < count else "",
            opportunities=opportunities,
            form=form,
            problems=problems,
        ),
        status=status,
    )


@member_page
@require_POST
def request_cancel(request: HttpRequest, actor, request_id: int) -> HttpResponse:
    try:
        planner.request_delete(actor=actor, request_id=_id(request_id))
    except DomainError as error:
        for text in _messages_of(error):
            messages.error(request, text)
    else:
        messages.success(request, "Meeting request cancelled.")
    return redirect(reverse("web:meeting-requests"))


urlpatterns = [
    path("planner/", plan_new, name="planner"),
    path("planner/plans/<int:plan_id>/", plan_detail, name="plan-detail"),
    path("planner/plans/<int:plan_id>/accept/", plan_accept, name="plan-accept"),
    path(
        "planner/plans/<int:plan_id>/meetings/<int:meeting_id>/drop/",
        plan_drop,
        name="plan-drop",
    ),
    path(
        "planner/plans/<int:plan_id>/meetings/<int:meeting_id>/move/",
        plan_move,
        name="plan-move",
    ),
    path("planner/requests/", request_list, name="meeting-requests"),
    path(
        "planner/requests/<int:request_id>/cancel/", request_cancel, name="meeting-request-cancel"
    ),
]
