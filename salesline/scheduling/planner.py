"""The meeting planner's services and selectors: meeting requests (what needs a meeting), plans
(a proposal for a salesperson's days from `routing`), editing a proposal and accepting it onto
the calendar.

Who may: any member reads; writes on a salesperson's requests and plans are for those who may
manage that calendar (the person, their coordinator, an admin:
accounts.selectors.may_manage_calendar). Another organisation's rows are NotFound.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from salesline.accounts.models import Membership
from salesline.accounts.selectors import may_manage_calendar
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Problem,
    ProblemList,
    ValidationFailed,
)
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity

from . import appointment_services, capacity, invitations, routing, travel
from .models import Appointment, MeetingRequest, Place, Plan, PlanMeeting, WorkingPattern

BD = Appointment.Kind.BUSINESS_DEVELOPMENT
MAX_DAYS = 28
# Seconds the solver searches: a little per meeting, at most MAX_TIME_LIMIT (guided local
# search never stops by itself; a salesperson's fortnight is solved well within it).
MAX_TIME_LIMIT = 3.0
PLAN_HORIZON_DAYS = 366  # how far ahead a plan may start
REQUEST_FIELDS = (
    "owner_id",
    "opportunity_id",
    "duration_minutes",
    "priority",
    "deadline",
    "windows",
    "location",
    "objective",
    "status",
)
DEFAULT_LIMIT, MAX_LIMIT = 50, 500


# -- meeting requests -----------------------------------------------------------------------


def _clean_int(
    data: Mapping[str, Any], name: str, low: int, high: int, problems: ProblemList
) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.add((name,), f"'{name}' must be a whole number from {low} to {high}.")
        return None
    try:
        number = int(value)
    except ValueError:
        problems.add((name,), f"'{name}' must be a whole number from {low} to {high}.")
        return None
    if not low <= number <= high:
        problems.add((name,), f"'{name}' must be from {low} to {high}, not {number}.")
        return None
    return number


def _clean_time(value: Any) -> dt.time | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.time.fromisoformat(value.strip())
    except ValueError:
        return None


def clean_windows(value: Any, problems: ProblemList) -> list[dict]:
    """Availability windows: [{"date": "YYYY-MM-DD" or "weekday": 1..7, "start": "HH:MM",
    "end": "HH:MM"}]; each fault names the window."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 100:
        problems.add(("windows",), "Windows must be a list (at most 100).")
        return []
    out = []
    for i, window in enumerate(value):
        if not isinstance(window, dict):
            problems.add(("windows", i), "A window is an object with start, end and a date.")
            continue
        unknown = set(window) - {"date", "weekday", "start", "end"}
        if unknown:
            problems.add(("windows", i), f"Unknown field(s): {', '.join(sorted(unknown))}.")
        start, end = _clean_time(window.get("start")), _clean_time(window.get("end"))
        if start is None:
            problems.add(("windows", i, "start"), "Start must be a time (HH:MM).")
        if end is None:
            problems.add(("windows", i, "end"), "End must be a time (HH:MM).")
        if start is not None and end is not None and end <= start:
            problems.add(("windows", i, "end"), "The end must be after the start.")
        clean: dict[str, Any] = {}
        if ("date" in window) == ("weekday" in window):
            problems.add(
                ("windows", i), "A window names either a date (YYYY-MM-DD) or a weekday (1-7)."
            )
        elif "date" in window:
            try:
                clean["date"] = dt.date.fromisoformat(str(window["date"])).isoformat()
            except ValueError:
                problems.add(("windows", i, "date"), "Date must be a date (YYYY-MM-DD).")
        else:
            weekday = window["weekday"]
            if isinstance(weekday, bool) or weekday not in range(1, 8):
                problems.add(("windows", i, "weekday"), "Weekday must be 1 (Monday) to 7 (Sunday).")
            else:
                clean["weekday"] = weekday
        if start is not None and end is not None:
            clean["start"], clean["end"] = f"{start:%H:%M}", f"{end:%H:%M}"
        out.append(clean)
    return out


def _clean_location(value: Any, problems: ProblemList) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"address", "lat", "lon"}:
        problems.add(("location",), 'Location is {"address": ..., "lat": ..., "lon": ...}.')
        return None
    address = value.get("address") or ""
    if not isinstance(address, str) or text_problem(address, max_length=500):
        problems.add(("location", "address"), "Address must be text of at most 500 characters.")
        address = ""
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        problems.add(("location",), "Give both lat and lon, or neither.")
        return None
    for name, coord, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if coord is not None and (
            isinstance(coord, bool)
            or not isinstance(coord, int | float)
            or not math.isfinite(coord)
            or abs(coord) > bound
        ):
            problems.add(("location", name), f"'{name}' must be a number from -{bound} to {bound}.")
            return None
    return {"address": address.strip(), "lat": lat, "lon": lon}


