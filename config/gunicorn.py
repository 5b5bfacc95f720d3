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
