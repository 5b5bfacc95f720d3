import os
import time

from salesline.core.models import AuditEvent, DomainEvent

HANDLED = "test.handled"


def record_handled(event: DomainEvent) -> None:
    """Writes one row per run (in the handler's transaction), after an optional pause."""
    if pause := event.payload.get("sleep"):
        time.sleep(pause)
    AuditEvent.objects.create(
        actor_label="handler",
        action=HANDLED,
        object_type="event",
        object_id=str(event.pk),
        changes={"pid": os.getpid()},
    )


def handled(event_ids=None) -> list[str]:
    rows = AuditEvent.objects.filter(action=HANDLED)
    if event_ids is not None:
        rows = rows.filter(object_id__in=[str(i) for i in event_ids])
    return list(rows.order_by("pk").values_list("object_id", flat=True))
