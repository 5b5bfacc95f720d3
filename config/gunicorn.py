"""gunicorn settings for `salesline serve` and the benchmarks: `gunicorn -c config/gunicorn.py`.

Sync workers, one process per core: a list request is CPU-bound Python (~4 ms), so threads only
contend for the interpreter lock — measured on 2 cores with 8 clients, threaded workers had the
same throughput and twice the p99. Scale with more processes or more machines (docs/deployment.md).
Override any setting with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

wsgi_app = "config.wsgi:application"
workers = int(os.environ.get("SALESLINE_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
timeout = 60
graceful_timeout = 20
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 10_000
max_requests_jitter = 1_000
# Load the application (Django's set-up and the URL configuration: ~1.6 s) once in the master:
# a worker then starts as a fork ready to serve. Without it, every recycled worker spent that
# long loading while the others took its share of the load — in the list benchmark, the p99 of
# the ten seconds that held a restart went from ~30 ms to over a second. The master opens no
# database connection (config/wsgi.py), so no worker inherits one.
preload_app = True


def _control_socket() -> str:
    """gunicorn's control socket (for `gunicornc`), one per server: gunicorn's default path is
    shared by every instance of a user, so starting a second took the first one's socket and
    stopping either removed the other's. This one is named after the master's pid, in the folder
    gunicorn would use ($XDG_RUNTIME_DIR, else ~/.gunicorn, which gunicorn creates 0700)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = runtime if runtime and os.path.isdir(runtime) else os.path.expanduser("~/.gunicorn")
    return os.path.join(folder, f"salesline-{os.getpid()}.ctl")


# The config is read by the master process, so this is the master's pid.
control_socket = _control_socket()


def on_starting(server):
    """Before the master starts: remove the control sockets that servers killed without their
    clean-up (SIGKILL) left in the folder, never one a live server uses
    (salesline.core.processes.remove_stale_control_sockets says how it tells)."""
    from salesline.core.processes import remove_stale_control_sockets

    folder = os.path.dirname(os.path.abspath(server.cfg.control_socket))
    for path in remove_stale_control_sockets(folder):
        server.log.info("Removed the control socket of a server that is gone: %s", path)


def post_fork(server, worker):
    """A worker stops with its master, even a killed one (Linux), instead of noticing only at
    its next check of the parent pid (up to `timeout / 2` seconds later)."""
    import signal

    from salesline.core.processes import set_parent_death_signal

    set_parent_death_signal(signal.SIGTERM, parent_pid=server.pid)
