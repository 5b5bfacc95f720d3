"""`python -m tests.core.standins SCENARIO`: a Supervisor over stand-in processes (tiny Python
programs instead of gunicorn and `salesline worker`), for tests/core/test_supervisor.py."""

import sys
from collections.abc import Sequence

from salesline.core.supervisor import Backoff, Supervisor, configure_logging

SLEEP = "import time; time.sleep(60)"
# The same, saying when it is past Python's start-up: a SIGINT before that is a
# KeyboardInterrupt inside `site`, an exit with status 1, not a stop.
READY_SERVER = "import time; print('server ready', flush=True); time.sleep(60)"
# Reports every stop signal it gets on stdout; exits 0 after the first.
POLITE = (
    "import signal, sys, time\n"
    "def stop(signum, frame):\n"
    "    print('worker got', signal.Signals(signum).name, flush=True)\n"
    "    time.sleep(0.5)\n"  # a second signal, if any, arrives meanwhile
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "signal.signal(signal.SIGINT, stop)\n"
    "print('worker ready', flush=True)\n"
    "time.sleep(60)\n"
)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def backoff_worker(starts: list[int]):
    """Dies at once four times, then lives past `stable_after` and is killed, then stays."""

    def argv(worker_id: str, replaces: Sequence[str]) -> list[str]:
        starts.append(1)
        print(f"start {len(starts)} replaces {len(replaces)}", flush=True)
        if len(starts) <= 4:
            return python("import sys; sys.exit(3)")
        if len(starts) == 5:
            return python("import os, signal, time; time.sleep(1.5); os.kill(os.getpid(), 9)")
        return python(POLITE)

    return argv


def main(scenario: str) -> int:
    configure_logging()
    if scenario == "backoff":
        supervisor = Supervisor(
            python(SLEEP),
            backoff_worker([]),
            backoff=Backoff(first=0.1, cap=0.4, stable_after=1.0),
        )
    elif scenario == "stop-during-backoff":
        supervisor = Supervisor(
            python(SLEEP),
            lambda worker_id, replaces: python("import sys; sys.exit(3)"),
            backoff=Backoff(first=30.0),
        )
    elif scenario == "server-fails":
        supervisor = Supervisor(
            python("import time; time.sleep(1.5); raise SystemExit(4)"),
            lambda worker_id, replaces: python(POLITE),
        )
    elif scenario == "signals":
        supervisor = Supervisor(python(READY_SERVER), lambda worker_id, replaces: python(POLITE))
    elif scenario == "stubborn":
        stubborn = (
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('worker ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        supervisor = Supervisor(
            python(SLEEP),
            lambda worker_id, replaces: python(stubborn),
            stop_timeout=0.5,
            kill_after=0.5,
        )
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
