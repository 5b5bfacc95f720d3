"""A small hand-made flow history in the database, for the dashboard's tests.

Times are days after T0 (1 Jan 2026, 00:00 UTC). The history (pipeline business-development):

    opp     value   changes
    Alpha   9,000   identify d0, qualify d2, won d5
    Beta    4,000   identify d1, lost d4
    Gamma   2,000   identify d3 (still there)
    Delta   5,000   qualify d6 (created there, still there)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from salesline.pipeline.models import Opportunity, Pipeline, StageChange
from salesline.pipeline.services import opportunity_create

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PIPELINE = "business-development"
HISTORY = {
    "Alpha": (9000, [("identify", 0), ("qualify", 2), ("won", 5)]),
    "Beta": (4000, [("identify", 1), ("lost", 4)]),
    "Gamma": (2000, [("identify", 3)]),
    "Delta": (5000, [("qualify", 6)]),
}


def day(number: float) -> datetime:
    return T0 + timedelta(days=number)


def make_history(actor, history=HISTORY) -> dict[str, Opportunity]:
    """The opportunities with exactly these stage changes (their creation's change rewritten)."""
    pipeline = Pipeline.objects.get(organisation=actor.organisation, key=PIPELINE)
    stages = {stage.key: stage for stage in pipeline.stages.all()}
    made = {}
    for name, (value, changes) in history.items():
        opportunity = opportunity_create(actor=actor, data={"name": name})
        StageChange.objects.filter(opportunity=opportunity).delete()
        for stage_key, number in changes:
            stage = stages[stage_key]
            StageChange.objects.create(
                organisation=actor.organisation,
                opportunity=opportunity,
                opportunity_ref=opportunity.pk,
                pipeline=pipeline,
                to_pipeline_key=PIPELINE,
                to_stage=stage.key,
                to_stage_kind=stage.kind,
                actor_label="test",
                at=day(number),
            )
        last = stages[changes[-1][0]]
        Opportunity.objects.filter(pk=opportunity.pk).update(
            value=Decimal(value), stage=last, status=last.kind, created_at=day(changes[0][1])
        )
        made[name] = opportunity
    return made
