"""The flow history as columns: rows sorted by opportunity and time, and the stays they imply."""

from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from salesline.analytics.history import (
    LOST,
    NONE,
    OPEN,
    WON,
    empty_history,
    epoch_seconds,
    history_from_rows,
    stays_of,
)

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def test_rows_are_sorted_by_opportunity_then_time_and_stages_get_codes():
    history = history_from_rows(
        [
            (7, at(3), "sales", "won", "won"),
            (5, at(1), "sales", "lead", "open"),
            (7, at(0), "sales", "lead", "open"),
            (7, at(2), "sales", "offer", "open"),
        ],
        as_of=at(10),
    )
    assert history.opportunity.tolist() == [5, 7, 7, 7]
    assert history.at.tolist() == [epoch_seconds(at(d)) for d in (1, 0, 2, 3)]
    assert history.stages == (("sales", "lead"), ("sales", "offer"), ("sales", "won"))
    assert history.stage.tolist() == [0, 0, 1, 2]
    assert history.kind.tolist() == [OPEN, OPEN, OPEN, WON]
    assert history.stage_code("sales", "offer") == 1
    assert history.stage_code("sales", "nowhere") == NONE
    assert history.pipeline_codes("sales").tolist() == [0, 1, 2]
    assert history.as_of == epoch_seconds(at(10))


def test_each_stay_ends_at_the_same_opportunitys_next_change():
    history = history_from_rows(
        [
            (1, at(0), "sales", "lead", "open"),
            (1, at(2), "sales", "offer", "open"),
            (1, at(5), "sales", "lost", "lost"),
            (2, at(1), "sales", "lead", "open"),
        ],
        as_of=at(9),
    )
    stays = stays_of(history)
    # Opportunity 1: lead for 2 days, offer for 3, then lost (still "in" lost); 2 is in lead.
    assert stays.entered.tolist() == [epoch_seconds(at(d)) for d in (0, 2, 5, 1)]
    assert stays.left.tolist() == [epoch_seconds(at(2)), epoch_seconds(at(5)), NONE, NONE]
    assert stays.to_stage.tolist() == [1, 2, NONE, NONE]
    assert stays.to_kind.tolist() == [OPEN, LOST, NONE, NONE]
    assert stays.first.tolist() == [True, False, False, True]
    assert stays.ongoing.tolist() == [False, False, True, True]


def test_select_keeps_whole_opportunities():
    history = history_from_rows(
        [
            (1, at(0), "sales", "lead", "open"),
            (1, at(2), "sales", "offer", "open"),
            (2, at(1), "sales", "lead", "open"),
        ],
        as_of=at(3),
    )
    only_one = history.select(history.opportunities_mask(np.array([1])))
    assert only_one.opportunity.tolist() == [1, 1]
    assert stays_of(only_one).left.tolist() == [epoch_seconds(at(2)), NONE]
    assert len(history.select(history.opportunities_mask([]))) == 0


def test_an_empty_history_has_no_stays():
    stays = stays_of(empty_history(as_of=T0))
    assert stays.left.shape == (0,)
    assert stays.first.shape == (0,)


def test_epoch_seconds_reads_naive_moments_as_utc():
    cet = timezone(timedelta(hours=1))
    assert epoch_seconds(datetime(2026, 1, 1, 1, tzinfo=cet)) == epoch_seconds(
        datetime(2026, 1, 1)  # noqa: DTZ001 - naive on purpose
    )
