"""Domain events: the seam through which apps react to what happens, without being called.

Services `emit` events as rows in their own transaction; each app registers its handlers in its
AppConfig.ready() with `register` (never Django signals). When an event has handlers, one
dispatch task is enqueued with it: with the database task backend its row commits with the
business rows (nothing is lost between commit and enqueue, and a rollback removes both); with
another backend it is enqueued on commit. The worker runs each handler in its own transaction
together with its `EventDelivery` row, unique per (event, handler), so a handler's database work
happens at most once per event, even with several workers; a handler that raises is recorded as
failed with its error and retried with back-off. See docs/architecture.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .actors import Actor
from .models import DomainEvent, EventDelivery
from .tasks import current_attempt, durable_task, organisation_marker

logger = logging.getLogger(__name__)

type Handler = Callable[[DomainEvent], None]

type Wants = Callable[[DomainEvent], bool]

# kind -> handler name -> handler
_HANDLERS: dict[str, dict[str, Handler]] = {}
# kind -> handler name -> whether an event concerns the handler at all (absent: every event)
_WANTS: dict[str, dict[str, Wants]] = {}

DISPATCH_ATTEMPTS = 6
DISPATCH_RETRY_DELAY = 5.0  # seconds, doubled after each failed attempt: 5 s ... 80 s


class HandlersFailed(Exception):
    """At least one handler of an event raised; their errors are on the delivery rows."""


def handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def register(
    kind: str, handler: Handler, *, name: str | None = None, wants: Wants | None = None
) -> str:
    """Run `handler(event)` in the worker for every event of `kind`; returns its name, the key of
    its delivery rows (keep it stable: renaming a handler makes old events look undelivered).
    Registering the same handler under the same name again changes nothing.

    `wants(event)`, asked in the emitting transaction, lets a handler decline events that cannot
    concern it (an organisation without playbooks): no dispatch task is queued for an event no
    handler wants. It must be cheap and must not write."""
    name = name or handler_name(handler)
    handlers = _HANDLERS.setdefault(kind, {})
    if handlers.get(name) not in (None, handler):
        raise ValueError(f"another handler is registered as '{name}' for '{kind}'")
    handlers[name] = handler
    if wants is not None:
        _WANTS.setdefault(kind, {})[name] = wants
    else:
        _WANTS.get(kind, {}).pop(name, None)
    return name


def _wanted(event: DomainEvent) -> bool:
    handlers = _HANDLERS.get(event.kind)
    if not handlers:
        return False
    wants = _WANTS.get(event.kind, {})
    return any(name not in wants or wants[name](event) for name in handlers)


def handlers_for(kind: str) -> dict[str, Handler]:
    return dict(_HANDLERS.get(kind, {}))


@contextmanager
def registered(
    kind: str, handler: Handler, *, name: str | None = None, wants: Wants | None = None
) -> Iterator[str]:
    """Register a handler for the duration of a block (tests, benchmarks)."""
    name = register(kind, handler, name=name, wants=wants)
    try:
        yield name
    finally:
        _HANDLERS.get(kind, {}).pop(name, None)
        _WANTS.get(kind, {}).pop(name, None)


def _row(
    actor: Actor,
    kind: str,
    obj: models.Model | None,
    object_type: str | None,
    object_id: Any,
    payload: Mapping[str, Any] | None,
) -> DomainEvent:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id is None else object_id
    return DomainEvent(
        organisation=actor.organisation,
        kind=kind,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        payload=dict(payload or {}),
        actor=actor.user,
        actor_label=actor.label,
        at=timezone.now(),
    )


def emit(
    *,
    actor: Actor,
    kind: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    payload: Mapping[str, Any] | None = None,
) -> DomainEvent:
    """Record that `kind` happened, in the caller's transaction (one INSERT; one more for the
    dispatch task when the kind has handlers)."""
    event = _row(actor, kind, obj, object_type, object_id, payload)
    with _transaction():
        event.save(force_insert=True)
        if _wanted(event):
            _enqueue(event.pk, event.organisation_id)
    return event


def _transaction():
    # Inside the service's transaction nothing more is needed (a savepoint would cost two
    # queries per event); alone, the event and its task still commit together.
    return nullcontext() if transaction.get_connection().in_atomic_block else transaction.atomic()


def emit_many(
    *,
    actor: Actor,
    obj: models.Model | None,
    happened: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[DomainEvent]:
    """The events of one change, as (kind, payload) pairs (a move: stage_left, stage_entered,
    opportunity_won, record_changed), in one INSERT (both databases return the new ids)."""
    rows = [_row(actor, kind, obj, None, None, payload) for kind, payload in happened]
    with _transaction():
        DomainEvent.objects.bulk_create(rows)
        for event in rows:
            if _wanted(event):
                _enqueue(event.pk, event.organisation_id)
    return rows


def _uses_database_backend() -> bool:
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    return backend.startswith("django_tasks_db.")


def _enqueue(event_id: int, organisation_id: int | None) -> None:
    # Marked with the event's organisation: its admins see the dispatch on the jobs page.
    marker = organisation_marker(events_dispatch, organisation_id)
    if _uses_database_backend():
        # The task row is the outbox: it commits, or rolls back, with the event.
        events_dispatch.enqueue(event_id, **marker)
    else:
        # robust: the change is committed already; a broker that is down must not turn it
        # into an error (deliveries_retry dispatches what was missed).
        transaction.on_commit(lambda: events_dispatch.enqueue(event_id, **marker), robust=True)


@durable_task(max_attempts=DISPATCH_ATTEMPTS, retry_delay=DISPATCH_RETRY_DELAY)
def events_dispatch(event_id: int) -> None:
    """The worker's task: `dispatch`, retried with back-off while a handler fails."""
    dispatch(event_id)


