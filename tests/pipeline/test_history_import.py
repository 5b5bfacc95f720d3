"""The stage-history import: rows become an opportunity's whole history, bad rows are
rejected with their reason, the good ones kept; admins only; through the service, the CLI and
the API."""

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salesline import cli
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.models import Opportunity, Pipeline, StageChange
from salesline.pipeline.purge import stage_changes_anonymise
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.records.importing.services import import_report, import_start, import_undo
from salesline.records.models import ImportJob

UTC = dt.UTC


def history_csv(rows, header=("opportunity", "to_stage", "at", "actor")) -> bytes:
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def run_import(actor, tmp_path, rows, *, dry_run=False, name="history.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(history_csv(rows, **kwargs))
    job = import_start(
        actor=actor, kind="stage-history", file=path, file_name=name, dry_run=dry_run
    ).job
    return job, import_report(job)


@pytest.fixture
def two(actor):
    first = opportunity_create(actor=actor, data={"name": "Archive 1"})
    second = opportunity_create(actor=actor, data={"name": "Archive 2"})
    return first, second


def moves(opportunity):
    return list(
        StageChange.objects.filter(opportunity=opportunity)
        .order_by("at", "id")
        .values_list("from_stage", "to_stage", "to_stage_kind", "at", "imported", "actor_label")
    )


def revision(opportunity) -> int:
    return Pipeline.objects.get(pk=opportunity.pipeline_id).history_revision


def test_rows_become_the_whole_history(admin_actor, user, tmp_path, two):
    first, second = two
    before = revision(first)
    # The second opportunity's rows are not next to each other: order within it is what counts.
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (first.pk, "identify", "2024-01-10T09:00:00Z", "ann@piql.test"),
            (second.pk, "identify", "2024-02-01T10:00:00Z", ""),
            (first.pk, "qualify", "2024-01-20T09:00:00Z", "ann@piql.test"),
            (second.pk, "develop", "2024-02-15", "former@oldcrm.test"),
            (first.pk, "won", "2024-03-05T12:30:00+01:00", ""),
        ],
    )
    assert report["status"] == "done" and report["kind"] == "stage-history"
    assert (report["created"], report["updated"], report["rejected"]) == (5, 2, [])

    jan10, jan20 = dt.datetime(2024, 1, 10, 9, tzinfo=UTC), dt.datetime(2024, 1, 20, 9, tzinfo=UTC)
    mar5 = dt.datetime(2024, 3, 5, 11, 30, tzinfo=UTC)
    assert moves(first) == [
        ("", "identify", "open", jan10, True, "ann@piql.test"),
        ("identify", "qualify", "open", jan20, True, "ann@piql.test"),
        ("qualify", "won", "won", mar5, True, "history import"),
    ]
    assert StageChange.objects.filter(opportunity=first, actor=user).count() == 2
    first.refresh_from_db()
    assert (first.stage.key, first.status) == ("won", "won")
    assert (first.created_at, first.stage_entered_at, first.closed_at) == (jan10, mar5, mar5)
    assert first.version == 2

    feb1, feb15 = dt.datetime(2024, 2, 1, 10, tzinfo=UTC), dt.datetime(2024, 2, 15, tzinfo=UTC)
    assert [m[1] for m in moves(second)] == ["identify", "develop"]
    assert moves(second)[1][5] == "former@oldcrm.test"  # not a member: kept by e-mail
    second.refresh_from_db()
    assert (second.stage.key, second.status, second.closed_at) == ("develop", "open", None)
    assert (second.created_at, second.stage_entered_at) == (feb1, feb15)

    events = AuditEvent.objects.filter(action="stage_history_import").order_by("object_id")
    assert [(e.object_id, e.changes["stage_changes"][1]) for e in events] == [
        (str(first.pk), 3),
        (str(second.pk), 2),
    ]
    assert events[0].changes["stage"] == ["identify", "won"]
    assert revision(first) == before + 1