def _geocode(organisation, opportunity: Opportunity) -> dict:
    """The opportunity's company's location: its coordinates, else its town's from the places
    table (empty when neither is known)."""
    company = opportunity.company
    if company is None:
        return {"address": "", "lat": None, "lon": None}
    address = ", ".join(part for part in (company.address, company.city) if part)
    if company.latitude is not None and company.longitude is not None:
        return {"address": address, "lat": company.latitude, "lon": company.longitude}
    if company.city:
        places = Place.objects.filter(organisation=organisation, name__iexact=company.city)
        if company.country:
            places = places.filter(country__in=[company.country, ""])
        place = places.first()
        if place is not None:
            return {"address": address, "lat": place.latitude, "lon": place.longitude}
    return {"address": address, "lat": None, "lon": None}


def _owner_problem(actor: Actor, owner_id: int, problems: ProblemList) -> bool:
    if not Membership.objects.filter(
        organisation=actor.organisation, user_id=owner_id, user__is_active=True
    ).exists():
        problems.add(
            ("owner_id",),
            f"Owner {owner_id} is not an active member of this organisation.",
            type="not_found",
        )
        return False
    return True


def _require_calendar(actor: Actor, owner_id: int) -> None:
    if not may_manage_calendar(actor, owner_id):
        raise PermissionDenied(
            "Only the salesperson, their coordinator or an admin may plan their meetings."
        )


def request_create(*, actor: Actor, data: Mapping[str, Any]) -> MeetingRequest:
    problems = ProblemList()
    opportunity = None
    opportunity_id = data.get("opportunity_id")
    if opportunity_id is None:
        problems.add(("opportunity_id",), "Opportunity is required.", type="missing")
    elif (
        isinstance(opportunity_id, bool)
        or not isinstance(opportunity_id, int)
        or not is_id(opportunity_id)
    ):
        problems.add(("opportunity_id",), "Opportunity must be an id.")
    else:
        opportunity = (
            Opportunity.objects.select_related("company")
            .filter(organisation=actor.organisation, pk=opportunity_id, deleted_at=None)
            .first()
        )
        if opportunity is None:
            problems.add(
                ("opportunity_id",), f"No opportunity with id {opportunity_id}.", type="not_found"
            )
    owner_id = data.get("owner_id")
    if owner_id is None:
        owner_id = (opportunity.owner_id if opportunity else None) or getattr(
            actor.user, "pk", None
        )
    if owner_id is None:
        problems.add(("owner_id",), "Owner is required.", type="missing")
    elif isinstance(owner_id, bool) or not isinstance(owner_id, int) or not is_id(owner_id):
        problems.add(("owner_id",), "Owner must be an id.")
        owner_id = None
    elif not _owner_problem(actor, owner_id, problems):
        owner_id = None
    fields = _clean_fields(data, problems, creating=True)
    problems.raise_if_any()
    if opportunity is None or owner_id is None:  # reported above
        raise ValidationFailed(problems=problems.problems)
    _require_calendar(actor, owner_id)
    location = fields.pop("location", None)
    if location is None or location["lat"] is None:
        found = _geocode(actor.organisation, opportunity)
        location = {
            "address": (location or {}).get("address") or found["address"],
            "lat": found["lat"],
            "lon": found["lon"],
        }
    now = timezone.now()
    request = MeetingRequest.objects.create(
        organisation=actor.organisation,
        owner_id=owner_id,
        opportunity=opportunity,
        address=location["address"],
        latitude=location["lat"],
        longitude=location["lon"],
        created_by=actor.user,
        created_at=now,
        updated_at=now,
        **fields,
    )
    audit.record(
        actor=actor, action="meeting_request.create", obj=request, changes=request_out(request)
    )
    return request


def _clean_fields(data: Mapping[str, Any], problems: ProblemList, *, creating: bool) -> dict:
    fields: dict[str, Any] = {}
    duration = _clean_int(data, "duration_minutes", 5, 600, problems)
    if duration is not None:
        fields["duration_minutes"] = duration
    priority = _clean_int(data, "priority", 1, 5, problems)
    if priority is not None:
        fields["priority"] = priority
    if "deadline" in data:
        value = data["deadline"]
        if value in (None, ""):
            fields["deadline"] = None
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            fields["deadline"] = value
        else:
            try:
                fields["deadline"] = dt.date.fromisoformat(str(value))
            except ValueError:
                problems.add(("deadline",), "Deadline must be a date (YYYY-MM-DD).")
    if "windows" in data:
        fields["windows"] = clean_windows(data["windows"], problems)
    if "location" in data:
        fields["location"] = _clean_location(data["location"], problems)
    objective = data.get("objective")
    if "objective" in data or creating:
        if not isinstance(objective, str) or not objective.strip():
            problems.add(
                ("objective",),
                "A business-development meeting states its objective.",
                type="missing",
            )
        else:
            reason = text_problem(objective.strip(), max_length=LONG_TEXT_MAX, multiline=True)
            if reason:
                problems.add(("objective",), f"Objective {reason}.")
            fields["objective"] = objective.strip()
    if "status" in data and not creating:
        status = data["status"]
        if status not in (MeetingRequest.Status.OPEN, MeetingRequest.Status.CANCELLED):
            problems.add(("status",), "Status may be set to open or cancelled.")
        else:
            fields["status"] = status
    return fields


