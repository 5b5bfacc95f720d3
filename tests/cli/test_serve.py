"""`salesline serve` as real processes (gunicorn, `salesline worker`, the import's process pool)
on the test database, SQLite file or PostgreSQL: a worker killed mid-import is restarted and the
import finishes; nothing it started outlives it; a dead web server ends `serve`; two servers on
one machine do not share a control socket."""

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult
from gunicorn.ctl.client import ControlClient

from salesline.core.models import WorkerHeartbeat
from salesline.core.processes import process_exists
from salesline.records.importing import services as imports
from salesline.records.models import ImportJob, Lead
from tests.records.test_import import csv_bytes, lead_row
from tests.subprocesses import ROOT, descendants, free_port, parent_pids, subprocess_env

SALESLINE = str(Path(sys.executable).parent / "salesline")
# Over the engine's PARALLEL_FROM_ROWS, so the import normalises rows in a process pool.
ROWS = 20_000
CHUNK = 1_000

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return result


class Served:
    """One `salesline serve` and its log (stdout and stderr together)."""

    def __init__(self, process: subprocess.Popen, log: Path, port: int):
        self.process = process
        self.log_path = log
        self.port = port

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 60.0) -> re.Match:
        return wait_for(lambda: re.search(pattern, self.log()), repr(pattern), timeout)

    def wait_until_serving(self) -> None:
        wait_for(lambda: self.answers() or self.process.poll() is not None, "the server", 90)
        assert self.process.poll() is None, self.log()

    def answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/")
            return connection.getresponse().status < 500
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not stop in {timeout} s:\n{self.log()}")


@pytest.fixture
def runtime_dir():
    # Short: a Unix socket's path has at most 107 bytes. Shared by the servers of one test, as
    # $XDG_RUNTIME_DIR is by one user's.
    path = tempfile.mkdtemp(prefix="sl-run-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def serve(tmp_path, runtime_dir):
    started: list[Served] = []

    def start(*options: str, wait: bool = True, **env: str) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        environment = subprocess_env(
            SALESLINE_VAR_DIR=str(tmp_path / f"var-{port}"),  # its static files
            XDG_RUNTIME_DIR=str(runtime_dir),
            **env,
        )
        with open(log, "wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own console script
                [SALESLINE, "serve", "--port", str(port), "--workers", "1", *options],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        served = Served(process, log, port)
        started.append(served)
        if wait:
            served.wait_until_serving()
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            family = descendants(served.process.pid)
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait()
            for pid in family:
                if process_exists(pid):
                    os.kill(pid, signal.SIGKILL)


def worker_pid(served: Served, after: int = 0) -> int:
    """The pid of the background worker `serve` started last (after the one whose pid is
    `after`)."""
    pattern = r"Background worker (?:running|restarted) \(pid (\d+)\)"

    def newest() -> int:
        pids = [int(pid) for pid in re.findall(pattern, served.log())]
        return pids[-1] if pids and pids[-1] != after else 0

    return wait_for(newest, "a worker to start")


def test_a_worker_killed_mid_import_is_restarted_and_the_import_finishes(actor, tmp_path, serve):
    served = serve(
        "--with-worker", SALESLINE_IMPORT_CHUNK=str(CHUNK), SALESLINE_IMPORT_PROCESSES="2"
    )
    first = worker_pid(served)
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([lead_row(f"Person {i}", f"p{i}@piql.com") for i in range(ROWS)]))
    started = imports.import_start(actor=actor, kind="leads", file=path, file_name=path.name)
    assert not started.ran_inline
    job = started.job

    def mid_import_with_a_pool() -> set[int] | None:
        # The worker, its fork server and resource tracker, and the pool's two children.
        family = descendants(first)
        status, done = ImportJob.objects.values_list("status", "rows_done").get(pk=job.pk)
        if status not in ("queued", "running"):
            pytest.fail(f"the import ended ({status}) before the worker could be killed")
        return family if len(family) >= 4 and done >= CHUNK else None

    family = wait_for(mid_import_with_a_pool, "the import to be under way", 90)
    os.kill(first, signal.SIGKILL)
    killed_at = ImportJob.objects.get(pk=job.pk)
    assert killed_at.status == "running" and killed_at.rows_done < ROWS

    died = served.wait_log(
        rf"\[ERROR\] Background worker \(pid {first}\) was killed by signal 9 \(SIGKILL\) "
        r"after \d+ s; starting another in 1 s\."
    )
    second = worker_pid(served, after=first)
    assert served.log().index(f"restarted (pid {second})") > died.end()
    # Nothing the killed worker started is left running.
    wait_for(
        lambda: not any(process_exists(pid) for pid in family), "the worker's children to end", 30
    )

    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status not in ("queued", "running"),
        "the import to finish",
        120,
    )
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.rows_done, job.created, job.duplicates, job.rejected) == (ROWS, ROWS, 0, 0)
    emails = Lead.objects.filter(import_job=job).values_list("email", flat=True)
    assert len(emails) == len(set(emails)) == ROWS
    # One task, claimed by the killed worker and taken over by its successor. The job is done
    # inside the task; the task's own row is marked when it returns, a moment later.
    # (On PostgreSQL the import then queues the merge of its word index: another task.)
    imports_run = DBTaskResult.objects.filter(task_path__endswith=".import_run")
    wait_for(lambda: imports_run.get().status == "SUCCESSFUL", "the task to be marked", 30)
    [task] = imports_run
    assert len(task.worker_ids) == 2

    everything = descendants(served.process.pid)
    assert served.stop() == 0
    assert not any(process_exists(pid) for pid in everything)
    log = served.log()
    assert len(re.findall(r"Background worker \(pid \d+\) ", log)) == 1  # no restart on stop
    assert not WorkerHeartbeat.objects.exists()  # the dead one was removed, the last one ended


