"""The calendars' count of business-development meetings held (what the capacity planner reads
through core.measures): held ones counted per salesperson per week; cancelled, future, other
kinds, other periods and other organisations' not counted."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from salesline.core import measures
from salesline.scheduling.meeting_counts import business_development_meetings
from salesline.scheduling.models import Appointment


def appointment(org, owner, starts_at, *, kind="business_development", cancelled=False):
    return Appointment.objects.create(
        organisation=org,
        owner=owner,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        uid=uuid.uuid4().hex,
        cancelled_at=timezone.now() if cancelled else None,
    )


@pytest.fixture
def period():
    """Four weeks: two behind today, two ahead."""
    today = timezone.localdate()
    return today - dt.timedelta(days=14), today + dt.timedelta(days=14)


def test_held_business_development_meetings_per_salesperson_per_week(
    org, other_org, other_user, actor, user, salesperson2, coordinator, period
):
    now = timezone.now()
    start, end = period
    for days_ago in (1, 3, 8):
        appointment(org, user, now - dt.timedelta(days=days_ago))
    appointment(org, user, now - dt.timedelta(days=2), cancelled=True)
    appointment(org, user, now + dt.timedelta(days=2))  # in the period, not held yet
    appointment(org, user, now - dt.timedelta(days=4), kind="account_management")
    appointment(org, user, now - dt.timedelta(days=5), kind="call")
    appointment(org, user, now - dt.timedelta(days=30))  # before the period
    appointment(other_org, other_user, now - dt.timedelta(days=1))
    # A coordinator who held one counts as one of the people meeting customers.
    appointment(org, coordinator, now - dt.timedelta(days=6))

    answer = business_development_meetings(actor=actor, start=start, end=end)

    assert (answer["start"], answer["end"], answer["weeks"]) == (str(start), str(end), 4)
    assert answer["meetings"] == 4
    by_person = {row["user_id"]: row for row in answer["by_person"]}
    assert set(by_person) == {user.pk, salesperson2.pk, coordinator.pk}
    assert (by_person[user.pk]["meetings"], by_person[user.pk]["per_week"]) == (3, 0.75)
    assert by_person[salesperson2.pk]["meetings"] == 0  # an empty calendar counts, at zero
    assert by_person[coordinator.pk]["meetings"] == 1
    assert answer["by_person"][0]["user_id"] == user.pk  # most first
    assert answer["salespeople"] == 3
    assert answer["per_salesperson_per_week"] == round(4 / 4 / 3, 2)


def test_the_count_is_what_core_measures_answers(org, actor, user, period):
    appointment(org, user, timezone.now() - dt.timedelta(days=1))
    start, end = period

    answer = measures.measure("business_development_meetings", actor=actor, start=start, end=end)

    assert measures.provided("business_development_meetings")
    assert answer == business_development_meetings(actor=actor, start=start, end=end)
    assert answer["meetings"] == 1


def test_no_salesperson_and_nothing_held(org, admin_actor):
    today = timezone.localdate()

    answer = business_development_meetings(
        actor=admin_actor, start=today - dt.timedelta(days=28), end=today
    )

    assert (answer["meetings"], answer["salespeople"]) == (0, 0)
    assert answer["per_salesperson_per_week"] is None
    assert answer["by_person"] == []


def test_a_meeting_on_the_periods_last_day_is_outside_it(org, actor, user):
    """[start, end): the end day is the next period's first."""
    end = timezone.localdate() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=7)
    appointment(org, user, dt.datetime.combine(end, dt.time(10), tzinfo=dt.UTC))
    appointment(org, user, dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC))

    answer = business_development_meetings(actor=actor, start=start, end=end)

    assert answer["meetings"] == 1
    assert answer["per_salesperson_per_week"] == 1
