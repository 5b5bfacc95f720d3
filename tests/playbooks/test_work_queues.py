"""Work queues: the one-queue invariant, claim, reassign and escalate; customer-service work
items (workflow, checklist, promised date, tolerance); the queue summary."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.errors import Conflict, ValidationFailed
from salesline.core.events import DomainEvent
from salesline.core.models import AuditEvent
from salesline.playbooks import task_selectors, task_services, work_selectors
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create, task_update


def locs(error) -> set:
    return {p.loc for p in error.value.problems}


@pytest.fixture
def service_user(org):
    return accounts.user_create(
        email="cara@piql.test", actor=accounts.system_actor(org), role="customer_service"
    )


@pytest.fixture
def service_actor(service_user, org):
    return accounts.actor_for(service_user, org)


def test_the_database_refuses_an_open_task_in_no_queue(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(organisation=org, title="Lost")
    # Done or cancelled tasks sit in no queue: allowed.
    Task.objects.create(organisation=org, title="Old", status="done")


def test_claim_moves_the_task_from_the_role_queue_to_the_persons(actor, service_actor):
    task = task_create(actor=actor, title="Ring back", queue="customer_service")
    assert task.location == "customer_service"
    claimed = task_services.task_claim(actor=service_actor, task_id=task.pk)
    assert claimed.location == f"user:{service_actor.user.pk}"
    assert claimed.queue == "customer_service"  # the team it belongs to stays
    role = task_selectors.task_list(actor=actor, filters={"location": "customer_service"})
    mine = task_selectors.task_list(
        actor=actor, filters={"location": f"user:{service_actor.user.pk}"}
    )
    assert role[1] == 0 and [t.pk for t in mine[0]] == [task.pk]
    with pytest.raises(Conflict, match="has already taken"):
        task_services.task_claim(actor=actor, task_id=task.pk)


def test_reassign_to_a_person_or_a_role_queue_keeps_one_queue(actor, admin_actor, service_actor):
    task = task_create(actor=actor, title="Quote", queue="inside_sales")
    to_person = task_services.task_reassign(
        actor=admin_actor, task_id=task.pk, assignee_id=service_actor.user.pk, reason="Knows it"
    )
    assert to_person.location == f"user:{service_actor.user.pk}"
    to_role = task_services.task_reassign(actor=admin_actor, task_id=task.pk, queue="salesperson")
    assert (to_role.assignee_id, to_role.queue) == (None, "salesperson")
    event = AuditEvent.objects.filter(object_type="task", action="reassign").first()
    assert event.changes["reason"] == [None, "Knows it"]
    with pytest.raises(ValidationFailed) as error:
        task_services.task_reassign(actor=admin_actor, task_id=task.pk)
    assert ("assignee_id",) in locs(error)


def test_patch_queue_alone_moves_it_to_that_role_and_nobody_has_it(actor):
    task = task_create(actor=actor, title="Mine")
    moved = task_update(actor=actor, task_id=task.pk, data={"queue": "project_leader"})
    assert (moved.assignee_id, moved.location) == (None, "project_leader")


def test_taking_the_last_queue_away_is_refused_naming_the_assignee(actor):
    task = task_create(actor=actor, title="Mine")
    with pytest.raises(ValidationFailed) as error:
        task_update(actor=actor, task_id=task.pk, data={"assignee_id": None})
    assert ("assignee_id",) in locs(error)


def test_escalate_sends_it_to_another_roles_queue_with_the_reason(actor, opportunity):
    task = task_create(
        actor=actor, title="Complex job", queue="inside_sales", opportunity_id=opportunity.pk
    )
    task_services.task_claim(actor=actor, task_id=task.pk)
    escalated = task_services.task_escalate(
        actor=actor, task_id=task.pk, queue="project_leader", reason="Needs a special project"
    )
    assert (escalated.assignee_id, escalated.location) == (None, "project_leader")
    assert escalated.escalation_reason == "Needs a special project"
    assert escalated.escalated_at is not None
    timeline = task_selectors.task_timeline_events(
        actor=actor, kind="opportunity", record_id=opportunity.pk
    )
    assert timeline[0][1] == "Task escalated: Complex job — Needs a special project"
    assert DomainEvent.objects.filter(kind="task_escalated").count() == 1


@pytest.mark.parametrize(
    ("queue", "reason", "field"),
    [(None, "why", "queue"), ("warehouse", "why", "queue"), ("project_leader", " ", "reason")],
)
def test_escalate_names_a_missing_or_unknown_queue_or_reason(actor, queue, reason, field):
    task = task_create(actor=actor, title="Job", queue="inside_sales")
    with pytest.raises(ValidationFailed) as error:
        task_services.task_escalate(actor=actor, task_id=task.pk, queue=queue, reason=reason)
    assert locs(error) == {(field,)}


def test_a_closed_task_is_not_escalated(actor):
    task = task_create(actor=actor, title="Job")
    task_update(actor=actor, task_id=task.pk, data={"status": "done"})
    with pytest.raises(Conflict):
        task_services.task_escalate(actor=actor, task_id=task.pk, queue="admin", reason="x")


def test_a_work_item_starts_at_its_types_first_step_in_its_queue(actor):
    item = task_create(actor=actor, title="Order 1043", work_type="order")
    assert item.work_type == "order" and item.workflow_step == "received"
    assert item.location == "customer_service"
    assert [entry["done"] for entry in item.checklist] == [False, False, False]
    assert item.tolerance_days == 1
    assert item.promised_date == item.due_date and item.due_date > timezone.localdate()
    assert item.late_after == item.due_date + dt.timedelta(days=1)


def test_an_unknown_work_type_is_named(actor):
    with pytest.raises(ValidationFailed) as error:
        task_create(actor=actor, title="X", work_type="pizza", tolerance_days=-1)
    assert locs(error) == {("work_type",), ("tolerance_days",)}


def test_advance_tick_and_finish_a_work_item(actor):
    item = task_create(actor=actor, title="Order 7", work_type="order", assignee_id=actor.user.pk)
    item = task_services.task_advance(actor=actor, task_id=item.pk)
    assert item.workflow_step == "confirmed"
    with pytest.raises(ValidationFailed) as error:
        task_update(actor=actor, task_id=item.pk, data={"workflow_step": "teleported"})
    assert locs(error) == {("workflow_step",)}
    with pytest.raises(ValidationFailed) as error:
        task_update(actor=actor, task_id=item.pk, data={"status": "done"})
    assert locs(error) == {("checklist",)}
    for entry in item.checklist:
        item = task_services.task_tick(actor=actor, task_id=item.pk, item=entry["item"], done=True)
    assert all(entry["done"] for entry in item.checklist)
    with pytest.raises(ValidationFailed) as error:
        task_services.task_tick(actor=actor, task_id=item.pk, item="Not on it", done=True)
    assert ("checklist", 0) in locs(error)
    item = task_update(actor=actor, task_id=item.pk, data={"workflow_step": "invoiced"})
    with pytest.raises(Conflict, match="last step"):
        task_services.task_advance(actor=actor, task_id=item.pk)
    done = task_update(actor=actor, task_id=item.pk, data={"status": "done"})
    assert done.status == "done" and done.on_time is True


def test_overdue_allows_the_tolerance(actor):
    today = timezone.localdate()
    within = task_create(
        actor=actor,
        title="Within",
        work_type="order",
        promised_date=today - dt.timedelta(days=1),
        tolerance_days=1,
    )
    past = task_create(
        actor=actor,
        title="Past",
        work_type="order",
        promised_date=today - dt.timedelta(days=2),
        tolerance_days=1,
    )
    assert not task_selectors.is_overdue(within) and task_selectors.is_overdue(past)
    overdue, count = task_selectors.task_list(actor=actor, filters={"overdue": "true"})
    assert [t.pk for t in overdue] == [past.pk] and count == 1


def test_queue_summary_counts_size_age_and_overdue(actor, service_actor):
    now = timezone.now()
    today = timezone.localdate()
    old = task_create(actor=actor, title="Old", queue="customer_service")
    Task.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(hours=30))
    task_create(
        actor=actor,
        title="Late",
        queue="customer_service",
        due_date=today - dt.timedelta(days=3),
    )
    mine = task_create(actor=actor, title="Mine", due_date=today - dt.timedelta(days=1))
    task_create(actor=actor, title="Done", queue="customer_service")
    done = Task.objects.get(title="Done")
    task_update(actor=actor, task_id=done.pk, data={"status": "cancelled"})
    rows = {row["queue"]: row for row in work_selectors.queue_summary(actor=actor, now=now)}
    assert set(rows) >= {"customer_service", "inside_sales", f"user:{actor.user.pk}"}
    service = rows["customer_service"]
    assert (service["size"], service["overdue"]) == (2, 1)
    assert 29.9 <= service["oldest_age_hours"] <= 30.1
    assert rows["inside_sales"] == {
        "queue": "inside_sales",
        "size": 0,
        "oldest_age_hours": None,
        "overdue": 0,
    }
    assert rows[f"user:{actor.user.pk}"]["size"] == 1
    assert rows[f"user:{actor.user.pk}"]["overdue"] == 1
    assert mine.location == f"user:{actor.user.pk}"
    mine_only = work_selectors.my_queues(actor=service_actor, now=now)
    assert {row["queue"] for row in mine_only} == {
        "customer_service",
        f"user:{service_actor.user.pk}",
    }