def dispatch(event_id: int) -> None:
    """Run every handler of one event that has not run yet; raise HandlersFailed when any of
    them failed (the others' runs are kept)."""
    event = DomainEvent.objects.filter(pk=event_id).first()
    if event is None:
        return  # its organisation was deleted since
    failed = [
        name for name, handler in handlers_for(event.kind).items() if not _run(event, name, handler)
    ]
    if failed:
        raise HandlersFailed(f"event {event_id} ({event.kind}): {', '.join(failed)} failed")


def _run(event: DomainEvent, name: str, handler: Handler) -> bool:
    """Run one handler once; False if it raised (recorded on its delivery row)."""
    try:
        with transaction.atomic():
            delivery = _claim(event, name)
            if delivery.status == EventDelivery.Status.DONE:
                return True
            delivery.attempts += 1
            handler(event)
            delivery.status = EventDelivery.Status.DONE
            delivery.last_error = ""
            delivery.updated_at = timezone.now()
            delivery.save(update_fields=["status", "attempts", "last_error", "updated_at"])
        return True
    except Exception as error:  # a handler's failure must not stop the others
        logger.warning("Event handler %s failed on event %s", name, event.pk, exc_info=True)
        _record_failure(event, name, error)
        return False


def _claim(event: DomainEvent, name: str) -> EventDelivery:
    """The delivery row, locked: a second worker waits here, then finds it done."""
    rows = EventDelivery.objects.select_for_update()
    delivery = rows.filter(event=event, handler=name).first()
    if delivery is not None:
        return delivery
    try:
        with transaction.atomic():
            return EventDelivery.objects.create(
                event=event, handler=name, status=EventDelivery.Status.FAILED, attempts=0
            )
    except IntegrityError:  # another worker created it first: wait for its lock
        return rows.get(event=event, handler=name)


def _record_failure(event: DomainEvent, name: str, error: Exception) -> None:
    last = current_attempt().is_last
    message = f"{type(error).__name__}: {error}"
    if not last:
        message += " (will be retried)"
    with transaction.atomic():
        delivery, _ = EventDelivery.objects.select_for_update().get_or_create(
            event=event, handler=name, defaults={"status": EventDelivery.Status.FAILED}
        )
        if delivery.status == EventDelivery.Status.DONE:
            return
        delivery.status = EventDelivery.Status.FAILED
        delivery.attempts += 1
        delivery.last_error = message[:2000]
        delivery.updated_at = timezone.now()
        delivery.save(update_fields=["status", "attempts", "last_error", "updated_at"])


def failed_deliveries() -> models.QuerySet[EventDelivery]:
    """Handler runs that failed and are not done (newest first), with their events."""
    return (
        EventDelivery.objects.filter(status=EventDelivery.Status.FAILED)
        .select_related("event")
        .order_by("-updated_at", "-id")
    )


def deliveries_retry(*, event_ids: list[int] | None = None) -> int:
    """Dispatch again the events whose handlers failed for good (after a fix); how many."""
    failed = failed_deliveries()
    if event_ids is not None:
        failed = failed.filter(event_id__in=event_ids)
    events = sorted(set(failed.values_list("event_id", "event__organisation_id")))
    for event_id, organisation_id in events:
        with transaction.atomic():
            _enqueue(event_id, organisation_id)
    return len(events)
