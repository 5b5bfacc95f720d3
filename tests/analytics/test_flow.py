"""Flow metrics, the bottleneck and calibration on a small hand-computed history (pure: no
database). The selector, API, CLI and page tests reuse HISTORY and the expected numbers.

The pipeline `p` has stages a (open, 10 %, stalled after 10 days), b (open, 50 %, the default
30 days), c (open, 80 %, never entered: every figure of it that needs data is None), won, lost.
The period is January 2026: [2026-01-01 00:00, 2026-02-01 00:00) UTC, 31 days. Times below are
days after 2026-01-01 00:00 UTC ("day 0").

    opp 1  a@-10  b@4  won@14                    value 1000
    opp 2  a@1    b@11 lost@19
    opp 3  a@2                                   (still in a)
    opp 4  a@9    b@19 won@29  b@30.5  won@40    value 3000 (won, reopened, won again)
    opp 5  a@-31  b@-22  lost@31                 (leaves b exactly at the period's end)
    opp 6  a@-5   b@0  won@10                    value 2000 (leaves a exactly at its start)
    opp 7  a@5    other:x@8                      (moved to another pipeline)
    opp 8  other:x@3                             (another pipeline only)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from salesline.analytics import flow as flow_module
from salesline.analytics.flow import (
    AGE_BAND_LABELS,
    calibration,
    flow_metrics,
    period_of,
    wilson_interval,
)
from salesline.analytics.history import DAY, empty_history, history_from_rows, stays_of

from .flow_data import AS_OF, DAY0, HISTORY, JANUARY, STAGES, VALUES, by_key, metrics, rows


def test_the_period_is_from_the_start_of_from_to_the_end_of_to():
    assert JANUARY.start == int(DAY0.timestamp())
    assert JANUARY.end == int(DAY0.timestamp()) + 31 * DAY
    assert JANUARY.days == 31


def test_stage_a_arrivals_exits_conversions_and_days():
    a = by_key(metrics())["a"]
    # Entered in January: opps 2 (day 1), 3 (2), 7 (5), 4 (9). Opps 1, 5, 6 entered before.
    assert a.arrivals == 4
    # Left in January: 1 (day 4) 2 (11) 4 (19) 6 (day 0, exactly the start) to b, 7 to the
    # other pipeline. 5 left on day -22.
    assert a.exits == {"b": 4, "other:x": 1}
    assert a.exit_count == 5
    # To a later stage that is not lost: the four to b; another pipeline is not later. 4/5.
    assert a.conversion_to_next == pytest.approx(0.8)
    # Closed since: 1 won, 2 lost, 4 won (its first closing after a), 6 won; 7 has not
    # closed and is left out. 3 of 4.
    assert a.resolved_exits == 4
    assert a.conversion_to_won == pytest.approx(0.75)
    # Days of the stays that ended: 14 (1), 10 (2), 10 (4), 5 (6), 3 (7): [3, 5, 10, 10, 14].
    assert a.median_days_in_stage == pytest.approx(10)
    # p85 at rank 0.85 × 4 = 3.4: 10 + 0.4 × (14 − 10) = 11.6.
    assert a.p85_days_in_stage == pytest.approx(11.6)
    # 2 in a when January began (1, and 6, which left exactly at the start); 2 + 4 − 5 = 1
    # at its end: opp 3, aged 31 − 2 = 29 days: the "7 to 30 days" band, and stalled (> 10).
    assert (a.wip_start, a.wip) == (2, 1)
    assert a.wip_age_bands == (0, 1, 0, 0)
    assert a.median_wip_age_days == pytest.approx(29)
    assert a.stalled == 1
    # 5 exits in 31 / 7 weeks.
    assert a.exits_per_week == pytest.approx(5 * 7 / 31)


def test_stage_b_counts_a_reopened_opportunity_twice_and_leaves_the_end_edge_out():
    b = by_key(metrics())["b"]
    # Entered: 6 (day 0, the start counts), 1 (4), 2 (11), 4 (19) and 4 again (30.5, reopened).
    assert b.arrivals == 5
    # Left in January: 6 (10) 1 (14) 4 (29) to won, 2 (19) to lost. 5 left at day 31 =
    # 2026-02-01 00:00, the period's end: not in it. 4's second stay goes on to day 40.
    assert b.exits == {"won": 3, "lost": 1}
    assert b.conversion_to_next == pytest.approx(0.75)
    assert b.conversion_to_won == pytest.approx(0.75)
    # Days: 10 (6), 10 (1), 10 (4), 8 (2): [8, 10, 10, 10]: median 10, p85 at rank 2.55 = 10.
    assert b.median_days_in_stage == pytest.approx(10)
    assert b.p85_days_in_stage == pytest.approx(10)
    # At the start: 5 (in b since day −22). At the end: 5 (leaves exactly at the end) and 4
    # (back since 30.5): 1 + 5 − 4 = 2. Ages 31 + 22 = 53 (30 to 90; stalled, > 30) and 0.5.
    assert (b.wip_start, b.wip) == (1, 2)
    assert b.wip_age_bands == (1, 0, 1, 0)
    assert b.median_wip_age_days == pytest.approx((53 + 0.5) / 2)
    assert b.stalled == 1


def test_a_stage_with_no_data_answers_none_where_nothing_can_be_computed():
    c = by_key(metrics())["c"]
    assert (c.arrivals, c.exits, c.wip, c.stalled) == (0, {}, 0, 0)
    assert c.conversion_to_next is None
    assert c.conversion_to_won is None
    assert c.median_days_in_stage is None
    assert c.p85_days_in_stage is None
    assert c.median_wip_age_days is None
    assert c.wip_age_bands == (0, 0, 0, 0)


def test_closed_stages_use_the_same_definitions():
    result = by_key(metrics())
    won, lost = result["won"], result["lost"]
    # Into won: 6 (10), 1 (14), 4 (29). Out of won: 4 at 30.5, reopened back to b: not a
    # later stage (0 of 1), but it was won again since (1 of 1); 1.5 days in won.
    assert (won.arrivals, won.exits, won.wip) == (3, {"b": 1}, 2)
    assert won.conversion_to_next == 0.0
    assert won.conversion_to_won == 1.0
    assert won.median_days_in_stage == pytest.approx(1.5)
    # In won at the end: 1 (31 − 14 = 17 days) and 6 (21 days). Closed stages never stall.
    assert won.wip_age_bands == (0, 2, 0, 0)
    assert won.stalled == 0
    # Into lost: 2 (19); 5 entered at day 31, after the period.
    assert (lost.arrivals, lost.exits, lost.wip) == (1, {}, 1)
    assert lost.conversion_to_next is None


def test_overall_win_rate_value_cycle_and_velocity():
    result = metrics()
    # Closed in January: 6 won (10), 1 won (14), 2 lost (19), 4 won (29; reopened at 30.5
    # but its last closing in the period is that win). 5 closes on day 31: not in it.
    assert (result.won, result.lost) == (3, 1)
    assert result.win_rate == pytest.approx(0.75)
    # (1000 + 3000 + 2000) / 3.
    assert result.average_won_value == pytest.approx(2000)
    # Creation to won: 1: 14 + 10 = 24; 4: 29 − 9 = 20; 6: 10 + 5 = 15. Mean 59 / 3.
    assert result.average_cycle_days == pytest.approx(59 / 3)
    # Open in p at the end: 3 (a), 5 and 4 (b). 7 is in the other pipeline.
    assert result.open_at_end == 3
    # 3 × 0.75 × 2000 ÷ (59 / 3) = 13500 / 59 value per day.
    assert result.sales_velocity == pytest.approx(13500 / 59)
    # Cycle days of all four closed: [15, 18 (2: 19 − 1), 20, 24]: median 19; p85 at rank
    # 2.55: 20 + 0.55 × 4 = 22.2. Of the won: [15, 20, 24], median 20.
    assert result.cycle_median_days == pytest.approx(19)
    assert result.cycle_p85_days == pytest.approx(22.2)
    assert result.won_cycle_median_days == pytest.approx(20)


def test_weekly_throughput_by_iso_week():
    weeks = metrics().weekly
    # 2026-01-01 is a Thursday of ISO week 2026-W01 (Monday 2025-12-29); 31 January a Saturday
    # of W05. Won on 11 Jan (Sun, W02), 15 Jan (Thu, W03), 30 Jan (Fri, W05); lost 20 Jan (W04).
    assert [(w.week, w.monday, w.won, w.closed) for w in weeks] == [
        ("2026-W01", "2025-12-29", 0, 0),
        ("2026-W02", "2026-01-05", 1, 1),
        ("2026-W03", "2026-01-12", 1, 1),
        ("2026-W04", "2026-01-19", 0, 1),
        ("2026-W05", "2026-01-26", 1, 1),
    ]


def test_bottleneck_names_stage_b_with_its_evidence():
    bottleneck = metrics().bottleneck
    # a: growth max(0, 1 − 2) = 0; 5 exits for 4 arrivals: 1 − 1.25 < 0 → 0; wait 10 / 10 = 1:
    # score 1. b: growth 1 / 1 = 1; 1 − 4/5 = 0.2; wait 10 / 10 = 1: score 2.2. c has no data.
    assert bottleneck.stage == "b"
    assert bottleneck.score == pytest.approx(2.2)
    assert bottleneck.evidence == (
        "Work in progress grew from 1 to 2 opportunities over the period — the most of any "
        "open stage.",
        "4 left for 5 that arrived: throughput 80% of arrivals — the lowest of the open stages.",
        "Median time in the stage: 10.0 days — the longest of the open stages.",
        "Stalled: 1 opportunity in the stage for more than 30 days.",
    )


def test_no_bottleneck_without_an_open_stage_with_data():
    result = metrics(history=empty_history(as_of=AS_OF))
    assert result.bottleneck is None
    assert (result.won, result.lost, result.open_at_end) == (0, 0, 0)
    assert result.win_rate is None
    assert result.average_won_value is None
    assert result.average_cycle_days is None
    assert result.sales_velocity is None
    assert [s.arrivals for s in result.stages] == [0, 0, 0, 0, 0]


def test_won_opportunities_without_a_value_leave_the_average_and_velocity_none():
    result = flow_metrics(
        HISTORY, pipeline="p", stages=STAGES, period=JANUARY, won_values=lambda ids: {}
    )
    assert result.win_rate == pytest.approx(0.75)
    assert result.average_won_value is None
    assert result.sales_velocity is None


def test_a_selection_of_opportunities_keeps_their_whole_history():
    history = HISTORY.select(HISTORY.opportunities_mask([1, 2]))
    result = metrics(history=history)
    a = by_key(result)["a"]
    assert (a.arrivals, a.exit_count, a.wip_start, a.wip) == (1, 2, 1, 0)
    assert (result.won, result.lost) == (1, 1)
    assert result.average_won_value == 1000


def test_a_period_ending_after_the_history_was_read_measures_ages_up_to_now():
    # December 2026 ends after AS_OF (2026-03-01): WIP is what is in a stage now, and ages
    # run to now. Opp 3 has been in a since 2 Jan: 31 + 28 − 2 = 57 days.
    later = period_of(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    a = by_key(metrics(period=later))["a"]
    assert a.wip == 1
    assert a.median_wip_age_days == pytest.approx(57)
    assert a.arrivals == 0


def test_given_stays_give_the_same_numbers():
    # A caller that has the stays already (the dashboard) passes them in.
    given = flow_metrics(
        HISTORY,
        pipeline="p",
        stages=STAGES,
        period=JANUARY,
        won_values=lambda ids: {int(i): VALUES[int(i)] for i in ids if int(i) in VALUES},
        stays=stays_of(HISTORY),
    )
    assert given == metrics()


def test_age_bands_are_named():
    assert AGE_BAND_LABELS == ("under 7 days", "7 to 30 days", "30 to 90 days", "90 days or more")


# ---------------------------------------------------------------- calibration


def test_wilson_interval_matches_the_hand_computed_bound():
    # 3 of 5, z = 1.959964 (z² = 3.841459):
    # centre = (0.6 + 3.841459 / 10) / (1 + 3.841459 / 5) = 0.9841459 / 1.7682918 = 0.556551
    # half = z × √(0.6 × 0.4 / 5 + 3.841459 / 100) / 1.7682918 = 1.959964 × 0.293964 / 1.7682918
    #      = 0.325827
    low, high = wilson_interval(3, 5)
    assert low == pytest.approx(0.556551 - 0.325827, abs=1e-5)  # 0.230724
    assert high == pytest.approx(0.556551 + 0.325827, abs=1e-5)  # 0.882378
    # 0 of 4: centre = (3.841459 / 8) / 1.960365 = 0.244944, half the same: [0, 0.489887].
    low, high = wilson_interval(0, 4)
    assert low == 0.0
    assert high == pytest.approx(0.489887, abs=1e-5)
    assert wilson_interval(0, 0) is None


def test_calibration_per_open_stage():
    result = {c.key: c for c in calibration(HISTORY, pipeline="p", stages=STAGES)}
    # Only open stages are calibrated.
    assert list(result) == ["a", "b", "c"]
    a = result["a"]
    # Ever in a: 1..7. Closed now: 1 won, 2 lost, 4 won, 5 lost, 6 won (3 and 7 still open).
    assert (a.configured, a.sample, a.won, a.still_open) == (10, 5, 3, 2)
    assert a.observed == pytest.approx(60)
    assert a.low == pytest.approx(23.0724, abs=1e-3)
    assert a.high == pytest.approx(88.2378, abs=1e-3)
    assert a.suggested == 60
    b = result["b"]
    # Ever in b: 1, 2, 4, 5, 6: all closed, 3 won.
    assert (b.configured, b.sample, b.won, b.still_open) == (50, 5, 3, 0)
    c = result["c"]
    assert (c.sample, c.observed, c.low, c.high, c.suggested) == (0, None, None, None, None)


def test_calibration_of_an_empty_history_has_no_sample():
    result = calibration(empty_history(as_of=AS_OF), pipeline="p", stages=STAGES)
    assert [(c.key, c.sample, c.observed) for c in result] == [
        ("a", 0, None),
        ("b", 0, None),
        ("c", 0, None),
    ]


def test_calibration_without_bit_masks_gives_the_same_numbers(monkeypatch):
    # A pipeline of more stages than a 64-bit mask holds takes the other path.
    expected = calibration(HISTORY, pipeline="p", stages=STAGES)
    monkeypatch.setattr(flow_module, "MASK_STAGES", 0)
    assert calibration(HISTORY, pipeline="p", stages=STAGES) == expected


def test_calibration_suggests_the_observed_probability_rounded_half_up():
    # 5 of 8 = 62.5 % → 63 (half up, not to even).
    moves = {i: [(0, "a"), (1, "won" if i < 5 else "lost")] for i in range(8)}
    history = history_from_rows(rows(moves), as_of=AS_OF)
    a = calibration(history, pipeline="p", stages=STAGES)[0]
    assert a.observed == pytest.approx(62.5)
    assert a.suggested == 63


def test_metrics_are_vectorised_over_many_opportunities():
    # The same eight opportunities, 500 times over under other ids: every count × 500, every
    # rate unchanged.
    many = []
    for copy in range(500):
        for opportunity, moment, pipeline, stage, kind in rows():
            many.append((copy * 100 + opportunity, moment, pipeline, stage, kind))
    history = history_from_rows(many, as_of=AS_OF)
    result = flow_metrics(
        history,
        pipeline="p",
        stages=STAGES,
        period=JANUARY,
        won_values=lambda ids: {int(i): VALUES[int(i) % 100] for i in ids},
    )
    a = by_key(result)["a"]
    assert (a.arrivals, a.exit_count, a.wip) == (2000, 2500, 500)
    # [3, 5, 10, 10, 14] × 500 sorted: ranks 2000..2499 are 14, and p85 is at rank
    # 0.85 × 2499 = 2124.15; the median (rank 1249.5) is still 10.
    assert a.median_days_in_stage == pytest.approx(10)
    assert a.p85_days_in_stage == pytest.approx(14)
    assert result.sales_velocity == pytest.approx(500 * 13500 / 59)
    assert result.bottleneck.stage == "b"
    assert np.all(np.diff(history.opportunity) >= 0)
