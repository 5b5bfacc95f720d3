"""The worker's jobs as an organisation's admins see them: background jobs and failed event-handler
deliveries, the live workers, and Retry.

Background jobs are django-tasks-db rows (`DBTaskResult`), one per attempt (core.tasks), and
belong to no organisation. What an organisation's admins see is what concerns it:

- the jobs marked with its id: a durable task enqueued with `core.tasks.enqueue_for` (or
  `enqueue_on_commit(organisation=...)`) carries the `_organisation` kwarg, and its retries keep
  it. Event dispatches are marked with their event's organisation, imports with theirs. Jobs
  marked with no organisation (the search index's maintenance serves every organisation) are
  shown to staff only;
- the failed deliveries of its own events (`EventDelivery` -> `DomainEvent.organisation`).

Staff users (`is_staff` or `is_superuser`) may also ask for everything (`everything=True`): the
operator's view of the whole installation.

The marker is a kwarg rather than a table linking job ids to organisations because it costs no
query when a job is enqueued (every event with handlers enqueues one), it works with any Tasks
backend, and retries carry it without anyone remembering to. Its price is that the list filters on
a JSON key, which no index serves: prune finished jobs (`django-admin prune_db_task_results`) so
the table stays small (docs/worker.md).

What a job is called comes from a registry that the apps fill in their AppConfig.ready()
(`register_job_kind(task, "Import")`); an unregistered task is named after its function.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.tasks import Task
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django.utils.module_loading import import_string

from . import audit
from .actors import Actor
from .errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from .events import deliveries_retry
from .models import EventDelivery, JobRetry, WorkerHeartbeat
from .tasks import ATTEMPT_KWARG, ORGANISATION_KWARG, RETRY_SCHEDULED, STALE_AFTER, WORKER_LOST

#: The accounts app's Role.ADMIN (core knows no accounts model; a test checks they agree).
ADMIN_ROLE = "admin"
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000
ARGUMENTS_SHOWN = 200  # characters of a job's arguments shown in the list


class JobStatus(StrEnum):
    READY = "ready"  # waiting for a worker
    SCHEDULED = "scheduled"  # waiting for its time (a retry after back-off, say)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    RETRIED = "retried"  # this attempt failed; core.tasks enqueued the next one
    FAILED = "failed"  # gave up: the last attempt failed, or its worker died too often


STATUS_LABELS = {
    JobStatus.READY: "Waiting for a worker",
    JobStatus.SCHEDULED: "Scheduled",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Succeeded",
    JobStatus.RETRIED: "Attempt failed, retried",
    JobStatus.FAILED: "Failed",
}


# ---------------------------------------------------------------- what a job is called

_KINDS: dict[str, str] = {}
_DESCRIBERS: dict[str, Callable[[list, dict], str]] = {}


def _path(task: Task | str) -> str:
    return task if isinstance(task, str) else task.module_path


def register_job_kind(
    task: Task | str, label: str, *, describe: Callable[[list, dict], str] | None = None
) -> None:
    """Name the jobs of `task` (a Task or its dotted path) on the jobs page, e.g. "Import";
    `describe(args, kwargs)` says what a job works on in words ("message 9") where its raw
    arguments would mean nothing to a reader or hold something not to show (a token)."""
    _KINDS[_path(task)] = label
    if describe is not None:
        _DESCRIBERS[_path(task)] = describe


def job_label(task_path: str) -> str:
    """The registered label, else the function's name in words ("word_index_merge" ->
    "Word index merge")."""
    if task_path in _KINDS:
        return _KINDS[task_path]
    name = task_path.rsplit(".", 1)[-1].replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else task_path


def job_kinds() -> list[tuple[str, str]]:
    """(task path, label) of every registered kind, by label."""
    return sorted(_KINDS.items(), key=lambda item: (item[1].lower(), item[0]))


def _max_attempts(task_path: str) -> int | None:
    try:
        task = import_string(task_path)
    except ImportError:
        return None
    return getattr(getattr(task, "func", None), "max_attempts", None)


# ---------------------------------------------------------------- errors


_CHAIN = re.compile(
    r"\n\n(?:The above exception was the direct cause of the following exception:"
    r"|During handling of the above exception, another exception occurred:)\n\n"
)
_RETRY = re.compile(r"; retry (?P<id>[0-9a-fA-F-]{32,36}) after (?P<at>\S+)$")


@dataclass(frozen=True)
class JobError:
    #: The exception's class ("ValueError"; for an attempt that was retried: its cause's).
    exception: str
    #: The last line of its traceback ("ValueError: boom").
    last_line: str
    traceback: str


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def error_of(exception_class_path: str, traceback: str) -> JobError | None:
    """What went wrong, from a failed row's exception path and traceback."""
    if not exception_class_path:
        return None
    exception = exception_class_path.rsplit(".", 1)[-1]
    last_line = _last_line(traceback)
    if exception_class_path == RETRY_SCHEDULED:
        # The real error is the cause, the block before the RetryScheduled one.
        blocks = _CHAIN.split(traceback)
        if len(blocks) > 1:
            last_line = _last_line(blocks[-2])
            exception = last_line.split(":", 1)[0].rsplit(".", 1)[-1]
    return JobError(exception=exception, last_line=last_line, traceback=traceback)


