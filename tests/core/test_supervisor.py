"""The supervisor of `serve --with-worker` over stand-in processes (tests/core/standins.py):
back-off, stopping, a failing web server. tests/cli/test_serve.py runs the real thing."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salesline.core.processes import process_exists
from salesline.core.supervisor import Backoff, exit_description
from tests.subprocesses import ROOT, descendants


def supervise(scenario: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "tests.core.standins", scenario],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream, text: str, timeout: float = 30.0) -> list[str]:
    """Lines of `stream` up to the first that holds `text`."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    pytest.fail(f"no {text!r} in:\n{''.join(lines)}")


def finish(process: subprocess.Popen, timeout: float = 30.0) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the supervisor did not exit in {timeout} s:\n{out}\n{err}")
    return process.returncode, out, err


def test_backoff_doubles_up_to_its_cap_and_resets_after_a_long_run():
    backoff = Backoff(first=1.0, cap=60.0, stable_after=60.0)
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_exit_descriptions_name_the_status_or_the_signal():
    assert exit_description(0) == "exited with status 0"
    assert exit_description(3) == "exited with status 3"
    assert exit_description(-9) == "was killed by signal 9 (SIGKILL)"


def test_a_dying_worker_is_restarted_with_backoff_and_told_whom_it_replaces():
    supervisor = supervise("backoff")
    starts = read_until(supervisor.stdout, "start 6")
    read_until(supervisor.stdout, "worker ready")
    supervisor.send_signal(signal.SIGTERM)
    code, out, err = finish(supervisor)

    assert code == 0, err
    # Each worker is told about every worker that died since the last one that ran a while.
    assert [line.strip() for line in starts if line.startswith("start")] == [
        "start 1 replaces 0",
        "start 2 replaces 1",
        "start 3 replaces 2",
        "start 4 replaces 3",
        "start 5 replaces 4",
        "start 6 replaces 1",
    ]
    deaths = [line.split("] ", 3)[-1] for line in err.splitlines() if "[ERROR]" in line]
    assert [re.sub(r"\(pid \d+\)", "(pid N)", death.split(" after ")[0]) for death in deaths] == [
        "Background worker (pid N) exited with status 3",
    ] * 4 + ["Background worker (pid N) was killed by signal 9 (SIGKILL)"]
    assert [death.split("; ")[1] for death in deaths] == [
        "starting another in 0.1 s.",
        "starting another in 0.2 s.",
        "starting another in 0.4 s.",
        "starting another in 0.4 s.",  # the cap
        "starting another in 0.1 s.",  # it had run past stable_after
    ]
    assert "worker got SIGTERM" in out


def test_no_restart_once_stopping():
    supervisor = supervise("stop-during-backoff")
    read_until(supervisor.stderr, "starting another in 30 s")
    started = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    code, _, err = finish(supervisor)

    assert code == 0, err
    assert time.monotonic() - started < 10  # did not wait for the 30 s restart
    assert "Background worker restarted" not in err


def test_a_failing_web_server_stops_the_worker_and_the_supervisor_exits_non_zero():
    supervisor = supervise("server-fails")
    code, out, err = finish(supervisor)

    assert code == 4, err
    assert "The web server (pid " in err and ") exited with status 4;" in err
    assert out.count("worker got SIGTERM") == 1


def test_each_stop_signal_is_passed_on_once_and_the_children_end():
    supervisor = supervise("signals")
    started = "".join(read_until(supervisor.stdout, "ready"))
    read_until(supervisor.stdout, "worker ready" if "server ready" in started else "server ready")
    children = descendants(supervisor.pid)
    supervisor.send_signal(signal.SIGINT)
    time.sleep(0.1)
    supervisor.send_signal(signal.SIGINT)  # a second Ctrl+C while the worker is stopping
    code, out, err = finish(supervisor)

    assert code == 0, err
    assert out.count("worker got SIGINT") == 2
    assert len(children) == 2  # the stand-ins for the web server and the worker
    assert not any(process_exists(pid) for pid in children)


def test_a_child_that_will_not_stop_is_asked_again_then_killed():
    supervisor = supervise("stubborn")
    read_until(supervisor.stdout, "worker ready")
    [worker] = [pid for pid in descendants(supervisor.pid) if pid_is_worker(pid)]
    supervisor.send_signal(signal.SIGTERM)
    code, _, err = finish(supervisor)

    assert code == 0, err
    assert "Still stopping after 0.5 s: asking again" in err
    assert "Killing what is left (SIGKILL)." in err
    assert not process_exists(worker)


def pid_is_worker(pid: int) -> bool:
    """Whether `pid` is the stubborn stand-in worker (by its command line)."""
    try:
        return b"SIG_IGN" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
