"""Task functions of the jobs-page tests (importable by path, as the worker imports them)."""

from django.tasks import task

from salesline.core.models import AuditEvent
from salesline.core.tasks import current_attempt, durable_task

RAN = "test.job_ran"
FIXED = "test.job_fixed"


def runs(label: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=RAN, object_type=label).order_by("pk"))


def fix(label: str) -> None:
    """What an operator does before pressing Retry: the cause of the failure goes away."""
    AuditEvent.objects.create(actor_label="operator", action=FIXED, object_type=label)


@durable_task(max_attempts=2, retry_delay=0.0)
def send_report(label: str, *, copies: int = 1) -> str:
    """Fails (as a refused mail delivery does) until `fix(label)`; records every run with the
    organisation its attempt was marked with."""
    attempt = current_attempt()
    AuditEvent.objects.create(
        actor_label="worker",
        action=RAN,
        object_type=label,
        object_id=str(attempt.number),
        changes={"organisation_id": attempt.organisation_id, "copies": copies},
    )
    if not AuditEvent.objects.filter(action=FIXED, object_type=label).exists():
        raise ConnectionRefusedError("550 mailbox unavailable")
    return f"sent {copies}"


@durable_task(max_attempts=3, retry_delay=3600.0)
def slow_to_retry(label: str) -> None:
    """Always fails; its retry waits an hour."""
    raise ValueError(f"{label} is broken")


@task
def not_durable(label: str) -> None:
    """A plain Django task: it cannot carry the organisation marker."""
