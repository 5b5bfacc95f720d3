"""Calendars: a person's week (Monday to Sunday in their time zone), an appointment's page, the
form that adds, edits or moves one, cancelling (after a confirmation) and restoring; and, in
Settings → Members, whom each sales coordinator coordinates.

Every write is the API's: scheduling.appointment_services, with the same problems and rules.
Times on these pages are the calendar owner's local times (the zone is shown).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.accounts import selectors as account_selectors
from salesline.accounts import services as account_services
from salesline.accounts.models import Coordination, Role
from salesline.accounts.selectors import may_manage_calendar
from salesline.core.errors import DomainError, PermissionDenied, PreconditionFailed, Problem
from salesline.core.ids import is_id
from salesline.scheduling import appointment_selectors as selectors
from salesline.scheduling import appointment_services as services
from salesline.scheduling import capacity
from salesline.scheduling.models import Appointment

from ..errors import bind_problems, on_refusal
from ..forms import picker_options
from .common import member_page, page_context

KIND_LABELS = dict(Appointment.Kind.choices)


def _id(value: int) -> int:
    if not is_id(value):
        raise Http404("No such appointment.")
    return value


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return None


# ---------------------------------------------------------------- the week


@member_page
@require_GET
def calendar_page(request: HttpRequest, actor) -> HttpResponse:
    """One person's week: the signed-in member's own by default; a coordinator picks one of the
    salespeople they coordinate, an admin anyone."""
    people = selectors.calendar_people(actor=actor)
    raw_person = request.GET.get("person", "")
    owner_id = selectors.default_calendar_owner(actor=actor) or actor.user.pk
    if raw_person:
        if not (raw_person.isascii() and raw_person.isdecimal()) or not any(
            str(pk) == raw_person for pk, _ in people
        ):
            raise Http404("No calendar of that person here.")
        owner_id = int(raw_person)
    pattern = capacity.pattern_for(actor.organisation, owner_id)
    today = dt.datetime.now(capacity.zone_of(pattern)).date()
    day = _day(request.GET.get("week")) or today
    week = selectors.calendar_week(actor=actor, owner_id=owner_id, day=day)
    owner_label = next((label for pk, label in people if pk == owner_id), "")
    person_query = f"person={owner_id}&" if owner_id != actor.user.pk else ""
    return render(
        request,
        "web/calendar/week.html",
        page_context(
            request,
            actor,
            week=week,
            people=people,
            owner_id=owner_id,
            owner_label=owner_label,
            is_own=owner_id == actor.user.pk,
            today=today,
            person_query=person_query,
            kind_labels=KIND_LABELS,
        ),
    )


# ---------------------------------------------------------------- one appointment


@member_page
@require_GET
def appointment_detail(request: HttpRequest, actor, appointment_id: int) -> HttpResponse:
    appointment = selectors.appointment_get_for(actor=actor, appointment_id=_id(appointment_id))
    pattern = capacity.pattern_for(actor.organisation, appointment.owner_id)
    return render(
        request,
        "web/calendar/detail.html",
        page_context(
            request,
            actor,
            appointment=appointment,
            zone=capacity.zone_of(pattern),
            time_zone=pattern.time_zone,
            may_manage=may_manage_calendar(actor, appointment.owner_id),
        ),
    )


class AppointmentForm(forms.Form):
    """The fields as people enter them: a day with start and end times in the owner's zone. The
    rules are the service's; the form only reads what a browser sends."""

    owner_id = forms.ChoiceField(label="Calendar of")
    kind = forms.ChoiceField(label="Kind", choices=[("", "— choose —"), *Appointment.Kind.choices])
    title = forms.CharField(label="Title", required=False, max_length=200)
    day = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label="Starts", widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label="Ends", widget=forms.TimeInput(attrs={"type": "time"}))
    opportunity_id = forms.CharField(label="Opportunity", required=False, widget=forms.Select)
    lead_id = forms.CharField(label="Lead", required=False, widget=forms.Select)
    objective = forms.CharField(
        label="Business-development objective",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for a business-development meeting (with its opportunity).",
    )
    address = forms.CharField(
        label="Address",
        required=False,
        max_length=500,
        help_text="Empty: the opportunity's company. A town in the address is looked up for "
        "coordinates unless you enter them.",
    )
    lat = forms.FloatField(label="Latitude", required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label="Longitude", required=False, min_value=-180, max_value=180)
    attendees = forms.CharField(
        label="Attendees",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line: a name, an e-mail address, or Name <e-mail>.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(
        label="Outcome", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    notify = forms.BooleanField(
        label="E-mail the confirmation",
        required=False,
        initial=True,
        help_text="The attendees and the calendar's owner get the meeting as an invitation "
        "(.ics); on an edit, only when its time or place changes.",
    )
    PICKERS = {"opportunity_id": "opportunities", "lead_id": "leads"}

    def __init__(self, *args, actor, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = [(str(pk), label) for pk, label in people]
        for name, kind in (("opportunity_id", "opportunity"), ("lead_id", "lead")):
            chosen = self.data.get(name, "") if self.is_bound else str(self.initial.get(name) or "")
            self.fields[name].widget.choices = picker_options(actor, kind, chosen)
            self.fields[name].picker = self.PICKERS[name]  # type: ignore[attr-defined]
        self.fields["objective"].widget.attrs["aria-describedby"] = "id_objective_helptext"

    def service_data(self, zone) -> dict:
        data = self.cleaned_data
        starts = dt.datetime.combine(data["day"], data["start"], tzinfo=zone)
        ends = dt.datetime.combine(data["day"], data["end"], tzinfo=zone)
        attendees = []
        for line in (data.get("attendees") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            if "<" in line and line.endswith(">"):
                name, _, email = line[:-1].partition("<")
                attendees.append({"name": name.strip(), "email": email.strip()})
            elif "@" in line:
                attendees.append({"name": "", "email": line})
            else:
                attendees.append({"name": line, "email": ""})
        location = None
        if data.get("address") or data.get("lat") is not None or data.get("lon") is not None:
            location = {
                "address": data.get("address") or "",
                "lat": data.get("lat"),
                "lon": data.get("lon"),
            }
        return {
            "owner_id": int(data["owner_id"]),
            "kind": data["kind"],
            "title": data.get("title") or "",
            "starts_at": starts,
            "ends_at": ends,
            "opportunity_id": data.get("opportunity_id") or None,
            "lead_id": data.get("lead_id") or None,
            "objective": data.get("objective") or "",
            "location": location,
            "attendees": attendees,
            "notes": data.get("notes") or "",
            "outcome": data.get("outcome") or "",
        }


def _field_of(problem: Problem) -> str:
    head = str(problem.loc[0]) if problem.loc else ""
    if head == "starts_at":
        return "start"
    if head == "ends_at":
        return "end"
    if head == "location":
        sub = str(problem.loc[1]) if len(problem.loc) > 1 else "address"
        return sub if sub in ("lat", "lon") else "address"
    return head


def _attendee_lines(appointment: Appointment) -> str:
    lines = []
    for a in appointment.attendees or []:
        name, email = a.get("name", ""), a.get("email", "")
        lines.append(f"{name} <{email}>" if name and email else name or email)
    return "\n".join(lines)


def _form_page(request, actor, *, appointment: Appointment | None) -> HttpResponse:
    people = selectors.calendar_people(actor=actor)
    posted = request.POST if request.method == "POST" else None
    if appointment is not None:
        zone = capacity.zone_of(capacity.pattern_for(actor.organisation, appointment.owner_id))
        start = appointment.starts_at.astimezone(zone)
        end = appointment.ends_at.astimezone(zone)
        initial = {
            "owner_id": str(appointment.owner_id),
            "kind": appointment.kind,
            "title": appointment.title,
            "day": start.date(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "opportunity_id": appointment.opportunity_id or "",
            "lead_id": appointment.lead_id or "",
            "objective": appointment.objective,
            "address": appointment.address,
            "lat": appointment.latitude,
            "lon": appointment.longitude,
            "attendees": _attendee_lines(appointment),
            "notes": appointment.notes,
            "outcome": appointment.outcome,
        }
    else:
        owner = request.GET.get("person") or str(actor.user.pk)
        initial = {
            "owner_id": owner,
            "kind": request.GET.get("kind", ""),
            "day": _day(request.GET.get("day")),
            "start": "09:00",
            "end": "10:00",
            "opportunity_id": request.GET.get("opportunity_id", ""),
            "lead_id": request.GET.get("lead_id", ""),
        }
        if initial["opportunity_id"] and not initial["kind"]:
            initial["kind"] = Appointment.Kind.BUSINESS_DEVELOPMENT
    form = AppointmentForm(posted, actor=actor, people=people, initial=initial)

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/calendar/form.html",
            page_context(request, actor, form=form, appointment=appointment, general=general or []),
            status=status,
        )

    if posted is None:
        return page(200)
    if not form.is_valid():
        return page(400)

    def refused(error: DomainError) -> HttpResponse:
        if isinstance(error, PreconditionFailed):
            return page(409, [str(error)])
        if isinstance(error, PermissionDenied):
            return page(403, [str(error)])
        return page(error.status, bind_problems(form, error, field_of=_field_of))

    on_refusal(request, refused)
    owner_id = int(form.cleaned_data["owner_id"])
    zone = capacity.zone_of(capacity.pattern_for(actor.organisation, owner_id))
    data = form.service_data(zone)
    if appointment is None:
        saved = services.appointment_create(
            actor=actor, data=data, notify=form.cleaned_data["notify"]
        )
        messages.success(request, "Appointment added.")
    else:
        raw_version = request.POST.get("version", "")
        if not raw_version.isdecimal():
            raise PreconditionFailed("The form did not say which version it edits.")
        if data["location"] is None and not appointment.address:
            data.pop("location")
        elif data["location"] is None:
            data["location"] = {"address": ""}
        saved = services.appointment_update(
            actor=actor,
            appointment_id=appointment.pk,
            data=data,
            expected_version=int(raw_version),
            notify=form.cleaned_data["notify"],
        )
        messages.success(request, "Appointment saved.")
    return redirect("web:appointment-detail", saved.pk)


@member_page
@require_http_methods(["GET", "POST"])
def appointment_new(request: HttpRequest, actor) -> HttpResponse:
    return _form_page(request, actor, appointment=None)


@member_page
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, actor, appointment_id: int) -> HttpResponse:
    appointment = selectors.appointment_get_for(actor=actor, appointment_id=_id(appointment_id))
    if not may_manage_calendar(actor, appointment.owner_id):
        raise PermissionDenied("Only the owner, their coordinator or an admin may edit it.")
    return _form_page(request, actor, appointment=appointment)


@member_page
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, actor, appointment_id: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels (the page then offers to undo)."""
    appointment = selectors.appointment_get_for(actor=actor, appointment_id=_id(appointment_id))
    if not may_manage_calendar(actor, appointment.owner_id):
        raise PermissionDenied("Only the owner, their coordinator or an admin may cancel it.")
    if request.method == "GET":
        pattern = capacity.pattern_for(actor.organisation, appointment.owner_id)
        return render(
            request,
            "web/calendar/cancel.html",
            page_context(
                request,
                actor,
                appointment=appointment,
                zone=capacity.zone_of(pattern),
                time_zone=pattern.time_zone,
            ),
        )
    services.appointment_cancel(
        actor=actor, appointment_id=appointment.pk, notify=request.POST.get("notify") == "on"
    )
    messages.success(request, "Appointment cancelled. You can restore it from its page.")
    return redirect("web:appointment-detail", appointment.pk)


@member_page
@require_POST
def appointment_restore(request: HttpRequest, actor, appointment_id: int) -> HttpResponse:
    appointment = selectors.appointment_get_for(actor=actor, appointment_id=_id(appointment_id))

    def refused(error: DomainError) -> HttpResponse:
        reason = "; ".join(p.msg for p in error.problems) or str(error)
        messages.error(request, f"It could not be restored: {reason}")
        return redirect("web:appointment-detail", appointment.pk)

    on_refusal(request, refused)
    services.appointment_restore(actor=actor, appointment_id=appointment.pk)
    messages.success(request, "Appointment restored.")
    return redirect("web:appointment-detail", appointment.pk)


# ---------------------------------------------------------------- coordinators (settings)


class CoordinatesForm(forms.Form):
    salesperson_ids = forms.TypedMultipleChoiceField(
        label="Salespeople", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )


@member_page
@require_http_methods(["GET", "POST"])
def member_coordinates(request: HttpRequest, actor, user_id: int) -> HttpResponse:
    """Whose calendars a sales coordinator runs (admins)."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin decides who coordinates whom.")
    member = account_selectors.member_get_for(actor=actor, user_id=_id(user_id))
    salespeople = [
        m
        for m in account_selectors.member_list(actor=actor)
        if Role.SALESPERSON in m.roles and m.is_active
    ]
    current = account_selectors.coordinated_by(
        organisation=actor.organisation, coordinator_id=member.user_id
    )
    others = dict(
        Coordination.objects.filter(organisation=actor.organisation)
        .exclude(coordinator_id=member.user_id)
        .values_list("salesperson_id", "coordinator__email")
    )
    form = CoordinatesForm(
        request.POST if request.method == "POST" else None,
        initial={"salesperson_ids": current},
    )
    form.fields["salesperson_ids"].choices = [
        (
            m.user_id,
            m.label + (f" (now coordinated by {others[m.user_id]})" if m.user_id in others else ""),
        )
        for m in salespeople
    ]

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/settings/member_coordinates.html",
            page_context(
                request,
                actor,
                section="members",
                form=form,
                member=member,
                is_coordinator=Role.SALES_COORDINATOR in member.roles,
                general=general or [],
            ),
            status=status,
        )

    if request.method == "GET":
        return page(200)
    if not form.is_valid():
        return page(400)
    on_refusal(request, lambda error: page(error.status, bind_problems(form, error)))
    account_services.coordination_set(
        actor=actor,
        coordinator_id=member.user_id,
        salesperson_ids=form.cleaned_data["salesperson_ids"],
    )
    messages.success(request, f"Coordination of {member.label} saved.")
    return redirect("web:settings-members")


def appointment_url(appointment: Appointment) -> str:
    return reverse("web:appointment-detail", args=[appointment.pk])


urlpatterns = [
    path("calendar/", calendar_page, name="calendar"),
    path("calendar/appointments/new/", appointment_new, name="appointment-new"),
    path(
        "calendar/appointments/<int:appointment_id>/",
        appointment_detail,
        name="appointment-detail",
    ),
    path(
        "calendar/appointments/<int:appointment_id>/edit/",
        appointment_edit,
        name="appointment-edit",
    ),
    path(
        "calendar/appointments/<int:appointment_id>/cancel/",
        appointment_cancel,
        name="appointment-cancel",
    ),
    path(
        "calendar/appointments/<int:appointment_id>/restore/",
        appointment_restore,
        name="appointment-restore",
    ),
    path(
        "settings/members/<int:user_id>/coordinates/",
        member_coordinates,
        name="settings-member-coordinates",
    ),
]
