"""Two writes to one calendar at once: the owner's row lock makes the second see the first, so
two overlapping appointments (or the last business-development meeting of the day) can never
both be saved. PostgreSQL: SQLite runs one writer at a time anyway."""

import threading

import pytest
from django.db import connection

from salesline.core.errors import ValidationFailed
from salesline.scheduling import appointment_services as services
from salesline.scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


def _race(works):
    barrier = threading.Barrier(len(works))
    results: list = []

    def run(work):
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # the loser's error is the result
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_people_booking_one_slot_one_wins(actor, coordinator_actor, user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has a single writer")

    def book(who, title):
        return lambda: services.appointment_create(
            actor=who,
            data={
                "kind": "call",
                "owner_id": user.pk,
                "title": title,
                "starts_at": "2027-03-01T10:00:00Z",
                "ends_at": "2027-03-01T11:00:00Z",
            },
        )

    for attempt in range(3):
        Appointment.objects.all().delete()
        results = _race([book(actor, f"own {attempt}"), book(coordinator_actor, f"co {attempt}")])
        made = [r for r in results if isinstance(r, Appointment)]
        refused = [r for r in results if isinstance(r, ValidationFailed)]
        assert len(made) == 1 and len(refused) == 1, results
        assert refused[0].problems[0].type == "overlap"
        assert Appointment.objects.filter(owner=user, cancelled_at=None).count() == 1