def request_update(
    *, actor: Actor, request_id: int, data: Mapping[str, Any], expected_version=None
) -> MeetingRequest:
    with transaction.atomic():
        request = _request_for_update(actor, request_id)
        _require_calendar(actor, request.owner_id)
        problems = ProblemList()
        unknown = set(data) - set(REQUEST_FIELDS)
        for name in sorted(unknown | ({"owner_id", "opportunity_id"} & set(data))):
            problems.add((name,), f"'{name}' cannot be changed.")
        fields = _clean_fields(data, problems, creating=False)
        if request.status == MeetingRequest.Status.PLANNED and fields:
            problems.add(("status",), "This request is planned already: move the appointment.")
        problems.raise_if_any()
        if expected_version is not None and request.version != expected_version:
            raise PreconditionFailed(
                f"This meeting request was changed by someone else (version {request.version})."
            )
        location = fields.pop("location", "absent")
        if location != "absent":
            if location is None or location["lat"] is None:
                found = _geocode(actor.organisation, request.opportunity)
                location = {
                    "address": (location or {}).get("address") or found["address"],
                    "lat": found["lat"],
                    "lon": found["lon"],
                }
            fields.update(
                address=location["address"], latitude=location["lat"], longitude=location["lon"]
            )
        before = request_out(request)
        for name, value in fields.items():
            setattr(request, name, value)
        request.version += 1
        request.updated_at = timezone.now()
        request.save()
        after = request_out(request)
        audit.record(
            actor=actor,
            action="meeting_request.update",
            obj=request,
            changes={k: [before[k], v] for k, v in after.items() if before[k] != v},
        )
    return request


def request_delete(*, actor: Actor, request_id: int) -> None:
    """Cancels the request (kept, for the plans that named it)."""
    request_update(actor=actor, request_id=request_id, data={"status": "cancelled"})


