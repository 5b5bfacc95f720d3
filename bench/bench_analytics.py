"""Analytics at scale (issue 12): 1,000,000 opportunities, ~10,000,000 stage changes
(bench/flow_history.py), in-process, one database per run.

Measured, side by side:

A  "the database does it": the flow metrics of one pipeline and one quarter as SQL over
   StageChange (portable to both databases): arrivals per stage, exits by destination with
   their durations (LAG over each opportunity's changes), work in progress at the quarter's
   end (each opportunity's last change before it). Only part of the metrics: a lower bound of
   what this approach costs.
B  the columnar extract (salesline/analytics/extract.py): the history read once into NumPy
   columns, kept in memory and in memory-mapped files, refreshed incrementally. Timed: the
   cold read (and, for comparison, the ORM read it replaced, on the first million rows), a
   new process mapping the file, a refresh with nothing new, a refresh after 100 new moves.
Then, on B, the issue's target: all flow metrics for one pipeline and quarter plus a
10,000-trial Monte-Carlo forecast of the open opportunities, through the API
(`/api/v1/metrics/flow`, `/api/v1/forecast`) when those endpoints exist, and the dashboard
page's server time (p50/p99) when `/reports/` exists.

Peak memory: tracemalloc's peak (NumPy's arrays included) during the cold read, and the
process's peak resident set (getrusage).

    python -m bench.bench_analytics --database-url URL [--opportunities N] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bench.api_lists import setup_django
from bench.flow_history import PIPELINE, ensure_history

QUARTER = 3  # months: the period the metrics are asked for (the last whole quarter)
WARM_CALLS = 50


def last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    first_month = ((today.month - 1) // 3) * 3 + 1
    end = dt.date(today.year, first_month, 1) - dt.timedelta(days=1)
    start = dt.date(end.year, ((end.month - 1) // 3) * 3 + 1, 1)
    return start, end


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CPU_SECONDS: list[float] = []


def seconds_of(function, *args, **kwargs):
    """Wall-clock seconds of a call (returned) and its CPU seconds (appended to CPU_SECONDS:
    on a shared, loaded machine the CPU time tells what the work itself costs)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    CPU_SECONDS.append(time.process_time() - cpu)
    return time.perf_counter() - started, result


def spread(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "calls": len(ordered),
    }


# ---------------------------------------------------------------- A: SQL in the database


def approach_a(organisation, start: dt.date, end: dt.date) -> dict:
    from django.db import connection

    begin = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    org = organisation.pk
    live = (
        "JOIN pipeline_opportunity o ON o.id = c.opportunity_id AND o.deleted_at IS NULL "
        "WHERE c.organisation_id = %s AND c.to_pipeline_key = %s"
    )
    if connection.vendor == "postgresql":
        duration = "extract(epoch FROM w.at - w.entered) / 86400.0"
    else:
        duration = "julianday(w.at) - julianday(w.entered)"
    queries = {
        "arrivals": (
            f"SELECT c.to_stage, count(*) FROM pipeline_stagechange c {live} "
            "AND c.at >= %s AND c.at < %s GROUP BY c.to_stage",
            [org, PIPELINE, begin, finish],
        ),
        # The stay a change ends began at the same opportunity's previous change.
        "exits_with_durations": (
            "WITH moved AS (SELECT DISTINCT opportunity_id FROM pipeline_stagechange "
            "WHERE organisation_id = %s AND at >= %s AND at < %s), "
            "w AS (SELECT c.from_stage, c.to_stage, c.at, LAG(c.at) OVER "
            "(PARTITION BY c.opportunity_id ORDER BY c.at, c.id) AS entered "
            f"FROM pipeline_stagechange c {live} "
            "AND c.opportunity_id IN (SELECT opportunity_id FROM moved)) "
            f"SELECT w.from_stage, w.to_stage, {duration} FROM w "
            "WHERE w.at >= %s AND w.at < %s AND w.entered IS NOT NULL",
            [org, begin, finish, org, PIPELINE, begin, finish],
        ),
        "wip_at_end": (
            "SELECT to_stage, count(*) FROM (SELECT c.to_stage, ROW_NUMBER() OVER "
            "(PARTITION BY c.opportunity_id ORDER BY c.at DESC, c.id DESC) AS latest "
            f"FROM pipeline_stagechange c {live} AND c.at < %s) AS last_changes "
            "WHERE latest = 1 GROUP BY to_stage",
            [org, PIPELINE, finish],
        ),
    }
    timings = {}
    medians = {}
    with connection.cursor() as cursor:
        for name, (sql, params) in queries.items():
            started = time.perf_counter()
            # The database's own CPU time is not this process's: A's figures are wall-clock.
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if name == "exits_with_durations":
                # Median and 85th percentile per stage: in Python, SQLite has no percentile.
                by_stage: dict[str, list[float]] = {}
                for from_stage, _, days in rows:
                    by_stage.setdefault(from_stage, []).append(float(days))
                medians = {
                    stage: float(np.percentile(days, [50, 85])[0])
                    for stage, days in by_stage.items()
                }
            timings[name] = time.perf_counter() - started
            print(f"A {name}: {timings[name]:.2f} s ({len(rows):,} rows)", file=sys.stderr)
    return {"seconds": timings, "total_seconds": sum(timings.values()), "medians": medians}


