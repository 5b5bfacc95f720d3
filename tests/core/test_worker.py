"""`salesline worker` as real processes on the test database (SQLite file or PostgreSQL).

The tests use `transactional_db`: rows the test writes are committed, so the worker subprocesses
see them, and what the workers write is visible to the test.
"""

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core.models import WorkerHeartbeat
from tests.core import jobs
from tests.subprocesses import ROOT, database_url, subprocess_env

SALESLINE = str(Path(sys.executable).parent / "salesline")


def start_worker(*options: str) -> subprocess.Popen:
    env = subprocess_env()
    return subprocess.Popen(  # noqa: S603 - our own console script
        [SALESLINE, "worker", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"worker did not exit in {timeout}s:\n{out}\n{err}")
    return process.returncode, out, err


def wait_for(condition, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_worker_once_drains_the_queue_recovering_a_dead_workers_task(transactional_db):
    for number in range(3):
        jobs.record_run.enqueue("once", number)
    jobs.flaky.enqueue("once-flaky", 2)  # fails once, its retry runs in the same drain
    orphan = jobs.record_run.enqueue("orphan", 1).db_result
    orphan.claim("dead-worker")
    WorkerHeartbeat.objects.create(
        worker_id="dead-worker",
        hostname="gone",
        pid=1,
        last_seen=timezone.now() - timedelta(minutes=5),
    )

    code, out, err = finish(start_worker("--once", "--queue", "default"))

    assert code == 0, err
    assert "Worker on queues default until the queue is empty." in out
    assert [event.object_id for event in jobs.runs("once")] == ["0", "1", "2"]
    assert [event.object_id for event in jobs.runs("once-flaky")] == ["1", "2"]
    assert [event.object_id for event in jobs.runs("orphan")] == ["1"]
    assert not DBTaskResult.objects.exclude(status__in=["SUCCESSFUL", "FAILED"]).exists()
    orphan.refresh_from_db()
    assert orphan.status == "SUCCESSFUL"
    # The worker removed its own heartbeat when it stopped.
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["dead-worker"]


def test_a_worker_replacing_a_dead_one_takes_over_its_task_at_once(transactional_db):
    # The dead worker beat a moment ago, so only being named by --replaces gets its task back
    # before --stale-after; a live worker's task is left alone.
    orphan = jobs.record_run.enqueue("replaced", 1).db_result
    orphan.claim("dead-worker")
    busy = jobs.record_run.enqueue("replaced", 2).db_result
    busy.claim("live-worker")
    for worker_id in ("dead-worker", "live-worker"):
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, hostname="here", pid=1, last_seen=timezone.now()
        )

    code, _, err = finish(
        start_worker("--once", "--worker-id", "successor", "--replaces", "dead-worker")
    )

    assert code == 0, err
    assert [event.object_id for event in jobs.runs("replaced")] == ["1"]
    orphan.refresh_from_db()
    assert (orphan.status, orphan.worker_ids) == ("SUCCESSFUL", ["dead-worker", "successor"])
    busy.refresh_from_db()
    assert (busy.status, busy.worker_ids) == ("RUNNING", ["live-worker"])
    # The dead worker's heartbeat is gone with it; the successor removed its own on exit.
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["live-worker"]


def test_two_workers_racing_over_one_queue_run_every_task_exactly_once(transactional_db):
    # Both workers wait at a barrier task until the other beats, then race over 200 tasks. On
    # PostgreSQL claims skip rows locked by the other worker; on SQLite they are exclusive
    # transactions, which two workers on one machine share safely.
    tasks = 200
    jobs.enqueue_race("race", tasks=tasks, workers=2, pause=0.002)

    workers = [start_worker("--once", "--interval", "0.05") for _ in range(2)]
    results = [finish(worker) for worker in workers]

    for code, _, err in results:
        assert code == 0, err
    runs = jobs.runs("race")
    assert sorted(int(event.object_id) for event in runs) == list(range(tasks))
    ran_by = {event.changes["pid"] for event in runs}
    assert ran_by == {worker.pid for worker in workers}
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == tasks + 2
    assert all(len(ids) == 1 for ids in DBTaskResult.objects.values_list("worker_ids", flat=True))
    assert not WorkerHeartbeat.objects.exists()


def test_sigterm_lets_the_running_task_finish_then_exits_0(transactional_db):
    row = jobs.record_run.enqueue("sigterm", 1, 1.0).db_result
    worker = start_worker("--interval", "0.05")

    def running() -> bool:
        row.refresh_from_db()
        return row.status == "RUNNING"

    wait_for(running, what="the task to start")
    worker.send_signal(signal.SIGTERM)
    code, _, err = finish(worker, timeout=30)

    assert code == 0, err
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert len(jobs.runs("sigterm")) == 1
    assert not WorkerHeartbeat.objects.exists()


def test_an_idle_worker_beats_and_stops_on_sigint(transactional_db):
    worker = start_worker("--interval", "0.05")
    wait_for(WorkerHeartbeat.objects.exists, what="the first heartbeat")
    beat = WorkerHeartbeat.objects.get()
    assert beat.pid == worker.pid

    worker.send_signal(signal.SIGINT)
    code, _, err = finish(worker, timeout=30)

    assert code == 0, err
    assert not WorkerHeartbeat.objects.exists()


def test_serve_with_worker_stops_its_worker_when_the_server_ends(
    transactional_db, monkeypatch, tmp_path
):
    from salesline import cli

    for name, value in {
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SALESLINE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }.items():
        monkeypatch.setenv(name, value)
    # A stand-in for gunicorn that ends once the worker it runs beside has beaten.
    release = tmp_path / "release"
    server = [
        sys.executable,
        "-c",
        f"import os, time\nwhile not os.path.exists({str(release)!r}): time.sleep(0.05)",
    ]

    def release_when_the_worker_beats() -> None:
        try:
            wait_for(WorkerHeartbeat.objects.exists, what="the worker's heartbeat")
        finally:
            connections.close_all()
            release.touch()

    watcher = threading.Thread(target=release_when_the_worker_beats)
    watcher.start()
    status = cli.serve_with_worker(server)
    watcher.join()

    assert status == 0
    # The worker was stopped cleanly (SIGTERM), so it removed its heartbeat.
    assert not WorkerHeartbeat.objects.exists()