def test_each_rejection_reason_and_the_good_rows_kept(admin_actor, actor, other_actor, tmp_path):
    kept = opportunity_create(actor=actor, data={"name": "Kept"})
    moved = opportunity_create(actor=actor, data={"name": "Moved"})
    opportunity_move(actor=actor, opportunity_id=moved.pk, stage="lost", reason="No budget")
    disordered = opportunity_create(actor=actor, data={"name": "Disordered"})
    foreign = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (kept.pk, "identify", "2024-01-10T09:00:00Z", ""),  # row 2, kept
            (kept.pk, "contracting", "2024-01-11T09:00:00Z", ""),  # row 3: no such stage
            (kept.pk, "qualify", "2099-01-01T00:00:00Z", ""),  # row 4: future
            (kept.pk, "lost", "2024-01-12T09:00:00Z", ""),  # row 5, kept
            (moved.pk, "identify", "2024-01-10T09:00:00Z", ""),  # row 6: moved in Salesline
            (disordered.pk, "qualify", "2024-05-01T00:00:00Z", ""),  # row 7
            (disordered.pk, "identify", "2024-04-01T00:00:00Z", ""),  # row 8: earlier
            (foreign.pk, "identify", "2024-01-10T09:00:00Z", ""),  # row 9: another org's
            ("abc", "identify", "2024-01-10T09:00:00Z", ""),  # row 10: not an id
            (kept.pk, "won", "yesterday", ""),  # row 11: not a date
        ],
    )
    rejected = [(r["row"], r["field"], r["reason"]) for r in report["rejected"]]
    assert rejected == [
        (3, "to_stage", "pipeline business-development has no stage 'contracting'"),
        (4, "at", "2099-01-01T00:00:00Z is in the future"),
        (
            6,
            "opportunity",
            f"opportunity {moved.pk} has moves made in Salesline; its history is kept",
        ),
        *[
            (
                row,
                "at",
                f"the rows of opportunity {disordered.pk} are not in time order: row 8 "
                "(2024-04-01 00:00) is dated before row 7 (2024-05-01 00:00)",
            )
            for row in (7, 8)
        ],
        (9, "opportunity", f"there is no opportunity {foreign.pk}"),
        (10, "opportunity", "'abc' is not an opportunity id (a whole number)"),
        (11, "at", "'yesterday' is not an ISO date-time such as 2024-03-01T09:30:00Z"),
    ]
    assert (report["created"], report["updated"], job.rejected) == (2, 1, 8)
    assert [m[1] for m in moves(kept)] == ["identify", "lost"]
    kept.refresh_from_db()
    assert (kept.status, kept.closed_at) == ("lost", dt.datetime(2024, 1, 12, 9, tzinfo=UTC))
    assert [m[1] for m in moves(moved)] == ["identify", "lost"]  # its own moves stay
    assert not StageChange.objects.filter(opportunity=moved, imported=True).exists()
    assert [m[4] for m in moves(disordered)] == [False]  # its creation entry stays
    assert [m[4] for m in moves(foreign)] == [False]


def test_a_dry_run_writes_nothing_but_reports_the_same(admin_actor, tmp_path, two):
    first, _ = two
    before, history = revision(first), moves(first)
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (first.pk, "identify", "2024-01-10T09:00:00Z", ""),
            (first.pk, "won", "2024-02-10T09:00:00Z", ""),
            (first.pk, "nowhere", "2024-02-11T09:00:00Z", ""),
        ],
        dry_run=True,
    )
    assert report["dry_run"] is True
    assert (report["created"], report["updated"], len(report["rejected"])) == (2, 1, 1)
    assert moves(first) == history and revision(first) == before
    first.refresh_from_db()
    assert (first.status, first.version) == ("open", 1)
    assert not AuditEvent.objects.filter(action="stage_history_import").exists()