# ---------------------------------------------------------------- B: the columnar extract


def orm_read(organisation, limit: int) -> tuple[float, float]:
    """The read extract.py replaced: the ORM, row by row into Python lists (first `limit`
    rows only: the whole history this way takes minutes)."""
    from salesline.analytics.history import KIND_CODES, OPEN, epoch_seconds
    from salesline.pipeline.models import StageChange

    started, cpu = time.perf_counter(), time.process_time()
    rows = (
        StageChange.objects.filter(
            organisation=organisation,
            opportunity__isnull=False,
            opportunity__deleted_at__isnull=True,
        )
        .order_by("opportunity_ref", "at", "id")
        .values_list("opportunity_ref", "at", "to_pipeline_key", "to_stage", "to_stage_kind")[
            :limit
        ]
    )
    stages: dict = {}
    columns: tuple[list, list, list, list] = ([], [], [], [])
    for ref, moment, pipeline, stage_key, stage_kind in rows.iterator(chunk_size=10_000):
        columns[0].append(ref)
        columns[1].append(epoch_seconds(moment))
        columns[2].append(stages.setdefault((pipeline, stage_key), len(stages)))
        columns[3].append(KIND_CODES.get(stage_kind, OPEN))
    np.array(columns[0], dtype=np.int64)
    return time.perf_counter() - started, time.process_time() - cpu


def plain_cursor_read(organisation) -> tuple[float, float]:
    """PostgreSQL only: the extract's query through a plain cursor (fetchmany, tuples) instead
    of COPY's binary rows."""
    from django.db import connection

    from salesline.analytics import extract

    stages = extract._stage_codes(organisation)
    codes, params = extract._code_sql(stages)
    sql = (
        f"SELECT id, opportunity_id, {extract._epoch_sql()}, {codes} "  # noqa: S608 - code-built
        "FROM pipeline_stagechange WHERE organisation_id = %s AND opportunity_id IS NOT NULL"
    )
    started, cpu = time.perf_counter(), time.process_time()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, organisation.pk])
        chunks = []
        while rows := cursor.fetchmany(200_000):
            chunks.append(np.array(rows, dtype=np.int64))
    np.concatenate(chunks)
    return time.perf_counter() - started, time.process_time() - cpu


def add_moves(organisation, count: int) -> list[int]:
    """`count` new moves of open opportunities, as rows (what opportunity_move writes)."""
    from django.utils import timezone

    from salesline.pipeline.models import Opportunity, StageChange

    opened = Opportunity.objects.filter(organisation=organisation, status="open").values_list(
        "id", "pipeline_id", "stage__key"
    )[:count]
    now = timezone.now()
    created = StageChange.objects.bulk_create(
        StageChange(
            organisation=organisation,
            opportunity_id=pk,
            opportunity_ref=pk,
            pipeline_id=pipeline_id,
            to_pipeline_key=PIPELINE,
            to_stage="lost",
            to_stage_kind="lost",
            from_pipeline_id=pipeline_id,
            from_pipeline_key=PIPELINE,
            from_stage=stage,
            from_stage_kind="open",
            actor_label="bench",
            at=now,
        )
        for pk, pipeline_id, stage in opened
    )
    return [change.pk for change in created]


