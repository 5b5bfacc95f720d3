"""The booking API: pages (members), slots and booking (public), rate limits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import Client

from salesline.scheduling.models import Appointment, BookingPage

from .booking_fixtures import LONDON, at, make_page, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def post(client, path, body):
    return client.post(f"/api/v1{path}", data=json.dumps(body), content_type="application/json")


def test_create_and_list_booking_pages(api, admin_api, user, admin_user):
    created = api.post("/booking-pages", {"owner_id": user.pk, "slug": "ann-30"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == "ann-30" and body["owner_id"] == user.pk
    assert (body["duration_minutes"], body["buffer_minutes"], body["kind"]) == (30, 0, "call")
    assert body["url"] == "http://testserver/book/ann-30"
    assert api.get("/booking-pages").json()["count"] == 1

    refused = api.post("/booking-pages", {"owner_id": admin_user.pk, "slug": "boss"})
    assert refused.status_code == 403
    taken = admin_api.post(
        "/booking-pages",
        {"owner_id": user.pk, "slug": "ann-30", "duration_minutes": 0, "buffer_minutes": 15},
    )
    assert taken.status_code == 422
    assert {tuple(p["loc"]) for p in taken.json()["detail"]} == {
        ("body", "slug"),
        ("body", "duration_minutes"),
    }
    changed = api.patch(f"/booking-pages/{body['id']}", {"active": False})
    assert changed.status_code == 200 and changed.json()["active"] is False


def test_booking_pages_of_another_organisation_are_not_found(api, other_api, user):
    page = api.post("/booking-pages", {"owner_id": user.pk, "slug": "ann-30"}).json()
    assert other_api.get(f"/booking-pages/{page['id']}").status_code == 404
    assert other_api.get("/booking-pages").json()["count"] == 0


def test_slots_and_booking_are_public(org, user):
    page = make_page(org, user, slug="ann-30", minimum_notice_hours=0)
    day = next_weekday()
    anonymous = Client()
    slots = anonymous.get(f"/api/v1/booking/ann-30/slots?date={day}")
    assert slots.status_code == 200
    listed = slots.json()
    assert len(listed) == 16
    assert listed[0]["starts_at"] == at(day, 9).isoformat()
    assert listed[0]["ends_at"] == at(day, 9, 30).isoformat()
    assert dt.datetime.fromisoformat(listed[0]["starts_at"]).utcoffset() is not None

    booked = post(
        anonymous,
        "/booking/ann-30",
        {"starts_at": listed[2]["starts_at"], "name": "Kari", "email": "kari@acme.no"},
    )
    assert booked.status_code == 201, booked.json()
    body = booked.json()
    assert body["reference"].startswith("BK-")
    assert body["starts_at"] == listed[2]["starts_at"] and body["time_zone"] == "Europe/London"
    meeting = Appointment.objects.get()
    assert (meeting.owner_id, meeting.source) == (user.pk, "booking")

    again = post(
        anonymous,
        "/booking/ann-30",
        {"starts_at": listed[2]["starts_at"], "name": "Ola", "email": "ola@acme.no"},
    )
    assert again.status_code == 409
    after = anonymous.get(f"/api/v1/booking/ann-30/slots?date={day}").json()
    assert listed[2] not in after and len(after) == 15
    assert page.bookings.count() == 1


def test_booking_refusals_name_the_fields(org, user):
    make_page(org, user, slug="ann-30", minimum_notice_hours=0)
    day = next_weekday()
    anonymous = Client()
    bad = post(
        anonymous,
        "/booking/ann-30",
        {"starts_at": at(day, 9, 7).isoformat(), "name": "", "email": "nobody"},
    )
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {
        ("body", "starts_at"),
        ("body", "name"),
        ("body", "email"),
    }
    unknown = post(anonymous, "/booking/ann-30", {"starts_at": "x", "phone": "1"})
    assert unknown.status_code == 422
    assert anonymous.get("/api/v1/booking/ann-30/slots?date=soon").status_code == 422
    assert anonymous.get("/api/v1/booking/ann-30/slots").status_code == 422
    assert anonymous.get(f"/api/v1/booking/nope/slots?date={day}").status_code == 404
    BookingPage.objects.filter(slug="ann-30").update(active=False)
    assert anonymous.get(f"/api/v1/booking/ann-30/slots?date={day}").status_code == 404
    assert not Appointment.objects.exists()


def test_too_many_bookings_from_one_address_answer_429(org, user, settings):
    settings.SALESLINE_BOOKING_RATE_LIMITS = {"read": (100, 600), "book": (2, 600)}
    make_page(org, user, slug="ann-30", minimum_notice_hours=0)
    day = next_weekday()
    anonymous = Client(REMOTE_ADDR="203.0.113.9")
    body = {"starts_at": at(day, 9).isoformat(), "name": "A", "email": "a@a.test"}
    assert post(anonymous, "/booking/ann-30", body).status_code == 201
    assert post(anonymous, "/booking/ann-30", body).status_code == 409
    limited = post(anonymous, "/booking/ann-30", {**body, "starts_at": at(day, 11).isoformat()})
    assert limited.status_code == 429
    assert "Too many requests" in limited.json()["detail"]
    assert int(limited["Retry-After"]) > 0
    other_address = Client(REMOTE_ADDR="203.0.113.10")
    second = post(other_address, "/booking/ann-30", {**body, "starts_at": at(day, 11).isoformat()})
    assert second.status_code == 201
    assert at(day, 11).astimezone(LONDON).hour == 11
