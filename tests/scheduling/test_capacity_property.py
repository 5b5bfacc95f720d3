"""Whatever is asked, in whatever zone: what the services save never breaks the rules — no two
live appointments of a person overlap, none is outside working hours locally, and no local day
or ISO week holds more business-development meetings than the capacity."""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesline.core.errors import ValidationFailed
from salesline.scheduling import appointment_services as services
from salesline.scheduling.models import Appointment

from .conftest import pattern

pytestmark = pytest.mark.django_db

ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Pacific/Apia")
# Around the March and October changes in both hemispheres.
STARTS = (dt.datetime(2027, 3, 22, tzinfo=dt.UTC), dt.datetime(2027, 10, 25, tzinfo=dt.UTC))

requests = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=14 * 24 * 4 - 1),  # quarter-hours from the start
        st.sampled_from((30, 45, 60, 90)),  # minutes
        st.booleans(),  # business development?
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone=st.sampled_from(ZONES),
    start=st.sampled_from(STARTS),
    per_day=st.integers(min_value=1, max_value=3),
    per_week=st.integers(min_value=1, max_value=6),
    asked=requests,
)
def test_saved_appointments_always_keep_the_rules(
    org, user, actor, opportunity, zone, start, per_day, per_week, asked
):
    Appointment.objects.all().delete()
    pattern(
        org,
        user,
        time_zone=zone,
        business_development_per_day=per_day,
        business_development_per_week=per_week,
    )
    for quarter, minutes, business in asked:
        begins = start + dt.timedelta(minutes=15 * quarter)
        data = {
            "kind": "business_development" if business else "call",
            "starts_at": begins,
            "ends_at": begins + dt.timedelta(minutes=minutes),
        }
        if business:
            data |= {"opportunity_id": opportunity.pk, "objective": "Qualify"}
        try:
            services.appointment_create(actor=actor, data=data)
        except ValidationFailed as refused:
            assert {p.type for p in refused.problems} <= {
                "working_hours",
                "overlap",
                "capacity_per_day",
                "capacity_per_week",
            }
    local = ZoneInfo(zone)
    saved = list(Appointment.objects.filter(owner=user).order_by("starts_at"))
    for first, second in zip(saved, saved[1:], strict=False):
        assert first.ends_at <= second.starts_at
    for appointment in saved:
        begins, ends = (
            appointment.starts_at.astimezone(local),
            appointment.ends_at.astimezone(local),
        )
        assert begins.date() == ends.date() and begins.isoweekday() <= 5
        assert dt.time(9) <= begins.time() and ends.time() <= dt.time(17)
    meetings = [
        a.starts_at.astimezone(local).date() for a in saved if a.kind == "business_development"
    ]
    assert all(n <= per_day for n in Counter(meetings).values())
    assert all(n <= per_week for n in Counter(d.isocalendar()[:2] for d in meetings).values())
