"""A person's working hours and limits (the calendar rules) and their planning base, edited
on one page reached from their calendar. Every write is the API's: the person or an admin
changes the hours and limits (scheduling.pattern_services); the planning base — where their
days start and end, how fast they travel — also their coordinator (scheduling.planner)."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from salesline.accounts.models import Role
from salesline.core.errors import DomainError
from salesline.scheduling import appointment_selectors, capacity, pattern_services, planner

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class PatternForm(forms.Form):
    time_zone = forms.ChoiceField(label="Time zone")
    day_starts = forms.TimeField(
        label="Working day starts", widget=forms.TimeInput(attrs={"type": "time"})
    )
    day_ends = forms.TimeField(
        label="Working day ends", widget=forms.TimeInput(attrs={"type": "time"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Working days", coerce=int, choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    business_development_per_day = forms.IntegerField(
        label="Business-development meetings a day at most", min_value=0, max_value=48
    )
    business_development_per_week = forms.IntegerField(
        label="Business-development meetings a week at most", min_value=0, max_value=336
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(available_timezones())]  # type: ignore[attr-defined]


class BaseForm(forms.Form):
    base_address = forms.CharField(label="Base (where the days start and end)", required=False)
    base_lat = forms.FloatField(label="Latitude", required=False, min_value=-90, max_value=90)
    base_lon = forms.FloatField(label="Longitude", required=False, min_value=-180, max_value=180)
    travel_speed_kmh = forms.IntegerField(label="Travel speed (km/h)", min_value=5, max_value=200)
    travel_overhead_minutes = forms.IntegerField(
        label="Minutes added to every journey (parking, walking)", min_value=0, max_value=120
    )


def _person(request: HttpRequest, actor) -> tuple[int, str]:
    people = appointment_selectors.calendar_people(actor=actor)
    raw = request.GET.get("person") or request.POST.get("person") or ""
    if not raw:
        owner = appointment_selectors.default_calendar_owner(actor=actor) or actor.user.pk
    elif raw.isascii() and raw.isdecimal():
        owner = int(raw)
    else:
        raise Http404("No such person here.")
    label = next((name for pk, name in people if pk == owner), None)
    if label is None:
        raise Http404("No calendar of that person here.")
    return owner, label


@member_page
@require_http_methods(["GET", "POST"])
def working_pattern_page(request: HttpRequest, actor) -> HttpResponse:
    owner_id, owner_label = _person(request, actor)
    pattern = capacity.pattern_for(actor.organisation, owner_id)
    may_change_hours = actor.user.pk == owner_id or actor.has_role(Role.ADMIN)
    which = request.POST.get("form") if request.method == "POST" else None
    hours_initial = pattern_services.pattern_as_dict(pattern)
    base_initial = {
        "base_address": pattern.base_address,
        "base_lat": pattern.base_latitude,
        "base_lon": pattern.base_longitude,
        "travel_speed_kmh": pattern.travel_speed_kmh,
        "travel_overhead_minutes": pattern.travel_overhead_minutes,
    }
    hours = PatternForm(request.POST if which == "hours" else None, initial=hours_initial)
    base = BaseForm(request.POST if which == "base" else None, initial=base_initial)
    if not may_change_hours:
        for field in hours.fields.values():
            field.disabled = True
    back = reverse("web:calendar") + f"?person={owner_id}"

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/calendar/pattern.html",
            page_context(
                request,
                actor,
                hours=hours,
                base=base,
                which=which,
                owner_id=owner_id,
                owner_label=owner_label,
                is_own=owner_id == actor.user.pk,
                may_change_hours=may_change_hours,
                general=general or [],
                back=back,
            ),
            status=status,
        )

    if which is None:
        return page(200)
    form = hours if which == "hours" else base
    if which not in ("hours", "base") or not form.is_valid():
        return page(400)

    def refused(error: DomainError) -> HttpResponse:
        problems = bind_problems(form, error)
        return page(error.status, problems)

    on_refusal(request, refused)
    data = form.cleaned_data
    if which == "hours":
        pattern_services.working_pattern_set(
            actor=actor,
            user_id=owner_id,
            data={
                "time_zone": data["time_zone"],
                "day_starts": data["day_starts"],
                "day_ends": data["day_ends"],
                "weekdays": list(data["weekdays"]),
                "business_development_per_day": data["business_development_per_day"],
                "business_development_per_week": data["business_development_per_week"],
            },
        )
        messages.success(request, "Working hours and limits saved.")
    else:
        planner.base_set(
            actor=actor,
            owner_id=owner_id,
            data={
                "location": {
                    "address": data["base_address"] or "",
                    "lat": data["base_lat"],
                    "lon": data["base_lon"],
                },
                "travel_speed_kmh": data["travel_speed_kmh"],
                "travel_overhead_minutes": data["travel_overhead_minutes"],
            },
        )
        messages.success(request, "Planning base saved.")
    return redirect(reverse("web:working-pattern") + f"?person={owner_id}")


urlpatterns = [
    path("calendar/working-pattern/", working_pattern_page, name="working-pattern"),
]
