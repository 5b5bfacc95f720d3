"""Backfilled forecast snapshots: the snapshot of a past week is the one a snapshot taken then
would have stored. Two organisations share the known pipeline of forecast_data up to Monday 12
January 2026 (THEN); one of them then lives on (deals won and moved, a value and a close date
edited, a new deal) and backfills that week later."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from salesline import cli
from salesline.accounts import services as accounts
from salesline.analytics.forecast_selectors import forecast_accuracy
from salesline.analytics.forecast_services import (
    forecast_snapshot_backfill,
    forecast_snapshot_take,
    week_start,
)
from salesline.analytics.models import ForecastSnapshot
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.models import StageChange
from salesline.pipeline.services import opportunity_update
from tests.conftest import ApiClient

from .forecast_data import NOW, _deal, forecast_organisation, load_known_pipeline, win

THEN = dt.datetime(2026, 1, 12, tzinfo=dt.UTC)  # a Monday: the start of ISO week 2026-W03
LATER = dt.datetime(2026, 2, 4, 15, tzinfo=dt.UTC)  # a Wednesday of 2026-W06
TRIALS, SEED = 400, 5


def _organisation(name: str, *, imported_at: dt.datetime):
    with time_machine.travel(NOW, tick=False):
        organisation = forecast_organisation(name)
        owner = accounts.user_create(
            email=f"admin@{name.lower()}.test",
            actor=accounts.system_actor(organisation),
            role="admin",
        )
        open_deals = load_known_pipeline(organisation, owner)
    with time_machine.travel(imported_at, tick=False):
        # A deal whose history (open in a since 5 January) came in with it: created before THEN
        # in one organisation, after it in the other. Its creation's audit entry (value: none
        # before) is not what it was worth at THEN.
        _deal(
            organisation,
            owner,
            300,
            [(dt.datetime(2026, 1, 5, tzinfo=dt.UTC), "a")],
            value=2000,
            close=dt.date(2026, 2, 10),
        )
    return organisation, owner, open_deals


def _live_on(organisation, owner, open_deals) -> None:
    """What happens after THEN: none of it may reach the snapshot of THEN's week."""
    actor = accounts.actor_for(owner, organisation)
    win(open_deals[0], dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    win(open_deals[1], dt.datetime(2026, 1, 21, tzinfo=dt.UTC))
    StageChange.objects.create(
        organisation=organisation,
        opportunity=open_deals[2],
        opportunity_ref=open_deals[2].pk,
        pipeline=open_deals[2].pipeline,
        to_pipeline_key="p",
        to_stage="b",
        to_stage_kind="open",
        from_stage="a",
        from_stage_kind="open",
        actor_label="test",
        at=dt.datetime(2026, 1, 14, tzinfo=dt.UTC),
    )
    with time_machine.travel(dt.datetime(2026, 1, 15, 9, tzinfo=dt.UTC), tick=False):
        # Audited edits: the backfill puts back what they were at THEN.
        opportunity_update(actor=actor, opportunity_id=open_deals[3].pk, data={"value": "9000"})
        opportunity_update(
            actor=actor,
            opportunity_id=open_deals[4].pk,
            data={"expected_close_date": "2026-03-30"},
        )
    with time_machine.travel(dt.datetime(2026, 1, 20, tzinfo=dt.UTC), tick=False):
        _deal(
            organisation, owner, 500, [(dt.datetime(2026, 1, 20, tzinfo=dt.UTC), "a")], value=7777
        )


@pytest.fixture
def then_and_later(db):
    then = _organisation("Then", imported_at=NOW)
    later = _organisation("Later", imported_at=dt.datetime(2026, 1, 19, tzinfo=dt.UTC))
    _live_on(*later)
    return then, later


def test_a_backfilled_week_is_the_snapshot_a_snapshot_taken_then_would_be(then_and_later):
    (then_org, then_owner, _), (later_org, later_owner, _) = then_and_later
    with time_machine.travel(THEN, tick=False):
        taken, _ = forecast_snapshot_take(
            actor=accounts.actor_for(then_owner, then_org),
            pipeline_key="p",
            trials=TRIALS,
            seed=SEED,
        )
    with time_machine.travel(LATER, tick=False):
        result = forecast_snapshot_backfill(
            actor=accounts.actor_for(later_owner, later_org),
            pipeline_key="p",
            weeks=3,
            trials=TRIALS,
            seed=SEED,
        )
    assert [s.week for s in result.taken] == ["2026-W03", "2026-W04", "2026-W05"]
    backfilled = result.taken[0]
    assert backfilled.taken_at == THEN and backfilled.backfilled_at == LATER
    assert taken.backfilled_at is None
    # The same forecast, number for number: the stays, open deals, values and dates of THEN.
    assert backfilled.periods == taken.periods
    assert backfilled.quarters == taken.quarters
    # Not by chance: January's weighted pipeline is the five deals closing on 20 January at
    # their value then (1000 × 10 %), not deal 3's later 9000 nor deal 4's later date.
    assert backfilled.periods[0]["period"] == "2026-01"
    assert backfilled.periods[0]["weighted"] == 500.0
    assert backfilled.periods[1]["count_p90"] > 0
    # A later week knows what happened since: deals 0 and 1 won, deal 2 in b, the new deal.
    assert result.taken[2].periods != backfilled.periods
    # At W05 January is past; February has the three deals closing on the 15th and the imported
    # one, March deal 4 (its date was moved on 15 January, before that week).
    assert [p["weighted"] for p in result.taken[2].periods[:3]] == [0.0, 500.0, 100.0]
    event = AuditEvent.objects.get(
        organisation=later_org, action="forecast.snapshot", object_id=str(backfilled.pk)
    )
    assert event.changes["week"] == "2026-W03" and event.changes["backfilled"] is True
    assert event.changes["as_of"] == THEN.isoformat()
    assert event.actor_label == later_owner.email


def test_weeks_with_a_snapshot_keep_it_and_weeks_before_the_history_are_skipped(then_and_later):
    _, (organisation, owner, _) = then_and_later
    actor = accounts.actor_for(owner, organisation)
    with time_machine.travel(dt.datetime(2026, 1, 28, 10, tzinfo=dt.UTC), tick=False):
        live, _ = forecast_snapshot_take(actor=actor, pipeline_key="p", trials=100, seed=1)
    assert live.week == "2026-W05"
    with time_machine.travel(LATER, tick=False):
        # 20 weeks back from W06 is Monday 15 September 2025; the history begins on
        # Wednesday 1 October, so the weeks of 15, 22 and 29 September had nothing to forecast.
        result = forecast_snapshot_backfill(
            actor=actor, pipeline_key="p", weeks=20, trials=100, seed=1
        )
        again = forecast_snapshot_backfill(actor=actor, pipeline_key="p", weeks=20, trials=100)
    assert (len(result.taken), result.kept, result.before_history) == (16, 1, 3)
    assert result.taken[0].week == "2025-W41" and result.taken[-1].week == "2026-W04"
    assert all(s.taken_at == week_start(s.taken_at) for s in result.taken)
    assert ForecastSnapshot.objects.get(pk=live.pk).backfilled_at is None
    assert (len(again.taken), again.kept, again.before_history) == (0, 17, 3)
    # A week before the deals open on 10 January entered a, the forecast had none to cover.
    empty = next(s for s in result.taken if s.week == "2025-W52")
    assert all(p["p90"] == 0 and p["weighted"] == 0 for p in empty.periods)


def test_accuracy_marks_backfilled_snapshots(then_and_later):
    _, (organisation, owner, _) = then_and_later
    actor = accounts.actor_for(owner, organisation)
    with time_machine.travel(LATER, tick=False):
        forecast_snapshot_backfill(actor=actor, pipeline_key="p", weeks=3, trials=100, seed=2)
    rows = forecast_accuracy(
        actor=actor, pipeline_key="p", now=dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    )
    # February: the snapshot of W05 (Monday 26 January), the last before it began.
    assert [(r["period"], r["snapshot_week"], r["snapshot_backfilled"]) for r in rows] == [
        ("2026-02", "2026-W05", True)
    ]
    _, token = accounts.token_create(user=owner, actor=accounts.system_actor(organisation))
    with time_machine.travel(dt.datetime(2026, 3, 5, tzinfo=dt.UTC), tick=False):
        body = ApiClient(token).get("/forecast/accuracy?pipeline=p").json()
    assert [(r["period"], r["snapshot_backfilled"]) for r in body["periods"]] == [("2026-02", True)]


def test_only_snapshot_takers_backfill_and_weeks_must_be_in_range(then_and_later):
    _, (organisation, owner, _) = then_and_later
    seller = accounts.user_create(
        email="sam@later.test", actor=accounts.system_actor(organisation), role="salesperson"
    )
    with pytest.raises(PermissionDenied):
        forecast_snapshot_backfill(
            actor=accounts.actor_for(seller, organisation), pipeline_key="p", weeks=2
        )
    actor = accounts.actor_for(owner, organisation)
    for weeks in (0, 105, True):
        with pytest.raises(ValidationFailed) as refused:
            forecast_snapshot_backfill(actor=actor, pipeline_key="p", weeks=weeks)
        assert [p.loc for p in refused.value.problems] == [("weeks",)]
    assert not ForecastSnapshot.objects.filter(organisation=organisation).exists()


def test_cli_backfills_and_marks_the_weeks_in_the_accuracy_table(then_and_later, capsys):
    _, (organisation, _, _) = then_and_later
    with time_machine.travel(LATER, tick=False):
        code = cli.main(
            ["forecast", "--org", organisation.slug, "--pipeline", "p", "--backfill", "3",
             "--trials", "100", "--seed", "3"]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Backfilled the snapshot of 2026-W03 (as of 2026-01-12)." in out
    assert out.splitlines()[-1].startswith("3 backfilled for pipeline p; 0 weeks kept")
    with time_machine.travel("2026-03-02T00:00:00Z", tick=False):
        code = cli.main(["forecast", "--org", organisation.slug, "--pipeline", "p", "--accuracy"])
    out = capsys.readouterr().out
    (february,) = [line for line in out.splitlines() if line.startswith("2026-02")]
    assert code == 0 and february.split()[1] == "2026-W05*"
    assert "* backfilled" in out
    with pytest.raises(SystemExit):
        cli.main(["forecast", "--org", organisation.slug, "--pipeline", "p", "--backfill", "0"])
    assert "'0' is not a whole number of 1 or more" in capsys.readouterr().err
