"""Background tasks: retries, recovery of tasks a dead worker left RUNNING, and the worker itself.

Tasks are Django's own (`django.tasks`), stored by django-tasks-db; this module adds the two things
neither provides, once:

- **Retries** (`durable_task`). A failed attempt enqueues the same task again, `retry_delay *
  2**(attempt - 1)` seconds later, until `max_attempts`. The attempt number travels in the task's
  kwargs (`_attempt`), not in process memory, so it survives worker restarts and works with any
  Tasks backend (a new database row per attempt, or a Celery message). The attempt that scheduled
  a retry ends FAILED with `RetryScheduled` (its cause is the real error); the last attempt ends
  FAILED with the task's own exception, so `failed().exclude(exception_class_path=RETRY_SCHEDULED)`
  lists the tasks that gave up.
- **Recovery** (`recover_stale_tasks`). Workers record a heartbeat (`WorkerHeartbeat`) every few
  seconds from a background thread; a RUNNING task whose worker has not beaten for `stale_after`
  seconds goes back to READY (Salesline's task functions are idempotent: they resume from their
  last commit). A worker lost mid-task does not count as a failed attempt, but a task that has
  been claimed `max_claims` times without finishing (it kills its worker every time) ends FAILED
  with `WorkerLost`. A worker started in place of one known to have exited (`run_worker(replaces=
  ...)`, what `serve --with-worker` does on a restart) takes over that worker's tasks at once.

- **The organisation a job concerns** (`enqueue_for`, `enqueue_on_commit(organisation=...)`).
  Task rows belong to no organisation; a durable task enqueued for one carries its id in the
  `_organisation` kwarg, which retries keep and the function never sees
  (`current_attempt().organisation_id` tells it). The jobs page (core.jobs) shows an
  organisation's admins the jobs marked with it.

`run_worker` is `salesline worker`: django-tasks-db's worker loop with a heartbeat and periodic
recovery. `run_pending_tasks` runs the READY tasks in-process through the same `Worker.run_task`
(tests, inline execution).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from traceback import format_exception
from typing import Any

from django.db import close_old_connections, connections, transaction
from django.tasks import Task, TaskContext, TaskResult, task
from django.tasks.base import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Seconds between two heartbeats of a worker.
HEARTBEAT_INTERVAL = 5.0
#: A worker that has not beaten for this many seconds is dead: twelve missed beats, so a slow
#: database or a long garbage collection never takes a live worker's task away.
STALE_AFTER = 60.0
#: Seconds between two recoveries run by each worker.
RECOVER_EVERY = 30.0
#: A task claimed this many times without finishing is not put back again.
MAX_CLAIMS = 5
#: Heartbeats of workers gone for this long are deleted.
HEARTBEAT_RETENTION = timedelta(days=1)

ATTEMPT_KWARG = "_attempt"
ORGANISATION_KWARG = "_organisation"
RETRY_SCHEDULED = "salesline.core.tasks.RetryScheduled"
WORKER_LOST = "salesline.core.tasks.WorkerLost"


class RetryScheduled(Exception):
    """This attempt failed (see the cause) and the task was enqueued again."""


class WorkerLost(Exception):
    """The task's worker died with it RUNNING too many times."""


@dataclass(frozen=True)
class Attempt:
    number: int
    max_attempts: int
    #: The organisation the job was enqueued for (`enqueue_for`), if any.
    organisation_id: int | None = None

    @property
    def is_last(self) -> bool:
        return self.number >= self.max_attempts


_current_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "salesline_task_attempt", default=None
)


def current_attempt() -> Attempt:
    """The attempt of the durable task running now (outside one: the first and last of one)."""
    return _current_attempt.get() or Attempt(number=1, max_attempts=1)


