"""`make bench`: every benchmark, on SQLite and on PostgreSQL. Never part of `make test`.

Each database runs in its own process (Django's settings are per process). Figures are printed
and written to bench/results/*.json.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/salesline_bench")
SQLITE_URL = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="per scenario")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    urls = {"sqlite": SQLITE_URL, "postgres": PG_URL}
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"api_lists_{name}.json"
        command = [
            sys.executable,
            "-m",
            "bench.api_lists",
            "--database-url",
            urls[name],
            "--rows",
            str(args.rows),
            "--seconds",
            str(args.seconds),
            "--clients",
            str(args.clients),
            "--out",
            str(out),
        ]
        subprocess.run(command, check=True, cwd=ROOT)
        results.append((name, json.loads(out.read_text())))
    print(f"\n== API list benchmark (gunicorn, 2 workers, {args.clients} clients)")
    print(f"{'database':<10} {'scenario':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, result in results:
        for row in result["scenarios"]:
            print(
                f"{name:<10} {row['name']:<34} {row['rps']:>8.0f} {row['p50_ms']:>8.1f} "
                f"{row['p99_ms']:>8.1f}"
            )
        gen = result["generation"]
        if gen.get("rows"):
            print(
                f"{name:<10} generated {gen['rows']:,} leads in {gen['seconds']:.1f} s "
                f"({gen['rows_per_second']:,.0f} rows/s)"
            )
    return 0


def _ensure_postgres_database(url: str) -> None:
    database = url.rsplit("/", 1)[1]
    check = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
            "postgres",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if check.stdout.strip() != "1":
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                f'CREATE DATABASE "{database}"',
                "postgres",
            ],
            check=True,
        )


if __name__ == "__main__":
    sys.exit(main())
