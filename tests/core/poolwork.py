"""Work for the process-pool tests: importable by a pool's children."""

import os
import time


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
