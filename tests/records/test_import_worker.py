"""A real `salesline worker` imports a large file, is killed mid-import (SIGKILL: no cleanup),
and another worker finishes the job: nothing half-done, nothing twice, nothing lost."""

import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from salesline.core.tasks import recover_stale_tasks
from salesline.records.importing import services as imports
from salesline.records.models import ImportIssue, ImportJob, Lead
from salesline.records.tasks import import_run
from tests.records.test_import import HEADER, csv_bytes, lead_row
from tests.subprocesses import ROOT, subprocess_env

ROWS = 12_000
DISTINCT = 10_000  # row i has address p{i % DISTINCT}: 2,000 repeats of earlier rows


def worker(*extra: str) -> subprocess.Popen:
    env = subprocess_env(SALESLINE_IMPORT_CHUNK="500", SALESLINE_IMPORT_PROCESSES="1")
    command = [sys.executable, "-m", "salesline.cli", "worker", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)  # noqa: S603


def wait_for(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_is_resumed_by_the_next(actor, org, tmp_path):
    rows = [lead_row(f"Person {i}", f"p{i % DISTINCT}@piql.com") for i in range(ROWS)]
    rows[5_000] = lead_row("Bad", "bad@")  # the only row with address p5000
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(rows, HEADER))
    job = imports.import_create(actor=actor, kind="leads", file=path, file_name=path.name)
    import_run.enqueue(job.pk)

    first = worker()
    try:
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).rows_done >= 2_000)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    job.refresh_from_db()
    assert job.status == "running"
    assert 0 < job.rows_done < ROWS
    # What is committed is whole chunks: the job's counts describe exactly the rows in the table.
    # Both read by one statement, so from one snapshot: a COMMIT the worker sent just before it
    # was killed can still land between two reads (PostgreSQL finishes it without the client).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rows_done, created, (SELECT COUNT(*) FROM records_lead "
            "WHERE import_job_id = %s) FROM records_importjob WHERE id = %s",
            [job.pk, job.pk],
        )
        rows_done, created, in_table = cursor.fetchone()
    assert rows_done % 500 == 0
    assert in_table == created

    # What a worker does on start and every minute, with the dead worker's heartbeat taken as
    # stale at once (the CLI insists on 15 s or more, which this test need not wait for).
    assert recover_stale_tasks(stale_after=0) == 1
    second = worker("--once")
    _, errors = second.communicate(timeout=180)
    assert second.returncode == 0, errors.decode()[-3000:]

    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.created, job.duplicates, job.rejected) == (DISTINCT - 1, ROWS - DISTINCT, 1)
    emails = list(Lead.objects.filter(import_job=job).values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == DISTINCT - 1
    assert ImportIssue.objects.filter(job=job, type="rejected").count() == 1
    assert ImportIssue.objects.filter(job=job, type="duplicate").count() == ROWS - DISTINCT
