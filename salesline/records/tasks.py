"""Background work of the records app."""

from salesline.core.tasks import durable_task


@durable_task(max_attempts=3)
def import_run(import_id: int) -> None:
    """Run or resume an import. Safe to run again: it carries on from the last committed chunk."""
    from salesline.records.importing.services import import_execute

    import_execute(import_id)
