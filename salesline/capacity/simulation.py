"""The simulator of the sales model (SimPy). Pure: no Django.

Interface pinned for the CLI, the API and the pages; the simulation itself is being built
(issue 14). `simulate(plan, weeks=..., replications=..., seed=...)` answers the contract's JSON:
{"scenarios": [{"name", "utilisation": {role: {"mean", "low", "high"}}, "meetings_per_week":
{...}, "won_per_week": {...}, "constraint": role}]}."""

from __future__ import annotations

from typing import Any

from .resourcing import PlanInput


def simulate(
    plan: PlanInput,
    *,
    weeks: int,
    replications: int,
    seed: int,
    processes: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    raise NotImplementedError("the simulator is being built")