def _retry_of(traceback: str) -> tuple[str | None, datetime | None]:
    """The automatic retry a RetryScheduled attempt enqueued: its id and time."""
    found = _RETRY.search(_last_line(traceback))
    if found is None:
        return None, None
    try:
        return str(uuid.UUID(found["id"])), datetime.fromisoformat(found["at"])
    except ValueError:
        return None, None


# ---------------------------------------------------------------- who may see what


def _is_staff(actor: Actor) -> bool:
    user = actor.user
    return user is not None and bool(user.is_staff or user.is_superuser)


def can_see_everything(actor: Actor) -> bool:
    return _is_staff(actor)


def require_jobs_access(actor: Actor, doing: str = "see the worker's jobs") -> None:
    """An admin of the organisation, or staff (the installation's operators)."""
    if not (actor.has_role(ADMIN_ROLE) or _is_staff(actor)):
        raise PermissionDenied(f"Only an admin of {actor.organisation.name} can {doing}.")


def _job_rows(actor: Actor, *, everything: bool = False) -> QuerySet:
    from django_tasks_db.models import DBTaskResult

    require_jobs_access(actor)
    rows = DBTaskResult.objects.all()
    if everything:
        if not _is_staff(actor):
            raise PermissionDenied("Only staff see the jobs of every organisation.")
        return rows
    return rows.filter(**{f"args_kwargs__kwargs__{ORGANISATION_KWARG}": actor.organisation.pk})


def _delivery_rows(actor: Actor, *, everything: bool = False) -> QuerySet[EventDelivery]:
    require_jobs_access(actor)
    rows = EventDelivery.objects.select_related("event")
    if everything:
        if not _is_staff(actor):
            raise PermissionDenied("Only staff see the jobs of every organisation.")
        return rows
    return rows.filter(event__organisation=actor.organisation)


# ---------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    id: str
    kind: str  # the task's dotted path
    label: str
    status: JobStatus
    status_label: str
    attempt: int
    max_attempts: int | None
    arguments: str
    organisation_id: int | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    #: When a scheduled job, or the automatic retry of a failed attempt, runs.
    next_attempt_at: datetime | None
    error: JobError | None
    #: The job that retried this one: automatically (RETRIED) or by hand (`retried_by`).
    retry_id: str | None
    retried_by: str
    retried_at: datetime | None
    worker: str

    @property
    def can_retry(self) -> bool:
        """A job that gave up and was not retried by hand yet."""
        return self.status == JobStatus.FAILED and not self.retried_by


def _arguments(args_kwargs: Any, task_path: str = "") -> str:
    try:
        args = list(args_kwargs.get("args", []))
        kwargs = {
            key: value
            for key, value in dict(args_kwargs.get("kwargs", {})).items()
            if key not in (ATTEMPT_KWARG, ORGANISATION_KWARG)
        }
    except (AttributeError, TypeError, ValueError):
        return ""
    describe = _DESCRIBERS.get(task_path)
    if describe is not None:
        try:
            return describe(args, kwargs)
        except Exception:  # a describer must never break the page
            return ""
    text = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return text if len(text) <= ARGUMENTS_SHOWN else text[: ARGUMENTS_SHOWN - 1] + "…"


