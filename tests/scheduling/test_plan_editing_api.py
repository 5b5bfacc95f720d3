"""Plan editing through the API: the list of plans, dropping and moving a proposed meeting
addressed by its opportunity, every rule re-checked on a move (422 naming it), and the
contract's plan shape kept."""

from __future__ import annotations

import datetime as dt

import pytest

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.scheduling import planner
from salesline.scheduling.models import Plan
from tests.conftest import ApiClient
from tests.scheduling.test_planner import LONDON, base, make_request, next_monday  # noqa: F401

CONTRACT_KEYS = {"id", "meetings", "unplanned", "total_travel_minutes"}
MEETING_KEYS = {"opportunity_id", "starts_at", "ends_at", "travel_minutes_before"}


@pytest.fixture
def plan(api, actor, user, base):  # noqa: F811
    for town in ("Oxford", "Reading"):
        for n in range(2):
            make_request(actor, town, n)
    answer = api.post(
        "/plans", {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 5}
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert len(body["meetings"]) == 4
    return body


def test_plans_are_listed_newest_first_filtered_and_paginated(api, actor, user, org, plan):
    second = planner.plan_create(
        actor=actor,
        data={"owner_id": user.pk, "start": next_monday().isoformat(), "days": 2},
        time_limit=0.5,
    )
    other = accounts.user_create(
        email="sam@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    Plan.objects.create(organisation=org, owner=other, start=next_monday(), days=1)
    listed = api.get("/plans").json()
    assert listed["count"] == 3 and (listed["limit"], listed["offset"]) == (50, 0)
    mine = api.get(f"/plans?owner_id={user.pk}").json()
    assert [p["id"] for p in mine["items"]] == [second.pk, plan["id"]]
    item = mine["items"][1]
    assert set(item) >= CONTRACT_KEYS
    assert (item["owner_id"], item["days"], item["status"]) == (user.pk, 5, "proposed")
    assert item["meetings"] == plan["meetings"]
    page = api.get(f"/plans?owner_id={user.pk}&limit=1&offset=1").json()
    assert [p["id"] for p in page["items"]] == [plan["id"]] and page["count"] == 2
    bad = api.get("/plans?owner_id=x&limit=0")
    assert bad.status_code == 422
    assert [p["loc"] for p in bad.json()["detail"]] == [["query", "owner_id"], ["query", "limit"]]


def test_dropping_a_meeting_by_its_opportunity(api, plan):
    dropped = plan["meetings"][0]["opportunity_id"]
    answer = api.delete(f"/plans/{plan['id']}/meetings/{dropped}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == CONTRACT_KEYS and set(body["meetings"][0]) == MEETING_KEYS
    assert [m["opportunity_id"] for m in body["meetings"]] == [
        m["opportunity_id"] for m in plan["meetings"][1:]
    ]
    assert body["unplanned"][-1]["opportunity_id"] == dropped
    assert "Dropped" in body["unplanned"][-1]["reason"]
    assert AuditEvent.objects.filter(action="plan.drop_meeting").count() == 1
    again = api.delete(f"/plans/{plan['id']}/meetings/{dropped}")
    assert again.status_code == 404
    assert api.get(f"/plans/{plan['id']}").json() == body


def test_moving_a_meeting_rechecks_every_rule(api, plan):
    meetings = plan["meetings"]
    moving = meetings[0]["opportunity_id"]
    url = f"/plans/{plan['id']}/meetings/{moving}"
    days_used = {
        dt.datetime.fromisoformat(m["starts_at"]).astimezone(LONDON).date() for m in meetings
    }
    free_day = next(
        next_monday() + dt.timedelta(days=d)
        for d in range(5)
        if next_monday() + dt.timedelta(days=d) not in days_used
    )
    # After working hours: 422 naming the rule.
    late = dt.datetime.combine(free_day, dt.time(16, 30), LONDON).isoformat()
    answer = api.patch(url, {"starts_at": late})
    assert answer.status_code == 422
    problem = answer.json()["detail"][0]
    assert (problem["loc"], problem["type"]) == (["body", "starts_at"], "working_hours")
    # On top of another of the plan's meetings: an overlap.
    answer = api.patch(url, {"starts_at": meetings[1]["starts_at"]})
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "overlap"
    # Outside the plan's days.
    far = dt.datetime.combine(next_monday() + dt.timedelta(days=14), dt.time(11), LONDON)
    answer = api.patch(url, {"starts_at": far.isoformat()})
    assert answer.status_code == 422 and "plan covers" in answer.json()["detail"][0]["msg"]
    # Too soon after the start of the day to come from the base in London.
    early = dt.datetime.combine(free_day, dt.time(9), LONDON).isoformat()
    answer = api.patch(url, {"starts_at": early})
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "travel"
    # No offset: refused.
    answer = api.patch(url, {"starts_at": f"{free_day}T13:00:00"})
    assert answer.status_code == 422
    # A free afternoon: moved, the travel from the base counted again.
    target = dt.datetime.combine(free_day, dt.time(13), LONDON)
    answer = api.patch(url, {"starts_at": target.isoformat()})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == CONTRACT_KEYS
    moved = next(m for m in body["meetings"] if m["opportunity_id"] == moving)
    assert dt.datetime.fromisoformat(moved["starts_at"]) == target
    assert dt.datetime.fromisoformat(moved["ends_at"]) == target + dt.timedelta(hours=1)
    assert moved["travel_minutes_before"] > 0
    assert AuditEvent.objects.filter(action="plan.move_meeting").count() == 1


def test_moving_past_the_daily_capacity_is_refused_naming_it(api, actor, user, org, base):  # noqa: F811
    from salesline.scheduling.models import WorkingPattern

    WorkingPattern.objects.filter(organisation=org, user=user).update(
        business_development_per_day=1
    )
    for n in range(2):
        make_request(actor, "Oxford", n)
    body = api.post(
        "/plans", {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 5}
    ).json()
    first, second = body["meetings"][:2]
    day = dt.datetime.fromisoformat(first["starts_at"]).astimezone(LONDON).date()
    target = dt.datetime.combine(day, dt.time(15), LONDON).isoformat()
    answer = api.patch(
        f"/plans/{body['id']}/meetings/{second['opportunity_id']}", {"starts_at": target}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "capacity_per_day"


def test_editing_is_for_the_calendars_managers_only_and_not_once_accepted(
    api, org, plan, other_api
):
    opportunity = plan["meetings"][0]["opportunity_id"]
    url = f"/plans/{plan['id']}/meetings/{opportunity}"
    colleague = accounts.user_create(
        email="bo@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    _, token = accounts.token_create(user=colleague, actor=accounts.system_actor(org))
    assert ApiClient(token).delete(url).status_code == 403
    assert other_api.delete(url).status_code == 404
    assert other_api.get(f"/plans/{plan['id']}").status_code == 404
    assert other_api.get("/plans").json()["count"] == 0
    assert api.delete(f"/plans/{plan['id']}/meetings/999999").status_code == 404
    assert api.delete(f"/plans/999999/meetings/{opportunity}").status_code == 404
    assert api.post(f"/plans/{plan['id']}/accept").status_code == 200
    assert api.delete(url).status_code == 409
    moved = plan["meetings"][0]["starts_at"]
    assert api.patch(url, {"starts_at": moved}).status_code == 409
