"""To-do tasks: the services, against the database."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.errors import NotFound, PreconditionFailed, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.playbooks import task_services
from salesline.playbooks.models import PlaybookRun, Task
from salesline.playbooks.task_services import TaskAlreadyOpen, task_create, task_update
from salesline.records.services import record_delete


def locs(error) -> set:
    return {p.loc for p in error.value.problems}


def test_a_manual_task_is_the_actors_own_and_audited(actor):
    task = task_create(actor=actor, title="  Call Kari  ", instructions="Ask about **volume**")
    assert task.title == "Call Kari"
    assert task.assignee_id == actor.user.pk
    assert task.queue == ""
    assert task.status == "open"
    assert task.created_by_label == actor.user.email
    event = AuditEvent.objects.get(object_type="task", object_id=str(task.pk))
    assert event.action == "create"
    assert event.changes["title"] == [None, "Call Kari"]


def test_every_problem_is_reported_at_once(actor, other_actor, org):
    other_opportunity_owner = other_actor
    with pytest.raises(ValidationFailed) as error:
        task_create(
            actor=actor,
            title="x" * 201,
            due_date="31/12/2026",
            assignee_id=other_opportunity_owner.user.pk,
            queue="bogus",
            opportunity_id=999_999,
            instructions="bad\x00",
        )
    assert locs(error) == {
        ("title",),
        ("due_date",),
        ("assignee_id",),
        ("queue",),
        ("opportunity_id",),
        ("instructions",),
    }
    assert not Task.objects.exists()


def test_blank_title(actor):
    with pytest.raises(ValidationFailed) as error:
        task_create(actor=actor, title="   ")
    assert locs(error) == {("title",)}
    assert error.value.problems[0].msg == "Title is required."


def test_another_organisations_or_deleted_record_is_refused(actor, other_actor, lead, opportunity):
    with pytest.raises(ValidationFailed) as error:
        task_create(actor=other_actor, title="Snoop", lead_id=lead.pk)
    assert locs(error) == {("lead_id",)}
    record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)
    with pytest.raises(ValidationFailed) as error:
        task_create(actor=actor, title="Late", opportunity_id=opportunity.pk)
    assert locs(error) == {("opportunity_id",)}


def test_at_most_one_record(actor, lead, opportunity):
    with pytest.raises(ValidationFailed) as error:
        task_create(actor=actor, title="Both", lead_id=lead.pk, opportunity_id=opportunity.pk)
    assert locs(error) == {("lead_id",)}


def test_queue_task_has_no_assignee(actor, opportunity):
    task = task_create(
        actor=actor,
        title="Check the credit",
        queue="sales_coordinator",
        opportunity_id=opportunity.pk,
    )
    assert task.assignee_id is None
    assert task.queue == "sales_coordinator"
    assert task.opportunity_id == opportunity.pk


def test_system_actor_gives_the_task_to_the_records_owner(org, actor, opportunity):
    system = accounts.system_actor(org)
    task = task_create(actor=system, title="Follow up", opportunity_id=opportunity.pk)
    assert task.assignee_id == opportunity.owner_id == actor.user.pk
    assert task.created_by_label == system.label
    loose = task_create(actor=system, title="Nobody's")
    # Every open task sits in a queue: nobody's goes to the sales-support manager's.
    assert loose.assignee_id is None and loose.queue == "sales_support_manager"


def test_playbook_step_open_once_per_record(org, actor, opportunity):
    system = accounts.system_actor(org)
    run = PlaybookRun.objects.create(
        organisation=org, playbook="qualify", trigger="stage_entered", occurrence="e:1"
    )
    first = task_create(
        actor=system,
        title="Verify",
        playbook="qualify",
        step="verify",
        opportunity_id=opportunity.pk,
        run=run,
    )
    with transaction.atomic():  # the engine calls it inside its own transaction
        with pytest.raises(TaskAlreadyOpen) as error:
            task_create(
                actor=system,
                title="Verify",
                playbook="qualify",
                step="verify",
                opportunity_id=opportunity.pk,
            )
        assert error.value.task == first
        assert error.value.status == 409
        # The transaction is still usable after the savepoint rolled back.
        assert Task.objects.count() == 1
    # Once done, the step may open a new one; and reopening the old one is then refused.
    task_update(actor=actor, task_id=first.pk, data={"status": "done"})
    second = task_create(
        actor=system,
        title="Verify",
        playbook="qualify",
        step="verify",
        opportunity_id=opportunity.pk,
    )
    with pytest.raises(TaskAlreadyOpen) as error:
        task_update(actor=actor, task_id=first.pk, data={"status": "open"})
    assert error.value.task == second
    first.refresh_from_db()
    assert first.status == "done"


def test_same_step_on_a_lead_and_without_record(org, lead):
    system = accounts.system_actor(org)
    task_create(actor=system, title="Hail", playbook="hail", step="one", lead_id=lead.pk)
    with pytest.raises(TaskAlreadyOpen):
        task_create(actor=system, title="Hail", playbook="hail", step="one", lead_id=lead.pk)
    # Without a record there is nothing to repeat on.
    task_create(actor=system, title="Hail", playbook="hail", step="one")
    task_create(actor=system, title="Hail", playbook="hail", step="one")


def test_complete_reopen_cancel(actor):
    task = task_create(actor=actor, title="Send the quote", due_date=timezone.localdate())
    done = task_update(actor=actor, task_id=task.pk, data={"status": "done"}, expected_version=1)
    assert done.completed_at is not None and done.completed_by_id == actor.user.pk
    assert done.version == 2
    assert done.on_time is True
    again = task_update(actor=actor, task_id=task.pk, data={"status": "done"})
    assert again.version == 2  # completing a done task changes nothing
    reopened = task_update(actor=actor, task_id=task.pk, data={"status": "open"})
    assert reopened.completed_at is None and reopened.completed_by_id is None
    cancelled = task_update(actor=actor, task_id=task.pk, data={"status": "cancelled"})
    assert cancelled.completed_at is None
    events = AuditEvent.objects.filter(object_type="task", object_id=str(task.pk)).order_by("id")
    assert [e.action for e in events] == ["create", "update", "update", "update"]
    assert events[1].changes["status"] == ["open", "done"]
    assert events[1].changes["completed_by_id"] == [None, actor.user.pk]


def test_late_completion_is_not_on_time(actor):
    task = task_create(
        actor=actor, title="Late", due_date=timezone.localdate() - dt.timedelta(days=3)
    )
    assert task_update(actor=actor, task_id=task.pk, data={"status": "done"}).on_time is False


def test_update_validates_and_checks_version(actor, admin_actor):
    task = task_create(actor=actor, title="Edit me")
    with pytest.raises(ValidationFailed) as error:
        task_update(
            actor=actor,
            task_id=task.pk,
            data={"title": "", "status": "finished", "queue": "nope", "colour": "red"},
        )
    assert locs(error) == {("title",), ("status",), ("queue",), ("colour",)}
    with pytest.raises(PreconditionFailed):
        task_update(actor=actor, task_id=task.pk, data={"title": "New"}, expected_version=7)
    updated = task_update(
        actor=actor,
        task_id=task.pk,
        data={"title": "New", "due_date": "2027-01-04", "assignee_id": admin_actor.user.pk},
        expected_version=1,
    )
    assert (updated.title, updated.due_date, updated.assignee_id) == (
        "New",
        dt.date(2027, 1, 4),
        admin_actor.user.pk,
    )
    event = AuditEvent.objects.filter(object_type="task", action="update").get()
    assert event.changes["due_date"] == [None, "2027-01-04"]


def test_update_of_another_organisations_task_is_not_found(actor, other_actor):
    task = task_create(actor=actor, title="Mine")
    with pytest.raises(NotFound):
        task_update(actor=other_actor, task_id=task.pk, data={"status": "done"})


def test_claim_one_wins(org, actor, admin_actor):
    task = task_create(actor=actor, title="From the queue", queue="salesperson")
    claimed = task_services.task_claim(actor=admin_actor, task_id=task.pk)
    assert claimed.assignee_id == admin_actor.user.pk and claimed.version == 2
    with pytest.raises(task_services.Conflict) as error:
        task_services.task_claim(actor=actor, task_id=task.pk)
    assert "boss@piql.test has already taken" in str(error.value)
    assert task_services.task_claim(actor=admin_actor, task_id=task.pk).version == 2


def test_due_date_for_uses_country_then_phone_region(org):
    org.country, org.phone_region = "", "GB"
    assert task_services.due_date_for(
        organisation=org, start=dt.date(2026, 12, 24), working_days=1
    ) == dt.date(2026, 12, 29)
    org.country, org.phone_region = "NO", "GB"  # Norway: 28 December is a working day
    assert task_services.due_date_for(
        organisation=org, start=dt.date(2026, 12, 24), working_days=1
    ) == dt.date(2026, 12, 28)


def _race(count, work):
    """Run `work()` in `count` threads released together; each result or exception."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results: list = []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # the loser's error is the result
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_people_taking_one_task_one_wins(org, actor, admin_actor):
    task = task_create(actor=actor, title="Race", queue="salesperson")
    people = iter([actor, admin_actor])
    import threading

    lock = threading.Lock()

    def take():
        with lock:
            who = next(people)
        return task_services.task_claim(actor=who, task_id=task.pk)

    results = _race(2, take)
    won = [r for r in results if isinstance(r, Task)]
    lost = [r for r in results if isinstance(r, task_services.Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "has already taken this task" in str(lost[0])
    task.refresh_from_db()
    assert task.assignee_id == won[0].assignee_id
    assert AuditEvent.objects.filter(object_type="task", action="claim").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_creating_one_playbook_task_make_one(org, opportunity):
    system = accounts.system_actor(org)

    def create():
        return task_create(
            actor=system,
            title="Verify",
            playbook="qualify",
            step="verify",
            opportunity_id=opportunity.pk,
        )

    results = _race(2, create)
    made = [r for r in results if isinstance(r, Task)]
    refused = [r for r in results if isinstance(r, TaskAlreadyOpen)]
    assert len(made) == 1 and len(refused) == 1, results
    assert refused[0].task.pk == made[0].pk
    assert Task.objects.count() == 1
