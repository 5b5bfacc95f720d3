"""core.jobs: the worker's jobs an organisation's admins see (marked with the organisation), their
errors, Retry of a job that gave up, failed event deliveries and the live workers."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.accounts import services as accounts
from salesline.accounts.models import Role, User
from salesline.core import events, jobs
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent, EventDelivery, JobRetry, WorkerHeartbeat
from salesline.core.tasks import (
    ORGANISATION_KWARG,
    enqueue_for,
    enqueue_on_commit,
    heartbeat_beat,
    run_pending_tasks,
)
from tests.core import job_tasks

SEND_REPORT = "tests.core.job_tasks.send_report"


def failed_job(org, label: str = "weekly") -> jobs.Job:
    """A job of `org` that gave up: both attempts refused."""
    enqueue_for(org, job_tasks.send_report, label, copies=2)
    assert run_pending_tasks() == 2
    return jobs.job_list(actor=system(org), filters=jobs.JobFilters(status="failed"))[0][0]


def system(org) -> Actor:
    return accounts.system_actor(org, "operator")


def test_the_admin_role_is_the_accounts_apps():
    assert jobs.ADMIN_ROLE == Role.ADMIN


def test_a_job_that_gave_up_is_listed_with_its_error_and_attempts(admin_actor, org):
    enqueue_for(org, job_tasks.send_report, "weekly", copies=2)
    assert run_pending_tasks() == 2

    listed, more = jobs.job_list(actor=admin_actor)

    assert more is False
    last, first = listed  # newest first
    assert (first.status, first.attempt, first.max_attempts) == ("retried", 1, 2)
    assert first.status_label == "Attempt failed, retried"
    # The attempt that was retried shows its cause, not the RetryScheduled wrapper.
    assert first.error.exception == "ConnectionRefusedError"
    assert first.error.last_line == "ConnectionRefusedError: 550 mailbox unavailable"
    assert first.retry_id == last.id and first.next_attempt_at is not None
    assert not first.can_retry

    assert (last.status, last.attempt, last.status_label) == ("failed", 2, "Failed")
    assert last.label == "Send report"  # not registered: its function's name in words
    assert last.arguments == "'weekly', copies=2"  # the markers are not arguments
    assert last.organisation_id == org.pk
    assert last.error.exception == "ConnectionRefusedError"
    assert last.error.last_line == "ConnectionRefusedError: 550 mailbox unavailable"
    assert last.error.traceback.startswith("Traceback (most recent call last):")
    assert last.enqueued_at <= last.started_at <= last.finished_at
    assert last.worker and last.can_retry
    # Each attempt knew the organisation; the function never saw the marker as an argument.
    assert [run.changes for run in job_tasks.runs("weekly")] == [
        {"organisation_id": org.pk, "copies": 2}
    ] * 2


def test_retrying_a_failed_job_runs_it_again_with_its_arguments(admin_actor, org):
    gave_up = failed_job(org)
    job_tasks.fix("weekly")

    retry = jobs.job_retry(actor=admin_actor, job_id=gave_up.id)

    assert (retry.status, retry.attempt, retry.arguments) == ("ready", 1, "'weekly', copies=2")
    assert retry.organisation_id == org.pk
    row = DBTaskResult.objects.get(pk=retry.id)
    assert row.args_kwargs == {
        "args": ["weekly"],
        "kwargs": {"copies": 2, ORGANISATION_KWARG: org.pk},
    }
    assert run_pending_tasks() == 1
    done = jobs.job_get_for(actor=admin_actor, job_id=retry.id)
    assert done.status == "succeeded"
    assert DBTaskResult.objects.get(pk=retry.id).return_value == "sent 2"
    assert len(job_tasks.runs("weekly")) == 3

    original = jobs.job_get_for(actor=admin_actor, job_id=gave_up.id)
    assert (original.status, original.status_label) == ("failed", "Failed, retried by hand")
    assert (original.retry_id, original.retried_by) == (retry.id, "boss@piql.test")
    assert not original.can_retry
    event = AuditEvent.objects.get(action="retry", object_type="job")
    assert (event.organisation_id, event.actor_label, event.object_id) == (
        org.pk,
        "boss@piql.test",
        gave_up.id,
    )
    assert event.changes == {"status": ["failed", "retried"], "retry_id": [None, retry.id]}
    assert event.object_repr == "Send report ('weekly', copies=2)"

    with pytest.raises(Conflict, match="retried already, by boss@piql.test"):
        jobs.job_retry(actor=admin_actor, job_id=gave_up.id)
    assert JobRetry.objects.count() == 1


def test_a_job_that_did_not_give_up_cannot_be_retried(admin_actor, org):
    job_tasks.fix("fine")
    enqueue_for(org, job_tasks.send_report, "fine")
    [waiting], _ = jobs.job_list(actor=admin_actor)
    with pytest.raises(Conflict, match="this one is waiting for a worker"):
        jobs.job_retry(actor=admin_actor, job_id=waiting.id)

    run_pending_tasks()
    with pytest.raises(
        Conflict, match="Only a job that failed can be retried: this one is succeeded."
    ):
        jobs.job_retry(actor=admin_actor, job_id=waiting.id)

    enqueue_for(org, job_tasks.send_report, "broken")
    run_pending_tasks()
    attempt = jobs.job_list(actor=admin_actor, filters=jobs.JobFilters(status="retried"))[0][0]
    with pytest.raises(Conflict, match="retried automatically"):
        jobs.job_retry(actor=admin_actor, job_id=attempt.id)
    assert not AuditEvent.objects.filter(action="retry").exists()


def test_another_organisations_job_is_not_found(admin_actor, org, other_org, other_actor):
    theirs = failed_job(other_org, "theirs")

    assert jobs.job_list(actor=admin_actor) == ([], False)
    for job_id in (theirs.id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            jobs.job_get_for(actor=admin_actor, job_id=job_id)
        with pytest.raises(NotFound):
            jobs.job_retry(actor=admin_actor, job_id=job_id)
    assert len(jobs.job_list(actor=other_actor)[0]) == 2
    assert not JobRetry.objects.exists()


def test_a_job_of_no_organisation_is_for_staff_only(admin_actor, org):
    job_tasks.send_report.enqueue("maintenance")
    enqueue_for(org, job_tasks.send_report, "ours")

    assert [job.arguments for job in jobs.job_list(actor=admin_actor)[0]] == ["'ours'"]
    with pytest.raises(PermissionDenied, match="Only staff"):
        jobs.job_list(actor=admin_actor, everything=True)

    User.objects.filter(pk=admin_actor.user.pk).update(is_staff=True)
    staff = accounts.actor_for(User.objects.get(pk=admin_actor.user.pk), org)
    listed = jobs.job_list(actor=staff, everything=True)[0]
    assert {job.arguments for job in listed} == {"'ours'", "'maintenance'"}
    assert {job.organisation_id for job in listed} == {org.pk, None}


def test_staff_retrying_another_organisations_job_is_audited_there(org, other_org, admin_user):
    theirs = failed_job(other_org, "theirs")
    User.objects.filter(pk=admin_user.pk).update(is_superuser=True)
    staff = accounts.actor_for(User.objects.get(pk=admin_user.pk), org)

    jobs.job_retry(actor=staff, job_id=theirs.id, everything=True)

    event = AuditEvent.objects.get(action="retry")
    assert (event.organisation_id, event.actor_label) == (other_org.pk, "boss@piql.test")


def test_only_admins_see_or_retry_jobs(actor, org):
    gave_up = failed_job(org)
    with pytest.raises(PermissionDenied, match="Only an admin of Piql Archive"):
        jobs.job_list(actor=actor)
    with pytest.raises(PermissionDenied):
        jobs.job_retry(actor=actor, job_id=gave_up.id)
    with pytest.raises(PermissionDenied):
        jobs.worker_list(actor=actor)
    with pytest.raises(PermissionDenied):
        jobs.delivery_list(actor=actor)


def test_filters_and_pages(admin_actor, org):
    failed_job(org, "a")
    job_tasks.fix("b")
    enqueue_for(org, job_tasks.send_report, "b")
    run_pending_tasks()
    enqueue_for(org, job_tasks.slow_to_retry, "c")

    def statuses(**filters):
        listed, _ = jobs.job_list(actor=admin_actor, filters=jobs.JobFilters(**filters))
        return sorted(job.status.value for job in listed)

    assert statuses() == ["failed", "ready", "retried", "succeeded"]
    assert statuses(status="failed") == ["failed"]
    assert statuses(status="succeeded") == ["succeeded"]
    assert statuses(kind="tests.core.job_tasks.slow_to_retry") == ["ready"]
    assert statuses(kind="tests.core.job_tasks.slow_to_retry", status="failed") == []

    first, more = jobs.job_list(actor=admin_actor, limit=3)
    second, more_after = jobs.job_list(actor=admin_actor, limit=3, offset=3)
    assert (len(first), more, len(second), more_after) == (3, True, 1, False)
    assert {job.id for job in first}.isdisjoint(job.id for job in second)

    with pytest.raises(ValidationFailed) as refused:
        jobs.job_list(actor=admin_actor, filters=jobs.JobFilters(status="broken"), limit=0)
    assert [problem.loc for problem in refused.value.problems] == [
        ("query", "status"),
        ("query", "limit"),
    ]


def test_a_retry_waiting_for_its_time_shows_when_it_runs(admin_actor, org):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        enqueue_for(org, job_tasks.slow_to_retry, "later")
        assert run_pending_tasks() == 1
        listed, _ = jobs.job_list(actor=admin_actor)

    by_status = {job.status: job for job in listed}  # enqueued in the same instant
    retry, attempt = by_status["scheduled"], by_status["retried"]
    assert (retry.status, retry.status_label, retry.attempt) == ("scheduled", "Retry scheduled", 2)
    assert retry.next_attempt_at == start + timedelta(hours=1)
    assert attempt.next_attempt_at == retry.next_attempt_at
    assert attempt.error.last_line == "ValueError: later is broken"
    assert [
        job.id
        for job in jobs.job_list(actor=admin_actor, filters=jobs.JobFilters(status="scheduled"))[0]
    ] == [retry.id]


def test_a_worker_lost_job_says_so_and_can_be_retried(admin_actor, org):
    result = enqueue_for(org, job_tasks.send_report, "lost")
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", worker_ids=["w1", "w2", "w3", "w4", "w5"], started_at=timezone.now()
    )
    from salesline.core.tasks import recover_stale_tasks

    recover_stale_tasks(0)
    job = jobs.job_get_for(actor=admin_actor, job_id=result.id)
    assert job.status == "failed"
    assert job.status_label == "Failed: its worker died with it too often"
    assert job.error.exception == "WorkerLost"
    assert job.can_retry


def test_an_import_and_an_event_dispatch_are_marked_with_their_organisation(
    admin_actor, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(job_tasks.send_report, "on-commit", organisation=org)
    with events.registered("test.jobs.ping", lambda event: None):
        events.emit(actor=admin_actor, kind="test.jobs.ping")
    listed, _ = jobs.job_list(actor=admin_actor)
    assert [job.label for job in listed] == ["Event handlers", "Send report"]

    with pytest.raises(TypeError, match="not a durable_task"):
        enqueue_for(org, job_tasks.not_durable, "x")


def failing(event):
    raise RuntimeError("the handler broke")


def test_failed_deliveries_are_scoped_and_retried(admin_actor, org, other_actor):
    with events.registered("test.jobs.ping", failing, name="tests.failing"):
        ours = events.emit(actor=admin_actor, kind="test.jobs.ping")
        events.emit(actor=other_actor, kind="test.jobs.ping")
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        run_pending_tasks(max_tasks=2)

        [delivery], more = jobs.delivery_list(actor=admin_actor)
        assert more is False
        assert (delivery.event_id, delivery.handler, delivery.event_kind) == (
            ours.pk,
            "tests.failing",
            "test.jobs.ping",
        )
        assert delivery.error == "RuntimeError: the handler broke"
        assert delivery.will_retry and delivery.attempts == 1

        [theirs], _ = jobs.delivery_list(actor=other_actor)
        with pytest.raises(NotFound):
            jobs.delivery_retry(actor=admin_actor, delivery_id=theirs.id)

        queued = DBTaskResult.objects.filter(status="READY").count()
        jobs.delivery_retry(actor=admin_actor, delivery_id=delivery.id)
        assert DBTaskResult.objects.filter(status="READY").count() == queued + 1
        event = AuditEvent.objects.get(action="retry", object_type="event_delivery")
        assert (event.organisation_id, event.object_id) == (org.pk, str(delivery.id))

    EventDelivery.objects.filter(pk=delivery.id).update(status="done")
    with pytest.raises(Conflict, match="only a failed delivery can be retried"):
        jobs.delivery_retry(actor=admin_actor, delivery_id=delivery.id)


def test_workers_are_listed_with_when_they_were_last_seen(admin_actor):
    heartbeat_beat("host-a-1-abc")
    WorkerHeartbeat.objects.create(
        worker_id="gone", hostname="b", pid=2, last_seen=timezone.now() - timedelta(minutes=5)
    )
    listed = {worker.worker_id: worker for worker in jobs.worker_list(actor=admin_actor)}
    assert listed["host-a-1-abc"].alive and listed["host-a-1-abc"].pid > 0
    assert not listed["gone"].alive


def test_error_of_reads_the_last_line_and_the_cause():
    assert jobs.error_of("", "") is None
    error = jobs.error_of(
        "salesline.core.events.HandlersFailed",
        "Traceback (most recent call last):\n  File x\nsalesline.core.events.HandlersFailed: "
        "event 5 (ping): a failed\n",
    )
    assert (error.exception, error.last_line) == (
        "HandlersFailed",
        "salesline.core.events.HandlersFailed: event 5 (ping): a failed",
    )
    assert jobs.job_label("salesline.records.tasks.import_run") == "Import"
    assert jobs.job_label("x.y.some_task") == "Some task"


def test_a_job_whose_task_is_gone_cannot_be_retried(admin_actor, org):
    gave_up = failed_job(org)
    DBTaskResult.objects.filter(pk=gave_up.id).update(task_path="tests.core.job_tasks.removed")
    with pytest.raises(Conflict, match="no longer exists"):
        jobs.job_retry(actor=admin_actor, job_id=gave_up.id)


def test_every_organisation_member_kind_is_refused_except_admins(org, user):
    plain = Actor(organisation=org, user=user, known_roles=frozenset({"salesperson"}))
    with pytest.raises(PermissionDenied):
        jobs.job_list(actor=plain)


def test_the_list_costs_two_queries_however_many_jobs(admin_actor, org, django_assert_num_queries):
    for label in ("a", "b", "c"):
        failed_job(org, label)
    # The jobs of the page, then the hand-made retries among them.
    with django_assert_num_queries(2):
        listed, _ = jobs.job_list(actor=admin_actor)
    assert len(listed) == 6
    with django_assert_num_queries(1):
        jobs.delivery_list(actor=admin_actor)
