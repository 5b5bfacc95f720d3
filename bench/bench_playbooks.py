"""Playbook triggering benchmark (issue 11): moving 10,000 opportunities whose stage has a
3-step playbook, as a ratio to the same moves without playbooks, in one process.

Two organisations on the business-development pipeline, each holding `--rows` generated
opportunities: "with" loads a definition whose Propose stage starts a playbook of three task
steps; "without" loads the same definition without playbooks. A round moves `--pool`
opportunities Develop -> Propose (ticking "proposal sent") and back: 2 x pool moves through
`opportunity_move`, in-process. Rounds alternate (ABBA) so the machine's noise hits both;
`--rounds` rounds each (default 5 x 2 x 1,000 = 10,000 moves each way).

The synchronous cost of a trigger is the event's dispatch job, queued in the move's own
transaction when a playbook wants the event. Then the worker's side: the queued dispatches run
in-process (`run_pending_tasks`), and the playbook runs per second are reported (the first
round's runs create tasks; later rounds' runs find them open and skip: both are counted).

    python -m bench.bench_playbooks --database-url URL [--rows N] [--pool N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.api_lists import setup_django

PLAYBOOK = """
playbooks:
  - key: proposal-follow-up
    name: Proposal follow-up
    trigger: {stage_entered: {pipeline: business-development, stage: propose}}
    steps:
      - key: send
        task: {title: "Send the proposal for {{ opportunity.name }}", due_in_working_days: 2}
      - key: call
        task: {title: "Call about {{ opportunity.name }}", due_in_working_days: 5}
      - key: review
        task:
          title: "Review {{ opportunity.name }} with the sales-support manager"
          queue: sales_support_manager
          due_in_working_days: 10
