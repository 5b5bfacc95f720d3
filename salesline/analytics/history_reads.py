"""Reading a large flow history in the worker, not inside a request.

An organisation's flow history is read whole once and then kept (analytics.extract). With
millions of stage changes that first read takes tens of seconds: on a new machine, after a
history import or a purge. A page or API call that would have to do it instead asks the worker
(one read per organisation however many ask, through the `HistoryRead` row) and answers
`Preparing` with how far the read has got; the web pages show that and look again, the API
answers 202 with Retry-After. The worker writes the columns to the shared files of
`ANALYTICS_CACHE_DIR`, where every app process then maps them.

Requests opt in with `cold_reads_in_background()` (the web's middleware wraps every request in
it); the CLI, the worker's own jobs and the tests read inline, as before.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core.errors import Preparing
from salesline.core.tasks import durable_task, enqueue_on_commit

from .models import HistoryRead

# Stage changes a request may read itself (about a second); more are read by the worker.
DEFAULT_INLINE_ROWS = 500_000
# Seconds a client is asked to wait before looking again.
RETRY_AFTER = 5
# A read whose progress has not moved for this long is taken to have lost its worker.
STALLED_AFTER = timedelta(minutes=15)

_in_background: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "analytics_cold_reads_in_background", default=False
)


@contextmanager
def cold_reads_in_background() -> Iterator[None]:
    """Within this block a large history that is not kept yet is read by the worker: the
    caller gets `Preparing` instead of waiting for it."""
    token = _in_background.set(True)
    try:
        yield
    finally:
        _in_background.reset(token)


def inline_rows() -> int:
    return int(getattr(settings, "ANALYTICS_INLINE_ROWS", DEFAULT_INLINE_ROWS))


def should_read_in_background(organisation, count_rows) -> bool:
    """Whether this cold read goes to the worker: the caller opted in, the worker's result can
    reach this process (a shared cache directory), and there are more changes than a request
    should read. `count_rows(limit)` counts the changes, stopping at `limit`."""
    if not _in_background.get() or not getattr(settings, "ANALYTICS_CACHE_DIR", None):
        return False
    if connection.in_atomic_block:
        # Raising `Preparing` would roll the caller's transaction back, and the asking with it.
        return False
    limit = inline_rows()
    return count_rows(limit + 1) > limit


def preparing(organisation, revisions: list[tuple[int, int]]) -> Preparing:
    """Ask the worker to read the organisation's history (unless a read for these revisions is
    under way) and describe how far it got, as the `Preparing` to raise."""
    wanted = [list(pair) for pair in revisions]
    now = timezone.now()
    with transaction.atomic():
        read, _ = HistoryRead.objects.select_for_update().get_or_create(organisation=organisation)
        under_way = read.state in (HistoryRead.State.QUEUED, HistoryRead.State.RUNNING)
        moving = read.updated_at >= now - STALLED_AFTER
        # A finished read for these revisions whose files this process cannot see yet (written
        # a moment ago): asking again would only repeat it.
        just_done = (
            read.state == HistoryRead.State.DONE
            and read.finished_at
            and (read.finished_at >= now - timedelta(seconds=RETRY_AFTER * 2))
        )
        if read.revisions != wanted or not ((under_way and moving) or just_done):
            failed_before = read.error if read.state == HistoryRead.State.FAILED else ""
            read.state = HistoryRead.State.QUEUED
            read.revisions = wanted
            read.rows_read = 0
            read.fraction_done = 0.0
            read.requested_at = now
            read.updated_at = now
            read.started_at = read.finished_at = None
            read.error = failed_before
            read.save()
            enqueue_on_commit(history_read_run, organisation.pk, organisation=organisation)
    return _as_preparing(read)


def _as_preparing(read: HistoryRead) -> Preparing:
    if read.state == HistoryRead.State.RUNNING:
        message = (
            f"Reading the flow history: {read.rows_read:,} stage changes so far "
            f"({read.fraction_done:.0%})."
        )
    else:
        message = "The flow history is waiting for a worker to read it."
        if read.error:
            message += f" The last read failed ({read.error}); it is tried again."
    return Preparing(
        message,
        progress={
            "state": read.state,
            "rows_read": read.rows_read,
            "fraction_done": round(read.fraction_done, 3),
            "requested_at": read.requested_at.isoformat(),
        },
        retry_after=RETRY_AFTER,
    )


@durable_task(max_attempts=3)
def history_read_run(organisation_id: int) -> None:
    """Read one organisation's whole flow history and keep it (files shared by every app
    process), recording how far it got as it goes. Safe to run again: it reads afresh."""
    from .extract import read_and_keep  # extract imports this module

    organisation = Organisation.objects.get(pk=organisation_id)
    HistoryRead.objects.filter(organisation=organisation).update(
        state=HistoryRead.State.RUNNING,
        started_at=timezone.now(),
        updated_at=timezone.now(),
        rows_read=0,
        fraction_done=0.0,
        error="",
    )

    def progress(rows_read: int, fraction_done: float) -> None:
        HistoryRead.objects.filter(organisation=organisation).update(
            rows_read=rows_read, fraction_done=fraction_done, updated_at=timezone.now()
        )

    try:
        revisions = read_and_keep(organisation, progress=progress)
    except Exception as error:
        HistoryRead.objects.filter(organisation=organisation).update(
            state=HistoryRead.State.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        raise
    HistoryRead.objects.filter(organisation=organisation).update(
        state=HistoryRead.State.DONE,
        revisions=[list(pair) for pair in revisions],
        fraction_done=1.0,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
