"""`salesline serve --with-worker`: the web server and one background worker, kept running.

- A worker that exits while nobody asked it to is reaped, logged (its exit status or signal) and
  started again after a back-off: `first`, doubled after each quick death up to `cap`, back to
  `first` once a worker has lived `stable_after` seconds. The new worker is told which workers
  died (`salesline worker --replaces ID`), so a task they left RUNNING — an import, say — is taken
  over at once and resumes from its last committed chunk.
- SIGTERM or SIGINT (Ctrl+C) stops both: each signal is passed on to them as it comes (a second
  one makes the worker drop its task, which goes back in the queue), and nothing is restarted.
  Children that have not ended `stop_timeout` seconds later are asked once more, and killed
  `kill_after` seconds after that.
- A web server that ends on its own stops the worker too; unless it exited with status 0 (it
  was stopped on purpose), the supervisor exits non-zero.
- The children run in process groups of their own, so a terminal's Ctrl+C reaches only the
  supervisor, which passes it on exactly once; on Linux they get SIGTERM if it is killed.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .processes import set_parent_death_signal
from .tasks import new_worker_id

logger = logging.getLogger("salesline.serve")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Dead workers whose ids are passed to the next one; older ones are left to `--stale-after`.
REMEMBER_DEAD = 10


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    cap: float = 60.0
    stable_after: float = 60.0

    def delay(self, quick_deaths: int) -> float:
        """Seconds to wait before restarting a worker after its `quick_deaths`-th death in a row
        (counted from 1)."""
        return min(self.cap, self.first * 2 ** max(quick_deaths - 1, 0))


def exit_description(returncode: int) -> str:
    """`Popen.returncode` in words: 'exited with status 3', 'was killed by signal 9 (SIGKILL)'."""
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"was killed by signal {-returncode}"
    return f"was killed by signal {-returncode} ({name})"


def configure_logging() -> None:
    """Log lines shaped like gunicorn's, so the two read as one log on stderr."""
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S %z"
        )
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


WorkerArgv = Callable[[str, Sequence[str]], list[str]]