"""


def definition(with_playbook: bool) -> str:
    from salesline.process.definition import template_text

    text = template_text("business-development")
    # The template's own playbooks are the last section: cut them, for a fair baseline.
    text = text.split("\nplaybooks:")[0]
    return text + (PLAYBOOK if with_playbook else "")


def organisation(name: str, with_playbook: bool, rows: int):
    from bench.web_pages import generate_opportunities
    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation
    from salesline.pipeline.models import Opportunity
    from salesline.process import services as process_services

    org = Organisation.objects.filter(name=name).first()
    if org is None:
        org = process_services.organisation_create(name=name, template="business-development")
    admin = accounts.system_actor(org, label="bench")
    process_services.process_load(actor=admin, text=definition(with_playbook))
    owner = accounts.user_create(
        email=f"seller@{org.slug}.example", actor=admin, role="salesperson"
    )
    if Opportunity.objects.filter(organisation=org).count() != rows:
        Opportunity.objects.filter(organisation=org).delete()
        generate_opportunities(org, [owner], rows)
    return org, owner


def reset(org, ids: list[int]) -> None:
    from django.db import transaction
    from django.utils import timezone

    from salesline.pipeline.models import ChecklistTick, Opportunity, Stage, StageChange
    from salesline.playbooks.models import PlaybookRun, StepRun, Task

    stage = Stage.objects.get(pipeline__organisation=org, key="develop")
    with transaction.atomic():
        StageChange.objects.filter(opportunity_id__in=ids).delete()
        ChecklistTick.objects.filter(opportunity_id__in=ids).delete()
        StepRun.objects.filter(run__organisation=org).delete()
        PlaybookRun.objects.filter(organisation=org).delete()
        Task.objects.filter(organisation=org).delete()
        Opportunity.objects.filter(pk__in=ids).update(
            pipeline=stage.pipeline,
            stage=stage,
            status="open",
            closed_at=None,
            close_reason="",
            business_case="A business case.",
            stage_entered_at=timezone.now(),
        )


def pool_of(org, size: int) -> list[int]:
    from salesline.pipeline.models import Opportunity

    ids = list(
        Opportunity.objects.filter(organisation=org, status="open", deleted_at=None)
        .order_by("id")
        .values_list("id", flat=True)[:size]
    )
    if len(ids) < size:
        raise SystemExit(f"{org.name} has {len(ids)} open opportunities, {size} needed")
    return ids


def one_round(actor, ids: list[int]) -> float:
    from salesline.pipeline.services import opportunity_move

    started = time.perf_counter()
    for record_id in ids:
        opportunity_move(
            actor=actor, opportunity_id=record_id, stage="propose", checks=["proposal_sent"]
        )
        opportunity_move(actor=actor, opportunity_id=record_id, stage="develop")
    return time.perf_counter() - started


def pending_dispatches() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().count()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--pool", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from salesline.accounts.services import actor_for
    from salesline.core.tasks import run_pending_tasks
    from salesline.playbooks.models import PlaybookRun, Task

    DBTaskResult.objects.all().delete()  # an earlier run's leftovers would be run below
    with_org, with_owner = organisation("Bench Playbooks", True, args.rows)
    without_org, without_owner = organisation("Bench No Playbooks", False, args.rows)
    actors = {
        "with": (actor_for(with_owner, with_org), pool_of(with_org, args.pool)),
        "without": (actor_for(without_owner, without_org), pool_of(without_org, args.pool)),
    }
    for org, (_, ids) in zip((with_org, without_org), actors.values(), strict=True):
        reset(org, ids)
    for name in ("with", "without"):  # warm-up, not timed
        one_round(*actors[name])
    DBTaskResult.objects.all().delete()
    for org, (_, ids) in zip((with_org, without_org), actors.values(), strict=True):
        reset(org, ids)

    seconds: dict[str, list[float]] = {"with": [], "without": []}
    for index in range(args.rounds):
        order = ("with", "without") if index % 2 == 0 else ("without", "with")
        for name in order:
            seconds[name].append(one_round(*actors[name]))
    moves = args.rounds * 2 * args.pool
    queued = pending_dispatches()
    # The moves' figure first: the worker's part below can take long on a loaded machine.
    print(
        f"{connection.vendor}: {moves:,} moves each way; with the playbook "
        f"{moves / sum(seconds['with']):,.0f}/s, without {moves / sum(seconds['without']):,.0f}/s, "
        f"ratio {sum(seconds['without']) / sum(seconds['with']):.2f}; {queued:,} jobs queued",
        flush=True,
    )

    started = time.perf_counter()
    ran_tasks = run_pending_tasks()
    worker_seconds = time.perf_counter() - started
    runs = PlaybookRun.objects.filter(organisation=with_org).count()
    tasks = Task.objects.filter(organisation=with_org).count()

    with_rate = moves / sum(seconds["with"])
    without_rate = moves / sum(seconds["without"])
    result = {
        "database": connection.vendor,
        "rows_per_organisation": args.rows,
        "moves_each": moves,
        "with_seconds": seconds["with"],
        "without_seconds": seconds["without"],
        "with_moves_per_second": with_rate,
        "without_moves_per_second": without_rate,
        "ratio_with_to_without": with_rate / without_rate,
        "ratio_median_round": statistics.median(seconds["without"])
        / statistics.median(seconds["with"]),
        "dispatch_jobs_queued": queued,
        "worker_jobs_run": ran_tasks,
        "worker_seconds": worker_seconds,
        "playbook_runs": runs,
        "playbook_runs_per_second": runs / worker_seconds if worker_seconds else None,
        "tasks_created": tasks,
        "load_average_at_end": os.getloadavg(),
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(
        f"{connection.vendor}: {moves:,} moves into a stage with a 3-step playbook "
        f"{with_rate:,.0f}/s, without playbooks {without_rate:,.0f}/s: ratio "
        f"{result['ratio_with_to_without']:.2f} (median round {result['ratio_median_round']:.2f}); "
        f"{queued:,} dispatch jobs queued; the worker ran {runs:,} playbook runs "
        f"({tasks:,} tasks) in {worker_seconds:.1f} s = {result['playbook_runs_per_second']:,.0f} "
        f"runs/s; load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
