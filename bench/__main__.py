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
    parser.add_argument(
        "--only",
        default="lists,imports,web,moves,hostile,documents,mail,playbooks,analytics,planner,"
        "simulator,intake",
        help="comma-separated: lists,imports,web,moves,hostile,documents,mail,playbooks,"
        "analytics,planner,simulator,intake",
    )
    parser.add_argument("--repeats", type=int, default=200, help="requests per web scenario")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    urls = {"sqlite": SQLITE_URL, "postgres": PG_URL}
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        if "lists" not in chosen:
            continue
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
    if results:
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
    if "imports" in chosen:
        _imports(args, urls)
    if "web" in chosen:
        _web(args, urls)
    if "moves" in chosen:
        _moves(args, urls)
    if "hostile" in chosen:
        _hostile(urls)
    if "documents" in chosen:
        _documents(args, urls)
    if "mail" in chosen:
        _mail(args, urls)
    if "intake" in chosen:
        _intake(args, urls)
    if "playbooks" in chosen:
        _playbooks(args, urls)
    if "analytics" in chosen:
        _analytics(args, urls)
    if "referrals" in chosen:
        _referrals(args, urls)
    if "planner" in chosen:
        _planner()
    if "simulator" in chosen:
        _simulator()
    return 0


def _simulator() -> None:
    """The capacity simulator: 100 people, 52 weeks, 50 replications on 2 processes (bench/
    capacity_simulation.py); pure, so it runs once, not per database."""
    out = ROOT / "bench" / "results" / "capacity_simulation.json"
    command = [sys.executable, "-m", "bench.capacity_simulation", "--out", str(out)]
    subprocess.run(command, check=True, cwd=ROOT)


def _planner() -> None:
    """200 candidate meetings, 30 towns, 2 salespeople, 10 working days (bench/
    meeting_planner.py): the solver is pure, so it runs once, not per database."""
    out = ROOT / "bench" / "results" / "meeting_planner.json"
    command = [sys.executable, "-m", "bench.meeting_planner", "--out", str(out)]
    subprocess.run(command, check=True, cwd=ROOT)


def _documents(args, urls: dict[str, str]) -> None:
    """1,000 invoice PDFs (bench/bench_documents.py), on each database."""
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"documents_{name}.json"
        command = [sys.executable, "-m", "bench.bench_documents", "--database-url", urls[name]]
        subprocess.run(
            [*command, "--out", str(out)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        results.append((name, json.loads(out.read_text())))
    print("\n== 1,000 invoice PDFs through document_generate (in-process, one after another)")
    print(
        f"{'database':<10} {'docs/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'peak RSS MiB':>13} {'heap MiB':>9}"
    )
    for name, r in results:
        print(
            f"{name:<10} {r['documents_per_second']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
            f"{r['peak_rss_mib']:>13.0f} {r['python_heap_peak_mib']:>9.1f}"
        )


def _mail(args, urls: dict[str, str]) -> None:
    """10,000 queued messages delivered by one and two workers (bench/bench_mail.py)."""
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"mail_{name}.json"
        command = [sys.executable, "-m", "bench.bench_mail", "--database-url", urls[name]]
        print(f"\n== Mail delivery to a loopback SMTP server ({name})")
        subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)


def _intake(args, urls: dict[str, str]) -> None:
    """10,000 e-mails fetched from a loopback Dovecot as enquiries (bench/bench_mail_intake.py)."""
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"mail_intake_{name}.json"
        command = [sys.executable, "-m", "bench.bench_mail_intake", "--database-url", urls[name]]
        print(f"\n== Mail intake from a loopback IMAP server ({name})")
        subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)


def _playbooks(args, urls: dict[str, str]) -> None:
    """10,000 moves into a stage with a 3-step playbook (bench/bench_playbooks.py)."""
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"playbooks_{name}.json"
        command = [sys.executable, "-m", "bench.bench_playbooks", "--database-url", urls[name]]
        print(f"\n== Playbook triggering ({name})")
        subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)


def _referrals(args, urls: dict[str, str]) -> None:
    """One lead ranked against 1,000 members with 50 skills each (bench/bench_referrals.py)."""
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"referrals_{name}.json"
        command = [sys.executable, "-m", "bench.bench_referrals", "--database-url", urls[name]]
        print(f"\n== Referral ranking ({name})")
        subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)


def _analytics(args, urls: dict[str, str]) -> None:
    """Flow metrics and forecast over `--rows` opportunities with ten stage changes each
    (bench/bench_analytics.py): SQL in the database against the kept columnar extract."""
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"analytics_{name}.json"
        command = [sys.executable, "-m", "bench.bench_analytics", "--database-url", urls[name]]
        command += ["--opportunities", str(args.rows), "--out", str(out)]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        results.append((name, json.loads(out.read_text())))
    print(f"\n== Analytics over {args.rows:,} opportunities and their stage changes (in-process)")
    for name, r in results:
        b = r["b"]
        print(
            f"{name:<10} {b['rows']:,} changes: extract cold {b['cold_read_seconds']:.1f} s, "
            f"from the file {b['file_map_and_refresh_seconds'] * 1000:.0f} ms, warm refresh "
            f"p99 {b['warm_refresh']['p99_ms']:.1f} ms, after 100 moves "
            f"{b['refresh_after_100_moves_seconds'] * 1000:.0f} ms; peak RSS "
            f"{r['peak_rss_mib']:.0f} MiB"
        )
        end = r["end_to_end"]
        if "api_total_seconds_median" in end:
            print(
                f"{name:<10} metrics + 10,000-trial forecast (API): median "
                f"{end['api_total_seconds_median']:.2f} s, max {end['api_total_seconds_max']:.2f} s"
            )
        dashboard = end.get("dashboard")
        if isinstance(dashboard, dict):
            print(
                f"{name:<10} dashboard /reports/: p50 {dashboard['p50_ms']:.0f} ms, "
                f"p99 {dashboard['p99_ms']:.0f} ms"
            )
        miss = end.get("dashboard_miss")
        if isinstance(miss, dict):
            print(
                f"{name:<10} dashboard after a new stage change (cache miss): p50 "
                f"{miss['p50_ms']:.0f} ms, p99 {miss['p99_ms']:.0f} ms"
            )
        if "a" in r:
            print(
                f"{name:<10} approach A (SQL, part of the metrics): {r['a']['total_seconds']:.1f} s"
            )