def approach_b(organisation, *, orm_rows: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from salesline.analytics import extract
    from salesline.pipeline.models import StageChange

    figures: dict = {}
    settings.ANALYTICS_CACHE_DIR = tempfile.mkdtemp(prefix="salesline-bench-analytics-")
    extract.forget()
    tracemalloc.start()
    cold, history = seconds_of(extract.flow_history, organisation)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures["rows"] = len(history)
    figures["cold_read_seconds"] = cold
    figures["cold_read_cpu_seconds"] = CPU_SECONDS[-1]
    figures["cold_read_python_peak_mib"] = peak / 2**20
    figures["columns_mib"] = (
        sum(getattr(history, name).nbytes for name in ("opportunity", "at", "stage", "kind"))
        / 2**20
    )
    print(
        f"B cold read: {cold:.2f} s, {len(history):,} rows, peak {peak / 2**20:.0f} MiB",
        file=sys.stderr,
    )

    extract.forget()
    figures["file_map_and_refresh_seconds"], _ = seconds_of(extract.flow_history, organisation)
    figures["file_map_and_refresh_cpu_seconds"] = CPU_SECONDS[-1]
    samples = []
    for _ in range(WARM_CALLS):
        elapsed, _ = seconds_of(extract.flow_history, organisation)
        samples.append(elapsed)
    figures["warm_refresh"] = spread(samples)
    figures["warm_refresh"]["cpu_p50_ms"] = statistics.median(CPU_SECONDS[-WARM_CALLS:]) * 1000
    added = add_moves(organisation, 100)
    figures["refresh_after_100_moves_seconds"], refreshed = seconds_of(
        extract.flow_history, organisation
    )
    figures["refresh_after_100_moves_cpu_seconds"] = CPU_SECONDS[-1]
    figures["rows_after_moves"] = len(refreshed)
    StageChange.objects.filter(organisation=organisation, pk__in=added).delete()
    extract.forget()
    print(
        f"B file map + refresh {figures['file_map_and_refresh_seconds'] * 1000:.0f} ms, warm "
        f"p50 {figures['warm_refresh']['p50_ms']:.1f} ms p99 {figures['warm_refresh']['p99_ms']:.1f}"
        f" ms, after 100 moves {figures['refresh_after_100_moves_seconds'] * 1000:.0f} ms",
        file=sys.stderr,
    )
    figures["orm_read_rows"] = orm_rows
    figures["orm_read_seconds"], figures["orm_read_cpu_seconds"] = orm_read(organisation, orm_rows)
    scale = len(history) / orm_rows
    figures["orm_read_seconds_extrapolated"] = figures["orm_read_seconds"] * scale
    figures["orm_read_cpu_seconds_extrapolated"] = figures["orm_read_cpu_seconds"] * scale
    # The extract's query alone (no sort), as the extract reads it: COPY on PostgreSQL.
    stages = extract._stage_codes(organisation)
    figures["query_seconds"], _ = seconds_of(extract._select_rows, organisation, stages, "", [])
    figures["query_cpu_seconds"] = CPU_SECONDS[-1]
    if connection.vendor == "postgresql":
        plain = plain_cursor_read(organisation)
        figures["plain_cursor_query_seconds"], figures["plain_cursor_query_cpu_seconds"] = plain
    print(f"B reads compared: {figures}", file=sys.stderr)
    return figures


def numpy_pass(organisation, start: dt.date, end: dt.date) -> dict:
    """What the metrics do with the columns, when the flow module is not there to call: the
    stays, the quarter's masks, arrivals and exits per stage, percentiles of the durations,
    work in progress at the end."""
    from salesline.analytics.extract import flow_history
    from salesline.analytics.history import DAY, stays_of

    flow_history(organisation)  # kept from here on, as in a running app process
    started, cpu = time.perf_counter(), time.process_time()
    history = flow_history(organisation)
    stays = stays_of(history)
    begin = int(dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp())
    finish = int(
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC).timestamp()
    )
    count = len(history.stages)
    arrivals = np.bincount(
        history.stage[(history.at >= begin) & (history.at < finish)], minlength=count
    )
    ended = (stays.left >= begin) & (stays.left < finish)
    exits = np.bincount(stays.stage[ended] * count + stays.to_stage[ended], minlength=count * count)
    days = (stays.left[ended] - stays.entered[ended]) / DAY
    order = np.argsort(stays.stage[ended], kind="stable")
    bounds = np.searchsorted(stays.stage[ended][order], np.arange(count + 1))
    percentiles = [
        np.percentile(days[order][a:b], [50, 85]) if b > a else None
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    in_stage = (stays.entered < finish) & ((stays.left == -1) | (stays.left >= finish))
    wip = np.bincount(stays.stage[in_stage], minlength=count)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "arrivals": arrivals.tolist(),
        "exits": int(exits.sum()),
        "wip": wip.tolist(),
        "stages_with_durations": sum(p is not None for p in percentiles),
    }


# ---------------------------------------------------------------- the target, end to end


