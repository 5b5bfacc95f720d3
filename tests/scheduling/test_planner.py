"""Meeting requests and plans through the services and the API: defaults from the opportunity's
company, the plan's shape, accepting onto the calendar (all or nothing), editing a proposal,
who may plan, and isolation between organisations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from salesline.accounts import services as accounts
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.playbooks.models import Message
from salesline.records.models import Company
from salesline.records.services import record_create
from salesline.scheduling import planner
from salesline.scheduling.models import Appointment, MeetingRequest, Place, Plan, WorkingPattern
from tests.conftest import COMPANY, ApiClient

LONDON = ZoneInfo("Europe/London")
TOWNS = {"Oxford": (51.752, -1.2577), "Reading": (51.4543, -0.9781), "Luton": (51.8787, -0.42)}


def next_monday(weeks: int = 1) -> dt.date:
    today = dt.datetime.now(LONDON).date()
    return today + dt.timedelta(days=7 * weeks - today.weekday())


@pytest.fixture
def base(org, user):
    WorkingPattern.objects.create(
        organisation=org,
        user=user,
        base_address="London",
        base_latitude=51.5074,
        base_longitude=-0.1278,
    )


def make_request(actor, town: str, n: int, at=None, **extra) -> MeetingRequest:
    company = record_create(actor=actor, kind="company", data={**COMPANY, "name": f"{town} {n}"})
    lat, lon = at or TOWNS[town]
    Company.objects.filter(pk=company.pk).update(
        city=town, address=f"{n} High Street", latitude=lat + n * 0.001, longitude=lon
    )
    opportunity = opportunity_create(
        actor=actor, data={"name": f"Archive {town} {n}", "company_id": company.pk}
    )
    return planner.request_create(
        actor=actor,
        data={"opportunity_id": opportunity.pk, "objective": "Present the archive", **extra},
    )


@pytest.fixture
def requests_(actor, base):
    return [make_request(actor, town, n) for town in TOWNS for n in range(3)]


def test_a_request_takes_its_location_and_owner_from_the_opportunity(actor, user, base):
    request = make_request(actor, "Oxford", 1)
    assert request.owner_id == user.pk
    assert request.address == "1 High Street, Oxford"
    assert request.latitude == pytest.approx(51.753)
    assert (request.duration_minutes, request.priority, request.status) == (60, 3, "open")
    assert AuditEvent.objects.filter(action="meeting_request.create").count() == 1


def test_a_request_without_coordinates_is_geocoded_from_the_places_table(actor, org, opportunity):
    company = record_create(actor=actor, kind="company", data=COMPANY)
    Company.objects.filter(pk=company.pk).update(city="Bergen", country="NO")
    opportunity.company_id = company.pk
    opportunity.save()
    Place.objects.create(
        organisation=org, name="Bergen", country="NO", latitude=60.39, longitude=5.32
    )
    request = planner.request_create(
        actor=actor, data={"opportunity_id": opportunity.pk, "objective": "Demo"}
    )
    assert (request.latitude, request.longitude) == (60.39, 5.32)


def test_a_request_names_every_missing_or_bad_field(actor):
    with pytest.raises(ValidationFailed) as error:
        planner.request_create(
            actor=actor,
            data={
                "priority": 9,
                "windows": [{"weekday": 8, "start": "10:00", "end": "09:00"}],
            },
        )
    locs = {p.loc for p in error.value.problems}
    assert ("opportunity_id",) in locs and ("objective",) in locs and ("priority",) in locs
    assert ("windows", 0, "weekday") in locs and ("windows", 0, "end") in locs


def test_a_plan_batches_meetings_and_reports_the_unplannable(actor, user, requests_):
    far = make_request(actor, "Oxford", 9, deadline=(next_monday() - dt.timedelta(days=1)))
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": next_monday(), "days": 5}, time_limit=1
    )
    out = planner.plan_out(plan)
    assert len(out["meetings"]) == 9
    assert [u["opportunity_id"] for u in out["unplanned"]] == [far.opportunity_id]
    assert "deadline" in out["unplanned"][0]["reason"]
    by_day: dict[dt.date, list] = {}
    for meeting in out["meetings"]:
        local = meeting["starts_at"].astimezone(LONDON)
        assert dt.time(9) <= local.time() and meeting["ends_at"].astimezone(LONDON).time() <= (
            dt.time(17)
        )
        by_day.setdefault(local.date(), []).append(meeting)
    assert all(len(day) <= 4 for day in by_day.values())
    for day in by_day.values():
        for before, after in zip(day, day[1:], strict=False):
            gap = (after["starts_at"] - before["ends_at"]).total_seconds() / 60
            assert gap >= after["travel_minutes_before"]
    assert out["total_travel_minutes"] > sum(m["travel_minutes_before"] for m in out["meetings"])
    assert plan.naive_travel_minutes > 0


def test_accepting_puts_the_meetings_on_the_calendar(actor, user, requests_, person):
    Opportunity.objects.filter(pk=requests_[0].opportunity_id).update(primary_contact=person)
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": next_monday(), "days": 5}, time_limit=1
    )
    planner.plan_accept(actor=actor, plan_id=plan.pk)
    appointments = Appointment.objects.filter(owner=user, source="plan")
    assert appointments.count() == 9
    first = appointments.order_by("starts_at").first()
    assert first.kind == "business_development" and first.objective == "Present the archive"
    assert first.opportunity_id is not None and first.latitude is not None
    assert set(MeetingRequest.objects.values_list("status", flat=True)) == {"planned"}
    plan.refresh_from_db()
    assert plan.status == "accepted"
    assert AuditEvent.objects.filter(action="create", object_type="appointment").count() == 9
    assert AuditEvent.objects.filter(action="plan.accept").count() == 1
    with pytest.raises(Conflict):
        planner.plan_accept(actor=actor, plan_id=plan.pk)
    # The invitations wait as drafts: one to the owner each, one to the client with a contact.
    run_pending_tasks()
    drafts = Message.objects.filter(status="draft")
    assert drafts.count() == 10
    assert sum(m.to == ["ola@acme.no"] for m in drafts) == 1
    assert not Message.objects.exclude(status="draft").exists()


def test_a_stale_plan_is_refused_naming_the_meeting_and_changes_nothing(
    actor, user, org, requests_
):
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": next_monday(), "days": 5}, time_limit=1
    )
    meeting = planner.plan_meetings(plan)[-1]
    Appointment.objects.create(
        organisation=org,
        owner=user,
        kind="internal",
        title="Team day",
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        uid="stale@test",
    )
    with pytest.raises(ValidationFailed) as error:
        planner.plan_accept(actor=actor, plan_id=plan.pk)
    assert f"opportunity {meeting.request.opportunity_id}" in error.value.problems[0].msg
    assert "Overlaps Team day" in error.value.problems[0].msg
    assert Appointment.objects.filter(source="plan").count() == 0
    assert set(MeetingRequest.objects.values_list("status", flat=True)) == {"open"}


def test_a_proposal_can_be_edited_and_each_move_is_rechecked(actor, user, requests_):
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": next_monday(), "days": 5}, time_limit=1
    )
    meetings = planner.plan_meetings(plan)
    planner.plan_drop_meeting(actor=actor, plan_id=plan.pk, meeting_id=meetings[0].pk)
    plan.refresh_from_db()
    assert len(planner.plan_meetings(plan)) == 8
    assert plan.unplanned[-1]["reason"].startswith("Dropped")
    moving = meetings[1]
    # On top of another meeting: refused, naming the overlap.
    with pytest.raises(ValidationFailed) as error:
        planner.plan_move_meeting(
            actor=actor, plan_id=plan.pk, meeting_id=moving.pk, starts_at=meetings[2].starts_at
        )
    assert "Overlaps" in error.value.problems[0].msg
    with pytest.raises(ValidationFailed) as error:  # past working hours
        late = dt.datetime.combine(next_monday(), dt.time(16, 30), tzinfo=LONDON)
        planner.plan_move_meeting(
            actor=actor, plan_id=plan.pk, meeting_id=moving.pk, starts_at=late
        )
    assert error.value.problems[0].type == "working_hours"
    saturday = dt.datetime.combine(next_monday() + dt.timedelta(days=5), dt.time(10), LONDON)
    with pytest.raises(ValidationFailed):
        planner.plan_move_meeting(
            actor=actor, plan_id=plan.pk, meeting_id=moving.pk, starts_at=saturday
        )
    # Friday afternoon is free in a plan of nine meetings: alone that day, from the base.
    days_used = {m.starts_at.astimezone(LONDON).date() for m in planner.plan_meetings(plan)}
    free_day = next(
        next_monday() + dt.timedelta(days=d)
        for d in range(5)
        if next_monday() + dt.timedelta(days=d) not in days_used
    )
    target = dt.datetime.combine(free_day, dt.time(13), LONDON)
    planner.plan_move_meeting(actor=actor, plan_id=plan.pk, meeting_id=moving.pk, starts_at=target)
    moving.refresh_from_db()
    assert moving.starts_at == target
    assert moving.travel_minutes_before > 0  # from the base in London


def test_who_may_plan(org, actor, user, requests_):
    system = accounts.system_actor(org)
    colleague = accounts.user_create(email="bo@piql.test", actor=system, role="salesperson")
    coordinator = accounts.user_create(email="cy@piql.test", actor=system, role="sales_coordinator")
    data = {"owner_id": user.pk, "start": next_monday(), "days": 2}
    with pytest.raises(PermissionDenied):
        planner.plan_create(actor=accounts.actor_for(colleague, org), data=data, time_limit=0.5)
    with pytest.raises(PermissionDenied):
        planner.plan_create(actor=accounts.actor_for(coordinator, org), data=data, time_limit=0.5)
    admin = accounts.user_create(email="ad@piql.test", actor=system, role="admin")
    accounts.coordination_set(
        actor=accounts.actor_for(admin, org),
        coordinator_id=coordinator.pk,
        salesperson_ids=[user.pk],
    )
    plan = planner.plan_create(
        actor=accounts.actor_for(coordinator, org), data=data, time_limit=0.5
    )
    assert plan.owner_id == user.pk
    with pytest.raises(PermissionDenied):
        planner.plan_accept(actor=accounts.actor_for(colleague, org), plan_id=plan.pk)
    planner.plan_accept(actor=accounts.actor_for(coordinator, org), plan_id=plan.pk)


def test_other_organisations_see_nothing(other_actor, actor, user, requests_):
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": next_monday(), "days": 1}, time_limit=0.5
    )
    with pytest.raises(NotFound):
        planner.plan_get_for(actor=other_actor, plan_id=plan.pk)
    with pytest.raises(NotFound):
        planner.plan_accept(actor=other_actor, plan_id=plan.pk)
    with pytest.raises(NotFound):
        planner.request_get_for(actor=other_actor, request_id=requests_[0].pk)
    with pytest.raises(ValidationFailed) as error:  # not their member
        planner.plan_create(
            actor=other_actor, data={"owner_id": user.pk, "start": next_monday(), "days": 1}
        )
    assert error.value.problems[0].loc == ("owner_id",)


# -- the API --------------------------------------------------------------------------------


def test_api_plan_and_accept_answer_the_contract(api, user, requests_):
    answer = api.post(
        "/plans", {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 5}
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == {"id", "meetings", "unplanned", "total_travel_minutes"}
    assert set(body["meetings"][0]) == {
        "opportunity_id",
        "starts_at",
        "ends_at",
        "travel_minutes_before",
    }
    assert dt.datetime.fromisoformat(body["meetings"][0]["starts_at"]).tzinfo is not None
    assert body["unplanned"] == []
    assert isinstance(body["total_travel_minutes"], int)
    accepted = api.post(f"/plans/{body['id']}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["meetings"] == body["meetings"]
    assert Appointment.objects.filter(source="plan").count() == len(body["meetings"])
    assert api.post(f"/plans/{body['id']}/accept").status_code == 409
    assert api.get(f"/plans/{body['id']}").json()["id"] == body["id"]


def test_api_plan_input_is_checked(api, user):
    answer = api.post("/plans", {"owner_id": user.pk, "start": "soon", "days": 5})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "start"]
    answer = api.post(
        "/plans", {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 0}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "days"]
    past = (dt.datetime.now(LONDON).date() - dt.timedelta(days=3)).isoformat()
    answer = api.post("/plans", {"owner_id": user.pk, "start": past, "days": 1})
    assert answer.status_code == 422 and "past" in answer.json()["detail"][0]["msg"]
    answer = api.post("/plans", {"owner_id": user.pk, "start": "9999-12-31", "days": 28})
    assert answer.status_code == 422 and "within a year" in answer.json()["detail"][0]["msg"]


def test_api_meeting_requests_crud(api, admin_api, opportunity, other_api):
    created = api.post(
        "/meeting-requests",
        {
            "opportunity_id": opportunity.pk,
            "objective": "Scope the pilot",
            "priority": 5,
            "windows": [{"weekday": 2, "start": "10:00", "end": "12:00"}],
            "location": {"address": "Karl Johans gate 1, Oslo", "lat": 59.91, "lon": 10.75},
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["location"] == {"address": "Karl Johans gate 1, Oslo", "lat": 59.91, "lon": 10.75}
    assert body["windows"] == [{"weekday": 2, "start": "10:00", "end": "12:00"}]
    missing = api.post("/meeting-requests", {"opportunity_id": opportunity.pk})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "objective"]
    listed = api.get("/meeting-requests?status=open").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]
    assert api.get("/meeting-requests?status=bogus").status_code == 422
    patched = api.patch(f"/meeting-requests/{body['id']}", {"duration_minutes": 90})
    assert patched.status_code == 200 and patched.json()["duration_minutes"] == 90
    assert other_api.get(f"/meeting-requests/{body['id']}").status_code == 404
    assert api.delete(f"/meeting-requests/{body['id']}").status_code == 204
    assert api.get(f"/meeting-requests/{body['id']}").json()["status"] == "cancelled"


def test_api_a_colleague_may_not_plan_someone_elses_week(org, user, requests_):
    system = accounts.system_actor(org)
    colleague = accounts.user_create(email="bo@piql.test", actor=system, role="salesperson")
    _, token = accounts.token_create(user=colleague, actor=system)
    answer = ApiClient(token).post(
        "/plans", {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 1}
    )
    assert answer.status_code == 403
    assert Plan.objects.count() == 0


def test_api_planning_base(api, user, other_api):
    answer = api.request(
        "put",
        f"/planning-bases/{user.pk}",
        {"location": {"address": "Leeds", "lat": 53.8, "lon": -1.55}, "travel_speed_kmh": 60},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "owner_id": user.pk,
        "location": {"address": "Leeds", "lat": 53.8, "lon": -1.55},
        "travel_speed_kmh": 60,
        "travel_overhead_minutes": 10,
    }
    pattern = WorkingPattern.objects.get(user=user)
    assert (pattern.base_latitude, pattern.travel_speed_kmh) == (53.8, 60)
    bad = api.request("put", f"/planning-bases/{user.pk}", {"location": {"lat": 91, "lon": 0}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "location", "lat"]
    assert other_api.get(f"/planning-bases/{user.pk}").status_code == 404
    assert AuditEvent.objects.filter(action="working_pattern.base").count() == 1


def test_a_plan_across_a_daylight_saving_change_keeps_local_working_hours(actor, user, org):
    zone = ZoneInfo("America/New_York")
    today = dt.datetime.now(zone).date()
    change = next(  # the next day whose offset differs from the day before's
        today + dt.timedelta(days=d)
        for d in range(2, 370)
        if dt.datetime.combine(today + dt.timedelta(days=d), dt.time(12), zone).utcoffset()
        != dt.datetime.combine(today + dt.timedelta(days=d - 1), dt.time(12), zone).utcoffset()
    )
    start = max(today + dt.timedelta(days=1), change - dt.timedelta(days=3))
    WorkingPattern.objects.create(
        organisation=org,
        user=user,
        time_zone="America/New_York",
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        business_development_per_day=3,
        base_latitude=40.7128,
        base_longitude=-74.006,
    )
    for n in range(12):
        make_request(actor, "Newark", n, at=(40.7357, -74.1724))
    plan = planner.plan_create(
        actor=actor, data={"owner_id": user.pk, "start": start, "days": 6}, time_limit=1
    )
    meetings = planner.plan_meetings(plan)
    days = {m.starts_at.astimezone(zone).date() for m in meetings}
    assert change in days and change - dt.timedelta(days=1) in days
    for meeting in meetings:
        local_start, local_end = (
            meeting.starts_at.astimezone(zone),
            meeting.ends_at.astimezone(zone),
        )
        assert dt.time(9) <= local_start.time() and local_end.time() <= dt.time(17)
    per_day: dict[dt.date, int] = {}
    for meeting in meetings:
        day = meeting.starts_at.astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert max(per_day.values()) <= 3
    planner.plan_accept(actor=actor, plan_id=plan.pk)  # the calendar's own rules agree
    assert Appointment.objects.filter(source="plan").count() == len(meetings)


def test_a_plan_from_the_pipeline_alone_plans_open_opportunities_without_a_meeting(
    actor, api, user, base
):
    """The contract's POST /plans with nothing but opportunities at located companies."""
    located = []
    for n, town in enumerate(TOWNS):
        company = record_create(actor=actor, kind="company", data={**COMPANY, "name": town})
        lat, lon = TOWNS[town]
        Company.objects.filter(pk=company.pk).update(city=town, latitude=lat, longitude=lon)
        located.append(
            opportunity_create(
                actor=actor, data={"name": f"Pipeline {town} {n}", "company_id": company.pk}
            ).pk
        )
    nowhere = opportunity_create(actor=actor, data={"name": "Somewhere unknown"}).pk
    won_elsewhere = opportunity_create(actor=actor, data={"name": "Closed already"})
    Opportunity.objects.filter(pk=won_elsewhere.pk).update(status=Opportunity.Status.WON)
    start = next_monday().isoformat()

    quiet = api.post(
        "/plans", {"owner_id": user.pk, "start": start, "days": 5, "from_opportunities": False}
    )
    assert quiet.status_code == 201 and quiet.json()["meetings"] == []

    response = api.post("/plans", {"owner_id": user.pk, "start": start, "days": 5})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "meetings", "unplanned", "total_travel_minutes"}
    assert sorted(m["opportunity_id"] for m in body["meetings"]) == sorted(located)
    (unplanned,) = body["unplanned"]
    assert unplanned["opportunity_id"] == nowhere and "location" in unplanned["reason"].lower()
    assert not MeetingRequest.objects.filter(opportunity_id=won_elsewhere.pk).exists()

    # Planning again makes no second request for the same opportunity.
    api.post("/plans", {"owner_id": user.pk, "start": start, "days": 5})
    assert MeetingRequest.objects.filter(opportunity_id=located[0]).count() == 1
    # Accepted, their meetings are to come: the next plan leaves them alone.
    assert api.post(f"/plans/{body['id']}/accept").status_code == 200
    again = api.post("/plans", {"owner_id": user.pk, "start": start, "days": 5}).json()
    assert [m["opportunity_id"] for m in again["meetings"]] == []