def _request_for_update(actor: Actor, request_id: int) -> MeetingRequest:
    request = (
        MeetingRequest.objects.select_for_update()
        .filter(organisation=actor.organisation, pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound(f"No meeting request with id {request_id}.")
    return request


def request_get_for(*, actor: Actor, request_id: int) -> MeetingRequest:
    request = MeetingRequest.objects.filter(organisation=actor.organisation, pk=request_id).first()
    if request is None:
        raise NotFound(f"No meeting request with id {request_id}.")
    return request


@dataclass(frozen=True)
class RequestFilters:
    owner_id: int | None = None
    status: str = ""
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_request_filters(raw: Mapping[str, Any]) -> RequestFilters:
    problems = ProblemList()
    values: dict[str, Any] = {}
    owner = raw.get("owner_id")
    if owner not in (None, ""):
        try:
            values["owner_id"] = int(owner)
            if not is_id(values["owner_id"]):
                raise ValueError
        except (TypeError, ValueError):
            problems.add(("query", "owner_id"), "'owner_id' must be an id.")
    status = raw.get("status")
    if status not in (None, ""):
        if status not in MeetingRequest.Status.values:
            problems.add(
                ("query", "status"),
                f"'status' must be one of: {', '.join(MeetingRequest.Status.values)}.",
            )
        else:
            values["status"] = status
    for name, high in (("limit", MAX_LIMIT), ("offset", 10**9)):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            number = int(value)
            if not (1 if name == "limit" else 0) <= number <= high:
                raise ValueError
            values[name] = number
        except (TypeError, ValueError):
            problems.add(("query", name), f"'{name}' must be a whole number up to {high}.")
    problems.raise_if_any()
    return RequestFilters(**values)


def request_list(*, actor: Actor, filters: RequestFilters) -> tuple[list[MeetingRequest], int]:
    rows: QuerySet[MeetingRequest] = MeetingRequest.objects.filter(
        organisation=actor.organisation
    ).select_related("opportunity", "owner")
    if filters.owner_id is not None:
        rows = rows.filter(owner_id=filters.owner_id)
    if filters.status:
        rows = rows.filter(status=filters.status)
    rows = rows.order_by("-priority", "deadline", "id")
    count = rows.count()
    return list(rows[filters.offset : filters.offset + filters.limit]), count


def request_out(request: MeetingRequest) -> dict:
    return {
        "id": request.pk,
        "owner_id": request.owner_id,
        "opportunity_id": request.opportunity_id,
        "duration_minutes": request.duration_minutes,
        "priority": request.priority,
        "deadline": request.deadline.isoformat() if request.deadline else None,
        "windows": request.windows,
        "location": {
            "address": request.address,
            "lat": request.latitude,
            "lon": request.longitude,
        },
        "objective": request.objective,
        "status": request.status,
        "version": request.version,
    }


# -- planning -------------------------------------------------------------------------------


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _local(day: dt.date, minute: int, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)


def _base(pattern: WorkingPattern) -> tuple[float, float] | None:
    if pattern.base_latitude is None or pattern.base_longitude is None:
        return None
    return (pattern.base_latitude, pattern.base_longitude)


def _window_days(windows: list[dict], dates: list[dt.date]) -> tuple[routing.Window, ...] | None:
    if not windows:
        return None
    out = []
    for d, day in enumerate(dates):
        for w in windows:
            if w.get("date") == day.isoformat() or w.get("weekday") == day.isoweekday():
                start, end = dt.time.fromisoformat(w["start"]), dt.time.fromisoformat(w["end"])
                out.append(routing.Window(d, _minutes(start), _minutes(end)))
    return tuple(out)


@dataclass
class Instance:
    """A plan's problem for the solver, and how to read its answer back."""

    problem: routing.Problem
    pattern: WorkingPattern
    dates: list[dt.date]
    requests: dict[int, MeetingRequest]
    unlocated: list[MeetingRequest]


def build_instance(organisation, owner_id: int, start: dt.date, days: int) -> Instance:
    pattern = capacity.pattern_for(organisation, owner_id)
    zone = capacity.zone_of(pattern)
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    monday, _ = capacity.week_bounds(dates[0])
    _, sunday = capacity.week_bounds(dates[-1])
    begin, end = capacity.local_day_bounds(pattern, monday, sunday)
    busy = capacity.busy_between(organisation, owner_id, begin, end)
    bd_per_day: dict[dt.date, int] = {}
    for item in busy:
        if item.kind == BD:
            local_day = item.starts_at.astimezone(zone).date()
            bd_per_day[local_day] = bd_per_day.get(local_day, 0) + 1
    now = timezone.now().astimezone(zone)
    plan_days, per_week, windows = [], {}, []
    for d, day in enumerate(dates):
        week_monday, week_sunday = capacity.week_bounds(day)
        week = week_monday.toordinal()
        if week not in per_week:
            used = sum(n for k, n in bd_per_day.items() if week_monday <= k <= week_sunday)
            per_week[week] = max(0, pattern.business_development_per_week - used)
        if day.isoweekday() not in pattern.working_weekdays or day < now.date():
            continue
        day_start, day_end = _minutes(pattern.day_starts), _minutes(pattern.day_ends)
        if day == now.date():  # today: from the next quarter hour
            day_start = max(day_start, (now.hour * 60 + now.minute + 14) // 15 * 15)
        if day_end <= day_start:
            continue
        left = max(0, pattern.business_development_per_day - bd_per_day.get(day, 0))
        plan_days.append(routing.Day(d, day_start, day_end, left, week))
    for item in busy:  # existing appointments, cut at local midnight
        local_start, local_end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
        for d, day in enumerate(dates):
            lo = max(local_start, _local(day, 0, zone))
            hi = min(local_end, _local(day, 0, zone) + dt.timedelta(days=1))
            if lo < hi:
                a = lo.hour * 60 + lo.minute
                b = 1440 if hi.date() > day else hi.hour * 60 + hi.minute + (hi.second > 0)
                windows.append(routing.Window(d, a, b))
    person = routing.Person(
        key=owner_id,
        days=tuple(plan_days),
        base=_base(pattern),
        busy=tuple(windows),
        per_week=per_week,
    )
    requests = {
        r.pk: r
        for r in MeetingRequest.objects.filter(
            organisation=organisation, owner_id=owner_id, status=MeetingRequest.Status.OPEN
        ).order_by("id")
    }
    candidates, unlocated = [], []
    for request in requests.values():
        if request.latitude is None or request.longitude is None:
            unlocated.append(request)
            continue
        candidates.append(
            routing.Candidate(
                key=request.pk,
                owner=owner_id,
                lat=request.latitude,
                lon=request.longitude,
                duration=request.duration_minutes,
                priority=request.priority,
                windows=_window_days(request.windows, dates),
                deadline_day=(request.deadline - start).days if request.deadline else None,
            )
        )
    # The organisation's travel-time matrix where both ends are known places; else the solver
    # measures the haversine distance at the person's speed (None: no matrix entered).
    matrix = travel.TravelClock(organisation, pattern).matrix(
        [person.base] + [(c.lat, c.lon) for c in candidates]
    )
    problem = routing.Problem(
        people=(person,),
        candidates=tuple(candidates),
        speed_kmh=float(pattern.travel_speed_kmh or 50),
        overhead_minutes=pattern.travel_overhead_minutes,
        matrix=matrix,
    )
    return Instance(problem, pattern, dates, requests, unlocated)


def _clean_plan_input(data: Mapping[str, Any]) -> tuple[int, dt.date, int]:
    problems = ProblemList()
    owner_id = data.get("owner_id")
    if isinstance(owner_id, bool) or not isinstance(owner_id, int) or not is_id(owner_id):
        problems.add(("owner_id",), "Owner must be an id.", type="missing")
    start = data.get("start")
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            start = None
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        problems.add(("start",), "Start must be a date (YYYY-MM-DD).")
    days = data.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        problems.add(("days",), f"Days must be a whole number from 1 to {MAX_DAYS}.")
    problems.raise_if_any()
    return owner_id, start, days  # type: ignore[return-value]


#: At most this many opportunities become meeting requests for one plan.
MAX_OPPORTUNITY_REQUESTS = 200


def requests_from_opportunities(*, actor: Actor, owner_id: int) -> list[MeetingRequest]:
    """The salesperson's open opportunities that need a meeting but have no open request and no
    business-development meeting to come: each gets a request (audited) at its company's
    location, so a plan can be made from the pipeline alone. Returns those created."""
    now = timezone.now()
    open_request = MeetingRequest.objects.filter(
        organisation=actor.organisation,
        opportunity=OuterRef("pk"),
        status=MeetingRequest.Status.OPEN,
    )
    meeting_to_come = Appointment.objects.filter(
        organisation=actor.organisation,
        opportunity=OuterRef("pk"),
        kind=BD,
        cancelled_at__isnull=True,
        ends_at__gt=now,
    )
    opportunities = (
        Opportunity.objects.filter(
            organisation=actor.organisation,
            owner_id=owner_id,
            status=Opportunity.Status.OPEN,
            deleted_at=None,
        )
        .exclude(Exists(open_request))
        .exclude(Exists(meeting_to_come))
        .select_related("stage")
        .order_by("expected_close_date", "id")[:MAX_OPPORTUNITY_REQUESTS]
    )
    return [
        request_create(
            actor=actor,
            data={
                "opportunity_id": opportunity.pk,
                "owner_id": owner_id,
                "objective": f"Move {opportunity.name} on from {opportunity.stage.name}"[:1000],
            },
        )
        for opportunity in opportunities
    ]


def plan_create(*, actor: Actor, data: Mapping[str, Any], time_limit: float | None = None) -> Plan:
    """Proposes meetings for `owner_id`'s `days` calendar days from `start` (non-working days
    and the past are skipped) from their open meeting requests — and, unless
    `from_opportunities` is false, from their open opportunities without a meeting to come
    (made requests first); stores and returns the plan."""
    owner_id, start, days = _clean_plan_input(data)
    problems = ProblemList()
    if not _owner_problem(actor, owner_id, problems):
        problems.raise_if_any()
    _require_calendar(actor, owner_id)
    pattern = capacity.pattern_for(actor.organisation, owner_id)
    today = timezone.now().astimezone(capacity.zone_of(pattern)).date()
    if start < today:
        raise ValidationFailed(
            problems=[Problem(("start",), f"Start {start} is in the past (today is {today}).")]
        )
    if (start - today).days > PLAN_HORIZON_DAYS:
        raise ValidationFailed(
            problems=[Problem(("start",), "Start must be within a year from today.")]
        )
    if data.get("from_opportunities", True) is not False:
        with transaction.atomic():
            requests_from_opportunities(actor=actor, owner_id=owner_id)
    instance = build_instance(actor.organisation, owner_id, start, days)
    if time_limit is None:
        time_limit = min(MAX_TIME_LIMIT, 0.3 + 0.05 * len(instance.problem.candidates))
    solution = routing.solve(instance.problem, time_limit=time_limit)
    naive = routing.greedy(instance.problem)
    zone = capacity.zone_of(instance.pattern)
    unplanned = [
        {
            "request_id": r.pk,
            "opportunity_id": r.opportunity_id,
            "reason": "No location: give the request coordinates or its company an address in "
            "the places table.",
        }
        for r in instance.unlocated
    ]
    for key, reason in solution.unplanned:
        request = instance.requests[key]
        unplanned.append(
            {"request_id": key, "opportunity_id": request.opportunity_id, "reason": reason}
        )
    with transaction.atomic():
        plan = Plan.objects.create(
            organisation=actor.organisation,
            owner_id=owner_id,
            start=start,
            days=days,
            total_travel_minutes=solution.total_travel,
            naive_travel_minutes=naive.total_travel,
            naive_meetings=len(naive.meetings),
            unplanned=unplanned,
            created_by=actor.user,
        )
        PlanMeeting.objects.bulk_create(
            PlanMeeting(
                plan=plan,
                request_id=m.key,
                starts_at=_local(instance.dates[m.day], m.start, zone),
                ends_at=_local(instance.dates[m.day], m.end, zone),
                travel_minutes_before=m.travel_before,
            )
            for m in solution.meetings
        )
        audit.record(
            actor=actor,
            action="plan.create",
            obj=plan,
            changes={
                "owner_id": owner_id,
                "start": start.isoformat(),
                "days": days,
                "meetings": len(solution.meetings),
                "unplanned": len(unplanned),
                "total_travel_minutes": solution.total_travel,
                "naive_travel_minutes": naive.total_travel,
            },
        )
    return plan


def plan_get_for(*, actor: Actor, plan_id: int) -> Plan:
    if not is_id(plan_id):
        raise NotFound(f"No plan with id {plan_id}.")
    plan = Plan.objects.filter(organisation=actor.organisation, pk=plan_id).first()
    if plan is None:
        raise NotFound(f"No plan with id {plan_id}.")
    return plan


def plan_list(*, actor: Actor, owner_id: int | None = None, limit: int = 20) -> list[Plan]:
    rows = Plan.objects.filter(organisation=actor.organisation)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    return list(rows.order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class PlanFilters:
    owner_id: int | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_plan_filters(raw: Mapping[str, Any]) -> PlanFilters:
    """`owner_id`, `limit` (1..500, default 50) and `offset`; 422 naming each fault."""
    base = parse_request_filters(
        {k: raw.get(k) for k in ("owner_id", "limit", "offset") if k in raw}
    )
    return PlanFilters(owner_id=base.owner_id, limit=base.limit, offset=base.offset)


def plan_page(*, actor: Actor, filters: PlanFilters) -> tuple[list[Plan], int]:
    """The organisation's plans, newest first, and how many there are."""
    rows = Plan.objects.filter(organisation=actor.organisation)
    if filters.owner_id is not None:
        rows = rows.filter(owner_id=filters.owner_id)
    rows = rows.order_by("-created_at", "-id")
    return list(rows[filters.offset : filters.offset + filters.limit]), rows.count()


def plan_summary_out(plan: Plan) -> dict:
    """A plan in a list: the contract's shape plus whose it is, its days and its status."""
    return {
        **plan_out(plan),
        "owner_id": plan.owner_id,
        "start": plan.start,
        "days": plan.days,
        "status": plan.status,
        "created_at": plan.created_at,
    }


def meeting_id_for_opportunity(*, actor: Actor, plan_id: int, opportunity_id: int) -> int:
    """The proposed meeting of a plan about `opportunity_id` (the API addresses a plan's
    meetings by their opportunity, the key the contract's meetings have). Should a plan hold
    two requests for one opportunity, the earlier meeting."""
    plan = plan_get_for(actor=actor, plan_id=plan_id)
    if not is_id(opportunity_id):
        raise NotFound(f"Plan {plan.pk} has no meeting for opportunity {opportunity_id}.")
    meeting = (
        PlanMeeting.objects.filter(plan=plan, request__opportunity_id=opportunity_id)
        .order_by("starts_at", "id")
        .first()
    )
    if meeting is None:
        raise NotFound(f"Plan {plan.pk} has no meeting for opportunity {opportunity_id}.")
    return meeting.pk


def plan_meetings(plan: Plan) -> list[PlanMeeting]:
    return list(
        PlanMeeting.objects.filter(plan=plan)
        .select_related(
            "request",
            "request__opportunity",
            "request__opportunity__company",
            "request__opportunity__primary_contact",
        )
        .order_by("starts_at", "id")
    )


def plan_out(plan: Plan) -> dict:
    """The contract's shape."""
    return {
        "id": plan.pk,
        "meetings": [
            {
                "opportunity_id": m.request.opportunity_id,
                "starts_at": m.starts_at,
                "ends_at": m.ends_at,
                "travel_minutes_before": m.travel_minutes_before,
            }
            for m in plan_meetings(plan)
        ],
        "unplanned": [
            {"opportunity_id": u["opportunity_id"], "reason": u["reason"]} for u in plan.unplanned
        ],
        "total_travel_minutes": plan.total_travel_minutes,
    }


def _travel(clock: travel.Clock, a, b) -> int:
    if a is None or b is None:
        return 0
    return clock(a, b)


def _retravel(plan: Plan, pattern: WorkingPattern) -> None:
    """Travel minutes before each meeting and the plan's total, after an edit."""
    zone = capacity.zone_of(pattern)
    base = _base(pattern)
    clock = travel.TravelClock(plan.organisation_id, pattern)
    total = 0
    by_day: dict[dt.date, list[PlanMeeting]] = {}
    for meeting in plan_meetings(plan):
        by_day.setdefault(meeting.starts_at.astimezone(zone).date(), []).append(meeting)
    for meetings in by_day.values():
        place: tuple[float | None, float | None] | None = base
        for meeting in meetings:
            here = (meeting.request.latitude, meeting.request.longitude)
            minutes = _travel(clock, place, here)
            if meeting.travel_minutes_before != minutes:
                meeting.travel_minutes_before = minutes
                meeting.save(update_fields=["travel_minutes_before"])
            total += minutes
            place = here
        total += _travel(clock, place, base)
    plan.total_travel_minutes = total
    plan.save(update_fields=["total_travel_minutes"])


def _plan_for_edit(actor: Actor, plan_id: int) -> Plan:
    plan = (
        Plan.objects.select_for_update().filter(organisation=actor.organisation, pk=plan_id).first()
    )
    if plan is None:
        raise NotFound(f"No plan with id {plan_id}.")
    _require_calendar(actor, plan.owner_id)
    if plan.status != Plan.Status.PROPOSED:
        raise Conflict(f"Plan {plan.pk} was accepted already; move its appointments instead.")
    return plan


def _meeting_of(plan: Plan, meeting_id: int) -> PlanMeeting:
    meeting = PlanMeeting.objects.select_related("request").filter(plan=plan, pk=meeting_id).first()
    if meeting is None:
        raise NotFound(f"Plan {plan.pk} has no meeting {meeting_id}.")
    return meeting


def plan_drop_meeting(*, actor: Actor, plan_id: int, meeting_id: int) -> Plan:
    with transaction.atomic():
        plan = _plan_for_edit(actor, plan_id)
        meeting = _meeting_of(plan, meeting_id)
        request = meeting.request
        meeting.delete()
        plan.unplanned = [
            *plan.unplanned,
            {
                "request_id": request.pk,
                "opportunity_id": request.opportunity_id,
                "reason": f"Dropped from the plan by {actor.label}.",
            },
        ]
        plan.save(update_fields=["unplanned"])
        _retravel(plan, capacity.pattern_for(actor.organisation, plan.owner_id))
        audit.record(
            actor=actor,
            action="plan.drop_meeting",
            obj=plan,
            changes={"request_id": request.pk, "opportunity_id": request.opportunity_id},
        )
    return plan


def _windows_allow(request: MeetingRequest, start: dt.datetime, end: dt.datetime) -> bool:
    if not request.windows:
        return True
    for w in request.windows:
        on_day = w.get("date") == start.date().isoformat() or w.get("weekday") == (
            start.isoweekday()
        )
        if (
            on_day
            and start.date() == end.date()
            and dt.time.fromisoformat(w["start"]) <= start.time()
            and end.time() <= dt.time.fromisoformat(w["end"])
        ):
            return True
    return False


def plan_move_meeting(
    *, actor: Actor, plan_id: int, meeting_id: int, starts_at: dt.datetime
) -> Plan:
    """Moves a proposed meeting to another day or time, re-checking every rule: working hours,
    the request's windows and deadline, the calendar's appointments and capacity counted with
    the plan's other meetings, and the travel to and from its neighbours that day."""
    if starts_at.tzinfo is None:
        raise ValidationFailed(
            problems=[Problem(("starts_at",), "Give the time with its offset or zone.")]
        )
    with transaction.atomic():
        plan = _plan_for_edit(actor, plan_id)
        meeting = _meeting_of(plan, meeting_id)
        request = meeting.request
        pattern = capacity.pattern_for(actor.organisation, plan.owner_id)
        zone = capacity.zone_of(pattern)
        ends_at = starts_at + dt.timedelta(minutes=request.duration_minutes)
        local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        last = plan.start + dt.timedelta(days=plan.days - 1)
        problems: list[Problem] = []
        if not plan.start <= local_start.date() <= last:
            problems.append(
                Problem(("starts_at",), f"The plan covers {plan.start} to {last} only.")
            )
        if request.deadline and local_start.date() > request.deadline:
            problems.append(
                Problem(("starts_at",), f"After the request's deadline ({request.deadline}).")
            )
        if not _windows_allow(request, local_start, local_end):
            problems.append(Problem(("starts_at",), "Outside the request's availability windows."))
        others = [m for m in plan_meetings(plan) if m.pk != meeting.pk]
        monday, sunday = capacity.week_bounds(local_start.date())
        begin, end = capacity.local_day_bounds(pattern, monday, sunday)
        busy = capacity.busy_between(actor.organisation, plan.owner_id, begin, end)
        busy += [
            capacity.Busy(None, BD, m.starts_at, m.ends_at, "a planned meeting") for m in others
        ]
        problems += capacity.calendar_problems(
            pattern, kind=BD, starts_at=starts_at, ends_at=ends_at, others=busy
        )
        if not problems:  # travel from the previous meeting (or base) and to the next
            clock = travel.TravelClock(actor.organisation, pattern)
            base = _base(pattern)
            here = (request.latitude, request.longitude)
            same_day = [
                m for m in others if m.starts_at.astimezone(zone).date() == local_start.date()
            ]
            before = [m for m in same_day if m.starts_at < starts_at]
            after = [m for m in same_day if m.starts_at > starts_at]
            prev_place = (
                (before[-1].request.latitude, before[-1].request.longitude) if before else base
            )
            prev_end = (
                before[-1].ends_at
                if before
                else _local(local_start.date(), _minutes(pattern.day_starts), zone)
            )
            need = _travel(clock, prev_place, here)
            if starts_at - prev_end < dt.timedelta(minutes=need):
                problems.append(
                    Problem(
                        ("starts_at",),
                        f"Not enough time to travel there: {need} minutes from "
                        f"{'the previous meeting' if before else 'the base'}.",
                        type="travel",
                    )
                )
            next_place = (after[0].request.latitude, after[0].request.longitude) if after else base
            next_start = (
                after[0].starts_at
                if after
                else _local(local_start.date(), _minutes(pattern.day_ends), zone)
            )
            need = _travel(clock, here, next_place)
            if next_start - ends_at < dt.timedelta(minutes=need):
                problems.append(
                    Problem(
                        ("starts_at",),
                        f"Not enough time to travel on: {need} minutes to "
                        f"{'the next meeting' if after else 'the base'}.",
                        type="travel",
                    )
                )
        if problems:
            raise ValidationFailed(problems=problems)
        old = meeting.starts_at
        meeting.starts_at, meeting.ends_at = starts_at, ends_at
        meeting.save(update_fields=["starts_at", "ends_at"])
        _retravel(plan, pattern)
        audit.record(
            actor=actor,
            action="plan.move_meeting",
            obj=plan,
            changes={
                "request_id": request.pk,
                "starts_at": [old.isoformat(), starts_at.isoformat()],
            },
        )
    return plan


def plan_accept(*, actor: Actor, plan_id: int) -> Plan:
    """Puts every meeting of the plan on the calendar as a business-development appointment,
    all or nothing: a meeting the calendar no longer allows (a newer appointment, capacity used
    meanwhile) refuses the whole plan, naming it."""
    with transaction.atomic():
        plan = _plan_for_edit(actor, plan_id)
        pattern = capacity.lock_calendar(actor.organisation, plan.owner_id)
        zone = capacity.zone_of(pattern)
        meetings = plan_meetings(plan)
        problems: list[Problem] = []
        taken = [m for m in meetings if m.request.status != MeetingRequest.Status.OPEN]
        if taken:
            names = ", ".join(
                f"opportunity {m.request.opportunity_id} ({m.request.status})" for m in taken
            )
            raise Conflict(f"No longer open, so the plan cannot be accepted: {names}.")
        created = []
        for i, meeting in enumerate(meetings):
            request = meeting.request
            opportunity = request.opportunity
            contact = opportunity.primary_contact
            attendees = (
                [{"name": contact.name, "email": contact.email}]
                if contact is not None and contact.email and contact.deleted_at is None
                else []
            )
            try:
                # The one way onto a calendar: its rules, audit and events, as if entered.
                appointment = appointment_services.appointment_create(
                    actor=actor,
                    data={
                        "owner_id": plan.owner_id,
                        "kind": BD,
                        "title": f"Meeting: {opportunity.name}"[:200],
                        "starts_at": meeting.starts_at,
                        "ends_at": meeting.ends_at,
                        "opportunity_id": opportunity.pk,
                        "objective": request.objective,
                        "location": {
                            "address": request.address,
                            "lat": request.latitude,
                            "lon": request.longitude,
                        },
                        "attendees": attendees,
                    },
                    source=Appointment.Source.PLAN,
                )
            except ValidationFailed as refused:
                problems.extend(
                    Problem(
                        ("meetings", i, "starts_at"),
                        f"The meeting for opportunity {request.opportunity_id} on "
                        f"{meeting.starts_at.astimezone(zone):%a %d %b %H:%M}: {problem.msg}",
                        type=problem.type,
                    )
                    for problem in refused.problems
                )
                break
            meeting.appointment = appointment
            meeting.save(update_fields=["appointment"])
            request.status = MeetingRequest.Status.PLANNED
            request.version += 1
            request.updated_at = timezone.now()
            request.save(update_fields=["status", "version", "updated_at"])
            created.append(appointment)
        if problems:
            raise ValidationFailed("The plan is stale: re-plan or edit it.", problems)
        plan.status = Plan.Status.ACCEPTED
        plan.accepted_at = timezone.now()
        plan.accepted_by = actor.user
        plan.save(update_fields=["status", "accepted_at", "accepted_by"])
        audit.record(
            actor=actor,
            action="plan.accept",
            obj=plan,
            changes={"appointments": [a.pk for a in created]},
        )
        for appointment in created:  # drafts: the coordinator reviews them before they go
            invitations.invite(actor, appointment, send=False)
    return plan


def base_get_for(*, actor: Actor, owner_id: int) -> WorkingPattern:
    if not Membership.objects.filter(organisation=actor.organisation, user_id=owner_id).exists():
        raise NotFound(f"No member with id {owner_id}.")
    return capacity.pattern_for(actor.organisation, owner_id)


def base_set(*, actor: Actor, owner_id: int, data: Mapping[str, Any]) -> WorkingPattern:
    """Sets where a salesperson's days start and end (and their travel speed)."""
    base_get_for(actor=actor, owner_id=owner_id)
    problems = ProblemList()
    location = _clean_location(data.get("location"), problems)
    speed = _clean_int(data, "travel_speed_kmh", 5, 200, problems)
    overhead = _clean_int(data, "travel_overhead_minutes", 0, 120, problems)
    problems.raise_if_any()
    _require_calendar(actor, owner_id)
    with transaction.atomic():
        pattern = capacity.lock_calendar(actor.organisation, owner_id)
        before = {
            "base_address": pattern.base_address,
            "base_latitude": pattern.base_latitude,
            "base_longitude": pattern.base_longitude,
            "travel_speed_kmh": pattern.travel_speed_kmh,
            "travel_overhead_minutes": pattern.travel_overhead_minutes,
        }
        if "location" in data:
            pattern.base_address = (location or {}).get("address") or ""
            pattern.base_latitude = (location or {}).get("lat")
            pattern.base_longitude = (location or {}).get("lon")
        if speed is not None:
            pattern.travel_speed_kmh = speed
        if overhead is not None:
            pattern.travel_overhead_minutes = overhead
        pattern.updated_at = timezone.now()
        pattern.save()
        after = {k: getattr(pattern, k) for k in before}
        audit.record(
            actor=actor,
            action="working_pattern.base",
            obj=pattern,
            changes={k: [before[k], v] for k, v in after.items() if before[k] != v},
        )
    return pattern


def day_label(pattern: WorkingPattern, value: dt.datetime) -> str:
    return f"{value.astimezone(capacity.zone_of(pattern)):%a %d %b}"