def test_serve_exits_non_zero_when_the_web_server_dies(transactional_db, serve):
    served = serve("--with-worker")
    worker = worker_pid(served)
    wait_for(WorkerHeartbeat.objects.exists, "the worker's heartbeat")
    children = [pid for pid, parent in parent_pids().items() if parent == served.process.pid]
    [master] = [pid for pid in children if pid != worker]
    everything = descendants(served.process.pid)
    assert master != worker and worker in everything

    os.kill(master, signal.SIGKILL)

    assert served.process.wait(timeout=60) == 128 + signal.SIGKILL
    assert re.search(
        rf"\[ERROR\] The web server \(pid {master}\) was killed by signal 9 \(SIGKILL\); "
        "stopping the background worker.",
        served.log(),
    )
    # The worker was stopped the clean way (it removed its heartbeat), and nothing is left:
    # gunicorn's own workers notice their master is gone.
    assert not WorkerHeartbeat.objects.exists()
    wait_for(lambda: not any(process_exists(pid) for pid in everything), "every process to end")


def test_two_servers_each_have_their_own_control_socket(transactional_db, serve, runtime_dir):
    first, second = serve(wait=False), serve(wait=False)
    first.wait_until_serving()
    second.wait_until_serving()
    socket_pattern = r"Control socket listening at (\S+)"
    first_socket = first.wait_log(socket_pattern)[1]
    second_socket = second.wait_log(socket_pattern)[1]
    assert first_socket != second_socket
    assert Path(first_socket).parent == Path(second_socket).parent == runtime_dir

    assert first.stop(signal.SIGINT) == 0  # Ctrl+C

    assert not Path(first_socket).exists()
    assert second.answers()
    with ControlClient(second_socket, timeout=10) as control:
        workers = control.send_command("show workers")["workers"]
    # It is the second server's socket: `serve` became gunicorn's master, so it lists that
    # master's worker.
    assert [parent_pids()[worker["pid"]] for worker in workers] == [second.process.pid]
    assert second.stop() == 0
    assert not Path(second_socket).exists()


def test_a_killed_servers_control_socket_is_removed_when_the_next_one_starts(
    transactional_db, serve, runtime_dir
):
    socket_pattern = r"Control socket listening at (\S+)"
    live = serve()
    live_socket = Path(live.wait_log(socket_pattern)[1])
    killed = serve()
    killed_socket = Path(killed.wait_log(socket_pattern)[1])
    # `serve` execs gunicorn: its process is the master, which SIGKILL gives no clean-up.
    family = descendants(killed.process.pid)
    killed.process.kill()
    killed.process.wait(timeout=30)
    wait_for(lambda: not any(process_exists(pid) for pid in family), "its workers to end")
    assert killed_socket.exists() and live_socket.exists()

    started = serve()

    new_socket = Path(started.wait_log(socket_pattern)[1])
    assert not killed_socket.exists()
    assert re.search(
        rf"Removed the control socket of a server that is gone: {re.escape(str(killed_socket))}",
        started.log(),
    )
    assert sorted(runtime_dir.glob("salesline-*.ctl")) == sorted([live_socket, new_socket])
    # The live server's socket still answers for it.
    with ControlClient(str(live_socket), timeout=10) as control:
        workers = control.send_command("show workers")["workers"]
    assert [parent_pids()[worker["pid"]] for worker in workers] == [live.process.pid]
    assert live.stop() == 0 and started.stop() == 0