def _status(row, now: datetime) -> JobStatus:
    from django_tasks_db.models import get_date_max

    if row.status == TaskResultStatus.READY:
        if row.run_after is not None and now < row.run_after < get_date_max():
            return JobStatus.SCHEDULED
        return JobStatus.READY
    if row.status == TaskResultStatus.RUNNING:
        return JobStatus.RUNNING
    if row.status == TaskResultStatus.SUCCESSFUL:
        return JobStatus.SUCCEEDED
    if row.exception_class_path == RETRY_SCHEDULED:
        return JobStatus.RETRIED
    return JobStatus.FAILED


def _status_filter(status: JobStatus, now: datetime) -> Q:
    from django_tasks_db.models import get_date_max

    failed = Q(status=TaskResultStatus.FAILED)
    waiting = Q(status=TaskResultStatus.READY)
    later = Q(run_after__gt=now) & ~Q(run_after=get_date_max())
    return {
        JobStatus.READY: waiting & ~later,
        JobStatus.SCHEDULED: waiting & later,
        JobStatus.RUNNING: Q(status=TaskResultStatus.RUNNING),
        JobStatus.SUCCEEDED: Q(status=TaskResultStatus.SUCCESSFUL),
        JobStatus.RETRIED: failed & Q(exception_class_path=RETRY_SCHEDULED),
        JobStatus.FAILED: failed & ~Q(exception_class_path=RETRY_SCHEDULED),
    }[status]


def _jobs(rows: Sequence[Any], now: datetime) -> list[Job]:
    retried = {
        str(r.job_id): r for r in JobRetry.objects.filter(job_id__in=[row.pk for row in rows])
    }
    max_attempts: dict[str, int | None] = {}
    jobs = []
    for row in rows:
        status = _status(row, now)
        kwargs = row.args_kwargs.get("kwargs", {}) if isinstance(row.args_kwargs, dict) else {}
        attempt = kwargs.get(ATTEMPT_KWARG, 1)
        if row.task_path not in max_attempts:
            max_attempts[row.task_path] = _max_attempts(row.task_path)
        label = STATUS_LABELS[status]
        next_attempt_at = None
        retry_id = None
        if status == JobStatus.SCHEDULED:
            next_attempt_at = row.run_after
            if isinstance(attempt, int) and attempt > 1:
                label = "Retry scheduled"
        error = error_of(row.exception_class_path, row.traceback) if row.traceback else None
        if status == JobStatus.RETRIED:
            retry_id, next_attempt_at = _retry_of(row.traceback)
        by_hand = retried.get(str(row.pk))
        if by_hand is not None:
            retry_id = str(by_hand.retry_id)
            label = "Failed, retried by hand"
        elif status == JobStatus.FAILED and row.exception_class_path == WORKER_LOST:
            label = "Failed: its worker died with it too often"
        jobs.append(
            Job(
                id=str(row.pk),
                kind=row.task_path,
                label=job_label(row.task_path),
                status=status,
                status_label=label,
                attempt=attempt if isinstance(attempt, int) else 1,
                max_attempts=max_attempts[row.task_path],
                arguments=_arguments(row.args_kwargs, row.task_path),
                organisation_id=kwargs.get(ORGANISATION_KWARG),
                enqueued_at=row.enqueued_at,
                started_at=row.started_at,
                finished_at=row.finished_at,
                next_attempt_at=next_attempt_at,
                error=error,
                retry_id=retry_id,
                retried_by=by_hand.actor_label if by_hand else "",
                retried_at=by_hand.at if by_hand else None,
                worker=row.worker_ids[-1] if row.worker_ids else "",
            )
        )
    return jobs


@dataclass(frozen=True)
class JobFilters:
    status: str = ""  # a JobStatus value; "" for every job
    kind: str = ""  # a task's dotted path; "" for every kind


def _checked(filters: JobFilters, limit: int, offset: int) -> JobStatus | None:
    problems = []
    status = None
    if filters.status:
        try:
            status = JobStatus(filters.status)
        except ValueError:
            problems.append(
                Problem(
                    loc=("query", "status"),
                    msg=f"Status '{str(filters.status)[:40]}' is not one of: "
                    f"{', '.join(JobStatus)}.",
                )
            )
    if len(filters.kind) > 300:
        problems.append(Problem(loc=("query", "kind"), msg="Kind must be a task's dotted path."))
    for name, number, lower, upper in (
        ("limit", limit, 1, MAX_LIMIT),
        ("offset", offset, 0, MAX_OFFSET),
    ):
        if not lower <= number <= upper:
            problems.append(
                Problem(
                    loc=("query", name),
                    msg=f"'{name}' must be a whole number between {lower} and {upper}.",
                )
            )
    if problems:
        raise ValidationFailed("The list query is not valid.", problems)
    return status


