"""A person's working hours and limits, and their planning base, from their calendar."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.scheduling import capacity

pytestmark = pytest.mark.django_db

HOURS = {
    "form": "hours",
    "time_zone": "America/New_York",
    "day_starts": "08:30",
    "day_ends": "16:00",
    "weekdays": ["1", "2", "3", "4"],
    "business_development_per_day": "3",
    "business_development_per_week": "12",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_salesperson_sets_their_hours_and_limits(org, user):
    client = _client(user)
    page = client.get("/calendar/working-pattern/")
    assert page.status_code == 200 and "Europe/London" in page.content.decode()
    saved = client.post("/calendar/working-pattern/", HOURS)
    assert saved.status_code == 302
    pattern = capacity.pattern_for(org, user.pk)
    assert (pattern.time_zone, f"{pattern.day_starts:%H:%M}", f"{pattern.day_ends:%H:%M}") == (
        "America/New_York",
        "08:30",
        "16:00",
    )
    assert sorted(pattern.working_weekdays) == [1, 2, 3, 4]
    assert (pattern.business_development_per_day, pattern.business_development_per_week) == (3, 12)
    assert AuditEvent.objects.filter(object_type="working_pattern", action="update").exists()


def test_a_day_that_ends_before_it_starts_is_refused_naming_the_field(org, user):
    refused = _client(user).post(
        "/calendar/working-pattern/", {**HOURS, "day_starts": "17:00", "day_ends": "09:00"}
    )
    assert refused.status_code == 422
    assert "The working day must end after it starts." in refused.content.decode()
    assert capacity.pattern_for(org, user.pk).time_zone == "Europe/London"  # nothing saved


def test_a_coordinator_sets_the_base_but_not_the_hours(org, user, admin_user):
    coordinator = accounts.user_create(
        email="cora@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    accounts.coordination_set(
        actor=accounts.actor_for(admin_user, org),
        coordinator_id=coordinator.pk,
        salesperson_ids=[user.pk],
    )
    client = _client(coordinator)
    page = client.get(f"/calendar/working-pattern/?person={user.pk}")
    assert page.status_code == 200
    assert "Only ann@piql.test or an admin can change these." in page.content.decode()
    assert client.post(f"/calendar/working-pattern/?person={user.pk}", HOURS).status_code == 403
    base = client.post(
        "/calendar/working-pattern/",
        {
            "form": "base",
            "person": str(user.pk),
            "base_address": "Leeds",
            "base_lat": "53.8",
            "base_lon": "-1.55",
            "travel_speed_kmh": "60",
            "travel_overhead_minutes": "5",
        },
    )
    assert base.status_code == 302
    pattern = capacity.pattern_for(org, user.pk)
    assert (pattern.base_latitude, pattern.travel_speed_kmh) == (53.8, 60)
    assert pattern.time_zone == "Europe/London"


def test_someone_elses_calendar_is_404(org, user, other_user):
    assert (
        _client(other_user).get(f"/calendar/working-pattern/?person={user.pk}").status_code == 404
    )
    assert _client(user).get("/calendar/working-pattern/?person=abc").status_code == 404
