"""The hand-computed history of test_flow.py (its docstring tells the story), as columns for
the pure tests and as rows in a database for the selector, API, CLI and page tests."""

from __future__ import annotations

import datetime as dt

from salesline.accounts import services as accounts
from salesline.analytics.flow import StageDef, flow_metrics, period_of
from salesline.analytics.history import history_from_rows
from salesline.pipeline.models import Opportunity, Pipeline, StageChange
from salesline.pipeline.services import opportunity_create
from salesline.process import services as process_services
from salesline.records.services import record_delete

DAY0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
KINDS = {"won": "won", "lost": "lost", "done": "won"}

MOVES = {
    1: [(-10, "a"), (4, "b"), (14, "won")],
    2: [(1, "a"), (11, "b"), (19, "lost")],
    3: [(2, "a")],
    4: [(9, "a"), (19, "b"), (29, "won"), (30.5, "b"), (40, "won")],
    5: [(-31, "a"), (-22, "b"), (31, "lost")],
    6: [(-5, "a"), (0, "b"), (10, "won")],
    7: [(5, "a"), (8, ("other", "x"))],
    8: [(3, ("other", "x"))],
}
VALUES = {1: 1000.0, 4: 3000.0, 6: 2000.0}

STAGES = (
    StageDef("a", "A", "open", 10, 10),
    StageDef("b", "B", "open", 50, 30),
    StageDef("c", "C", "open", 80, 30),
    StageDef("won", "Won", "won", 100, 30),
    StageDef("lost", "Lost", "lost", 0, 30),
)

DEFINITION = """\
name: Flow
custom_fields:
  - {record: opportunity, key: tier, label: Tier, type: choice, choices: [gold, silver]}
pipelines:
  - key: p
    name: Pipeline P
    stages:
      - {key: a, name: A, probability: 10, stalled_after_days: 10}
      - {key: b, name: B, probability: 50}
      - {key: c, name: C, probability: 80}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
  - key: other
    name: Other
    stages:
      - {key: x, name: X, probability: 20}
      - {key: done, name: Done, kind: won, probability: 100}
"""


def at(day: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=day)


def _stage(stage) -> tuple[str, str]:
    return stage if isinstance(stage, tuple) else ("p", stage)


def rows(moves=MOVES):
    out = []
    for opportunity, changes in moves.items():
        for day, stage in changes:
            pipeline, key = _stage(stage)
            out.append((opportunity, at(day), pipeline, key, KINDS.get(key, "open")))
    return out


HISTORY = history_from_rows(rows(), as_of=AS_OF)
JANUARY = period_of(dt.date(2026, 1, 1), dt.date(2026, 1, 31))


def values_of(ids):
    return {int(i): VALUES[int(i)] for i in ids if int(i) in VALUES}


def metrics(history=HISTORY, period=JANUARY):
    return flow_metrics(history, pipeline="p", stages=STAGES, period=period, won_values=values_of)


def by_key(result):
    return {stage.key: stage for stage in result.stages}


def flow_organisation(name: str = "Flow Works"):
    """An organisation on DEFINITION (pipelines p and other, a custom field `tier`)."""
    organisation = process_services.organisation_create(name=name, template="partnerships")
    process_services.process_load(actor=accounts.system_actor(organisation), text=DEFINITION)
    return organisation


def load_history(organisation, *, owners: dict[int, object], moves=MOVES, values=VALUES):
    """Opportunity n of `moves` as a real opportunity owned by owners[n], in its last stage,
    with exactly the stage changes of `moves` (its creation's change replaced). Opps 1 and 2
    get tier gold and source "Trade show". Plus opportunity 9, a → b on days 3 and 6, then put
    in the trash: no figure may count it. Returns {n: opportunity}."""
    created = {}
    for number, changes in {**moves, 9: [(3, "a"), (6, "b")]}.items():
        owner = owners[number]
        actor = accounts.actor_for(owner, organisation)
        pipeline, stage = _stage(changes[-1][1])
        data = {"name": f"Deal {number}", "pipeline": pipeline, "stage": stage}
        if number in values:
            data["value"] = str(values[number])
        if number in (1, 2):
            data["custom_fields"] = {"tier": "gold"}
            data["source"] = "Trade show"
        opportunity = opportunity_create(actor=actor, data=data)
        StageChange.objects.filter(opportunity=opportunity).delete()
        pipelines = {p.key: p for p in Pipeline.objects.filter(organisation=organisation)}
        StageChange.objects.bulk_create(
            StageChange(
                organisation=organisation,
                opportunity=opportunity,
                opportunity_ref=opportunity.pk,
                pipeline=pipelines[_stage(stage)[0]],
                to_pipeline_key=_stage(stage)[0],
                to_stage=_stage(stage)[1],
                to_stage_kind=KINDS.get(_stage(stage)[1], "open"),
                actor_label=owner.email,
                at=at(day),
            )
            for day, stage in changes
        )
        Opportunity.objects.filter(pk=opportunity.pk).update(created_at=at(changes[0][0]))
        created[number] = opportunity
    record_delete(
        actor=accounts.actor_for(owners[9], organisation),
        kind="opportunity",
        record_id=created[9].pk,
    )
    return created
