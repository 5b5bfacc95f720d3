"""The meeting planner's pages: the plan form, a plan's itinerary with its comparison to the
naive plan, dropping, moving and accepting, the meeting requests list; another organisation's
plan is 404 and a colleague's calendar is not theirs to plan."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.scheduling import planner
from salesline.scheduling.models import Appointment, MeetingRequest, Plan, WorkingPattern
from tests.scheduling.test_planner import make_request, next_monday

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def me(browser, org):
    WorkingPattern.objects.create(
        organisation=org,
        user=browser.actor.user,
        base_latitude=51.5074,
        base_longitude=-0.1278,
    )
    return browser.actor


@pytest.fixture
def requests_(me):
    return [make_request(me, town, n) for town in ("Oxford", "Reading") for n in range(2)]


def test_the_plan_form_proposes_and_shows_the_itinerary(browser, me, requests_):
    page = browser.get("/planner/")
    assert page.status_code == 200
    assert b"Propose a plan" in page.content
    answer = browser.post(
        "/planner/",
        {"owner_id": me.user.pk, "start": next_monday().isoformat(), "days": "5"},
    )
    assert answer.status_code == 302
    plan = Plan.objects.get()
    html = browser.get(answer["Location"]).content.decode()
    assert "Itinerary" in html and "Oxford" in html and "Reading" in html
    assert "min travel before" in html
    assert "Naive plan" in html and f"{plan.naive_travel_minutes} minutes" in html
    assert "Accept: put 4 meetings on the calendar" in html


def test_the_plan_form_names_a_bad_start(browser, me):
    past = (dt.datetime.now(LONDON).date() - dt.timedelta(days=2)).isoformat()
    answer = browser.post("/planner/", {"owner_id": me.user.pk, "start": past, "days": "2"})
    assert answer.status_code == 422
    assert b"in the past" in answer.content


def test_drop_move_and_accept(browser, me, requests_):
    plan = planner.plan_create(
        actor=me, data={"owner_id": me.user.pk, "start": next_monday(), "days": 5}, time_limit=1
    )
    meetings = planner.plan_meetings(plan)
    answer = browser.post(f"/planner/plans/{plan.pk}/meetings/{meetings[0].pk}/drop/")
    assert answer.status_code == 302
    assert len(planner.plan_meetings(plan)) == 3
    page = browser.get(f"/planner/plans/{plan.pk}/").content.decode()
    assert "Dropped from the plan" in page
    # A move onto another meeting is refused with the reason, nothing changes.
    other = meetings[2].starts_at.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")
    answer = browser.post(
        f"/planner/plans/{plan.pk}/meetings/{meetings[1].pk}/move/", {"starts_at": other}
    )
    page = browser.get(answer["Location"]).content.decode()
    assert "Overlaps" in page
    meetings[1].refresh_from_db()
    assert meetings[1].starts_at != meetings[2].starts_at
    answer = browser.post(
        f"/planner/plans/{plan.pk}/meetings/{meetings[1].pk}/move/", {"starts_at": "soon"}
    )
    assert "New time must be a date and time" in browser.get(answer["Location"]).content.decode()
    answer = browser.post(f"/planner/plans/{plan.pk}/accept/")
    page = browser.get(answer["Location"]).content.decode()
    assert "Plan accepted: 3 meetings" in page
    assert Appointment.objects.filter(source="plan").count() == 3
    assert "Move or drop" not in page


def test_another_organisations_plan_is_not_found(me, requests_, other_user, other_org):
    plan = planner.plan_create(
        actor=me, data={"owner_id": me.user.pk, "start": next_monday(), "days": 1}, time_limit=0.5
    )
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(f"/planner/plans/{plan.pk}/").status_code == 404
    assert stranger.post(f"/planner/plans/{plan.pk}/accept/").status_code == 302
    plan.refresh_from_db()
    assert plan.status == "proposed"


def test_a_colleague_cannot_plan_my_calendar(me, org, requests_):
    colleague = accounts.user_create(
        email="bo@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    client = Client()
    client.force_login(colleague)
    page = client.get("/planner/").content.decode()
    assert f'value="{me.user.pk}"' not in page
    answer = client.post(
        "/planner/", {"owner_id": me.user.pk, "start": next_monday().isoformat(), "days": "2"}
    )
    assert answer.status_code == 403
    assert Plan.objects.count() == 0


def test_the_requests_list_adds_and_cancels(browser, me, requests_, opportunity):
    page = browser.get("/planner/requests/").content.decode()
    assert "Archive Oxford 0" in page and "Present the archive" in page
    answer = browser.post(
        "/planner/requests/",
        {"opportunity_id": str(opportunity.pk), "objective": "", "priority": "9"},
    )
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "states its objective" in html and "priority" in html
    answer = browser.post(
        "/planner/requests/",
        {"opportunity_id": str(opportunity.pk), "objective": "Meet the board", "priority": "5"},
    )
    assert answer.status_code == 302
    created = MeetingRequest.objects.get(opportunity=opportunity)
    assert created.priority == 5
    browser.post(f"/planner/requests/{created.pk}/cancel/")
    created.refresh_from_db()
    assert created.status == "cancelled"
    empty = browser.get("/planner/requests/?status=planned").content.decode()
    assert "No planned meeting requests" in empty


def test_the_itinerary_shows_the_salespersons_own_clock(browser, me, requests_):
    """Times on the plan are the owner's local ones, as the page says (not the server's UTC)."""
    WorkingPattern.objects.filter(user=me.user).update(time_zone="Asia/Tokyo")
    plan = planner.plan_create(
        actor=me,
        data={"owner_id": me.user.pk, "start": next_monday().isoformat(), "days": 5},
        time_limit=1,
    )
    html = browser.get(f"/planner/plans/{plan.pk}/").content.decode()
    assert "times in Asia/Tokyo" in html
    tokyo = ZoneInfo("Asia/Tokyo")
    meetings = list(plan.meetings.all())
    assert meetings
    for meeting in meetings:
        local = meeting.starts_at.astimezone(tokyo)
        assert 9 <= local.hour < 17  # inside Tokyo's working day
        assert f"{local:%H:%M}</time>" in html
        assert f"{meeting.starts_at.astimezone(dt.UTC):%H:%M}</time>" not in html
