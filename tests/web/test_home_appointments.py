"""The home page's "Tasks and appointments": the next seven days of the calendars one runs."""

import datetime as dt
import uuid

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def _appointment(org, owner, title, starts_at) -> Appointment:
    return Appointment.objects.create(
        organisation=org,
        owner=owner,
        kind=Appointment.Kind.CALL,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=30),
        uid=f"{uuid.uuid4()}@salesline",
    )


def _home(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_next_seven_days_of_ones_own_and_coordinated_calendars(org, user, admin_user):
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    _appointment(org, user, "Call with Ola", soon)
    _appointment(org, user, "Far away review", soon + dt.timedelta(days=9))
    cancelled = _appointment(org, user, "Called off", soon + dt.timedelta(hours=2))
    Appointment.objects.filter(pk=cancelled.pk).update(cancelled_at=soon)
    html = _home(user)
    assert "Call with Ola" in html
    assert "Far away review" not in html and "Called off" not in html

    coordinator = accounts.user_create(
        email="cora@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    assert "No appointments in the next 7 days" in _home(coordinator)
    accounts.coordination_set(
        actor=accounts.actor_for(admin_user, org),
        coordinator_id=coordinator.pk,
        salesperson_ids=[user.pk],
    )
    html = _home(coordinator)
    assert "Call with Ola" in html and user.email in html  # whose calendar it is on


def test_other_organisations_appointments_never_show(org, user, other_org, other_user):
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    _appointment(other_org, other_user, "Their secret meeting", soon)
    assert "Their secret meeting" not in _home(user)
