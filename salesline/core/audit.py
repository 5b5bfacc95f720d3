"""The audit trail. Services call `record` explicitly, inside their own transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models

from .actors import Actor
from .models import AuditEvent


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    object_repr: str | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    event = _event(actor, action, obj, object_type, object_id, object_repr, changes)
    event.save(force_insert=True)
    return event


def record_many(
    *, actor: Actor, action: str, entries: Sequence[tuple[models.Model, Mapping[str, Any]]]
) -> list[AuditEvent]:
    """One event per (object, changes), inserted together: for a write that changes thousands
    of objects at once (a history import), where an insert each would take most of its time."""
    events = [_event(actor, action, obj, None, None, None, changes) for obj, changes in entries]
    return AuditEvent.objects.bulk_create(events, batch_size=1000)


def _event(
    actor: Actor,
    action: str,
    obj: models.Model | None,
    object_type: str | None,
    object_id: Any,
    object_repr: str | None,
    changes: Mapping[str, Any] | None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id is None else object_id
        object_repr = object_repr if object_repr is not None else str(obj)[:255]
    return AuditEvent(
        organisation=actor.organisation,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=object_repr or "",
        changes=changes or {},
    )