def job_list(
    *,
    actor: Actor,
    filters: JobFilters = JobFilters(),
    limit: int = 25,
    offset: int = 0,
    everything: bool = False,
) -> tuple[list[Job], bool]:
    """The jobs the actor may see (see the module docstring), newest first, and whether more
    follow. Admins of the organisation (and staff) only."""
    status = _checked(filters, limit, offset)
    now = timezone.now()
    rows = _job_rows(actor, everything=everything)
    if status is not None:
        rows = rows.filter(_status_filter(status, now))
    if filters.kind:
        rows = rows.filter(task_path=filters.kind)
    page = list(rows.order_by("-enqueued_at", "-id")[offset : offset + limit + 1])
    return _jobs(page[:limit], now), len(page) > limit


def _job_id(job_id: Any) -> str:
    try:
        return str(uuid.UUID(str(job_id)))
    except ValueError:
        raise NotFound("No such job.") from None


def job_get_for(*, actor: Actor, job_id: Any, everything: bool = False) -> Job:
    """One job the actor may see; NotFound for another organisation's (or no) job."""
    row = _job_rows(actor, everything=everything).filter(pk=_job_id(job_id)).first()
    if row is None:
        raise NotFound("No such job.")
    return _jobs([row], timezone.now())[0]


def _auditing(actor: Actor, organisation_id: int | None) -> Actor:
    """Whom a retry is audited as: in the trail of the organisation the job concerns (staff
    retrying another organisation's job show there under their own name)."""
    if organisation_id is None or organisation_id == actor.organisation.pk:
        return actor
    organisation_model = JobRetry._meta.get_field("organisation").related_model
    organisation = organisation_model._default_manager.filter(pk=organisation_id).first()
    if organisation is None:
        return actor
    return replace(actor, organisation=organisation)


def job_retry(*, actor: Actor, job_id: Any, everything: bool = False) -> Job:
    """Enqueue a job that gave up again, with its arguments, as its first attempt (same task,
    queue and priority; the organisation marker kept). Returns the new job.

    Only a job that failed for good can be retried, and only once by hand (Conflict otherwise:
    a job that is waiting, running or succeeded, an attempt already retried automatically, a
    job retried before, a task that no longer exists). Audited."""
    require_jobs_access(actor, "retry the worker's jobs")
    job_id = _job_id(job_id)
    with transaction.atomic():
        # Locked: two admins retrying at once retry it once.
        row = _job_rows(actor, everything=everything).select_for_update().filter(pk=job_id).first()
        if row is None:
            raise NotFound("No such job.")
        job = _jobs([row], timezone.now())[0]
        if job.status == JobStatus.RETRIED:
            raise Conflict(
                f"This attempt failed and was retried automatically (job {job.retry_id}): "
                "only a job that gave up can be retried."
            )
        if job.status != JobStatus.FAILED:
            raise Conflict(
                f"Only a job that failed can be retried: this one is {job.status_label.lower()}."
            )
        if job.retried_by:
            raise Conflict(
                f"This job was retried already, by {job.retried_by} "
                f"(job {job.retry_id}): retry that one if it failed too."
            )
        try:
            task = import_string(row.task_path)
        except ImportError:
            task = None
        if not isinstance(task, Task):
            raise Conflict(
                f"This job's task ({row.task_path}) no longer exists: it cannot run again."
            )
        args = list(row.args_kwargs.get("args", []))
        kwargs = {
            key: value
            for key, value in dict(row.args_kwargs.get("kwargs", {})).items()
            if key != ATTEMPT_KWARG
        }
        retry = task.using(priority=row.priority, queue_name=row.queue_name).enqueue(
            *args, **kwargs
        )
        try:
            with transaction.atomic():
                JobRetry.objects.create(
                    job_id=row.pk,
                    retry_id=retry.id,
                    organisation_id=job.organisation_id,
                    actor=actor.user,
                    actor_label=actor.label,
                )
        except IntegrityError:
            raise Conflict("This job was retried already.") from None
        audit.record(
            actor=_auditing(actor, job.organisation_id),
            action="retry",
            object_type="job",
            object_id=row.pk,
            object_repr=f"{job.label} ({job.arguments})"[:255],
            changes={
                "status": [job.status.value, "retried"],
                "retry_id": [None, str(retry.id)],
            },
        )
        retried = _job_rows(actor, everything=everything).get(pk=retry.id)
    return _jobs([retried], timezone.now())[0]


