"""Child processes that end with the process they work for (pure: no Django).

A process killed with SIGKILL runs no clean-up, so its children must notice on their own:

- `set_parent_death_signal` asks Linux to send a signal when the parent ends (`PR_SET_PDEATHSIG`);
  a no-op elsewhere. It survives `exec`, so it suits a `subprocess.Popen(preexec_fn=...)`.
- `exit_with_owner` is for a pool's children (a `ProcessPoolExecutor` initializer): it ends the
  child when the process that created the pool ends. The child's own parent may be
  multiprocessing's fork server rather than that process, and the fork server outlives it as
  long as the children do, so the owner is watched directly: through a pidfd on Linux (woken the
  moment the owner exits, even before it is reaped), else by polling its pid.

A killed gunicorn master leaves its control socket file behind too: `remove_stale_control_sockets`
clears those of servers that are gone when the next one starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import select
import signal
import socket
import stat
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
#: Seconds between two looks at the owner where no pidfd is available.
POLL_SECONDS = 1.0


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


# Loaded once, before any fork: a `preexec_fn` should do as little as it can.
_LIBC = _libc()


def set_parent_death_signal(signum: int, *, parent_pid: int | None = None) -> bool:
    """Have the kernel send `signum` to this process when its parent ends (Linux); whether it
    could. With `parent_pid`, a parent that ended before the call counts too: the signal is
    sent at once."""
    if _LIBC is None or _LIBC.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)  # the parent is already gone: we were re-parented
    return True


def process_exists(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as ended where /proc tells)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but another user's
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (command) state ...": the command may hold spaces and parentheses.
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


# The control socket `salesline serve` gives each gunicorn master (config/gunicorn.py).
CONTROL_SOCKET_NAME = re.compile(r"salesline-(\d{1,10})\.ctl")


def _listened_on(path: str) -> bool:
    """Whether a process accepts connections on the Unix socket at `path`. Anything but a
    plain refusal (a full backlog, no permission) counts as listened on: such a socket is kept."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True
    finally:
        probe.close()
    return True


def remove_stale_control_sockets(folder: str | os.PathLike[str]) -> list[str]:
    """Remove the control sockets (`salesline-<pid>.ctl`) in `folder` that servers killed
    without clean-up left behind (SIGKILL, a power cut); returns their paths. A socket is stale
    only when both its master's pid is no live process and nobody accepts connections on it,
    so a live server's is never touched — not even while gunicorn briefly closes it to fork a
    worker, nor one of a server in another pid namespace. Anything else there is left alone."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no such folder yet: nothing was ever left there
        return removed
    for entry in entries:
        name = CONTROL_SOCKET_NAME.fullmatch(entry.name)
        if name is None:
            continue
        pid = int(name[1])
        try:
            is_socket = stat.S_ISSOCK(os.lstat(entry.path).st_mode)
        except OSError:
            continue
        if not is_socket or pid == os.getpid() or process_exists(pid):
            continue
        if _listened_on(entry.path):
            continue
        try:
            os.unlink(entry.path)
        except OSError:  # removed meanwhile, or not ours to remove
            continue
        removed.append(entry.path)
    return removed


def _watch_owner(owner_pid: int, pidfd: int | None, poll_seconds: float) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable once the owner has exited
    else:
        while process_exists(owner_pid):
            time.sleep(poll_seconds)
    os._exit(1)  # the owner is gone and nobody will read this process's results


def exit_with_owner(owner_pid: int, poll_seconds: float = POLL_SECONDS) -> None:
    """End this process as soon as `owner_pid` ends. Meant as a pool's `initializer`, with the
    pool creator's `os.getpid()` as the argument."""
    set_parent_death_signal(signal.SIGKILL)  # covers the direct parent (the fork server)
    pidfd: int | None = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(owner_pid)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pidfd = None  # a kernel without pidfds (before Linux 5.3): poll instead
    threading.Thread(
        target=_watch_owner,
        args=(owner_pid, pidfd, poll_seconds),
        name=f"exit-with-{owner_pid}",
        daemon=True,
    ).start()
