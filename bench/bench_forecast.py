"""The Monte-Carlo forecast at scale: a synthetic history of a million opportunities (about ten
million stage changes, built as arrays directly), then 10,000 trials over its open ones.

    .venv/bin/python -m bench.bench_forecast [--opportunities N] [--trials N]

Prints the open count, the time of each part (wall and the forecast's CPU time: the machine
is shared) and the peak memory: the forecast's own allocations and the process's resident set."""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from salesline.analytics.forecast import monte_carlo, open_positions
from salesline.analytics.history import DAY, LOST, OPEN, WON, FlowHistory, stays_of

OPEN_STAGES = 6
WON_CODE, LOST_CODE = OPEN_STAGES, OPEN_STAGES + 1


def synthetic_history(opportunities: int, *, seed: int = 1, as_of: int = 1_780_000_000):
    """Opportunities created over three years walk forward through six open stages (forward
    60 %, back 30 %, lost 10 %; from the last stage won 50 %, lost 20 %, back 30 %), each stay lasting a
    gamma-distributed number of days; a walk stops when closed or at `as_of`."""
    rng = np.random.default_rng(seed)
    created = as_of - rng.integers(0, 3 * 365 * DAY, opportunities)
    columns = {"opportunity": [], "at": [], "stage": []}
    ids = np.arange(1, opportunities + 1, dtype=np.int64)
    stage = np.zeros(opportunities, dtype=np.int32)
    clock = created.astype(np.int64)
    alive = np.arange(opportunities)
    columns["opportunity"].append(ids.copy())
    columns["at"].append(clock.copy())
    columns["stage"].append(stage.copy())
    while alive.shape[0]:
        stay = (rng.gamma(2.0, 2.0 + 1.0 * stage[alive], alive.shape[0]) * DAY).astype(np.int64)
        moved = clock[alive] + stay
        inside = moved < as_of
        alive, moved = alive[inside], moved[inside]
        here = stage[alive]
        draw = rng.random(alive.shape[0])
        last = here == OPEN_STAGES - 1
        nxt = np.where(
            draw < 0.6, here + 1, np.where(draw < 0.9, np.maximum(here - 1, 0), LOST_CODE)
        )
        nxt = np.where(
            last, np.where(draw < 0.5, WON_CODE, np.where(draw < 0.7, LOST_CODE, here - 1)), nxt
        )
        stage[alive] = nxt
        clock[alive] = moved
        columns["opportunity"].append(ids[alive])
        columns["at"].append(moved)
        columns["stage"].append(nxt.astype(np.int32))
        alive = alive[nxt < OPEN_STAGES]
    opportunity = np.concatenate(columns["opportunity"])
    at = np.concatenate(columns["at"])
    stage_col = np.concatenate(columns["stage"])
    order = np.lexsort((at, opportunity))
    kinds = np.array([OPEN] * OPEN_STAGES + [WON, LOST], dtype=np.int8)
    stages = tuple(("sales", f"s{i}") for i in range(OPEN_STAGES)) + (
        ("sales", "won"),
        ("sales", "lost"),
    )
    return FlowHistory(
        opportunity=opportunity[order],
        at=at[order],
        stage=stage_col[order],
        kind=kinds[stage_col[order]],
        stages=stages,
        as_of=as_of,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=6)
    arguments = parser.parse_args()
    began = time.perf_counter()
    history = synthetic_history(arguments.opportunities)
    built = time.perf_counter()
    stays = stays_of(history)
    stayed = time.perf_counter()
    rng = np.random.default_rng(7)
    positions = open_positions(history, stays, stage_codes=np.arange(OPEN_STAGES, dtype=np.int32))
    positions = type(positions)(
        opportunity=positions.opportunity,
        stage=positions.stage,
        age=positions.age,
        value=rng.lognormal(9.5, 1.0, positions.stage.shape[0]),
    )
    placed = time.perf_counter()
    cpu = time.process_time()
    tracemalloc.start()
    result = monte_carlo(
        history, stays, positions, horizon=arguments.horizon, trials=arguments.trials, seed=42
    )
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    _, forecast_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"changes {len(history):,}  open {result.open_count:,}  groups {result.groups}  paths {result.paths:,}"
    )
    print(
        f"build history {built - began:.2f}s  stays_of {stayed - built:.3f}s  open_positions {placed - stayed:.3f}s  monte_carlo {done - placed:.3f}s"
    )
    print(f"monte_carlo CPU {cpu:.3f}s, its own peak allocation {forecast_peak / 2**20:.0f} MB")
    print(f"peak RSS of the process (history included) {peak_mb:.0f} MB")
    for month in result.months:
        print(month.period, month.value.p10, month.value.p50, month.value.p90, month.count.p50)


if __name__ == "__main__":
    main()
