"""Metrics + forecast as the selectors compute them, timed call after call in one process.

    .venv/bin/python -m bench.analytics_calls --database-url URL [--rounds 3] [--profile]
        [--profile-first] [--cold-read]

Reads the organisation that `bench.flow_history` generated (generating it if missing), keeps
its extract (`flow_history`), then times `flow_report` for the last whole quarter plus a
10,000-trial, six-month `forecast_report`, and prints wall and CPU seconds per round and the
peak resident set. `--profile` adds a cProfile of one more round (the top 35 by cumulative time),
`--profile-first` one of the first round; `--cold-read` first reads the history afresh as the
worker does (in ranges of ids, reporting progress) and times it.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import resource
import time

from bench.api_lists import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--cold-read",
        action="store_true",
        help="first read the history afresh as the worker does (in parts, with progress)",
    )
    parser.add_argument(
        "--profile-first", action="store_true", help="profile the first round (a new process)"
    )
    args = parser.parse_args()
    setup_django(args.database_url)

    from bench.bench_analytics import last_quarter
    from bench.flow_history import PIPELINE, ensure_history
    from salesline.accounts import services as accounts
    from salesline.analytics.extract import flow_history
    from salesline.analytics.filters import parse_metric_filters
    from salesline.analytics.flow_selectors import flow_report
    from salesline.analytics.forecast_selectors import forecast_report

    organisation, _ = ensure_history(1_000_000)
    actor = accounts.system_actor(organisation)
    if args.cold_read:
        from salesline.analytics.extract import read_and_keep

        wall, cpu = time.perf_counter(), time.process_time()

        def progress(rows: int, done: float) -> None:
            print(f"  {rows:,} changes, {done:.0%}, {time.perf_counter() - wall:.1f} s")

        read_and_keep(organisation, progress=progress)
        print(
            f"cold read (the worker's): {time.perf_counter() - wall:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU, peak resident set "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
    wall, cpu = time.perf_counter(), time.process_time()
    history = flow_history(organisation)
    print(
        f"extract: {len(history):,} changes, {time.perf_counter() - wall:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU"
    )
    start, end = last_quarter(dt.datetime.now(dt.UTC).date())

    def both() -> None:
        period = {"pipeline": PIPELINE, "from": str(start), "to": str(end)}
        flow_report(actor=actor, filters=parse_metric_filters(actor, period))
        forecast_report(
            actor=actor,
            filters=parse_metric_filters(actor, {"pipeline": PIPELINE}),
            trials=10_000,
            seed=7,
            horizon=6,
        )

    for round_number in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        if round_number == 0 and args.profile_first:
            first = cProfile.Profile()
            first.enable()
            both()
            first.disable()
        else:
            both()
        print(
            f"round {round_number}: metrics + forecast {time.perf_counter() - wall:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU"
        )
    if args.profile_first:
        pstats.Stats(first).sort_stats("cumulative").print_stats(40)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        both()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    print(f"peak resident set: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
