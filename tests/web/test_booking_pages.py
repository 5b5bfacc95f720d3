"""The public booking page (no sign-in), its thank-you page and .ics, the 429 page, the private
feed URL, and the settings pages for booking pages and calendar feeds."""

from __future__ import annotations

from urllib.parse import quote

import icalendar
import pytest
from django.core.cache import cache
from django.test import Client

from salesline.core.models import AuditEvent
from salesline.scheduling.models import Appointment, BookingPage, CalendarFeed
from tests.scheduling.booking_fixtures import at, make_page, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def public(org, browser):
    owner = browser.actor.user
    return make_page(org, owner, slug="ann-30", title="Intro call", minimum_notice_hours=0)


def test_the_public_page_books_a_slot_without_javascript(public):
    visitor = Client(enforce_csrf_checks=True)
    day = next_weekday()
    days = visitor.get("/book/ann-30")
    assert days.status_code == 200
    assert f"?day={day}" in days.content.decode()
    slots = visitor.get(f"/book/ann-30?day={day}").content.decode()
    start = at(day, 10).isoformat()
    assert f"start={quote(start)}" in slots
    form = visitor.get("/book/ann-30", {"start": start})
    html = form.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'name="website"' in html
    token = visitor.cookies["csrftoken"].value
    refused = Client(enforce_csrf_checks=True).post(
        "/book/ann-30", {"starts_at": start, "name": "Kari", "email": "kari@acme.no"}
    )
    assert refused.status_code == 403  # no CSRF token
    done = visitor.post(
        "/book/ann-30",
        {"starts_at": start, "name": "Kari", "email": "kari@acme.no", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 302
    meeting = Appointment.objects.get()
    reference = meeting.booking.reference
    assert done["Location"] == f"/book/ann-30/booked/{reference}"
    thanks = visitor.get(done["Location"]).content.decode()
    assert reference in thanks and "10:00" in thanks and "kari@acme.no" in thanks
    ics = visitor.get(f"/book/ann-30/booked/{reference}.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid
    # The slot is gone, and booking it again says so.
    listed = visitor.get(f"/book/ann-30?day={day}").content.decode()
    assert (
        f"start={quote(start)}" not in listed and f"start={quote(at(day, 9).isoformat())}" in listed
    )
    again = visitor.post(
        "/book/ann-30",
        {"starts_at": start, "name": "Ola", "email": "ola@acme.no", "csrfmiddlewaretoken": token},
    )
    assert again.status_code == 409 and "just taken" in again.content.decode()
    assert Appointment.objects.count() == 1


def test_the_form_names_bad_fields_and_the_honeypot_books_nothing(public):
    visitor = Client()
    start = at(next_weekday(), 11).isoformat()
    bad = visitor.post("/book/ann-30", {"starts_at": start, "name": "Kari", "email": "kari@"})
    assert bad.status_code == 422
    assert "not a valid address" in bad.content.decode()
    bot = visitor.post(
        "/book/ann-30",
        {"starts_at": start, "name": "Bot", "email": "bot@x.test", "website": "http://spam"},
    )
    assert bot.status_code == 400
    off_grid = visitor.post(
        "/book/ann-30",
        {"starts_at": start[:14] + "07" + start[16:], "name": "K", "email": "k@x.io"},
    )
    assert off_grid.status_code == 422 and "is not a slot" in off_grid.content.decode()
    assert not Appointment.objects.exists()


def test_unknown_and_inactive_pages_are_not_found(public):
    assert Client().get("/book/nope").status_code == 404
    BookingPage.objects.update(active=False)
    assert Client().get("/book/ann-30").status_code == 404
    assert Client().get("/book/ann-30/booked/BK-NOTHING").status_code == 404


def test_too_many_requests_get_a_clear_429_page(public, settings):
    settings.SALESLINE_BOOKING_RATE_LIMITS = {"read": (3, 600), "book": (1, 600)}
    visitor = Client(REMOTE_ADDR="203.0.113.7")
    assert [visitor.get("/book/ann-30").status_code for _ in range(3)] == [200] * 3
    limited = visitor.get("/book/ann-30")
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="203.0.113.8").get("/book/ann-30").status_code == 200


def test_settings_create_edit_and_deactivate_a_booking_page(browser):
    me = browser.actor.user
    assert "No booking pages yet" in browser.get("/settings/booking-pages/").content.decode()
    form = {
        "owner_id": me.pk,
        "slug": "ann-intro",
        "title": "Intro",
        "duration_minutes": 45,
        "buffer_minutes": 10,
        "days_ahead": 10,
        "minimum_notice_hours": 4,
        "max_per_day": 3,
        "kind": "call",
        "active": "on",
    }
    created = browser.post("/settings/booking-pages/new/", form)
    assert created.status_code == 302
    page = BookingPage.objects.get(slug="ann-intro")
    assert page.max_per_day == 3
    assert (page.duration_minutes, page.buffer_minutes, page.active) == (45, 10, True)
    listed = browser.get("/settings/booking-pages/").content.decode()
    assert "http://testserver/book/ann-intro" in listed and "data-copy" in listed
    bad = browser.post("/settings/booking-pages/new/", {**form, "duration_minutes": 1})
    assert (
        bad.status_code == 422 and "Duration minutes must be from 5 to 480" in bad.content.decode()
    )
    off = {k: v for k, v in form.items() if k != "active"}
    assert browser.post(f"/settings/booking-pages/{page.pk}/", off).status_code == 302
    page.refresh_from_db()
    assert page.active is False
    assert Client().get("/book/ann-intro").status_code == 404
    assert AuditEvent.objects.filter(object_type="bookingpage").count() == 2


def test_settings_create_and_revoke_a_calendar_feed(browser, org):
    me = browser.actor.user
    created = browser.post("/settings/calendar-feeds/", {"owner_id": me.pk, "name": "Phone"})
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    html = created.content.decode()
    assert "shown only this once" in html
    url = html.split('id="new-feed" type="text" value="', 1)[1].split('"', 1)[0]
    path = url.removeprefix("http://testserver")
    assert Client().get(path).status_code == 200
    assert url not in browser.get("/settings/calendar-feeds/").content.decode()
    feed = CalendarFeed.objects.get()
    confirm = browser.get(f"/settings/calendar-feeds/{feed.pk}/revoke/")
    assert "cannot be undone" in confirm.content.decode()
    assert browser.post(f"/settings/calendar-feeds/{feed.pk}/revoke/").status_code == 302
    assert Client().get(path).status_code == 404
