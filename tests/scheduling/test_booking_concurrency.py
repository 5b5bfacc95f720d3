"""Double booking is impossible even when visitors book the same slot at the same moment:
each request's thread has its own database connection; one wins, the others get 409."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from salesline.scheduling.models import Appointment

from .booking_fixtures import at, make_page, next_weekday

THREADS = 6


def run_threads(work, count: int = THREADS) -> list:
    start = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait()
            results.append(work(index))
        except BaseException as exc:  # noqa: BLE001 — reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def book(slug: str, starts_at: str, index: int) -> int:
    response = Client(REMOTE_ADDR=f"198.51.100.{index + 1}").post(
        f"/api/v1/booking/{slug}",
        data=json.dumps({"starts_at": starts_at, "name": f"V{index}", "email": f"v{index}@x.test"}),
        content_type="application/json",
    )
    return response.status_code


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_have_one_winner(org, user):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL (SQLite: sequential tests)")
    make_page(org, user, slug="race", minimum_notice_hours=0, buffer_minutes=15)
    day = next_weekday()
    same = at(day, 10).isoformat()
    statuses = run_threads(lambda index: book("race", same, index))
    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert Appointment.objects.filter(owner=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_overlapping_slots_on_a_team_fill_each_calendar_once(
    org, user, admin_user
):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL (SQLite: sequential tests)")
    make_page(org, user, slug="team-race", minimum_notice_hours=0, team=[admin_user])
    day = next_weekday()
    same = at(day, 10).isoformat()
    statuses = run_threads(lambda index: book("team-race", same, index))
    assert sorted(statuses) == [201, 201] + [409] * (THREADS - 2)
    owners = sorted(Appointment.objects.values_list("owner_id", flat=True))
    assert owners == sorted([user.pk, admin_user.pk])


@pytest.mark.django_db
def test_sequential_bookings_of_one_slot_have_one_winner(org, user):
    make_page(org, user, slug="queue", minimum_notice_hours=0)
    day = next_weekday()
    same = at(day, 10).isoformat()
    statuses = [book("queue", same, index) for index in range(3)]
    assert statuses == [201, 409, 409]
    assert Appointment.objects.filter(owner=user).count() == 1
