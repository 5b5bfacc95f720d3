"""Free slots of a booking page: working hours and days in the owner's zone, buffers around
other appointments, daily business-development capacity, notice and horizon."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from salesline.scheduling import booking
from salesline.scheduling.models import Appointment

from .booking_fixtures import LONDON, MONDAY, NOW, appointment, at, make_page, pattern

pytestmark = pytest.mark.django_db


def starts(page, day, now=NOW, zone=LONDON) -> list[str]:
    return [
        f"{slot.starts_at.astimezone(zone):%H:%M}"
        for slot in booking.free_slots(page, day, now=now)
    ]


def test_slots_fill_the_working_day_on_the_page_grid(org, user):
    page = make_page(org, user)
    slots = booking.free_slots(page, MONDAY, now=NOW)
    assert len(slots) == 16
    assert slots[0].starts_at == at(MONDAY, 9)
    assert slots[-1].ends_at == at(MONDAY, 17)
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=30) for s in slots)
    assert {s.host_ids for s in slots} == {(user.pk,)}

    hour = make_page(org, user, duration_minutes=45)
    assert starts(hour, MONDAY)[:3] == ["09:00", "09:45", "10:30"]
    assert starts(hour, MONDAY)[-1] == "15:45"  # 16:30 would end after 17:00


def test_working_hours_and_days_come_from_the_owners_pattern_in_their_zone(org, user):
    pattern(org, user, time_zone="America/New_York", day_starts=dt.time(10), weekdays=[1, 2, 3])
    page = make_page(org, user)
    new_york = ZoneInfo("America/New_York")
    slots = booking.free_slots(page, MONDAY, now=NOW)
    assert slots[0].starts_at == dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)  # 10:00 EST
    assert slots[-1].ends_at.astimezone(new_york).time() == dt.time(17)
    assert booking.free_slots(page, MONDAY + dt.timedelta(days=3), now=NOW) == []  # Thursday
    assert booking.free_slots(page, dt.date(2027, 1, 9), now=NOW) == []  # Saturday


def test_slots_follow_the_clock_across_a_daylight_saving_change(org, user):
    page = make_page(org, user, days_ahead=120)
    before, after = dt.date(2027, 3, 26), dt.date(2027, 3, 29)  # BST starts on 28 March
    assert booking.free_slots(page, before, now=NOW)[0].starts_at == dt.datetime(
        2027, 3, 26, 9, tzinfo=dt.UTC
    )
    first_after = booking.free_slots(page, after, now=NOW)[0].starts_at
    assert first_after == dt.datetime(2027, 3, 29, 8, tzinfo=dt.UTC)
    assert first_after.astimezone(LONDON).isoformat() == "2027-03-29T09:00:00+01:00"


def test_existing_appointments_and_the_buffer_around_them_are_not_offered(org, user):
    appointment(org, user, at(MONDAY, 10), minutes=60)
    plain = make_page(org, user)
    buffered = make_page(org, user, buffer_minutes=15)
    assert "10:00" not in starts(plain, MONDAY) and "10:30" not in starts(plain, MONDAY)
    assert {"09:30", "11:00"} <= set(starts(plain, MONDAY))
    # 09:30–10:00 ends inside the buffer before, 11:00–11:30 starts inside the one after.
    assert starts(buffered, MONDAY)[:3] == ["09:00", "11:30", "12:00"]


def test_cancelled_appointments_and_other_peoples_do_not_block(org, user, admin_user):
    appointment(org, user, at(MONDAY, 9), cancelled_at=NOW)
    appointment(org, admin_user, at(MONDAY, 9, 30))
    assert starts(make_page(org, user), MONDAY)[:2] == ["09:00", "09:30"]


def test_business_development_pages_stop_at_the_daily_capacity(org, user):
    pattern(org, user, business_development_per_day=2)
    calls = make_page(org, user)
    meetings = make_page(org, user, kind=Appointment.Kind.BUSINESS_DEVELOPMENT)
    appointment(org, user, at(MONDAY, 9), kind="business_development", objective="x")
    assert len(starts(meetings, MONDAY)) == 14
    appointment(org, user, at(MONDAY, 11), kind="business_development", objective="y")
    assert starts(meetings, MONDAY) == []
    assert len(starts(calls, MONDAY)) == 12  # calls do not count against the meetings cap
    assert starts(meetings, MONDAY + dt.timedelta(days=1))[:1] == ["09:00"]


def test_business_development_pages_stop_at_the_weekly_capacity(org, user):
    pattern(org, user, business_development_per_week=2)
    meetings = make_page(org, user, kind=Appointment.Kind.BUSINESS_DEVELOPMENT)
    appointment(org, user, at(MONDAY, 9), kind="business_development", objective="x")
    appointment(org, user, at(MONDAY + dt.timedelta(days=1), 9), kind="business_development")
    assert starts(meetings, MONDAY + dt.timedelta(days=2)) == []
    assert starts(meetings, MONDAY + dt.timedelta(days=7))[:1] == ["09:00"]  # next week


def test_minimum_notice_and_the_horizon(org, user):
    page = make_page(org, user, minimum_notice_hours=2, days_ahead=7)
    now = at(MONDAY, 9, 10)
    assert starts(page, MONDAY, now=now)[0] == "11:30"
    assert starts(page, MONDAY - dt.timedelta(days=3), now=now) == []  # the past
    assert starts(page, MONDAY + dt.timedelta(days=7), now=now)[:1] == ["09:00"]
    assert starts(page, MONDAY + dt.timedelta(days=8), now=now) == []


def test_bookable_days_are_those_with_a_free_slot(org, user):
    page = make_page(org, user, days_ahead=7)
    pattern(org, user, business_development_per_day=1)
    days = booking.bookable_days(page, now=NOW)
    # From Friday 1 January: Friday, then Monday to Friday of the next week.
    assert days == [dt.date(2027, 1, d) for d in (1, 4, 5, 6, 7, 8)]


def test_a_team_page_offers_a_slot_when_anyone_is_free(org, user, admin_user):
    page = make_page(org, user, team=[admin_user])
    appointment(org, user, at(MONDAY, 9), minutes=30)
    appointment(org, admin_user, at(MONDAY, 9, 30), minutes=30)
    appointment(org, user, at(MONDAY, 10), minutes=30)
    appointment(org, admin_user, at(MONDAY, 10), minutes=30)
    slots = booking.free_slots(page, MONDAY, now=NOW)
    assert slots[0].host_ids == (admin_user.pk,)
    assert slots[1].host_ids == (user.pk,)
    assert slots[2].starts_at == at(MONDAY, 10, 30)
    assert slots[2].host_ids == tuple(sorted((user.pk, admin_user.pk)))