def test_only_admins_may_import_history(actor, tmp_path, two):
    first, _ = two
    with pytest.raises(PermissionDenied, match="Only an admin .* can import stage history"):
        run_import(actor, tmp_path, [(first.pk, "identify", "2024-01-10T09:00:00Z", "")])
    assert not ImportJob.objects.exists()


def test_a_file_without_the_columns_is_refused(admin_actor, tmp_path):
    with pytest.raises(ValidationFailed) as caught:
        run_import(admin_actor, tmp_path, [(1, "identify")], header=("opportunity", "stage"))
    assert "lacks the columns to_stage, at" in caught.value.problems[0].msg


def test_rows_are_written_chunk_by_chunk_and_cannot_be_undone(admin_actor, tmp_path, two, settings):
    settings.SALESLINE_IMPORT_CHUNK = 2
    first, second = two
    before = revision(first)
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (first.pk, "identify", "2024-01-10T09:00:00Z", ""),
            (first.pk, "qualify", "2024-01-11T09:00:00Z", ""),
            (second.pk, "identify", "2024-01-10T09:00:00Z", ""),
            (second.pk, "qualify", "2024-01-11T09:00:00Z", ""),
        ],
    )
    assert (report["created"], report["progress"]["rows_done"]) == (4, 4)
    assert revision(first) == before + 2  # one rise per chunk that rewrote it
    from salesline.core.errors import Conflict

    with pytest.raises(Conflict, match="cannot be undone"):
        import_undo(actor=admin_actor, import_id=job.pk)


def test_importing_again_replaces_an_imported_history(admin_actor, tmp_path, two):
    first, _ = two
    run_import(admin_actor, tmp_path, [(first.pk, "qualify", "2024-01-10T09:00:00Z", "")])
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (first.pk, "identify", "2023-06-01T00:00:00Z", ""),
            (first.pk, "develop", "2023-07-01T00:00:00Z", ""),
        ],
        name="again.csv",
    )
    assert (report["created"], report["rejected"]) == (2, [])
    assert [m[1] for m in moves(first)] == ["identify", "develop"]


def test_a_purge_raises_the_history_revision(actor, two):
    first, _ = two
    before = revision(first)
    stage_changes_anonymise([first.pk])
    assert revision(first) == before + 1


def test_the_cli_prints_the_contract_json(capsys, admin_user, org, tmp_path, two):
    first, _ = two
    path = tmp_path / "history.csv"
    path.write_bytes(
        history_csv(
            [
                (first.pk, "identify", "2024-01-10T09:00:00Z", ""),
                (first.pk, "bogus", "2024-01-11T09:00:00Z", ""),
            ]
        )
    )
    argv = ["import", "stage-history", str(path), "--org", org.slug, "--as", admin_user.email]
    assert cli.main([*argv, "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["dry_run"], report["created"]) == (True, 1)
    assert cli.main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["created"], report["status"]) == (1, "done")
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [(3, "to_stage")]
    assert Opportunity.objects.get(pk=first.pk).created_at == dt.datetime(
        2024, 1, 10, 9, tzinfo=UTC
    )


def test_the_api_imports_for_admins_and_refuses_others(api, admin_api, two):
    first, _ = two
    body = history_csv([(first.pk, "qualify", "2024-01-10T09:00:00Z", "")])

    def post(client):
        upload = SimpleUploadedFile("history.csv", body, content_type="text/csv")
        return client.client.post("/api/v1/imports", data={"file": upload, "kind": "stage-history"})

    refused = post(api)
    assert refused.status_code == 403
    assert "Only an admin" in refused.json()["detail"]
    response = post(admin_api)
    assert response.status_code == 201, response.content
    assert (response.json()["created"], response.json()["kind"]) == (1, "stage-history")
    assert Opportunity.objects.get(pk=first.pk).stage.key == "qualify"


def test_a_resumed_import_skips_the_rows_it_committed(admin_actor, tmp_path, two, settings):
    """A worker that died after the first chunk left `rows_done` = 2: the next run carries on
    with the next opportunity's rows and leaves the first one's as they were written."""
    from salesline.records.importing.services import import_create, import_execute

    first, second = two
    path = tmp_path / "history.csv"
    path.write_bytes(
        history_csv(
            [
                (first.pk, "identify", "2024-01-10T09:00:00Z", ""),
                (second.pk, "identify", "2024-01-10T09:00:00Z", ""),
                (first.pk, "qualify", "2024-01-11T09:00:00Z", ""),
                (second.pk, "develop", "2024-01-12T09:00:00Z", ""),
            ]
        )
    )
    job = import_create(actor=admin_actor, kind="stage-history", file=path, file_name="h.csv")
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_done=2, created=2, updated=1)
    job = import_execute(actor=admin_actor, import_id=job.pk)
    assert (job.status, job.rows_done, job.created, job.updated) == ("done", 4, 4, 2)
    assert [m[1] for m in moves(second)] == ["identify", "develop"]
    assert [m[4] for m in moves(first)] == [False]  # the first run's part is not redone


