"""People and activity: meetings per salesperson per ISO week against capacity, activities
per open opportunity and their distribution, on-time task completion — each on a small
history whose numbers are worked out by hand below."""

import datetime as dt

import pytest

from salesline.analytics.activity_selectors import (
    activities_per_opportunity,
    meetings_per_week,
)
from salesline.analytics.filters import parse_metric_filters
from salesline.core.errors import ValidationFailed
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks.models import Task
from salesline.playbooks.task_selectors import task_on_time_rate
from salesline.records.models import Note
from salesline.records.services import note_create

UTC = dt.UTC


def logged(actor, kind, at, **target):
    note = note_create(actor=actor, body=f"{kind} logged", kind=kind, target=target)
    Note.objects.filter(pk=note.pk).update(created_at=at)
    return note


def at(day, hour=10):
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def meetings(actor, admin_actor, lead, company):
    """Ann (salesperson): 3 meetings in 2026-W10 (2 March to 8 March), 1 in W11; a meeting on
    a company, a call and a meeting after the period do not count. Boss (admin): 1 in W11."""
    deal = opportunity_create(actor=actor, data={"name": "Deal"})
    logged(actor, "meeting", at(2), opportunity_id=deal.pk)
    logged(actor, "meeting", at(4), lead_id=lead.pk)
    logged(actor, "meeting", at(8, 23), opportunity_id=deal.pk)  # Sunday night: still W10
    logged(actor, "meeting", at(9), opportunity_id=deal.pk)  # Monday: W11
    logged(actor, "meeting", at(3), company_id=company.pk)  # a company: not a BD meeting
    logged(actor, "call", at(3), opportunity_id=deal.pk)
    logged(actor, "meeting", at(16), opportunity_id=deal.pk)  # after the period
    logged(admin_actor, "meeting", at(12), lead_id=lead.pk)


def test_meetings_per_salesperson_per_week_against_capacity(meetings, actor):
    rows = meetings_per_week(
        actor=actor, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 15)
    )
    got = [(r["owner"], r["week"], r["meetings"], r["capacity"], r["utilisation"]) for r in rows]
    assert got == [
        ("ann@piql.test", "2026-W10", 3, 20, 0.15),
        ("ann@piql.test", "2026-W11", 1, 20, 0.05),
        ("boss@piql.test", "2026-W10", 0, 20, 0.0),
        ("boss@piql.test", "2026-W11", 1, 20, 0.05),
    ]
    assert rows[0]["week_start"] == dt.date(2026, 3, 2)


def test_one_salesperson_a_cut_week_and_another_capacity(meetings, actor, user, settings):
    settings.SALESLINE_MEETINGS_PER_WEEK = 4
    # From Wednesday 4 March: W10 keeps the 4th and the 8th (2), W11 the 9th (1).
    rows = meetings_per_week(
        actor=actor, date_from=dt.date(2026, 3, 4), date_to=dt.date(2026, 3, 9), owner_id=user.pk
    )
    assert [(r["week"], r["meetings"], r["utilisation"]) for r in rows] == [
        ("2026-W10", 2, 0.5),
        ("2026-W11", 1, 0.25),
    ]


def test_a_period_backwards_is_refused_naming_the_parameter(actor):
    with pytest.raises(ValidationFailed) as caught:
        meetings_per_week(actor=actor, date_from=dt.date(2026, 3, 9), date_to=dt.date(2026, 3, 1))
    assert [p.loc for p in caught.value.problems] == [("query", "to")]


def test_another_organisations_meetings_are_not_counted(meetings, other_actor):
    rows = meetings_per_week(
        actor=other_actor, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 15)
    )
    assert all(r["meetings"] == 0 for r in rows)