def _hostile(urls: dict[str, str]) -> None:
    """Previews of hostile files: the reader decides, so one database (SQLite) is enough."""
    print("\n== Previews of hostile import files (each in a fresh process; peak RSS)")
    out = ROOT / "bench" / "results" / "hostile_files.json"
    command = [sys.executable, "-m", "bench.hostile_files", "--database-url", urls["sqlite"]]
    subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)


def _moves(args, urls: dict[str, str]) -> None:
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"moves_{name}.json"
        command = [sys.executable, "-m", "bench.moves", "--database-url", urls[name]]
        command += ["--rows", str(args.rows), "--out", str(out)]
        subprocess.run(command, check=True, cwd=ROOT)
        results.append((name, json.loads(out.read_text())))
    rows = results[0][1]["rows"] if results else 0
    print(f"\n== Gated stage move through the API over {rows:,} opportunities (in-process)")
    print(f"{'database':<10} {'scenario':<44} {'p50 ms':>8} {'p99 ms':>8}")
    for name, result in results:
        for row in result["scenarios"]:
            print(f"{name:<10} {row['name']:<44} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}")
    handler = results[0][1]["event_handler"] if results else {}
    print(
        f"\n== {handler.get('moves_each_way', 0):,} stage moves (opportunity_move, in-process, "
        f"{handler.get('rounds', 0)} interleaved rounds each way) with one no-op "
        f"'{handler.get('event_kind', '')}' handler, against none"
    )
    print(
        f"{'database':<10} {'without moves/s':>15} {'with moves/s':>13} {'ratio':>7}  (ratio: time with / time without)"
    )
    for name, result in results:
        row = result["event_handler"]
        without = row.get("without_moves_per_second")
        shown = f"{without:>15,.0f}" if without else f"{'-':>15}"
        if "ratio_time_with_to_without" in row:
            print(
                f"{name:<10} {shown} {row['with_moves_per_second']:>13,.0f} "
                f"{row['ratio_time_with_to_without']:>7.3f}  {row['handler_calls']:,} calls "
                f"via {row['seam']}"
            )
        elif row.get("seam"):
            print(f"{name:<10} {shown} {'n/a':>13} {'n/a':>7}  event seam {row['seam']}")
        else:
            print(f"{name:<10} {shown} {'n/a':>13} {'n/a':>7}  n/a (no event seam)")


def _web(args, urls: dict[str, str]) -> None:
    results = []
    for name in args.db.split(","):
        if name == "postgres":
            _ensure_postgres_database(PG_URL)
        out = ROOT / "bench" / "results" / f"web_pages_{name}.json"
        command = [sys.executable, "-m", "bench.web_pages", "--database-url", urls[name]]
        command += ["--rows", str(args.rows), "--repeats", str(args.repeats), "--out", str(out)]
        subprocess.run(command, check=True, cwd=ROOT)
        results.append((name, json.loads(out.read_text())))
    print(f"\n== Web pages: server time over {args.rows:,} opportunities (in-process)")
    print(f"{'database':<10} {'scenario':<36} {'p50 ms':>8} {'p99 ms':>8}")
    for name, result in results:
        for row in result["scenarios"]:
            print(f"{name:<10} {row['name']:<36} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}")
    print("\n== Page weight (HTML + CSS + JS)")
    for name, result in results[:1]:
        for row in result["weights"]:
            print(
                f"{row['path']:<10} raw {row['raw_bytes'] / 1024:6.1f} kB, "
                f"gzip {row['gzip_bytes'] / 1024:6.1f} kB ({name})"
            )


def _imports(args, urls: dict[str, str]) -> None:
    results = []
    for name in args.db.split(","):
        out = ROOT / "bench" / "results" / f"imports_{name}.json"
        command = [sys.executable, "-m", "bench.imports", "--database-url", urls[name]]
        command += ["--rows", str(args.rows), "--existing", str(args.rows), "--out", str(out)]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        results.append((name, json.loads(out.read_text())))
    print(f"\n== Import of {args.rows:,} leads into {args.rows:,} existing")
    print(
        f"{'database':<10} {'rows/s':>8} {'seconds':>8} {'raw rows/s':>10} {'ratio':>6} "
        f"{'peak MiB':>9}  phases (s)"
    )
    for name, result in results:
        run, raw, phases = result["import"], result["raw_insert"], result["phases"]
        timings = run["timings"]
        print(
            f"{name:<10} {run['rows_per_second']:>8,.0f} {run['seconds']:>8.1f} "
            f"{raw['rows_per_second']:>10,.0f} {run['ratio_to_raw_insert']:>6.2f} "
            f"{max(run['peak_rss_mib'], run['peak_rss_normaliser_process_mib']):>9.0f}  "
            f"parse {phases['parse_seconds']:.1f}, normalise (1 core) "
            f"{phases['normalise_one_core_seconds_estimated']:.1f}, waiting for normalised "
            f"rows {timings['parse_normalise']:.1f}, match {timings['match']:.1f}, "
            f"write {timings['write']:.1f}"
        )


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