def end_to_end(organisation, start: dt.date, end: dt.date, repeats: int) -> dict:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from salesline.accounts import services as accounts

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    email = "flow-admin@bench.example"
    try:
        admin = accounts.user_get(email=email)
    except Exception:  # noqa: BLE001 - not there yet
        admin = accounts.user_create(
            email=email,
            actor=accounts.system_actor(organisation),
            role="admin",
            password="x" * 12,
        )
    _, token = accounts.token_create(
        user=admin, actor=accounts.system_actor(organisation), name="bench analytics"
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    flow_path = f"/api/v1/metrics/flow?pipeline={PIPELINE}&from={start}&to={end}"
    forecast_path = f"/api/v1/forecast?pipeline={PIPELINE}&trials=10000&seed=7&horizon=6"
    result: dict = {}
    first = api.get(flow_path)
    if first.status_code == 404 and b"Not Found" in first.content[:200]:
        result["api"] = "n/a (no /api/v1/metrics/flow yet)"
        result["numpy_pass"] = numpy_pass(organisation, start, end)
        print(
            f"numpy pass over the kept extract: {result['numpy_pass']['seconds']:.2f} s",
            file=sys.stderr,
        )
    else:
        rounds = []
        for _ in range(5):
            flow_seconds, flow = seconds_of(api.get, flow_path)
            forecast_seconds, forecast = seconds_of(api.get, forecast_path)
            rounds.append(
                {
                    "flow_seconds": flow_seconds,
                    "forecast_seconds": forecast_seconds,
                    "flow_cpu_seconds": CPU_SECONDS[-2],
                    "forecast_cpu_seconds": CPU_SECONDS[-1],
                    "total_seconds": flow_seconds + forecast_seconds,
                    "flow_status": flow.status_code,
                    "forecast_status": forecast.status_code,
                }
            )
            print(
                f"metrics {flow_seconds:.2f} s ({flow.status_code}) + forecast "
                f"{forecast_seconds:.2f} s ({forecast.status_code})",
                file=sys.stderr,
            )
        result["api_rounds"] = rounds
        result["api_total_seconds_median"] = statistics.median(r["total_seconds"] for r in rounds)
        result["api_total_seconds_max"] = max(r["total_seconds"] for r in rounds)
        if flow.status_code == 200:
            body = flow.json()
            result["flow_sample"] = {
                "stages": [(s["stage"], s["arrivals"], s["wip"]) for s in body["stages"]],
                "win_rate": body["win_rate"],
                "bottleneck": (body.get("bottleneck") or {}).get("stage"),
            }
    page = Client()
    page.force_login(admin)
    probe = page.get("/reports/")
    if probe.status_code == 404:
        result["dashboard"] = "n/a (no /reports/ yet)"
    else:
        samples = []
        for _ in range(repeats):
            elapsed, response = seconds_of(page.get, "/reports/")
            samples.append(elapsed)
        result["dashboard"] = {
            **spread(samples),
            "cpu_p99_ms": sorted(CPU_SECONDS[-repeats:])[min(repeats - 1, int(repeats * 0.99))]
            * 1000,
            "status": response.status_code,
        }
        print(f"dashboard {result['dashboard']}", file=sys.stderr)
        # A miss: the first request after a new stage change (its cache key moves) or with a
        # filter nobody asked for yet computes the dashboard from the kept extract.
        from django.core.cache import cache

        misses = []
        for _ in range(min(repeats, 10)):
            cache.clear()
            elapsed, response = seconds_of(page.get, "/reports/")
            misses.append(elapsed)
        result["dashboard_miss"] = {**spread(misses), "status": response.status_code}
        print(f"dashboard, cache miss {result['dashboard_miss']}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--orm-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=100, help="dashboard requests")
    parser.add_argument(
        "--parts", default="b,end,a", help="comma-separated: b (extract), end (API, page), a (SQL)"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection

    organisation, generation = ensure_history(args.opportunities)
    start, end = last_quarter(dt.datetime.now(dt.UTC).date())
    result: dict = {
        "database": connection.vendor,
        "generation": generation,
        "period": [start.isoformat(), end.isoformat()],
    }
    parts = set(args.parts.split(","))
    if "b" in parts:
        result["b"] = approach_b(organisation, orm_rows=args.orm_rows)
    if "end" in parts:
        result["end_to_end"] = end_to_end(organisation, start, end, args.repeats)
    if "a" in parts:
        result["a"] = approach_a(organisation, start, end)
    result["peak_rss_mib"] = peak_rss_mib()
    if "b" in parts:
        shutil.rmtree(settings.ANALYTICS_CACHE_DIR, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
