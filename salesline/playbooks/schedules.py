"""Schedules: work that falls due on a date (an invoice period, a renewal notice, a check-in),
run by every worker and by `salesline schedules run`.

A schedule is a runner registered by name: `runner(today) -> how many occurrences it ran`. It
finds what is due on or before `today` and runs each occurrence with `occurrence_run`, which
claims it (`schedule_claim`: a ScheduleOccurrence row, unique per organisation, schedule,
object and due date) in the same transaction as the work. The claim and the work commit
together or not at all, so an occurrence runs once however many workers run the schedules at
the same time, and a failed one (its transaction rolled back, the reason in the audit trail)
runs again on the next run. One occurrence's failure never stops the others.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.core import audit
from salesline.core.models import AuditEvent

from .models import ScheduleOccurrence

logger = logging.getLogger(__name__)

Runner = Callable[[date], int]

# What `occurrence_run` did with an occurrence.
RAN, TAKEN, FAILED = "ran", "taken", "failed"

_SCHEDULES: dict[str, Runner] = {}


def register_schedule(name: str, runner: Runner) -> None:
    """Add a schedule (from an app's ready()); registering the same runner again is harmless."""
    existing = _SCHEDULES.get(name)
    if existing is not None and existing is not runner:
        raise ValueError(f"the schedule '{name}' is registered already")
    _SCHEDULES[name] = runner


def registered_schedules() -> dict[str, Runner]:
    return dict(_SCHEDULES)


def schedule_claim(
    *,
    organisation: Any,
    schedule: str,
    object_type: str,
    object_id: Any,
    due_on: date,
    outcome: str = "",
) -> bool:
    """Claim one occurrence in the caller's transaction: True if this caller runs it, False if
    it ran (or is running, committed or not yet) elsewhere. The unique row is the claim, so the
    work done in the same transaction commits with it; a rollback frees the occurrence again.

    On PostgreSQL a second claimer waits for the first one's transaction and then gets False
    (or True, had it rolled back); on SQLite writers take turns.
    """
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on
            ScheduleOccurrence.objects.create(
                organisation=organisation,
                schedule=schedule,
                object_type=object_type,
                object_id=str(object_id),
                due_on=due_on,
                outcome=outcome,
            )
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class Failure:
    schedule: str
    object_type: str
    object_id: str
    due_on: date
    reason: str


@dataclass
class RunReport:
    """What a run of the schedules did: occurrences run per schedule, and what failed."""

    ran: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # one line per occurrence run


# The report of the run in progress (per thread: workers may run schedules side by side).
_report: contextvars.ContextVar[RunReport | None] = contextvars.ContextVar(
    "salesline_schedules_report", default=None
)


def occurrence_run(
    *,
    organisation: Any,
    schedule: str,
    object_type: str,
    object_id: Any,
    due_on: date,
    work: Callable[[], str],
) -> str:
    """Claim the occurrence and do its `work` in one transaction: RAN here, TAKEN (it ran
    elsewhere, or before) or FAILED.

    `work()` returns a line saying what it did (kept as the occurrence's outcome). When it
    raises, nothing of it is kept, the claim included, so the next run tries again; the reason
    is logged and written to the audit trail.
    """
    try:
        with transaction.atomic():
            if not schedule_claim(
                organisation=organisation,
                schedule=schedule,
                object_type=object_type,
                object_id=object_id,
                due_on=due_on,
            ):
                return TAKEN
            outcome = work()
            ScheduleOccurrence.objects.filter(
                organisation=organisation,
                schedule=schedule,
                object_type=object_type,
                object_id=str(object_id),
                due_on=due_on,
            ).update(outcome=outcome[:2000], ran_at=timezone.now())
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        logger.exception(
            "Schedule %s failed for %s %s due %s", schedule, object_type, object_id, due_on
        )
        failure_record(
            organisation=organisation,
            schedule=schedule,
            object_type=object_type,
            object_id=object_id,
            due_on=due_on,
            reason=reason,
        )
        return FAILED
    if (report := _report.get()) is not None:
        report.done.append(outcome)
    return RAN


#: A failure that persists (a bug, a bad definition) is written to the audit trail once in this
#: long, not every minute by every worker: a record's timeline would show nothing else.
FAILURE_RECORDED_EVERY = timedelta(days=1)


def failure_record(
    *,
    organisation: Any,
    schedule: str,
    object_type: str,
    object_id: Any,
    due_on: date,
    reason: str,
    about: Mapping[str, Any] | None = None,
) -> None:
    """Report a failed occurrence (or a failed search for occurrences): in the run's report
    (`salesline schedules run` prints it and exits 1) and as a `schedule_failed` audit event on
    the object, so it shows on the record's timeline. `about` adds to the event's changes (the
    playbook's key). Never raises: a failure to record is logged."""
    from salesline.accounts.services import system_actor

    reason = reason[:2000]  # a traceback's worth at most: the log keeps the whole of it
    if (report := _report.get()) is not None:
        report.failures.append(Failure(schedule, object_type, str(object_id), due_on, reason))
    changes = {"schedule": schedule, "due_on": due_on.isoformat(), "error": reason, **(about or {})}
    try:
        with transaction.atomic():
            if AuditEvent.objects.filter(
                organisation=organisation,
                object_type=object_type,
                object_id=str(object_id)[:40],
                at__gte=timezone.now() - FAILURE_RECORDED_EVERY,
                action="schedule_failed",
                **{f"changes__{key}": value for key, value in changes.items()},
            ).exists():
                return
            audit.record(
                actor=system_actor(organisation, "schedules"),
                action="schedule_failed",
                object_type=object_type,
                object_id=str(object_id)[:40],
                object_repr=f"{schedule} due {due_on.isoformat()}",
                changes=changes,
            )
    except Exception:  # the database itself failed: the log says why
        logger.exception("Could not record the failure of schedule %s", schedule)


def schedules_run_report(*, today: date | None = None) -> RunReport:
    """Run every registered schedule for what is due on or before `today` (default: the
    organisation-independent local date); what ran and what failed."""
    today = today or timezone.localdate()
    report = RunReport()
    token = _report.set(report)
    try:
        for name, runner in _SCHEDULES.items():
            try:
                report.ran[name] = runner(today)
            except Exception as error:  # a runner's own bug: the other schedules still run
                logger.exception("Schedule %s failed", name)
                report.ran[name] = 0
                report.failures.append(
                    Failure(name, "", "", today, f"{type(error).__name__}: {error}")
                )
    finally:
        _report.reset(token)
    return report


def schedules_run(*, today: date | None = None) -> dict[str, int]:
    """Run every registered schedule that is due on or before `today`: {schedule: how many
    occurrences ran}. Safe to call from any number of workers at once."""
    return schedules_run_report(today=today).ran
