"""Capacity simulator benchmark (issue 14): a 52-week simulation of a 100-person sales
organisation (30 field salespeople, 30 sales coordinators, 25 project leaders, 10 customer-service
representatives, 2 promotions coordinators, 2 sales-support managers, 1 sales manager), 50
replications in parallel processes.

Reports the wall time (target <= 30 s on 2 cores) and the events simulated a second. The
simulator is pure (salesline.capacity.simulation): no database, so it runs once.

    python -m bench.capacity_simulation [--processes 2] [--replications 50] [--out FILE]
    python -m bench.capacity_simulation --profile   # one replication under pyinstrument
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from salesline.capacity.resourcing import parse_plan  # noqa: E402  (pure: no Django set-up)
from salesline.capacity.simulation import (  # noqa: E402
    run_replication,
    sales_model,
    simulate,
)

ORGANISATION = {
    "salesperson": 30,
    "sales_coordinator": 30,
    "project_leader": 25,
    "customer_service": 10,
    "promotions_coordinator": 2,
    "sales_support_manager": 2,
    "sales_manager": 1,
}
# Demand near the organisation's capacity: 30 x 20 = 600 meeting slots a week; 300
# opportunities a week hold about 525 meetings (1.75 each with the default stages); projects
# load the project leaders to about three quarters; customer service to about 80 %.
PLAN = {
    "current": {"salespeople": 30, "meetings_per_salesperson": 4},
    "project_share": 0.02,
    "project_half_days": 30,
    "customer_service": {"tasks_per_week": 1200, "minutes_per_task": 15},
    "simulation": {"arrivals_per_week": {"promotions": 220, "existing_accounts": 80}},
    "scenarios": [{"name": "100 people", "roles": ORGANISATION}],
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity_simulation")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--replications", type=int, default=50)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    plan = parse_plan(PLAN)
    if args.profile:
        from pyinstrument import Profiler

        model = sales_model(plan)
        with Profiler() as profiler:
            run_replication(model, model.scenarios[0], weeks=args.weeks, seed=args.seed)
        print(profiler.output_text(unicode=True, color=False))
        return 0
    # One replication alone, in this process: the work per replication without contention
    # (50 of them on 2 free cores take about 25 x this).
    model = sales_model(plan)
    started, cpu = time.perf_counter(), time.process_time()
    single = run_replication(model, model.scenarios[0], weeks=args.weeks, seed=args.seed)
    single_seconds = time.perf_counter() - started
    single_cpu = time.process_time() - cpu
    started = time.perf_counter()
    answer = simulate(
        plan,
        weeks=args.weeks,
        replications=args.replications,
        seed=args.seed,
        processes=args.processes,
    )
    wall = time.perf_counter() - started
    (scenario,) = answer["scenarios"]
    result = {
        "people": sum(ORGANISATION.values()),
        "weeks": args.weeks,
        "replications": args.replications,
        "processes": args.processes,
        "wall_seconds": round(wall, 2),
        "events": answer["events"],
        "events_per_second": round(answer["events"] / wall),
        "target_seconds": 30,
        "one_replication_seconds": round(single_seconds, 3),
        "one_replication_cpu_seconds": round(single_cpu, 3),
        "one_replication_events": single["events"],
        # 50 replications on 2 cores with nothing else running: 25 x one replication's CPU.
        "quiet_machine_estimate_seconds": round(args.replications / args.processes * single_cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "utilisation": {role: u["mean"] for role, u in scenario["utilisation"].items()},
        "meetings_per_week": scenario["meetings_per_week"]["mean"],
        "won_per_week": scenario["won_per_week"]["mean"],
        "constraint": scenario["constraint"],
    }
    print(
        f"\n== Capacity simulator: {result['people']} people, {args.weeks} weeks, "
        f"{args.replications} replications, {args.processes} processes"
    )
    print(
        f"wall {wall:.1f} s (target <= 30 s), {answer['events']:,} events, "
        f"{result['events_per_second']:,} events/s; one replication alone "
        f"{single_seconds:.2f} s, {single_cpu:.2f} s CPU "
        f"({single['events'] / single_cpu:,.0f} events per CPU second); "
        f"load average {result['load_average_1min']}"
    )
    print(
        "utilisation "
        + ", ".join(f"{role} {u:.0%}" for role, u in result["utilisation"].items())
        + f"; {result['meetings_per_week']:.0f} meetings and {result['won_per_week']:.1f} won "
        f"a week; constraint {result['constraint']}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
