"""Task functions of the worker tests, importable by a worker subprocess (cwd = repo root)."""

import time

from salesline.core.models import AuditEvent
from salesline.core.tasks import current_attempt, durable_task

RAN = "test.task_ran"


def runs(label: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=RAN, object_type=label).order_by("pk"))


def _record(label: str, number: int | str, **changes) -> None:
    AuditEvent.objects.create(
        actor_label="worker",
        action=RAN,
        object_type=label,
        object_id=str(number),
        changes=changes,
    )


@durable_task(max_attempts=3, retry_delay=0.0)
def flaky(label: str, succeed_on: int) -> int:
    """Fails until attempt `succeed_on`; records every attempt with what `current_attempt` said."""
    attempt = current_attempt()
    _record(label, attempt.number, is_last=attempt.is_last)
    if attempt.number < succeed_on:
        raise RuntimeError(f"attempt {attempt.number} fails")
    return attempt.number


@durable_task(max_attempts=3, retry_delay=60.0)
def slow_retry(label: str) -> None:
    """Always fails; its first retry waits a minute, the second two."""
    _record(label, current_attempt().number)
    raise RuntimeError("always")


@durable_task(max_attempts=1)
def record_run(label: str, number: int, pause: float = 0.0) -> None:
    """Records that it ran (with which pid), optionally taking a little time as real work does."""
    import os

    if pause:
        time.sleep(pause)
    _record(label, number, pid=os.getpid())


@durable_task(max_attempts=1, priority=10)
def wait_for_workers(count: int, timeout: float = 30.0) -> None:
    """A barrier: returns once `count` workers beat, so racing workers start racing together."""
    from salesline.core.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while WorkerHeartbeat.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.02)


def enqueue_race(label: str, tasks: int, workers: int, pause: float) -> None:
    """The queue two racing workers share: a barrier per worker, then `tasks` recording tasks."""
    from django.db import transaction

    with transaction.atomic():
        for _ in range(workers):
            wait_for_workers.enqueue(workers)
        for number in range(tasks):
            record_run.enqueue(label, number, pause)


@durable_task(max_attempts=3, retry_delay=0.0)
def interrupted_once(label: str) -> None:
    """Stopped by a forced worker stop (SystemExit) the first time it runs."""
    first = not runs(label)
    _record(label, current_attempt().number)
    if first:
        raise SystemExit(1)
