"""The import services the web pages, the API, the CLI and the worker share: preview, staging,
start (inline or worker), failure and undo, each audited."""

import io

import pytest
from django.core.files.storage import default_storage

from salesline.accounts import services as accounts
from salesline.core.errors import NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.records.importing import services as imports
from salesline.records.models import ImportJob, Lead
from salesline.records.tasks import import_run, worker_actor
from tests.records.test_import import HEADER, csv_bytes, lead_row

ROWS = [lead_row(f"P {i}", f"p{i}@piql.com") for i in range(6)]


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def start(actor, rows=ROWS, **options):
    return imports.import_start(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(rows)), file_name="f.csv", **options
    )


def test_small_files_run_at_once(actor, settings):
    settings.SALESLINE_IMPORT_INLINE_ROWS = 10
    started = start(actor)
    assert started.ran_inline
    assert (started.job.status, started.job.created) == ("done", 6)


def test_larger_files_go_to_the_worker_when_the_caller_commits(
    actor, settings, django_capture_on_commit_callbacks
):
    settings.SALESLINE_IMPORT_INLINE_ROWS = 5
    with django_capture_on_commit_callbacks(execute=True) as queued:
        started = start(actor)
    assert not started.ran_inline and started.job.status == "queued"
    assert len(queued) == 1
    assert run_pending_tasks() == 1
    job = ImportJob.objects.get(pk=started.job.pk)
    assert (job.status, job.created) == ("done", 6)
    # The rows are the uploader's, though the worker ran them.
    assert set(Lead.objects.filter(import_job=job).values_list("owner", flat=True)) == {
        actor.user.pk
    }


def test_inline_runs_any_size_at_once_with_progress(actor, settings):
    settings.SALESLINE_IMPORT_INLINE_ROWS = 1
    seen = []
    started = start(actor, inline=True, progress=lambda job: seen.append(job.rows_done))
    assert started.ran_inline and started.job.created == 6 and seen[-1] == 6


def test_running_a_dry_run_starts_the_real_import(actor):
    dry = start(actor, dry_run=True).job
    job, created = imports.import_run_dry_run(actor=actor, import_id=dry.pk)
    assert created and (job.status, job.created, job.dry_run) == ("done", 6, False)
    again, created = imports.import_run_dry_run(actor=actor, import_id=dry.pk)
    assert (again.pk, created) == (job.pk, False)


def test_preview_reads_columns_sample_and_mapping(actor):
    preview = imports.import_preview(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), sample_rows=2
    )
    assert preview.kind == "lead" and preview.columns == HEADER
    assert [number for number, _ in preview.sample] == [2, 3]
    assert preview.sample[0][1][0] == "P 0"
    assert preview.mapping["E-mail"] == "email" and preview.mapping_error is None
    assert "email" in {target.key for target in preview.targets}


def test_preview_names_a_mapping_that_cannot_be_used(actor):
    preview = imports.import_preview(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), mapping={"E-mail": "nope"}
    )
    assert preview.mapping is None
    assert isinstance(preview.mapping_error, ValidationFailed)


def test_preview_refuses_an_unreadable_file(actor):
    with pytest.raises(ValidationFailed) as refused:
        imports.import_preview(actor=actor, kind="leads", file=io.BytesIO(b"PK\x03\x04junk"))
    assert refused.value.problems[0].loc == ("file",)
    assert refused.value.problems[0].msg.startswith("The file cannot be imported: ")


def test_staging_keeps_a_readable_upload_only(actor):
    staged = imports.import_stage(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), file_name="dir/fair.csv"
    )
    assert staged.file_name == "fair.csv" and staged.preview.columns == HEADER
    assert staged.path.read_bytes() == csv_bytes(ROWS)
    imports.staged_upload_discard(name=staged.name)
    assert not default_storage.exists(staged.name)
    with pytest.raises(ValidationFailed):
        imports.import_stage(
            actor=actor, kind="leads", file=io.BytesIO(b"PK\x03\x04junk"), file_name="x.csv"
        )
    assert default_storage.listdir(imports.STAGED_DIR)[1] == []


def test_a_failed_import_is_audited(actor):
    job = imports.import_create(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), file_name="f.csv"
    )
    failed = imports.import_fail(actor=actor, import_id=job.pk, reason="the disk is gone")
    assert (failed.status, failed.error) == ("failed", "the disk is gone")
    event = AuditEvent.objects.get(action="import_fail", object_id=str(job.pk))
    assert event.changes == {"status": ["queued", "failed"], "error": [None, "the disk is gone"]}
    # Over already: left as it is, and not audited twice.
    assert imports.import_fail(actor=actor, import_id=job.pk, reason="again") is None
    assert AuditEvent.objects.filter(action="import_fail").count() == 1


def test_import_services_are_scoped_to_the_actors_organisation(actor, other_actor):
    job = imports.import_create(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), file_name="f.csv"
    )
    with pytest.raises(NotFound):
        imports.import_execute(actor=other_actor, import_id=job.pk)
    with pytest.raises(NotFound):
        imports.import_fail(actor=other_actor, import_id=job.pk, reason="x")
    assert ImportJob.objects.get(pk=job.pk).status == "queued"


def test_the_worker_acts_as_the_system_of_the_imports_organisation(actor):
    job = imports.import_create(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), file_name="f.csv"
    )
    worker = worker_actor(job.pk)
    assert (worker.organisation, worker.user, worker.label) == (actor.organisation, None, "worker")
    import_run.enqueue(job.pk)
    assert run_pending_tasks() == 1
    assert ImportJob.objects.get(pk=job.pk).status == "done"


def test_undo_audits_every_record_it_removes_or_restores(actor):
    existing = Lead.objects.create(
        organisation=actor.organisation, owner=actor.user, name="P 0", email="p0@piql.com"
    )
    job = start(actor, on_duplicate="overwrite").job
    assert (job.created, job.updated) == (5, 1)
    imports.import_undo(actor=actor, import_id=job.pk)
    events = AuditEvent.objects.filter(action="import_undo", object_type="lead")
    removed = set(Lead.objects.filter(import_job=job).values_list("pk", flat=True))
    assert {int(e.object_id) for e in events} == removed | {existing.pk}
    deletions = [e for e in events if int(e.object_id) in removed]
    assert all(set(e.changes) == {"deleted_at"} for e in deletions)
    assert AuditEvent.objects.filter(action="import_undo", object_type="importjob").count() == 1


def test_one_list_of_imports_newest_first(actor, other_actor):
    first = start(actor).job
    second = start(actor).job
    start(other_actor)
    assert [j.pk for j in imports.import_list(actor=actor)] == [second.pk, first.pk]
    assert [j.pk for j in imports.import_list(actor=actor, limit=1, offset=1)] == [first.pk]


def test_system_actor_for_the_whole_installation():
    actor = accounts.system_actor(None, "purge")
    assert (actor.organisation, actor.label) == (None, "purge")


def test_a_file_gone_missing_fails_the_import_in_the_worker_audited(actor):
    job = imports.import_create(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(ROWS)), file_name="f.csv"
    )
    default_storage.delete(job.file.name)
    import_run.enqueue(job.pk)
    assert run_pending_tasks() == 1
    job.refresh_from_db()
    assert job.status == "failed" and job.error
    event = AuditEvent.objects.get(action="import_fail", object_id=str(job.pk))
    assert event.actor_label == "worker" and event.actor_id is None