# ---------------------------------------------------------------- failed event deliveries


@dataclass(frozen=True)
class Delivery:
    """One handler's run of one event (core.events)."""

    id: int
    status: str  # "failed" or "done"
    event_id: int
    event_kind: str
    event_at: datetime
    object_type: str
    object_id: str
    handler: str
    attempts: int
    error: str
    #: The dispatch is still being retried automatically.
    will_retry: bool
    updated_at: datetime


_WILL_RETRY = " (will be retried)"


def _delivery(row: EventDelivery) -> Delivery:
    return Delivery(
        id=row.pk,
        status=row.status,
        event_id=row.event_id,
        event_kind=row.event.kind,
        event_at=row.event.at,
        object_type=row.event.object_type,
        object_id=row.event.object_id,
        handler=row.handler,
        attempts=row.attempts,
        error=row.last_error.removesuffix(_WILL_RETRY),
        will_retry=row.last_error.endswith(_WILL_RETRY),
        updated_at=row.updated_at,
    )


def delivery_list(
    *, actor: Actor, limit: int = 25, offset: int = 0, everything: bool = False
) -> tuple[list[Delivery], bool]:
    """Failed handler runs of the actor's organisation's events, newest first, and whether more
    follow."""
    _checked(JobFilters(), limit, offset)
    rows = (
        _delivery_rows(actor, everything=everything)
        .filter(status=EventDelivery.Status.FAILED)
        .order_by("-updated_at", "-id")
    )
    page = list(rows[offset : offset + limit + 1])
    return [_delivery(row) for row in page[:limit]], len(page) > limit


def _delivery_id(delivery_id: Any) -> int:
    try:
        number = int(delivery_id)
    except (TypeError, ValueError):
        raise NotFound("No such delivery.") from None
    if not 0 < number < 2**63:
        raise NotFound("No such delivery.")
    return number


def delivery_get_for(*, actor: Actor, delivery_id: Any, everything: bool = False) -> Delivery:
    """One handler run of the actor's organisation's events; NotFound for another's."""
    row = _delivery_rows(actor, everything=everything).filter(pk=_delivery_id(delivery_id)).first()
    if row is None:
        raise NotFound("No such delivery.")
    return _delivery(row)


def delivery_retry(*, actor: Actor, delivery_id: Any, everything: bool = False) -> Delivery:
    """Dispatch a failed delivery's event again (`core.events.deliveries_retry`: its handlers
    that are done are not run again). Conflict if the delivery is done. Audited."""
    require_jobs_access(actor, "retry the worker's jobs")
    delivery_id = _delivery_id(delivery_id)
    with transaction.atomic():
        row = (
            _delivery_rows(actor, everything=everything)
            .select_for_update(of=("self",))
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            raise NotFound("No such delivery.")
        if row.status != EventDelivery.Status.FAILED:
            raise Conflict("This handler has run: only a failed delivery can be retried.")
        deliveries_retry(event_ids=[row.event_id])
        audit.record(
            actor=actor,
            action="retry",
            object_type="event_delivery",
            object_id=row.pk,
            object_repr=f"{row.handler} of {row.event.kind} event {row.event_id}"[:255],
            changes={"error": [row.last_error[:500], None]},
        )
    return _delivery(row)


# ---------------------------------------------------------------- workers


@dataclass(frozen=True)
class Worker:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen: datetime
    alive: bool


def worker_list(*, actor: Actor, stale_after: float = STALE_AFTER) -> list[Worker]:
    """The workers that beat recently (`alive`) or not long ago, longest running first."""
    require_jobs_access(actor)
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    return [
        Worker(
            worker_id=row.worker_id,
            hostname=row.hostname,
            pid=row.pid,
            started_at=row.started_at,
            last_seen=row.last_seen,
            alive=row.last_seen >= cutoff,
        )
        for row in WorkerHeartbeat.objects.order_by("started_at", "id")
    ]


def kinds_in(jobs: Iterable[Job]) -> list[tuple[str, str]]:
    """The registered kinds plus those of `jobs` (for a filter's choices)."""
    known = dict(job_kinds())
    for job in jobs:
        known.setdefault(job.kind, job.label)
    return sorted(known.items(), key=lambda item: (item[1].lower(), item[0]))