def test_activities_per_open_opportunity_and_their_distribution(
    actor, admin_actor, user, admin_user, other_actor
):
    busy = opportunity_create(actor=actor, data={"name": "Busy"})
    opportunity_create(actor=actor, data={"name": "Quiet"})
    closed = opportunity_create(actor=actor, data={"name": "Closed"})
    theirs = opportunity_create(actor=admin_actor, data={"name": "Boss's"})
    # Busy: 2 meetings + 1 call + 2 moves (identify -> lost -> identify) = 5 activities.
    logged(actor, "meeting", at(2), opportunity_id=busy.pk)
    logged(actor, "meeting", at(3), opportunity_id=busy.pk)
    logged(actor, "call", at(4), opportunity_id=busy.pk)
    opportunity_move(actor=actor, opportunity_id=busy.pk, stage="lost", reason="Paused")
    opportunity_move(actor=actor, opportunity_id=busy.pk, stage="identify")
    logged(actor, "note", at(5), opportunity_id=closed.pk)
    opportunity_move(actor=actor, opportunity_id=closed.pk, stage="lost", reason="No budget")
    logged(admin_actor, "email", at(6), opportunity_id=theirs.pk)  # 1 activity

    result = activities_per_opportunity(actor=actor, filters=parse_metric_filters(actor, {}))
    rows = {r["name"]: r for r in result["opportunities"]}
    assert set(rows) == {"Busy", "Quiet", "Boss's"}  # Closed is not open
    assert rows["Busy"]["notes"] == {"note": 0, "call": 1, "meeting": 2, "email": 0}
    assert (rows["Busy"]["stage_changes"], rows["Busy"]["activities"]) == (2, 5)
    assert (rows["Quiet"]["activities"], rows["Boss's"]["activities"]) == (0, 1)
    # Activities 5, 0, 1 -> sorted 0, 1, 5: mean 2.0, median 1; p85 at position
    # 0.85 x 2 = 1.7, between 1 and 5: 1 + 0.7 x 4 = 3.8.
    assert result["distribution"] == {
        "opportunities": 3,
        "mean": 2.0,
        "median": 1.0,
        "p85": 3.8,
        "max": 5,
        "buckets": [
            {"activities": "0", "opportunities": 1},
            {"activities": "1", "opportunities": 1},
            {"activities": "2–3", "opportunities": 0},
            {"activities": "4–7", "opportunities": 1},
            {"activities": "8+", "opportunities": 0},
        ],
    }
    by_owner = {r["owner_id"]: r for r in result["by_owner"]}
    assert by_owner[user.pk] == {
        "owner_id": user.pk,
        "open_opportunities": 2,
        "activities": 5,
        "per_opportunity": 2.5,
    }
    assert by_owner[admin_user.pk]["per_opportunity"] == 1.0

    theirs_only = parse_metric_filters(actor, {"owner_id": str(admin_user.pk)})
    mine = activities_per_opportunity(actor=actor, filters=theirs_only)
    assert [r["name"] for r in mine["opportunities"]] == ["Boss's"]
    with pytest.raises(ValidationFailed) as caught:
        parse_metric_filters(actor, {"pipeline": "nope", "owner_id": "x"})
    assert sorted(p.loc for p in caught.value.problems) == [
        ("query", "owner_id"),
        ("query", "pipeline"),
    ]
    assert activities_per_opportunity(actor=other_actor)["distribution"]["mean"] is None


def task(org, assignee, due, status="open", completed=None):
    return Task.objects.create(
        organisation=org,
        title="Call back",
        assignee=assignee,
        queue="" if assignee else "salesperson",  # an open task sits in a queue
        due_date=due,
        status=status,
        completed_at=completed,
    )


def test_on_time_task_completion(actor, org, user, admin_user):
    march = dt.date(2026, 3, 10)
    task(org, user, march, "done", at(9, 16))  # on time
    task(org, user, march, "done", at(10, 23))  # on the day: on time
    task(org, user, march, "done", at(11, 8))  # late
    task(org, user, dt.date(2026, 3, 12))  # open past its day: missed
    task(org, user, dt.date(2026, 3, 12), "cancelled")  # takes no part
    task(org, user, dt.date(2026, 4, 1), "done", at(20))  # due after the period
    task(org, admin_user, dt.date(2026, 3, 20), "done", at(20, 9))  # on time
    task(org, None, dt.date(2026, 3, 15))  # nobody's: takes no part

    result = task_on_time_rate(
        actor=actor, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31)
    )
    # Ann: 2 on time of 4 decided = 0.5; Boss: 1 of 1; all: 3 of 5 = 0.6.
    assert (result["on_time"], result["late"], result["missed"], result["rate"]) == (3, 1, 1, 0.6)
    assert {r["assignee_id"]: r["rate"] for r in result["by_assignee"]} == {
        user.pk: 0.5,
        admin_user.pk: 1.0,
    }
    alone = task_on_time_rate(
        actor=actor,
        date_from=dt.date(2026, 3, 1),
        date_to=dt.date(2026, 3, 31),
        assignee_id=admin_user.pk,
    )
    assert (alone["on_time"], alone["rate"]) == (1, 1.0)
    nothing = task_on_time_rate(
        actor=actor, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 1, 31)
    )
    assert (nothing["rate"], nothing["by_assignee"]) == (None, [])


def booked(org, owner, starts_at, *, kind="business_development", cancelled=False, uid=""):
    from salesline.scheduling.models import Appointment  # noqa: PLC0415

    return Appointment.objects.create(
        organisation=org,
        owner=owner,
        kind=kind,
        title="Meeting",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        uid=uid or f"{starts_at.isoformat()}-{kind}-{cancelled}@test",
        cancelled_at=starts_at if cancelled else None,
    )


def test_held_appointments_replace_a_persons_logged_meetings(meetings, actor, user, org):
    """Ann books her meetings in the calendar: her two held business-development appointments
    in W10 count, not her three notes (a meeting booked and written up counts once); a
    cancelled one and an account-management visit do not count. Boss still logs notes."""
    booked(org, user, at(3))
    booked(org, user, at(5))
    booked(org, user, at(6), cancelled=True)
    booked(org, user, at(6, 14), kind="account_management")
    rows = meetings_per_week(
        actor=actor, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 15)
    )
    assert [(r["owner"], r["week"], r["meetings"]) for r in rows] == [
        ("ann@piql.test", "2026-W10", 2),
        ("ann@piql.test", "2026-W11", 0),
        ("boss@piql.test", "2026-W10", 0),
        ("boss@piql.test", "2026-W11", 1),
    ]
