"""The demo's calendars: a coordinator for the salespeople, located companies, the geocoding
table, and a week of meetings that obey the rules."""

import pytest

from salesline.accounts.models import Coordination
from salesline.demo_calendars import calendars_at_work
from salesline.records.models import Company
from salesline.scheduling.models import Appointment, Place

pytestmark = pytest.mark.django_db


def test_calendars_at_work(org, actor, user, company):
    from salesline.pipeline.services import opportunity_create

    for n in range(12):
        opportunity_create(actor=actor, data={"name": f"Deal {n}", "company_id": company.pk})
    calendars_at_work([org])
    assert Place.objects.filter(organisation=org, name="Chicago").exists()
    located = Company.objects.get(pk=company.pk)
    assert located.city and located.country and located.address
    coordination = Coordination.objects.get(organisation=org, salesperson=user)
    assert coordination.coordinator.email.endswith(f"@{org.slug}.example")
    appointments = Appointment.objects.filter(organisation=org, owner=user)
    kinds = set(appointments.values_list("kind", flat=True))
    assert "business_development" in kinds and len(kinds) >= 3
    for meeting in appointments.filter(kind="business_development"):
        assert meeting.opportunity_id and meeting.objective
        assert meeting.created_by_id == coordination.coordinator_id