def retry_delay_for(attempt: int, retry_delay: float) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): doubled each time."""
    return retry_delay * 2 ** (attempt - 1)


def durable_task(
    *,
    max_attempts: int = 3,
    retry_delay: float = 5.0,
    queue_name: str = DEFAULT_TASK_QUEUE_NAME,
    priority: int = 0,
) -> Callable[[Callable[..., Any]], Task]:
    """A Django Task retried with exponential back-off when it raises; see the module docstring.

    The function is called with the arguments it was enqueued with; `current_attempt()` tells it
    which attempt this is and whether it is the last, e.g. to mark its own object failed.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def decorate(func: Callable[..., Any]) -> Task:
        def run_attempt(context: TaskContext, *args: Any, **kwargs: Any) -> Any:
            number = int(kwargs.pop(ATTEMPT_KWARG, 1))
            organisation_id = kwargs.pop(ORGANISATION_KWARG, None)
            # Every new attempt is marked with the same organisation.
            marker = {} if organisation_id is None else {ORGANISATION_KWARG: organisation_id}
            token = _current_attempt.set(
                Attempt(number=number, max_attempts=max_attempts, organisation_id=organisation_id)
            )
            try:
                return func(*args, **kwargs)
            except SystemExit:
                # A forced stop of the worker interrupted this attempt; it did not fail. Queue it
                # again at once, same attempt number, then let the worker stop.
                context.task_result.task.enqueue(
                    *args, **kwargs, **marker, **{ATTEMPT_KWARG: number}
                )
                raise
            except Exception as error:
                if number >= max_attempts:
                    logger.warning(
                        "Task %s failed on its last attempt (%d of %d)",
                        context.task_result.id,
                        number,
                        max_attempts,
                    )
                    raise
                delay = retry_delay_for(number, retry_delay)
                run_after = timezone.now() + timedelta(seconds=delay)
                retry = context.task_result.task.using(run_after=run_after).enqueue(
                    *args, **kwargs, **marker, **{ATTEMPT_KWARG: number + 1}
                )
                raise RetryScheduled(
                    f"attempt {number} of {max_attempts} failed "
                    f"({type(error).__name__}: {error}); "
                    f"retry {retry.id} after {run_after.isoformat()}"
                ) from error
            finally:
                _current_attempt.reset(token)

        # The Task must be found under the function's own name (the worker imports it by path).
        run_attempt.__module__ = func.__module__
        run_attempt.__name__ = func.__name__
        run_attempt.__qualname__ = func.__qualname__
        run_attempt.__doc__ = func.__doc__
        run_attempt.durable_function = func  # type: ignore[attr-defined]
        run_attempt.max_attempts = max_attempts  # type: ignore[attr-defined]
        return task(run_attempt, priority=priority, queue_name=queue_name, takes_context=True)

    return decorate


def is_durable(task: Task) -> bool:
    return hasattr(task.func, "durable_function")


def organisation_marker(task: Task, organisation: Any) -> dict[str, int]:
    """The kwargs that mark a job of `task` as concerning `organisation` (a model or its id;
    None: no organisation, only staff see the job)."""
    if organisation is None:
        return {}
    if not is_durable(task):
        # A plain task would be called with the marker as an unexpected argument.
        raise TypeError(f"{task.module_path} is not a durable_task: it cannot be marked")
    return {ORGANISATION_KWARG: int(getattr(organisation, "pk", organisation))}


def enqueue_for(organisation: Any, task: Task, *args: Any, **kwargs: Any) -> TaskResult:
    """Enqueue `task` now (with the database backend: in the caller's transaction), marked as
    concerning `organisation`, so that organisation's admins see it on the jobs page."""
    return task.enqueue(*args, **kwargs, **organisation_marker(task, organisation))


def enqueue_on_commit(task: Task, *args: Any, organisation: Any = None, **kwargs: Any) -> None:
    """Enqueue `task` once the current transaction commits (at once outside one), marked as
    concerning `organisation` when given (see `enqueue_for`).

    A rolled-back transaction enqueues nothing, and a worker never sees a task before the rows it
    works on are committed.
    """
    kwargs.update(organisation_marker(task, organisation))
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs))


# Heartbeats -------------------------------------------------------------------------------