def test_a_large_file_goes_to_the_worker(
    admin_api, two, settings, django_capture_on_commit_callbacks
):
    from salesline.core.tasks import run_pending_tasks

    settings.SALESLINE_IMPORT_INLINE_ROWS = 1
    first, second = two
    run_pending_tasks()  # what creating the deals set going; the import's task is counted below
    body = history_csv(
        [
            (first.pk, "identify", "2024-01-10T09:00:00Z", "boss@piql.test"),
            (second.pk, "qualify", "2024-01-10T09:00:00Z", ""),
        ]
    )
    upload = SimpleUploadedFile("history.csv", body, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.client.post(
            "/api/v1/imports", data={"file": upload, "kind": "stage-history"}
        )
    assert response.status_code == 202, response.content
    # The import, then the dispatch of its event naming the opportunities it rewrote.
    assert run_pending_tasks() == 2
    report = admin_api.get(f"/imports/{response.json()['import_id']}").json()
    assert (report["status"], report["created"], report["updated"]) == ("done", 2, 2)
    assert StageChange.objects.get(opportunity=first).actor.email == "boss@piql.test"


def test_a_salesperson_on_the_cli_is_refused(capsys, user, org, tmp_path, two):
    first, _ = two
    path = tmp_path / "history.csv"
    path.write_bytes(history_csv([(first.pk, "identify", "2024-01-10T09:00:00Z", "")]))
    code = cli.main(["import", "stage-history", str(path), "--org", org.slug, "--as", user.email])
    assert code != 0
    assert "Only an admin" in capsys.readouterr().err


def test_the_flow_metrics_read_the_imported_past(admin_actor, admin_api, tmp_path, two):
    """Two deals from another CRM, closed in March 2024 (one won, one lost): the flow API's
    win rate over March is 1 ÷ (1 + 1) = 0.5 and the won one's cycle is 10 days (1 to 11 March)."""
    first, second = two
    first.value = 1000
    first.save(update_fields=["value"])
    run_import(
        admin_actor,
        tmp_path,
        [
            (first.pk, "identify", "2024-03-01T00:00:00Z", ""),
            (first.pk, "won", "2024-03-11T00:00:00Z", ""),
            (second.pk, "identify", "2024-03-02T00:00:00Z", ""),
            (second.pk, "lost", "2024-03-20T00:00:00Z", ""),
        ],
    )
    response = admin_api.get(
        "/metrics/flow?pipeline=business-development&from=2024-03-01&to=2024-03-31"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["win_rate"], body["average_cycle_days"]) == (0.5, 10.0)
    identify = next(s for s in body["stages"] if s["stage"] == "identify")
    assert identify["arrivals"] == 2 and identify["exits"] == {"won": 1, "lost": 1}
