"""The planner's demo data: requests across real towns, a base, one accepted week."""

from salesline.demo_planner import plans_at_work
from salesline.pipeline.services import opportunity_create
from salesline.records.models import Company
from salesline.records.services import record_create
from salesline.scheduling.models import Appointment, MeetingRequest, Place, Plan, WorkingPattern
from tests.conftest import COMPANY


def test_plans_at_work(org, actor, user):
    for n in range(6):
        company = record_create(actor=actor, kind="company", data={**COMPANY, "name": f"C {n}"})
        opportunity_create(actor=actor, data={"name": f"Deal {n}", "company_id": company.pk})
    plans_at_work([org])
    assert Place.objects.filter(organisation=org).count() == 10
    assert WorkingPattern.objects.get(user=user).base_latitude is not None
    assert MeetingRequest.objects.filter(owner=user).count() == 6
    assert not Company.objects.filter(latitude=None).exists()
    plan = Plan.objects.get(owner=user)
    assert plan.status == "accepted"
    planned = Appointment.objects.filter(owner=user, source="plan").count()
    assert planned == plan.meetings.count() > 0
    assert MeetingRequest.objects.filter(status="planned").count() == planned
