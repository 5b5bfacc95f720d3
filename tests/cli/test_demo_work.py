"""The demo's work queues: work in several role queues, some taken, some overdue, one
escalated, history done on time and late, and a defect log."""

import pytest
from django.utils import timezone

from salesline.accounts.models import Membership
from salesline.demo_work import work_at_work
from salesline.playbooks import work_selectors
from salesline.playbooks.models import Defect, Task
from salesline.process import services as process_services


@pytest.fixture
def partners(db):
    return process_services.organisation_create(name="Partners", template="partnerships")


def test_work_at_work_fills_the_queues(org, actor, opportunity, partners):
    work_at_work([org, partners])
    for organisation in (org, partners):
        tasks = Task.objects.filter(organisation=organisation)
        open_tasks = tasks.filter(status="open")
        assert open_tasks.filter(assignee__isnull=True).values("queue").distinct().count() >= 3
        assert open_tasks.filter(assignee__isnull=False).exclude(work_type="").exists()
        assert tasks.filter(status="done").exclude(work_type="").count() >= 12
        (escalated,) = open_tasks.exclude(escalated_at=None)
        assert (escalated.queue, escalated.assignee_id) == ("special_projects_coordinator", None)
        assert Membership.objects.filter(
            organisation=organisation, role="special_projects_coordinator"
        ).exists()
        assert Defect.objects.filter(organisation=organisation).count() == 3
        assert Defect.objects.filter(organisation=organisation, fixed_on=None).count() == 1
        special = open_tasks.filter(queue="special_projects_coordinator")
        assert special.filter(assignee__isnull=False).count() == 1  # on one, one waiting
    review = work_selectors.wip_review(actor=actor, date=timezone.localdate())
    assert review.on_time_pct is not None and 0 < review.on_time_pct < 100
    assert review.problems  # something overdue or escalated to talk about
