from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecordsConfig(AppConfig):
    name = "salesline.records"
    label = "records"

    def ready(self) -> None:
        from salesline.core.jobs import register_job_kind
        from salesline.process.kinds import register_kind

        from .fields import COMPANY, LEAD, PERSON

        for kind in (COMPANY, PERSON, LEAD):
            register_kind(kind)
        # What the jobs page calls this app's background jobs.
        register_job_kind("salesline.records.tasks.import_run", "Import")
        register_job_kind("salesline.records.tasks.word_index_merge", "Search index merge")
        # Schema plumbing, not a business rule: a table SQLite rebuilt for a schema change has
        # lost the triggers that keep its word index in step (search_index).
        post_migrate.connect(_repair_word_index, sender=self)


def _repair_word_index(sender, using: str = "default", **kwargs) -> None:
    from django.db import connections

    from .search_index import ensure_sqlite_triggers

    ensure_sqlite_triggers(connections[using])
