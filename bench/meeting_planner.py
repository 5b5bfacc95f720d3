"""Meeting planner benchmark (issue 13): 200 candidate meetings across 30 towns for 2
salespeople over 10 working days.

Reports the solver's time (target <= 10 s), its total travel as a ratio to the best plan found
by running the solver 10x longer (target <= 1.10), and the greedy nearest-neighbour plan's
total travel as a ratio to the same best plan. The solver plans as many meetings as it can
(priority first), the greedy plan fewer, so travel is also compared like for like: the
greedy plan's meetings, planned by the solver. The solver is pure (salesline.scheduling.routing):
no database is involved, so it runs once, not per database.

    python -m bench.meeting_planner [--seconds 3] [--seed 13] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from salesline.scheduling import routing  # noqa: E402  (pure: no Django set-up needed)

# Thirty towns of England's Midlands and South East (latitude, longitude).
TOWNS = {
    "London": (51.5074, -0.1278),
    "Reading": (51.4543, -0.9781),
    "Oxford": (51.7520, -1.2577),
    "Cambridge": (52.2053, 0.1218),
    "Luton": (51.8787, -0.4200),
    "Milton Keynes": (52.0406, -0.7594),
    "Northampton": (52.2405, -0.9027),
    "Bedford": (52.1360, -0.4667),
    "Guildford": (51.2362, -0.5704),
    "Brighton": (50.8225, -0.1372),
    "Southampton": (50.9097, -1.4044),
    "Basingstoke": (51.2665, -1.0924),
    "Chelmsford": (51.7356, 0.4685),
    "Colchester": (51.8959, 0.8919),
    "Maidstone": (51.2704, 0.5227),
    "Canterbury": (51.2802, 1.0789),
    "Swindon": (51.5558, -1.7797),
    "Banbury": (52.0629, -1.3398),
    "Coventry": (52.4068, -1.5197),
    "Birmingham": (52.4862, -1.8904),
    "Leicester": (52.6369, -1.1398),
    "Nottingham": (52.9548, -1.1581),
    "Derby": (52.9225, -1.4746),
    "Wolverhampton": (52.5870, -2.1288),
    "Worcester": (52.1936, -2.2216),
    "Gloucester": (51.8642, -2.2382),
    "Cheltenham": (51.8994, -2.0783),
    "Stoke-on-Trent": (53.0027, -2.1794),
    "Peterborough": (52.5695, -0.2405),
    "Stafford": (52.8067, -2.1170),
}
BASES = {1: "London", 2: "Birmingham"}


def instance(seed: int = 13, candidates: int = 200, days: int = 10) -> routing.Problem:
    rng = random.Random(seed)
    names = list(TOWNS)
    people = []
    for key, base in BASES.items():
        plan_days = tuple(
            routing.Day(day=d, start=9 * 60, end=17 * 60, capacity=4, week=d // 5)
            for d in range(days)
        )
        people.append(
            routing.Person(
                key=key,
                days=plan_days,
                base=TOWNS[base],
                per_week={w: 20 for w in range((days + 4) // 5)},
            )
        )
    items = []
    for i in range(candidates):
        town = TOWNS[rng.choice(names)]
        # A street in the town: within about 3 km of its centre.
        lat = town[0] + rng.uniform(-0.025, 0.025)
        lon = town[1] + rng.uniform(-0.04, 0.04)
        owner = min(BASES, key=lambda k: routing.haversine_km(TOWNS[BASES[k]], (lat, lon)))
        windows = None
        if rng.random() < 0.3:  # a third say when they can: two half-days
            windows = tuple(
                routing.Window(day=rng.randrange(days), start=s, end=s + 240)
                for s in (rng.choice((9 * 60, 13 * 60)) for _ in range(2))
            )
        items.append(
            routing.Candidate(
                key=i + 1,
                owner=owner,
                lat=lat,
                lon=lon,
                duration=rng.choice((45, 60, 60, 90)),
                priority=rng.randint(1, 5),
                windows=windows,
                deadline_day=rng.choice((None, None, None, rng.randrange(3, days))),
            )
        )
    return routing.Problem(people=tuple(people), candidates=tuple(items))


def run(seconds: float, seed: int) -> dict:
    problem = instance(seed)
    plan = routing.solve(problem, time_limit=seconds)
    best = routing.solve(problem, time_limit=seconds * 10)
    naive = routing.greedy(problem)
    # The same meetings as the greedy plan chose, planned by the solver: travel like for like.
    chosen = {m.key for m in naive.meetings}
    same = routing.solve(
        dataclasses.replace(
            problem, candidates=tuple(c for c in problem.candidates if c.key in chosen)
        ),
        time_limit=seconds,
    )
    reference = min(best.total_travel, plan.total_travel)
    by_key = {c.key: c for c in problem.candidates}

    def objective(solution: routing.Solution) -> int:
        """What the solver minimises: travel plus the penalties of the meetings left out."""
        dropped = sum(routing.penalty(by_key[key]) for key, _ in solution.unplanned)
        return solution.total_travel + dropped

    per_meeting = {
        name: (s.total_travel / len(s.meetings) if s.meetings else 0.0)
        for name, s in (("solver", plan), ("best", best), ("greedy", naive))
    }
    return {
        "candidates": len(problem.candidates),
        "towns": len(TOWNS),
        "salespeople": len(problem.people),
        "working_days": 10,
        "time_limit_s": seconds,
        "solver_seconds": round(plan.seconds, 2),
        "solver_meetings": len(plan.meetings),
        "solver_travel_min": plan.total_travel,
        "best_seconds": round(best.seconds, 2),
        "best_meetings": len(best.meetings),
        "best_travel_min": best.total_travel,
        "greedy_seconds": round(naive.seconds, 3),
        "greedy_meetings": len(naive.meetings),
        "greedy_travel_min": naive.total_travel,
        "ratio_to_best": round(plan.total_travel / reference, 3) if reference else 1.0,
        "greedy_ratio_to_best": round(naive.total_travel / reference, 3) if reference else 1.0,
        "greedy_set_solver_meetings": len(same.meetings),
        "greedy_set_solver_travel_min": same.total_travel,
        "greedy_set_ratio": round(same.total_travel / naive.total_travel, 3)
        if naive.total_travel
        else 1.0,
        "objective_ratio_to_best": round(objective(plan) / objective(best), 4),
        "travel_per_meeting_min": {k: round(v, 1) for k, v in per_meeting.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.meeting_planner", description=__doc__)
    # The planner gives 200 candidates its cap, planner.MAX_TIME_LIMIT (3 s): measure that.
    parser.add_argument("--seconds", type=float, default=3.0, help="the solver's time limit")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.seconds, args.seed)
    print("\n== Meeting planner (200 candidates, 30 towns, 2 salespeople, 10 working days)")
    print(
        f"solver  {result['solver_seconds']:>6.2f} s  {result['solver_meetings']:>3} meetings  "
        f"travel {result['solver_travel_min']:>5} min  ratio to best {result['ratio_to_best']} "
        f"(objective: {result['objective_ratio_to_best']})"
    )
    print(
        f"best    {result['best_seconds']:>6.2f} s  {result['best_meetings']:>3} meetings  "
        f"travel {result['best_travel_min']:>5} min  (solver run 10x longer)"
    )
    print(
        f"greedy  {result['greedy_seconds']:>6.3f} s  {result['greedy_meetings']:>3} meetings  "
        f"travel {result['greedy_travel_min']:>5} min  ratio to best "
        f"{result['greedy_ratio_to_best']}"
    )
    print(
        f"greedy's {result['greedy_meetings']} meetings planned by the solver: "
        f"{result['greedy_set_solver_meetings']} meetings, travel "
        f"{result['greedy_set_solver_travel_min']} min = {result['greedy_set_ratio']} x greedy's"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
