"""A saved plan's simulation in the worker, with its progress.

`plan_simulate_start` checks the plan and the run's parameters, marks the plan's simulation as
queued and enqueues `plan_simulation_run` (after the transaction commits). The task runs the
simulator in parallel processes, writes how many replications are done to the plan as it goes,
and stores the answer with `services.plan_simulation_store` (the page shows the last one).

While a run is on, `plan.simulation["run"]` says so: {"status": "queued" | "running" | "failed",
"done", "total", "parameters", "message"}; the stored answer has no "run" key. The progress is
written without an audit event or a version bump (it is no one's edit); the start and the stored
answer are audited.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.db import transaction

from salesline.accounts.models import Organisation, User
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ValidationFailed
from salesline.core.tasks import durable_task, enqueue_on_commit

from .models import CapacityPlan
from .resourcing import PlanInvalid, parse_plan
from .services import _locked_plan, plan_simulation_store, require_manage
from .simulation import check_run, sales_model, simulate, work_size

#: Estimated events a background run may simulate (about a minute on two cores).
MAX_WORK = 40_000_000
#: Seconds between two writes of the progress.
PROGRESS_EVERY = 0.5
#: Processes a run uses (the worker's machine has two cores).
MAX_PROCESSES = 2


def run_state(plan: CapacityPlan) -> dict[str, Any] | None:
    """The run on now (queued, running or failed), or None."""
    simulation = plan.simulation or {}
    run = simulation.get("run")
    return run if isinstance(run, dict) else None


def plan_simulate_start(
    *, actor: Actor, plan_id: Any, weeks: Any, replications: Any, seed: Any
) -> CapacityPlan:
    """Start simulating a saved plan in the worker. ValidationFailed names a bad parameter or a
    key of the plan file; Conflict when a run is on already."""
    require_manage(actor)
    parameters = {"weeks": weeks, "replications": replications, "seed": seed}
    problems = [Problem(loc=(key,), msg=message) for key, message in check_run(**parameters)]
    if problems:
        raise ValidationFailed("The run's parameters are out of range.", problems)
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        try:
            model = sales_model(parse_plan(plan.document))
        except PlanInvalid as invalid:
            raise ValidationFailed(
                "The plan cannot be simulated: correct its file first.",
                [
                    Problem(loc=("document", *key.split(".")), msg=message)
                    for key, message in invalid.problems
                ],
            ) from None
        work = work_size(model, weeks=weeks, replications=replications)
        if work > MAX_WORK:
            raise ValidationFailed(
                "The run is too large.",
                [
                    Problem(
                        loc=("replications",),
                        msg=f"{weeks} weeks × {replications} replications of this plan's "
                        f"scenarios is about {work:,.0f} events, more than the {MAX_WORK:,} a "
                        "run may simulate: give fewer replications or weeks.",
                        type="too_large",
                    )
                ],
            )
        current = run_state(plan)
        if current and current.get("status") in ("queued", "running"):
            raise Conflict("This plan is being simulated already: wait for the answer.")
        total = replications * len(model.scenarios)
        plan.simulation = {
            **{k: v for k, v in (plan.simulation or {}).items() if k != "run"},
            "run": {
                "status": "queued",
                "done": 0,
                "total": total,
                "parameters": parameters,
                "message": "",
            },
        }
        plan.save(update_fields=["simulation"])
        audit.record(
            actor=actor, action="capacity_plan.simulate_start", obj=plan, changes={**parameters}
        )
        enqueue_on_commit(
            plan_simulation_run,
            plan.pk,
            actor.user.pk if actor.user else None,
            weeks,
            replications,
            seed,
            organisation=plan.organisation_id,
        )
    return plan


def _set_run(plan_id: int, **changes: Any) -> None:
    """Write the run's state (its own short transaction: the page reads it meanwhile)."""
    with transaction.atomic():
        plan = CapacityPlan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            return
        simulation = dict(plan.simulation or {})
        run = dict(simulation.get("run") or {})
        run.update(changes)
        simulation["run"] = run
        plan.simulation = simulation
        plan.save(update_fields=["simulation"])


def _actor(plan: CapacityPlan, user_id: int | None) -> Actor:
    from salesline.accounts.services import actor_for, system_actor

    organisation = Organisation.objects.get(pk=plan.organisation_id)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return actor_for(user, organisation) if user else system_actor(organisation, "worker")


@durable_task(max_attempts=1)
def plan_simulation_run(
    plan_id: int, user_id: int | None, weeks: int, replications: int, seed: int
) -> None:
    """The worker's side of `plan_simulate_start`."""
    plan = CapacityPlan.objects.filter(pk=plan_id, deleted_at__isnull=True).first()
    if plan is None:
        return  # deleted since: nothing to store
    parameters = {"weeks": weeks, "replications": replications, "seed": seed}
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            _set_run(plan_id, status="running", done=done, total=total)

    try:
        _set_run(plan_id, status="running")
        actor = _actor(plan, user_id)
        answer = simulate(
            parse_plan(plan.document),
            processes=min(MAX_PROCESSES, os.cpu_count() or 1),
            progress=progress,
            **parameters,
        )
        plan_simulation_store(actor=actor, plan_id=plan_id, answer=answer, parameters=parameters)
    except Exception as error:
        _set_run(plan_id, status="failed", message=str(error)[:500] or type(error).__name__)
        raise
