"""To-do tasks: the selectors (filters, order, scoping, query count)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesline.core.errors import NotFound, ValidationFailed
from salesline.playbooks.task_selectors import (
    open_tasks_on,
    parse_task_filters,
    task_get_for,
    task_list,
)
from salesline.playbooks.task_services import task_create, task_update


@pytest.fixture
def tasks(actor, admin_actor, opportunity, lead):
    today = timezone.localdate()
    return {
        "late": task_create(actor=actor, title="Late", due_date=today - dt.timedelta(days=2)),
        "today": task_create(
            actor=actor, title="Today", due_date=today, opportunity_id=opportunity.pk
        ),
        "undated": task_create(actor=actor, title="Undated", lead_id=lead.pk),
        "queue": task_create(
            actor=actor,
            title="Queue",
            queue="sales_coordinator",
            due_date=today - dt.timedelta(days=9),
        ),
        "boss": task_create(actor=admin_actor, title="Boss", due_date=today + dt.timedelta(days=1)),
    }


def titles(items):
    return [t.title for t in items]


def test_order_by_due_date_nulls_last_then_id(actor, tasks):
    items, count = task_list(actor=actor, filters={})
    assert titles(items) == ["Queue", "Late", "Today", "Boss", "Undated"]
    assert count == 5


def test_filters(actor, admin_actor, tasks, opportunity, lead):
    def listed(**filters):
        return titles(task_list(actor=actor, filters=filters)[0])

    assert listed(assignee_id=str(actor.user.pk)) == ["Late", "Today", "Undated"]
    assert listed(queue="sales_coordinator") == ["Queue"]
    assert listed(opportunity_id=opportunity.pk) == ["Today"]
    assert listed(lead_id=lead.pk) == ["Undated"]
    assert listed(overdue="true") == ["Queue", "Late"]
    assert listed(overdue="false") == ["Today", "Boss", "Undated"]
    task_update(actor=actor, task_id=tasks["late"].pk, data={"status": "done"})
    assert listed(overdue="true") == ["Queue"]
    assert listed(status="done") == ["Late"]
    assert listed(status="open", limit="2", offset="1") == ["Today", "Boss"]


def test_bad_filter_values_are_named():
    with pytest.raises(ValidationFailed) as error:
        parse_task_filters(
            {
                "status": "bogus",
                "queue": "bogus",
                "assignee_id": "x",
                "overdue": "maybe",
                "limit": "0",
            }
        )
    assert {p.loc for p in error.value.problems} == {
        ("query", "status"),
        ("query", "queue"),
        ("query", "assignee_id"),
        ("query", "overdue"),
        ("query", "limit"),
    }


def test_scoped_to_the_organisation(actor, other_actor, tasks):
    assert task_list(actor=other_actor, filters={}) == ([], 0)
    with pytest.raises(NotFound):
        task_get_for(actor=other_actor, task_id=tasks["late"].pk)
    with pytest.raises(NotFound):
        task_get_for(actor=actor, task_id="nope")
    assert task_get_for(actor=actor, task_id=tasks["late"].pk) == tasks["late"]


def test_list_costs_two_queries_whatever_the_page(actor, tasks, opportunity, lead):
    for n in range(10):
        task_create(actor=actor, title=f"More {n}", opportunity_id=opportunity.pk)
    with CaptureQueriesContext(connection) as queries:
        items, _ = task_list(actor=actor, filters={"limit": 50})
        for task in items:  # what a page reads of each row
            seen = [task.assignee, task.opportunity, task.lead, task.completed_by]
            assert [getattr(obj, "pk", None) for obj in seen]
    assert len(queries) == 2


def test_record_tasks_open_first(actor, opportunity):
    done = task_create(actor=actor, title="Done", opportunity_id=opportunity.pk)
    task_update(actor=actor, task_id=done.pk, data={"status": "done"})
    open_task = task_create(actor=actor, title="Open", opportunity_id=opportunity.pk)
    items, count = open_tasks_on(actor=actor, opportunity_id=opportunity.pk)
    assert items == [open_task, done] and count == 2


def test_timeline_events_of_a_records_tasks(actor, admin_actor, opportunity, lead):
    from salesline.core import audit
    from salesline.playbooks.task_selectors import task_timeline_events
    from salesline.playbooks.task_services import task_claim

    task = task_create(actor=actor, title="Call", queue="admin", opportunity_id=opportunity.pk)
    task_claim(actor=admin_actor, task_id=task.pk)
    task_update(actor=admin_actor, task_id=task.pk, data={"status": "cancelled"})
    task_update(actor=admin_actor, task_id=task.pk, data={"status": "open"})
    audit.record(actor=admin_actor, action="escalate", obj=task, changes={"queue": ["", "admin"]})
    task_create(actor=actor, title="On the lead", lead_id=lead.pk)
    texts = [
        t
        for _, t in task_timeline_events(actor=actor, kind="opportunity", record_id=opportunity.pk)
    ]
    assert texts == [
        "Task escalated: Call",
        "Task reopened: Call",
        "Task cancelled: Call",
        "Task taken: Call",
        "Task added: Call",
    ]
    assert task_timeline_events(actor=actor, kind="company", record_id=opportunity.pk) == []
    assert [t for _, t in task_timeline_events(actor=actor, kind="lead", record_id=lead.pk)] == [
        "Task added: On the lead"
    ]
