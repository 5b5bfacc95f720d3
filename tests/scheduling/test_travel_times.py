"""The travel-time matrix: entered between places (services and API), symmetric unless both
directions are given, and used by the planner when both ends are known places — a matrix that
makes a far town near changes the plan."""

from __future__ import annotations

import pytest

from salesline.accounts import services as accounts
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.scheduling import planner, travel
from salesline.scheduling.models import Place, TravelTime, WorkingPattern
from tests.scheduling.test_planner import make_request, next_monday

LONDON_AT = (51.5074, -0.1278)
EDINBURGH_AT = (55.9533, -3.1883)


@pytest.fixture
def towns(org):
    return {
        name: Place.objects.create(
            organisation=org, name=name, country="GB", latitude=lat, longitude=lon
        )
        for name, (lat, lon) in {
            "London": LONDON_AT,
            "Edinburgh": EDINBURGH_AT,
            "Oxford": (51.752, -1.2577),
        }.items()
    }


@pytest.fixture
def london_base(org, user):
    return WorkingPattern.objects.create(
        organisation=org,
        user=user,
        base_address="London",
        base_latitude=LONDON_AT[0],
        base_longitude=LONDON_AT[1],
    )


def test_the_matrix_is_symmetric_unless_both_directions_are_given(
    admin_actor, org, towns, london_base
):
    london, edinburgh, oxford = towns["London"], towns["Edinburgh"], towns["Oxford"]
    travel.travel_times_replace(
        actor=admin_actor,
        items=[
            {"from": london.pk, "to": edinburgh.pk, "minutes": 80},
            {"from": london.pk, "to": oxford.pk, "minutes": 70},
            {"from": oxford.pk, "to": london.pk, "minutes": 95},
        ],
    )
    clock = travel.TravelClock(org, london_base)
    near_london = (LONDON_AT[0] + 0.01, LONDON_AT[1])  # ~1.1 km away: still London
    assert clock(near_london, EDINBURGH_AT) == 80
    assert clock(EDINBURGH_AT, LONDON_AT) == 80  # the reverse of a one-way entry
    assert clock(LONDON_AT, (51.752, -1.2577)) == 70
    assert clock((51.752, -1.2577), LONDON_AT) == 95  # both given: each its own
    # Edinburgh–Oxford has no entry, and 3 km from London is no longer London: haversine.
    assert clock(EDINBURGH_AT, (51.752, -1.2577)) == travel.haversine_minutes(
        london_base, EDINBURGH_AT, (51.752, -1.2577)
    )
    away = (LONDON_AT[0] + 0.03, LONDON_AT[1])
    assert clock(away, EDINBURGH_AT) == travel.haversine_minutes(london_base, away, EDINBURGH_AT)
    assert AuditEvent.objects.filter(action="travel_times.replace").count() == 1


def test_bad_entries_are_refused_naming_each(admin_actor, other_actor, towns):
    london, edinburgh = towns["London"], towns["Edinburgh"]
    foreign = Place.objects.create(
        organisation=other_actor.organisation, name="Oslo", latitude=59.9, longitude=10.7
    )
    with pytest.raises(ValidationFailed) as error:
        travel.travel_times_replace(
            actor=admin_actor,
            items=[
                {"from": london.pk, "to": edinburgh.pk, "minutes": 80},
                {"from": london.pk, "to": london.pk, "minutes": 5},
                {"from": foreign.pk, "to": edinburgh.pk, "minutes": 5},
                {"from": london.pk, "to": edinburgh.pk, "minutes": 90},
                {"from": edinburgh.pk, "to": london.pk, "minutes": 1441},
                {"to": london.pk, "minutes": 5},
            ],
        )
    assert [p.loc for p in error.value.problems] == [
        (1, "to"),
        (2, "from"),
        (3, "to"),
        (4, "minutes"),
        (5, "from"),
    ]
    assert not TravelTime.objects.exists()


def test_only_admins_and_coordinators_change_it(actor, org, towns):
    items = [{"from": towns["London"].pk, "to": towns["Oxford"].pk, "minutes": 60}]
    with pytest.raises(PermissionDenied):
        travel.travel_times_replace(actor=actor, items=items)
    coordinator = accounts.user_create(
        email="cy@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    rows = travel.travel_times_replace(actor=accounts.actor_for(coordinator, org), items=items)
    assert [travel.entry_out(r) for r in rows] == items


def test_a_matrix_making_a_far_town_near_changes_the_plan(
    actor, admin_actor, user, towns, london_base
):
    near = make_request(actor, "Oxford", 0)
    far = make_request(actor, "Oxford", 1, at=EDINBURGH_AT)
    data = {"owner_id": user.pk, "start": next_monday().isoformat(), "days": 1}
    # 530 km at 50 km/h: Edinburgh and back does not fit in a working day.
    before = planner.plan_out(planner.plan_create(actor=actor, data=data, time_limit=0.5))
    assert [m["opportunity_id"] for m in before["meetings"]] == [near.opportunity_id]
    assert [u["opportunity_id"] for u in before["unplanned"]] == [far.opportunity_id]
    # An hour's flight each way (the reverse counts too): Edinburgh is planned.
    travel.travel_times_replace(
        actor=admin_actor,
        items=[
            {"from": towns["London"].pk, "to": towns["Edinburgh"].pk, "minutes": 60},
            {"from": towns["Edinburgh"].pk, "to": towns["Oxford"].pk, "minutes": 90},
        ],
    )
    after_plan = planner.plan_create(actor=actor, data=data, time_limit=0.5)
    after = planner.plan_out(after_plan)
    assert {m["opportunity_id"] for m in after["meetings"]} == {
        near.opportunity_id,
        far.opportunity_id,
    }
    assert after["unplanned"] == []
    first, second = after["meetings"]
    legs = {first["opportunity_id"]: first, second["opportunity_id"]: second}
    # Between Oxford and Edinburgh the entry's 90 minutes, from London 60 to Edinburgh.
    assert second["travel_minutes_before"] == 90
    if first["opportunity_id"] == far.opportunity_id:
        assert legs[far.opportunity_id]["travel_minutes_before"] == 60
    # An edit counts the travel again with the same matrix.
    planner.plan_drop_meeting(
        actor=actor,
        plan_id=after_plan.pk,
        meeting_id=next(m.pk for m in planner.plan_meetings(after_plan) if m.request_id == near.pk),
    )
    after_plan.refresh_from_db()
    assert after_plan.total_travel_minutes == 120  # London–Edinburgh and back


def test_api_travel_times(admin_api, api, other_api, towns):
    london, oxford = towns["London"], towns["Oxford"]
    assert api.get("/travel-times").json() == []
    body = [{"from": london.pk, "to": oxford.pk, "minutes": 55}]
    answer = admin_api.request("put", "/travel-times", body)
    assert answer.status_code == 200, answer.content
    assert answer.json() == body
    assert api.get("/travel-times").json() == body
    assert other_api.get("/travel-times").json() == []
    assert api.request("put", "/travel-times", []).status_code == 403
    bad = admin_api.request(
        "put", "/travel-times", [{"from": london.pk, "to": 99999999, "minutes": 5}]
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", 0, "to"]
    assert api.get("/travel-times").json() == body  # a refused PUT changes nothing
    assert admin_api.request("put", "/travel-times", []).json() == []
    assert not TravelTime.objects.exists()
