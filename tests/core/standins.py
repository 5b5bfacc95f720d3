"""`python -m tests.core.standins SCENARIO`: a Supervisor over stand-in processes (tiny Python
programs instead of gunicorn and `salesline worker`), for tests/core/test_supervisor.py."""

import os
import sys
from collections.abc import Sequence

from salesline.core.supervisor import Backoff, Supervisor, configure_logging

SLEEP = "import time; time.sleep(60)"
# The stand-ins share the supervisor's stdout. Each line is one os.write: with
# PYTHONUNBUFFERED set, print writes the text and its newline apart, and two stand-ins
# starting at once then interleave ("server readyworker ready\n", "\n").
# The same, saying when it is past Python's start-up: a SIGINT before that is a
# KeyboardInterrupt inside `site`, an exit with status 1, not a stop.
READY_SERVER = "import os, time; os.write(1, b'server ready\\n'); time.sleep(60)"
# Reports every stop signal it gets on stdout; exits 0 after the first.
POLITE = (
    "import os, signal, sys, time\n"
    "def stop(signum, frame):\n"
    "    os.write(1, f'worker got {signal.Signals(signum).name}\\n'.encode())\n"
    "    time.sleep(0.5)\n"  # a second signal, if any, arrives meanwhile
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "signal.signal(signal.SIGINT, stop)\n"
    "os.write(1, b'worker ready\\n')\n"
    "time.sleep(60)\n"
)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def backoff_worker(starts: list[int]):
    """Dies at once four times, then lives past `stable_after` and is killed, then stays."""

    def argv(worker_id: str, replaces: Sequence[str]) -> list[str]:
        starts.append(1)
        os.write(1, f"start {len(starts)} replaces {len(replaces)}\n".encode())
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
            "import os, signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "os.write(1, b'worker ready\\n')\n"
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
