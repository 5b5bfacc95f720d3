"""Background work of the records app."""

from salesline.core.tasks import current_attempt, durable_task
from salesline.records.importing.services import import_execute, import_fail


@durable_task(max_attempts=3)
def import_run(import_id: int) -> None:
    """Run or resume an import. Safe to run again: it carries on from the last committed chunk.
    If the last attempt fails too, the job says so instead of staying 'running'."""

    try:
        import_execute(import_id)
    except Exception as exc:
        if current_attempt().is_last:
            import_fail(import_id, f"{type(exc).__name__}: {exc}")
        raise
