"""Private calendar feeds: created through the API, read without signing in, revoked."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.test import Client

from salesline.core.models import AuditEvent
from salesline.scheduling.models import CalendarFeed

from .booking_fixtures import appointment

pytestmark = pytest.mark.django_db

SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)


def test_a_feed_lists_the_owners_appointments_and_stops_when_revoked(org, api, user, admin_user):
    first = appointment(org, user, SOON, title="Kick-off at Acme")
    appointment(org, user, SOON + dt.timedelta(hours=2), kind="internal")
    appointment(org, user, SOON + dt.timedelta(hours=4), cancelled_at=SOON)
    appointment(org, admin_user, SOON)  # someone else's
    created = api.post("/calendar-feeds", {"owner_id": user.pk})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["url"].startswith("http://testserver/calendar/feed/cf_")
    assert body["id"] == CalendarFeed.objects.get().pk
    assert body["url"].rsplit("/", 1)[1].removesuffix(".ics") not in str(
        CalendarFeed.objects.values_list("token_hash", flat=True).get()
    )

    anonymous = Client()
    feed = anonymous.get(body["url"].removeprefix("http://testserver"))
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    assert str(events[0]["UID"]) == first.uid
    assert str(events[0]["SUMMARY"]) == "Kick-off at Acme"
    assert events[0].decoded("DTSTART") == SOON

    assert api.delete(f"/calendar-feeds/{body['id']}").status_code == 204
    assert anonymous.get(body["url"].removeprefix("http://testserver")).status_code == 404
    assert AuditEvent.objects.filter(object_type="calendarfeed", action="revoke").count() == 1
    assert api.delete(f"/calendar-feeds/{body['id']}").status_code == 204  # already revoked


def test_feeds_are_for_calendars_one_manages(api, admin_api, other_api, user, admin_user):
    assert api.post("/calendar-feeds", {"owner_id": admin_user.pk}).status_code == 403
    assert api.post("/calendar-feeds", {"owner_id": 10**9}).status_code == 422
    mine = api.post("/calendar-feeds", {}).json()  # the caller's own
    assert CalendarFeed.objects.get(pk=mine["id"]).owner_id == user.pk
    assert admin_api.post("/calendar-feeds", {"owner_id": user.pk}).status_code == 201
    assert other_api.delete(f"/calendar-feeds/{mine['id']}").status_code == 404
    assert api.get("/calendar-feeds").json()["count"] == 2
    assert Client().get("/calendar/feed/cf_nothing_here.ics").status_code == 404
