"""Background work of the records app."""

from django.db import connection

from salesline.accounts.services import system_actor
from salesline.core.actors import Actor
from salesline.core.tasks import current_attempt, durable_task
from salesline.records import search_index
from salesline.records.importing.services import import_execute, import_fail
from salesline.records.models import ImportJob


def worker_actor(import_id: int) -> Actor:
    """The worker acting for the organisation an import belongs to."""
    job = ImportJob.objects.select_related("organisation").get(pk=import_id)
    return system_actor(job.organisation, label="worker")


@durable_task(max_attempts=3)
def import_run(import_id: int) -> None:
    """Run or resume an import. Safe to run again: it carries on from the last committed chunk.
    If the last attempt fails too, the job says so instead of staying 'running'."""
    actor = worker_actor(import_id)
    try:
        import_execute(actor=actor, import_id=import_id)
    except Exception as exc:
        if current_attempt().is_last:
            import_fail(actor=actor, import_id=import_id, reason=f"{type(exc).__name__}: {exc}")
        raise


@durable_task(max_attempts=3)
def word_index_merge(table: str) -> None:
    """PostgreSQL: merge the word index's pending list that an import filled (see
    importing.engine.bulk_writes). Safe to run again: a merged list is empty."""
    search_index.merge_pending(connection, table)
