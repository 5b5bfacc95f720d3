"""The audit trail. Services call `record` explicitly, inside their own transaction."""

from __future__ import annotations

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
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id is None else object_id
        object_repr = object_repr if object_repr is not None else str(obj)[:255]
    return AuditEvent.objects.create(
        organisation=actor.organisation,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=object_repr or "",
        changes=changes or {},
    )
