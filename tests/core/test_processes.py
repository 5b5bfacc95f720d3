"""Children that end with their owner: real processes killed with SIGKILL (Linux /proc); control
sockets a killed server left behind are cleared, never a live one's."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from salesline.core.processes import process_exists, remove_stale_control_sockets
from tests.subprocesses import ROOT, descendants

# A pool owner like the import engine: two pool children running, then it waits to be killed.
OWNER = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from salesline.core.processes import exit_with_owner
    from tests.core.poolwork import pid_after

    if __name__ == "__main__":
        context = multiprocessing.get_context(sys.argv[1])
        initializer = exit_with_owner if sys.argv[2] == "watched" else None
        pool = ProcessPoolExecutor(
            2, mp_context=context, initializer=initializer, initargs=(os.getpid(),)
        )
        # Two tasks at once run in two children.
        pids = {f.result() for f in [pool.submit(pid_after, 0.5) for _ in range(2)]}
        print(" ".join(map(str, sorted(pids))), flush=True)
        time.sleep(600)
    """
)


def wait_until(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_owner(context: str, mode: str) -> tuple[subprocess.Popen, set[int]]:
    owner = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", OWNER, context, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    pool_children = {int(pid) for pid in owner.stdout.readline().split()}
    assert len(pool_children) == 2
    return owner, pool_children


@pytest.mark.parametrize("context", ["forkserver", "spawn"])
def test_pool_children_end_when_their_owner_is_killed(context):
    owner, pool_children = start_owner(context, "watched")
    try:
        # With forkserver: the fork server, its children and the resource tracker.
        family = descendants(owner.pid)
        assert pool_children <= family
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert wait_until(lambda: not any(process_exists(pid) for pid in family)), [
        pid for pid in family if process_exists(pid)
    ]


def test_without_the_watch_pool_children_outlive_a_killed_owner():
    """What the watch is for: a forkserver pool's children block on their work queue forever."""
    owner, pool_children = start_owner("forkserver", "unwatched")
    family = descendants(owner.pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    try:
        time.sleep(1.0)
        assert all(process_exists(pid) for pid in pool_children)
    finally:
        for pid in family:
            if process_exists(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_child_whose_owner_is_already_gone_exits_at_once():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait()
    child = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from salesline.core.processes import exit_with_owner\n"
            f"exit_with_owner({gone.pid}, 0.05)\n"
            "time.sleep(60)",
        ],
        cwd=ROOT,
    )
    assert child.wait(timeout=20) == 1


def test_process_exists_tells_a_zombie_from_a_live_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    assert wait_until(lambda: not process_exists(child.pid))  # a zombie until waited for
    assert os.waitpid(child.pid, os.WNOHANG)[0] == child.pid  # it was one, and is reaped now
    child.returncode = 0
    assert process_exists(os.getpid())


def test_parent_death_signal_reaches_the_child_of_a_killed_parent():
    # parent -> child; the child asks for SIGTERM when its parent ends and prints its pid.
    parent = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import os, signal, subprocess, sys, time\n"
            "from salesline.core.processes import set_parent_death_signal\n"
            "me = os.getpid()\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
            "    preexec_fn=lambda: set_parent_death_signal(signal.SIGTERM, parent_pid=me))\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    assert process_exists(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not process_exists(child), timeout=10)


# ------------------------------------------------------------------ stale control sockets


@pytest.fixture
def socket_dir():
    # Short: a Unix socket's path has at most 107 bytes.
    path = tempfile.mkdtemp(prefix="sl-ctl-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    child.wait()
    assert not process_exists(child.pid)
    return child.pid


def left_behind(path: Path) -> None:
    """A socket file as a killed server leaves it: bound once, nobody listening now."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.close()


def test_control_sockets_of_servers_that_are_gone_are_removed_and_no_other(socket_dir):
    dead = ended_pid()
    stale = socket_dir / f"salesline-{dead}.ctl"
    left_behind(stale)
    # A live server's socket: its master's pid is alive, and while gunicorn re-opens it
    # around a fork nobody listens on it for a moment.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: S603
    alive_not_listening = socket_dir / f"salesline-{sleeper.pid}.ctl"
    left_behind(alive_not_listening)
    # Listened on, under a pid this machine does not know (a server in another container).
    listening = socket_dir / f"salesline-{ended_pid()}.ctl"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(listening))
    listener.listen()
    # Not a socket, or not one of ours.
    plain_file = socket_dir / f"salesline-{ended_pid()}.ctl"
    plain_file.write_text("not a socket")
    others = [socket_dir / "gunicorn.ctl", socket_dir / f"other-{dead}.ctl"]
    for other in others:
        left_behind(other)
    try:
        removed = remove_stale_control_sockets(socket_dir)
    finally:
        listener.close()
        sleeper.kill()
        sleeper.wait()

    assert removed == [str(stale)]
    assert not stale.exists()
    for kept in (alive_not_listening, listening, plain_file, *others):
        assert kept.exists(), kept
    assert remove_stale_control_sockets(socket_dir / "missing") == []
