"""Retries, enqueue-on-commit and recovery of salesline.core.tasks, run in-process."""

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core.models import WorkerHeartbeat
from salesline.core.tasks import (
    RETRY_SCHEDULED,
    WORKER_LOST,
    current_attempt,
    enqueue_on_commit,
    recover_stale_tasks,
    run_pending_tasks,
)
from tests.core import jobs


def rows(path: str) -> list[DBTaskResult]:
    """The task's rows, first attempt first."""
    return sorted(
        DBTaskResult.objects.filter(task_path=path),
        key=lambda row: (row.args_kwargs["kwargs"].get("_attempt", 1), row.enqueued_at),
    )


FLAKY = "tests.core.jobs.flaky"
SLOW_RETRY = "tests.core.jobs.slow_retry"
RECORD_RUN = "tests.core.jobs.record_run"


# ---------------------------------------------------------------- retries


def test_a_task_failing_twice_succeeds_on_its_third_attempt(db):
    result = jobs.flaky.enqueue("twice", 3)

    assert run_pending_tasks() == 3

    attempts = rows(FLAKY)
    assert [row.status for row in attempts] == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert attempts[0].pk == result.db_result.pk
    assert [row.exception_class_path for row in attempts[:2]] == [RETRY_SCHEDULED] * 2
    assert "RuntimeError: attempt 1 fails" in attempts[0].traceback
    assert attempts[2].return_value == 3
    # The task saw which attempt it was and whether it was the last.
    assert [(event.object_id, event.changes["is_last"]) for event in jobs.runs("twice")] == [
        ("1", False),
        ("2", False),
        ("3", True),
    ]


def test_a_task_always_failing_ends_failed_after_max_attempts(db):
    jobs.flaky.enqueue("always", 99)

    assert run_pending_tasks() == 3
    assert run_pending_tasks() == 0

    attempts = rows(FLAKY)
    assert [row.status for row in attempts] == ["FAILED"] * 3
    # The last failure carries the task's own error: that is how it differs from a retried one.
    assert attempts[-1].exception_class_path == "builtins.RuntimeError"
    assert "attempt 3 fails" in attempts[-1].traceback
    assert len(jobs.runs("always")) == 3
    assert not DBTaskResult.objects.ready().exists()


def test_a_retry_waits_for_its_run_after_which_doubles_each_attempt(db):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        jobs.slow_retry.enqueue("later")
        assert run_pending_tasks() == 1

    retry = rows(SLOW_RETRY)[-1]
    assert retry.status == "READY"
    assert retry.args_kwargs["kwargs"] == {"_attempt": 2}
    assert retry.run_after == start + timedelta(seconds=60)

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert run_pending_tasks() == 0
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert run_pending_tasks() == 1
        after_second = timezone.now()

    third = rows(SLOW_RETRY)[-1]
    assert third.run_after == after_second + timedelta(seconds=120)
    with time_machine.travel(after_second + timedelta(seconds=121), tick=False):
        assert run_pending_tasks() == 1

    assert [row.status for row in rows(SLOW_RETRY)] == ["FAILED"] * 3
    assert [event.object_id for event in jobs.runs("later")] == ["1", "2", "3"]


def test_current_attempt_outside_a_task_is_the_first_and_last():
    attempt = current_attempt()
    assert (attempt.number, attempt.is_last) == (1, True)


def test_run_pending_tasks_stops_after_max_tasks(db):
    for number in range(3):
        jobs.record_run.enqueue("some", number)

    assert run_pending_tasks(max_tasks=2) == 2
    assert run_pending_tasks() == 1
    assert [event.object_id for event in jobs.runs("some")] == ["0", "1", "2"]
    # The in-process worker leaves no heartbeat behind.
    assert not WorkerHeartbeat.objects.exists()


# ---------------------------------------------------------------- enqueue_on_commit


def test_enqueue_on_commit_enqueues_after_commit_and_not_on_rollback(transactional_db):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        enqueue_on_commit(jobs.record_run, "rolled back", 1)
        raise Rollback
    assert not DBTaskResult.objects.exists()

    with transaction.atomic():
        enqueue_on_commit(jobs.record_run, "committed", 2)
        assert not DBTaskResult.objects.exists()
    [row] = rows(RECORD_RUN)
    assert row.args_kwargs == {"args": ["committed", 2], "kwargs": {}}

    assert run_pending_tasks() == 1
    assert [event.object_id for event in jobs.runs("committed")] == ["2"]


# ---------------------------------------------------------------- recovery


def running_row(label: str, worker_id: str, *, started: timedelta) -> DBTaskResult:
    """A task claimed by `worker_id` `started` ago, as a worker would have left it."""
    row = jobs.record_run.enqueue(label, 1).db_result
    row.claim(worker_id)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - started)
    return row


def beat(worker_id: str, ago: timedelta) -> None:
    WorkerHeartbeat.objects.create(
        worker_id=worker_id, hostname="elsewhere", pid=1, last_seen=timezone.now() - ago
    )


def test_a_task_of_a_worker_that_stopped_beating_runs_again_once(db):
    row = running_row("orphan", "dead-worker", started=timedelta(minutes=5))
    beat("dead-worker", ago=timedelta(seconds=90))

    assert recover_stale_tasks(stale_after=60) == 1
    row.refresh_from_db()
    assert row.status == "READY"

    assert run_pending_tasks() == 1
    assert run_pending_tasks() == 0
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert row.worker_ids[0] == "dead-worker" and len(row.worker_ids) == 2
    assert len(jobs.runs("orphan")) == 1


def test_a_task_of_a_worker_still_beating_is_left_alone(db):
    row = running_row("busy", "live-worker", started=timedelta(hours=2))
    beat("live-worker", ago=timedelta(seconds=3))

    assert recover_stale_tasks(stale_after=60) == 0
    row.refresh_from_db()
    assert row.status == "RUNNING"
    assert run_pending_tasks() == 0
    assert jobs.runs("busy") == []


def test_a_worker_without_heartbeat_counts_as_last_seen_when_it_started_the_task(db):
    recent = running_row("recent", "unknown-1", started=timedelta(seconds=10))
    old = running_row("old", "unknown-2", started=timedelta(minutes=10))

    assert recover_stale_tasks(stale_after=60) == 1
    recent.refresh_from_db()
    old.refresh_from_db()
    assert (recent.status, old.status) == ("RUNNING", "READY")


def test_a_task_that_keeps_killing_its_worker_is_given_up(db):
    row = jobs.record_run.enqueue("poison", 1).db_result
    for number in range(5):
        row.claim(f"dead-{number}")
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - timedelta(minutes=5))

    assert recover_stale_tasks(stale_after=60, max_claims=5) == 0
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert row.exception_class_path == WORKER_LOST
    assert "claimed 5 times" in row.traceback


def test_recovery_forgets_workers_gone_for_a_day(db):
    beat("long-gone", ago=timedelta(days=2))
    beat("recent", ago=timedelta(seconds=1))
    running_row("keep", "recent", started=timedelta(seconds=1))

    recover_stale_tasks()

    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]


def test_a_forced_stop_queues_the_task_again_without_using_an_attempt(db):
    from tests.core import jobs

    jobs.interrupted_once.enqueue("forced")
    with contextlib.suppress(SystemExit):  # the worker stops; the task was queued again first
        run_pending_tasks()
    run_pending_tasks()
    assert [event.object_id for event in jobs.runs("forced")] == ["1", "1"]