class Supervisor:
    """Runs `server_argv` and the worker `worker_argv(worker_id, replaces)`; see the module
    docstring. `run()` must be called from the main thread (it handles signals)."""

    def __init__(
        self,
        server_argv: list[str],
        worker_argv: WorkerArgv,
        *,
        backoff: Backoff | None = None,
        stop_timeout: float = 60.0,
        kill_after: float = 10.0,
    ):
        self.server_argv = server_argv
        self.worker_argv = worker_argv
        self.backoff = backoff or Backoff()
        self.stop_timeout = stop_timeout
        self.kill_after = kill_after  # seconds after asking again
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_id = ""
        self.worker_started = 0.0
        self.dead_workers: list[str] = []
        self.quick_deaths = 0
        self.restart_at: float | None = None
        self.server_status: int | None = None
        self.stop_started: float | None = None
        self.stop_requested = False  # by a signal, rather than the web server ending
        self.stop_escalated = 0  # 1: asked again, 2: killed

    # Children -----------------------------------------------------------------------------

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        supervisor = os.getpid()
        return subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=lambda: set_parent_death_signal(signal.SIGTERM, parent_pid=supervisor),
        )

    def _start_worker(self) -> None:
        self.restart_at = None
        self.worker_id = new_worker_id()
        argv = self.worker_argv(self.worker_id, list(self.dead_workers))
        try:
            self.worker = self._spawn(argv)
        except OSError as error:
            self._worker_ended(f"could not start ({error})", ran=0.0)
            return
        self.worker_started = time.monotonic()
        if self.dead_workers:
            logger.warning(
                "Background worker restarted (pid %d); it takes over the tasks of %s.",
                self.worker.pid,
                ", ".join(self.dead_workers),
            )
        else:
            logger.info("Background worker running (pid %d).", self.worker.pid)

    def _worker_ended(self, how: str, *, ran: float) -> None:
        """Schedule the restart of a worker that ended on its own."""
        if ran >= self.backoff.stable_after:
            self.quick_deaths = 0
            self.dead_workers = []  # the last worker took over its predecessors' tasks
        self.quick_deaths += 1
        self.dead_workers = [*self.dead_workers, self.worker_id][-REMEMBER_DEAD:]
        delay = self.backoff.delay(self.quick_deaths)
        logger.error(
            "Background worker%s %s after %.0f s; starting another in %g s.",
            f" (pid {self.worker.pid})" if self.worker is not None else "",
            how,
            ran,
            delay,
        )
        self.worker = None
        self.restart_at = time.monotonic() + delay

    def _signal(self, child: subprocess.Popen | None, signum: int) -> None:
        if child is not None:
            child.send_signal(signum)  # a no-op once the child has ended

    # Stopping -----------------------------------------------------------------------------

    def _stop(self, signum: int) -> None:
        """Pass a stop signal on to both children; from now on nothing is restarted."""
        if self.stop_started is None:
            self.stop_started = time.monotonic()
            self.restart_at = None
        self._signal(self.server, signum)
        self._signal(self.worker, signum)

    def _escalate(self, now: float, stop_started: float) -> None:
        if self.stop_escalated == 0 and now >= stop_started + self.stop_timeout:
            self.stop_escalated = 1
            logger.warning(
                "Still stopping after %g s: asking again (the worker puts its task back).",
                self.stop_timeout,
            )
            self._signal(self.server, signal.SIGTERM)
            self._signal(self.worker, signal.SIGTERM)
        elif self.stop_escalated == 1 and now >= stop_started + self.stop_timeout + self.kill_after:
            self.stop_escalated = 2
            logger.error("Killing what is left (SIGKILL).")
            self._signal(self.server, signal.SIGKILL)
            self._signal(self.worker, signal.SIGKILL)

    # The loop -----------------------------------------------------------------------------

    def _next_wake(self, now: float) -> float:
        # A look every second whatever the signals say: stop deadlines need no more precision.
        if self.restart_at is None:
            return 1.0
        return max(0.0, min(1.0, self.restart_at - now))

    def _check_children(self, now: float, server: subprocess.Popen) -> None:
        if self.server_status is None and (status := server.poll()) is not None:
            self.server_status = status
            if self.stop_started is None:
                if status == 0:
                    logger.info("The web server stopped; stopping the background worker.")
                else:
                    logger.error(
                        "The web server (pid %d) %s; stopping the background worker.",
                        server.pid,
                        exit_description(status),
                    )
                self._stop(signal.SIGTERM)
        if self.worker is not None and (status := self.worker.poll()) is not None:
            if self.stop_started is not None:
                self.worker = None
            else:
                self._worker_ended(exit_description(status), ran=now - self.worker_started)

    def run(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        # Python's own handler writes each signal's number to the pipe: the loop below waits on
        # it, so it wakes at once for a stop and for a child that ended.
        previous_fd = signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
        previous = {
            signum: signal.signal(signum, lambda *_: None)
            for signum in (*STOP_SIGNALS, signal.SIGCHLD)
        }
        try:
            return self._run(wake_read)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_fd)
            os.close(wake_read)
            os.close(wake_write)
            # Only an error of our own gets here with children alive.
            for child in (self.server, self.worker):
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()

    def _run(self, wake: int) -> int:
        self._start_worker()
        self.server = server = self._spawn(self.server_argv)
        while True:
            now = time.monotonic()
            ready, _, _ = select.select([wake], [], [], self._next_wake(now))
            if ready:
                try:
                    for signum in os.read(wake, 1024):
                        if signum in STOP_SIGNALS:
                            self.stop_requested = True
                            self._stop(signum)
                except BlockingIOError:
                    pass
            now = time.monotonic()
            self._check_children(now, server)
            if self.stop_started is not None:
                if self.server_status is not None and self.worker is None:
                    break
                self._escalate(now, self.stop_started)
            elif self.restart_at is not None and now >= self.restart_at:
                self._start_worker()
        status = server.returncode
        if status > 0:
            return status
        if status < 0 and not self.stop_requested:
            return 128 - status  # the shell's way of saying "killed by signal N"
        return 0
