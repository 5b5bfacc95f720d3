"""A known pipeline in a database, for the forecast's selector, API, CLI and page tests.

Pipeline p: a (probability 10) and b (50), then won or lost. Twenty closed deals, all created
on 1 October 2025 in a: every stay in a lasts exactly 10 days, then 12 go to b and 8 are
lost; every stay in b lasts exactly 20 days, then 6 are won and 6 lost. From a fresh entry
into a the chance of winning is therefore 12/20 × 6/12 = 0.3, thirty days after entering.

Ten open deals entered a at midnight on 10 January 2026 (NOW is noon that day), worth 1000
each: each is won on 9 February with p = 0.3. Their expected close dates: five on 20 January,
three on 15 February, one undated, one on 5 January (overdue). One more open deal is in the
trash, and another organisation has open deals of its own: neither may count.
"""

from __future__ import annotations

import datetime as dt

from salesline.accounts import services as accounts
from salesline.pipeline.models import Opportunity, Pipeline, Stage, StageChange
from salesline.pipeline.services import opportunity_create
from salesline.process import services as process_services
from salesline.records.services import record_delete

NOW = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
CREATED = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
ENTERED = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
KINDS = {"won": "won", "lost": "lost"}

DEFINITION = """\
name: Forecast
pipelines:
  - key: p
    name: Pipeline P
    stages:
      - {key: a, name: A, probability: 10}
      - {key: b, name: B, probability: 50}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
"""

CLOSE_DATES = [dt.date(2026, 1, 20)] * 5 + [dt.date(2026, 2, 15)] * 3 + [None, dt.date(2026, 1, 5)]


def forecast_organisation(name: str = "Forecast Works"):
    organisation = process_services.organisation_create(name=name, template="partnerships")
    process_services.process_load(actor=accounts.system_actor(organisation), text=DEFINITION)
    return organisation


def _deal(organisation, owner, number: int, moves, *, value=None, close=None):
    actor = accounts.actor_for(owner, organisation)
    data = {"name": f"Deal {number}", "pipeline": "p", "stage": "a"}
    if value is not None:
        data["value"] = str(value)
    if close is not None:
        data["expected_close_date"] = close.isoformat()
    opportunity = opportunity_create(actor=actor, data=data)
    StageChange.objects.filter(opportunity=opportunity).delete()
    pipeline = Pipeline.objects.get(organisation=organisation, key="p")
    StageChange.objects.bulk_create(
        StageChange(
            organisation=organisation,
            opportunity=opportunity,
            opportunity_ref=opportunity.pk,
            pipeline=pipeline,
            to_pipeline_key="p",
            to_stage=stage,
            to_stage_kind=KINDS.get(stage, "open"),
            actor_label=owner.email,
            at=moment,
        )
        for moment, stage in moves
    )
    last = moves[-1][1]
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=Stage.objects.get(pipeline=pipeline, key=last),
        status=KINDS.get(last, "open"),
        created_at=moves[0][0],
    )
    return opportunity


def load_known_pipeline(organisation, owner):
    """The history of the module docstring; returns the ten open deals."""
    for number in range(20):
        moves = [(CREATED, "a")]
        if number < 12:
            moves.append((CREATED + 10 * DAY, "b"))
            moves.append((CREATED + 30 * DAY, "won" if number < 6 else "lost"))
        else:
            moves.append((CREATED + 10 * DAY, "lost"))
        _deal(organisation, owner, number, moves, value=500)
    open_deals = [
        _deal(organisation, owner, 100 + i, [(ENTERED, "a")], value=1000, close=close)
        for i, close in enumerate(CLOSE_DATES)
    ]
    trashed = _deal(organisation, owner, 999, [(ENTERED, "a")], value=50_000)
    record_delete(
        actor=accounts.actor_for(owner, organisation), kind="opportunity", record_id=trashed.pk
    )
    return open_deals


def win(opportunity, at: dt.datetime):
    """A won change of the deal at `at` (what closed, for accuracy)."""
    StageChange.objects.create(
        organisation=opportunity.organisation,
        opportunity=opportunity,
        opportunity_ref=opportunity.pk,
        pipeline=opportunity.pipeline,
        to_pipeline_key="p",
        to_stage="won",
        to_stage_kind="won",
        from_stage="a",
        from_stage_kind="open",
        actor_label="test",
        at=at,
    )


def known_organisations():
    """Forecast Works (with an admin, fay@) and Elsewhere (gus@), each with the known
    pipeline; returns (organisation, admin, open deals) of Forecast Works."""
    import time_machine

    with time_machine.travel(NOW, tick=False):
        organisation = forecast_organisation()
        owner = accounts.user_create(
            email="fay@forecast.test", actor=accounts.system_actor(organisation), role="admin"
        )
        open_deals = load_known_pipeline(organisation, owner)
        other = forecast_organisation("Elsewhere")
        other_owner = accounts.user_create(
            email="gus@elsewhere.test", actor=accounts.system_actor(other), role="admin"
        )
        load_known_pipeline(other, other_owner)
    return organisation, owner, open_deals