def new_worker_id() -> str:
    """Unique across machines and readable in the admin: host, pid and a random part (<= 64)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def heartbeat_beat(worker_id: str) -> None:
    from .models import WorkerHeartbeat

    now = timezone.now()
    if not WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=now):
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "last_seen": now,
            },
            create_defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": now,
                "last_seen": now,
            },
        )


def heartbeat_end(worker_id: str) -> None:
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class Heartbeat:
    """Beats for `worker_id` every `interval` seconds from a thread; recovers stale tasks too."""

    def __init__(
        self,
        worker_id: str,
        *,
        interval: float = HEARTBEAT_INTERVAL,
        stale_after: float = STALE_AFTER,
        recover_every: float | None = RECOVER_EVERY,
    ):
        self.worker_id = worker_id
        self.interval = interval
        self.stale_after = stale_after
        self.recover_every = recover_every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{worker_id}", daemon=True
        )

    def start(self) -> None:
        heartbeat_beat(self.worker_id)  # before the first claim, so no task runs unbeaten
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            heartbeat_end(self.worker_id)
        except Exception:
            logger.exception("Could not remove the heartbeat of worker %s", self.worker_id)

    def _run(self) -> None:
        since_recovery = 0.0
        try:
            while not self._stop.wait(self.interval):
                since_recovery += self.interval
                try:
                    close_old_connections()
                    heartbeat_beat(self.worker_id)
                    if self.recover_every is not None and since_recovery >= self.recover_every:
                        since_recovery = 0.0
                        recover_stale_tasks(self.stale_after)
                except Exception:
                    # A database hiccup must not end the beating: the next beat tries again.
                    logger.exception("Heartbeat of worker %s failed", self.worker_id)
        finally:
            connections.close_all()


# Periodic callbacks -------------------------------------------------------------------------

#: Seconds between two runs of the periodic callbacks by each worker.
PERIODIC_EVERY = 60.0

_PERIODIC: dict[str, Callable[[], Any]] = {}


def register_periodic(name: str, callback: Callable[[], Any]) -> None:
    """Have every worker call `callback()` every PERIODIC_EVERY seconds (an app registers it in
    its ready(): the playbooks app runs its schedules so, core knows no schedule). Several
    workers call it side by side: the callback must make that safe (claims, locks)."""
    existing = _PERIODIC.get(name)
    if existing is not None and existing is not callback:
        raise ValueError(f"the periodic callback '{name}' is registered already")
    _PERIODIC[name] = callback


def run_periodic() -> dict[str, bool]:
    """Call each periodic callback once; {name: whether it succeeded}. One failing never
    stops the others (the log says why)."""
    done: dict[str, bool] = {}
    for name, callback in list(_PERIODIC.items()):
        try:
            callback()
            done[name] = True
        except Exception:
            logger.exception("Periodic callback %s failed", name)
            done[name] = False
    return done


class Periodic:
    """Calls the periodic callbacks at start and every `every` seconds, from a thread."""

    def __init__(self, worker_id: str, *, every: float = PERIODIC_EVERY):
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"periodic-{worker_id}", daemon=True)

    def start(self) -> None:
        if _PERIODIC:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 30)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                run_periodic()
                if self._stop.wait(self.every):
                    break
        finally:
            connections.close_all()


# Recovery ---------------------------------------------------------------------------------


def recover_stale_tasks(
    stale_after: float = STALE_AFTER,
    *,
    max_claims: int = MAX_CLAIMS,
    dead_workers: Iterable[str] = (),
) -> int:
    """Put RUNNING tasks whose worker stopped beating `stale_after` seconds ago back to READY.

    A task's worker is the last of its `worker_ids`; a worker without a heartbeat row (it
    ended, or is not a `salesline worker`) counts as last seen when it started the task. Workers
    in `dead_workers` are known to have exited (their supervisor saw it), so their tasks go back
    at once and their heartbeats are removed. Returns how many tasks were put back (tasks given
    up as `WorkerLost` are not counted).
    """
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    from .models import WorkerHeartbeat

    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_after)
    dead = set(dead_workers)
    recovered = 0
    with exclusive_transaction(DBTaskResult.objects.db):
        # Locked, so two workers recovering at once never handle the same row; a worker never
        # holds a lock on a row it runs (the claim is committed), so this does not wait on them.
        running = list(
            DBTaskResult.objects.running()
            .select_for_update(skip_locked=True)
            .only("id", "status", "worker_ids", "started_at", "enqueued_at")
        )
        if dead:
            WorkerHeartbeat.objects.filter(worker_id__in=dead).delete()
        if not running:
            return 0
        workers = {row.worker_ids[-1] for row in running if row.worker_ids}
        last_seen: dict[str | None, Any] = dict(
            WorkerHeartbeat.objects.filter(worker_id__in=workers).values_list(
                "worker_id", "last_seen"
            )
        )
        for row in running:
            worker = row.worker_ids[-1] if row.worker_ids else None
            seen = last_seen.get(worker) or row.started_at or row.enqueued_at
            if seen >= cutoff and worker not in dead:
                continue
            still_running = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING)
            if len(row.worker_ids) >= max_claims:
                error = WorkerLost(
                    f"claimed {len(row.worker_ids)} times, its worker died each time "
                    f"(last: {worker})"
                )
                still_running.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=WORKER_LOST,
                    traceback="".join(format_exception(error)),
                )
                logger.error("Task %s given up: %s", row.pk, error)
                continue
            if still_running.update(status=TaskResultStatus.READY):
                recovered += 1
                logger.warning("Task %s of dead worker %s put back to READY", row.pk, worker)
    WorkerHeartbeat.objects.filter(last_seen__lt=now - HEARTBEAT_RETENTION).delete()
    return recovered


# Workers ----------------------------------------------------------------------------------


def _worker(
    *,
    queue_names: Iterable[str],
    worker_id: str,
    batch: bool,
    interval: float = 1.0,
    max_tasks: int | None = None,
    startup_delay: bool = False,
):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=list(queue_names),
        interval=interval,
        batch=batch,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=startup_delay,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_worker(
    *,
    queue_names: Iterable[str] = ("*",),
    once: bool = False,
    stale_after: float = STALE_AFTER,
    interval: float = 1.0,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    recover_every: float = RECOVER_EVERY,
    worker_id: str | None = None,
    replaces: Iterable[str] = (),
    periodic_every: float = PERIODIC_EVERY,
) -> int:
    """`salesline worker`: recover, then run django-tasks-db's loop with a heartbeat.

    SIGTERM and SIGINT let the running task finish, then exit (a second one stops at once).
    `once` runs until no task is READY, then returns. `replaces` names workers known to have
    exited (a supervisor restarting its worker): their RUNNING tasks are taken over at once
    rather than after `stale_after`. The periodic callbacks (the schedules) run at start and
    every `periodic_every` seconds; with `once`, once before the queue is drained. Returns the
    exit status: 0 after a clean stop, 1 after a forced one.
    """
    worker_id = worker_id or new_worker_id()
    recovered = recover_stale_tasks(stale_after, dead_workers=replaces)
    if recovered:
        logger.warning("Put %d tasks of dead workers back to READY", recovered)
    worker = _worker(
        queue_names=queue_names,
        worker_id=worker_id,
        batch=once,
        interval=interval,
        startup_delay=not once,
    )
    heartbeat = Heartbeat(
        worker_id, interval=heartbeat_interval, stale_after=stale_after, recover_every=recover_every
    )
    periodic = Periodic(worker_id, every=periodic_every)
    status = 0
    started = False
    try:
        # Signals first: a SIGTERM from here on stops the worker the same clean way.
        worker.configure_signals()
        heartbeat.start()
        started = True
        if once:
            run_periodic()  # what is due now, then its tasks with the rest of the queue
        else:
            periodic.start()
        worker.run()
    except SystemExit as stop:  # the loop's signal handler exits this way
        status = stop.code if isinstance(stop.code, int) else 1
    finally:
        worker.reset_signals()
        periodic.stop()
        if started:
            heartbeat.stop()
        else:
            heartbeat_end(worker_id)
    return status


def run_pending_tasks(max_tasks: int | None = None, *, queue_names: Iterable[str] = ("*",)) -> int:
    """Run READY tasks in this process until none is left (or `max_tasks` ran); how many ran.

    Claims exactly as django-tasks-db's worker loop does and runs each task through its
    `Worker.run_task`, but without the loop's connection recycling, so it also works inside a
    transaction (a test's). Retries enqueued for later (`run_after`) are not waited for.
    """
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    worker_id = new_worker_id()
    worker = _worker(queue_names=queue_names, worker_id=worker_id, batch=True, max_tasks=max_tasks)
    queue_names = list(queue_names)
    ran = 0
    heartbeat_beat(worker_id)
    try:
        while max_tasks is None or ran < max_tasks:
            tasks = DBTaskResult.objects.ready().filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS)
            if "*" not in queue_names:
                tasks = tasks.filter(queue_name__in=queue_names)
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(worker_id)
            if task_result is None:
                break
            worker.run_task(task_result)
            ran += 1
            heartbeat_beat(worker_id)
    finally:
        heartbeat_end(worker_id)
    return ran
