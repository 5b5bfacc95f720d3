"""gunicorn settings for `salesline serve` (and the benchmarks): `gunicorn -c config/gunicorn.py`.

Threaded workers: while one request waits on the database, another runs, and connections are
kept alive between requests instead of being opened for each one. Each worker process holds one
database connection per thread. Override any of these with GUNICORN_CMD_ARGS.
"""

import os

wsgi_app = "config.wsgi:application"
workers = int(os.environ.get("SALESLINE_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("SALESLINE_THREADS", "4"))
keepalive = 5
timeout = 60
graceful_timeout = 20
max_requests = 10_000
max_requests_jitter = 1_000
