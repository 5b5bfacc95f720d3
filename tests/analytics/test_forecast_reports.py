"""The forecast through the database: report, snapshots and accuracy (forecast_data tells the
story and its numbers)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pytest
import time_machine

from salesline.accounts import services as accounts
from salesline.analytics import forecast_services
from salesline.analytics.forecast_selectors import forecast_accuracy, forecast_report
from salesline.analytics.forecast_services import forecast_snapshot_take, take_weekly_snapshots
from salesline.analytics.models import ForecastSnapshot
from salesline.core.audit import AuditEvent
from salesline.core.errors import PermissionDenied
from salesline.pipeline.definition import pipelines_of
from salesline.process.selectors import definition_for

from .forecast_data import NOW, forecast_organisation, known_organisations, win


@dataclass
class LocalFilters:
    """A stand-in for analytics.filters.MetricFilters: the two things the forecast reads."""

    pipeline: object
    ids: np.ndarray | None = None

    def opportunity_ids(self):
        return self.ids


@pytest.fixture
def known(db):
    return known_organisations()


def _filters(organisation, ids=None):
    (pipeline,) = pipelines_of(definition_for(organisation))
    return LocalFilters(pipeline=pipeline, ids=ids)


def test_report_has_the_contract_shape_and_the_weighted_pipeline(known):
    organisation, owner, _ = known
    actor = accounts.actor_for(owner, organisation)
    with time_machine.travel(NOW, tick=False):
        report = forecast_report(
            actor=actor, filters=_filters(organisation), trials=2000, seed=7, horizon=3
        )
    assert report["trials"] == 2000 and report["seed"] == 7
    assert [p["period"] for p in report["periods"]] == ["2026-01", "2026-02", "2026-03"]
    for period in report["periods"]:
        assert set(period) == {"period", "weighted", "p10", "p50", "p90", "count_p50"}
    # Stage a's probability is 10: five deals of 1000 closing in January → 500, three in
    # February → 300; the undated and the overdue one 100 each; the trashed deal nowhere.
    assert [p["weighted"] for p in report["periods"]] == [500.0, 300.0, 0.0]
    assert report["weighted_buckets"] == {"overdue": 100.0, "undated": 100.0, "later": 0.0}
    assert report["weighted_total"] == 1000.0
    assert report["open_opportunities"] == 10 and report["modelled"] == 10
    # Ten deals, each won on 9 February with p = 0.3: mean 3 won, 3000; none in Jan or March.
    january, february, march = report["counts"]
    se = math.sqrt(10 * 0.21 / 2000)
    assert abs(february["count_mean"] - 3) < 4 * se
    assert abs(february["mean"] - 3000) < 4 * se * 1000
    assert january["count_p90"] == 0 and march["count_p90"] == 0
    assert report["periods"][1]["p50"] == 1000.0 * report["periods"][1]["count_p50"]
    assert report["quarters"][0]["period"] == "2026-Q1" and report["quarters"][0]["months"] == 3


def test_same_seed_same_numbers_a_chosen_seed_is_returned(known):
    organisation, owner, _ = known
    actor = accounts.actor_for(owner, organisation)
    with time_machine.travel(NOW, tick=False):
        first = forecast_report(actor=actor, filters=_filters(organisation), trials=500, seed=3)
        again = forecast_report(actor=actor, filters=_filters(organisation), trials=500, seed=3)
        chosen = forecast_report(actor=actor, filters=_filters(organisation), trials=500)
    assert first == again
    assert isinstance(chosen["seed"], int) and 0 <= chosen["seed"] < 2**32


def test_record_filters_narrow_the_open_deals(known):
    organisation, owner, open_deals = known
    actor = accounts.actor_for(owner, organisation)
    ids = np.array([open_deals[0].pk, open_deals[5].pk], dtype=np.int64)
    with time_machine.travel(NOW, tick=False):
        report = forecast_report(
            actor=actor, filters=_filters(organisation, ids), trials=200, seed=1, horizon=2
        )
    # Deal 0 closes in January (100), deal 5 in February (100).
    assert [p["weighted"] for p in report["periods"]] == [100.0, 100.0]
    assert report["open_opportunities"] == 2


def test_a_snapshot_is_stored_once_per_week_and_audited(known):
    organisation, owner, _ = known
    actor = accounts.actor_for(owner, organisation)
    with time_machine.travel(NOW, tick=False):
        snapshot, taken = forecast_snapshot_take(actor=actor, pipeline_key="p", trials=300, seed=4)
        again, taken_again = forecast_snapshot_take(actor=actor, pipeline_key="p", trials=300)
    assert taken and not taken_again and again.pk == snapshot.pk
    assert (snapshot.iso_year, snapshot.iso_week) == (2026, 2)
    assert snapshot.seed == 4 and snapshot.trials == 300
    assert snapshot.periods[1]["period"] == "2026-02"
    assert {"p10", "p50", "p90", "count_p10", "count_p50", "count_p90"} <= set(snapshot.periods[1])
    event = AuditEvent.objects.get(organisation=organisation, action="forecast.snapshot")
    assert event.changes["week"] == "2026-W02" and event.actor_label == owner.email


def test_only_admins_and_coordinators_take_snapshots(known):
    organisation, _, _ = known
    seller = accounts.user_create(
        email="sam@forecast.test", actor=accounts.system_actor(organisation), role="salesperson"
    )
    with pytest.raises(PermissionDenied):
        forecast_snapshot_take(actor=accounts.actor_for(seller, organisation), pipeline_key="p")


def test_the_weekly_callback_takes_each_pipeline_once_and_survives_a_failure(known, monkeypatch):
    organisation, _, _ = known
    real = forecast_services.forecast_result
    calls = []

    def failing_for_elsewhere(*, actor, **kwargs):
        calls.append(actor.organisation.name)
        if actor.organisation.name == "Elsewhere":
            raise RuntimeError("boom")
        return real(actor=actor, **{**kwargs, "trials": 100})

    monkeypatch.setattr(forecast_services, "forecast_result", failing_for_elsewhere)
    with time_machine.travel(NOW, tick=False):
        first = take_weekly_snapshots()
        second = take_weekly_snapshots()
    # Every organisation of the database has pipeline(s); Elsewhere fails each time, the
    # others are taken the first time and skipped the second.
    assert first["failed"] == 1 and first["taken"] >= 1
    assert second == {"taken": 0, "failed": 1}
    stored = ForecastSnapshot.objects.get(organisation=organisation, pipeline_key="p")
    assert stored.week == "2026-W02"
    assert not ForecastSnapshot.objects.filter(organisation__name="Elsewhere").exists()
    snapshot_events = AuditEvent.objects.filter(action="forecast.snapshot")
    assert snapshot_events.get(organisation=organisation).actor_label == "forecast snapshots"


def test_accuracy_compares_the_snapshot_before_each_month_with_what_closed(known):
    organisation, owner, open_deals = known
    actor = accounts.actor_for(owner, organisation)
    ForecastSnapshot.objects.create(
        organisation=organisation,
        pipeline_key="p",
        taken_at=NOW,  # 10 January: forecasts February on; January had begun
        iso_year=2026,
        iso_week=2,
        trials=100,
        seed=1,
        periods=[
            {"period": "2026-01", "weighted": 0, "p10": 0, "p50": 0, "p90": 0, "count_p50": 0},
            {
                "period": "2026-02",
                "weighted": 300,
                "p10": 1000,
                "p50": 3000,
                "p90": 5000,
                "count_p10": 1,
                "count_p50": 3,
                "count_p90": 5,
            },
            {
                "period": "2026-03",
                "weighted": 0,
                "p10": 0,
                "p50": 0,
                "p90": 0,
                "count_p10": 0,
                "count_p50": 0,
                "count_p90": 0,
            },
        ],
    )
    # Four deals won in February (one of them twice: it counts once), one in March.
    for deal in open_deals[:4]:
        win(deal, dt.datetime(2026, 2, 9, tzinfo=dt.UTC))
    win(open_deals[0], dt.datetime(2026, 2, 20, tzinfo=dt.UTC))
    win(open_deals[4], dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    rows = forecast_accuracy(
        actor=actor, pipeline_key="p", now=dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    )
    # January began before the snapshot, March is not over: only February is judged.
    assert rows == [
        {
            "period": "2026-02",
            "snapshot_week": "2026-W02",
            "snapshot_taken_at": NOW.isoformat(),
            "snapshot_backfilled": False,
            "p10": 1000,
            "p50": 3000,
            "p90": 5000,
            "count_p50": 3,
            "actual_value": 4000.0,
            "actual_count": 4,
            "error": 1000.0,
            "within": True,
            "count_within": True,
        }
    ]
    # Another organisation sees none of it.
    other = forecast_organisation("Third")
    assert forecast_accuracy(actor=accounts.system_actor(other), pipeline_key="p") == []


def test_stays_are_kept_for_the_same_columns_and_read_again_for_new_ones():
    import dataclasses

    from salesline.analytics import forecast_selectors
    from salesline.analytics.history import history_from_rows, stays_of

    rows = [(1, 100, "p", "a", "open"), (1, 200, "p", "b", "open"), (2, 150, "p", "a", "open")]
    history = history_from_rows(rows, as_of=1000)
    first = forecast_selectors.stays_for(history)
    # The extract hands out the same columns with a later as_of: the same stays.
    later = forecast_selectors.stays_for(dataclasses.replace(history, as_of=2000))
    assert later.left is first.left and later.to_stage is first.to_stage
    assert later.opportunity is history.opportunity and later.entered is history.at
    assert later.left.tolist() == stays_of(history).left.tolist() == [200, -1, -1]
    # New columns (the history grew): read again.
    grown = history_from_rows([*rows, (2, 300, "p", "won", "won")], as_of=2000)
    assert forecast_selectors.stays_for(grown).left.tolist() == [200, -1, 300, -1]
    # What is kept holds no column of a history: once the history goes, so does its entry.
    key = tuple(id(c) for c in (history.opportunity, history.at, history.stage, history.kind))
    del history, first, later
    import gc

    gc.collect()
    forecast_selectors.stays_for(grown)
    assert key not in forecast_selectors._stays_kept
