"""The forecast's pure core: the weighted pipeline and the Monte-Carlo replay (no database)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np

from salesline.analytics import forecast
from salesline.analytics.forecast import (
    LATER,
    OVERDUE,
    UNDATED,
    OpenPositions,
    day_number,
    monte_carlo,
    month_starts,
    open_positions,
    weighted_pipeline,
)
from salesline.analytics.history import history_from_rows, stays_of

AS_OF = datetime(2026, 1, 10, tzinfo=UTC)
T0 = datetime(2025, 6, 1, tzinfo=UTC)
DAYS = timedelta(days=1)


def test_month_starts_cover_the_horizon_from_the_current_month():
    starts = month_starts(int(AS_OF.timestamp()), 3)
    assert starts == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    december = month_starts(int(datetime(2026, 12, 31, 23, tzinfo=UTC).timestamp()), 1)
    assert december == [date(2026, 12, 1), date(2027, 1, 1)]


def test_weighted_pipeline_sums_value_times_probability_by_close_month_and_bucket():
    months = month_starts(int(AS_OF.timestamp()), 2)  # January and February 2026
    result = weighted_pipeline(
        values=np.array([1000.0, 2000.0, 500.0, 800.0, 100.0, 300.0]),
        probabilities=np.array([10, 50, 100, 25, 40, 20]),
        close_days=np.array(
            [
                day_number(date(2026, 1, 20)),  # January: 1000 × 0.10 = 100
                day_number(date(2026, 2, 28)),  # February: 2000 × 0.50 = 1000
                day_number(date(2026, 1, 10)),  # today counts as January: 500 × 1.00 = 500
                day_number(date(2026, 1, 9)),  # yesterday: overdue, 800 × 0.25 = 200
                np.nan,  # undated: 100 × 0.40 = 40
                day_number(date(2026, 3, 1)),  # after the horizon: later, 300 × 0.20 = 60
            ]
        ),
        today=AS_OF.date(),
        months=months,
    )
    assert result.months == (600.0, 1000.0)
    assert result.buckets == {OVERDUE: 200.0, UNDATED: 40.0, LATER: 60.0}


def _known_pipeline(open_rows):
    """Stage a: every stay lasts exactly 10 days, then 60 % go to b and 40 % are lost.
    Stage b: every stay lasts exactly 20 days, then half are won, half lost. So from a fresh
    entry into a the chance of winning is 0.6 × 0.5 = 0.3, won 30 days after entering a."""
    rows = []
    for opp in range(1, 101):
        rows.append((opp, T0, "p", "a", "open"))
        if opp <= 60:
            rows.append((opp, T0 + 10 * DAYS, "p", "b", "open"))
            end = "won" if opp <= 30 else "lost"
            rows.append((opp, T0 + 30 * DAYS, "p", end, end))
        else:
            rows.append((opp, T0 + 10 * DAYS, "p", "lost", "lost"))
    rows.extend(open_rows)
    history = history_from_rows(rows, as_of=AS_OF)
    return history, stays_of(history)


def _positions(history, stays, values):
    codes = np.array([history.stage_code("p", "a"), history.stage_code("p", "b")], dtype=np.int32)
    positions = open_positions(history, stays, stage_codes=codes, values=values)
    return positions


def test_mean_over_trials_converges_to_the_analytic_expectation():
    # 200 open in a, just entered: each is won on 9 February (as_of + 30 days) with p = 0.3.
    # 50 open in b for 5 days: each is won on 25 January (15 days left) with p = 0.5.
    open_rows = [(1000 + i, AS_OF, "p", "a", "open") for i in range(200)]
    open_rows += [(2000 + i, AS_OF - 5 * DAYS, "p", "b", "open") for i in range(50)]
    history, stays = _known_pipeline(open_rows)
    values = {1000 + i: 1000.0 + 10 * i for i in range(200)}  # Σ = 200·1000 + 10·19,900 = 399,000
    values |= {2000 + i: 500.0 for i in range(50)}  # Σ = 25,000
    positions = _positions(history, stays, values)
    assert positions.stage.shape[0] == 250

    trials = 2000
    result = monte_carlo(history, stays, positions, horizon=3, trials=trials, seed=11)
    january, february, march = result.months
    assert [m.period for m in result.months] == ["2026-01", "2026-02", "2026-03"]

    # Expected: January 0.5 × 50 = 25 won worth 0.5 × 25,000 = 12,500;
    # February 0.3 × 200 = 60 won worth 0.3 × 399,000 = 119,700; March nothing.
    # Standard error of the trial mean: the trials' own spread, √(n·p·(1−p)/trials), plus the
    # replay's estimate of p from its paths (group a gets 200/250 of PATHS_BUDGET paths,
    # group b max(MIN_PATHS_PER_GROUP, 50/250 of it)), n·√(p·(1−p)/paths). Allow 4 of them.
    paths_a = forecast.PATHS_BUDGET * 200 / 250
    paths_b = max(forecast.MIN_PATHS_PER_GROUP, forecast.PATHS_BUDGET * 50 / 250)
    se_feb = math.hypot(math.sqrt(200 * 0.21 / trials), 200 * math.sqrt(0.21 / paths_a))
    se_jan = math.hypot(math.sqrt(50 * 0.25 / trials), 50 * math.sqrt(0.25 / paths_b))
    assert abs(february.count.mean - 60) < 4 * se_feb
    assert abs(january.count.mean - 25) < 4 * se_jan
    # A won deal is worth at most 2,990 in a and 500 in b: the value's error is at most that
    # many times the count's.
    assert abs(february.value.mean - 119_700) < 4 * se_feb * 2990
    assert abs(january.value.mean - 12_500) < 4 * se_jan * 500
    assert march.count.p90 == 0 and march.value.p90 == 0
    # The spread is the binomial's: P10 < P50 < P90 around the mean.
    assert february.count.p10 < february.count.p50 < february.count.p90
    assert february.value.p10 < 119_700 < february.value.p90
    # Quarters: 2026-Q1 holds all three months.
    (q1,) = result.quarters
    assert q1.period == "2026-Q1" and q1.months == 3
    assert abs(q1.count.mean - 85) < 4 * math.hypot(se_feb, se_jan)


def test_age_conditions_the_first_stay_and_an_outlived_stage_starts_afresh():
    # In a for 4 days: 6 days left, then b's 20 → won on 5 February (as_of + 26 days).
    # In a for 15 days (longer than any stay of a): it draws a fresh stay, 10 + 20 days
    # → won on 9 February. Either way never in January, and won with p = 0.3.
    open_rows = [(3000 + i, AS_OF - 4 * DAYS, "p", "a", "open") for i in range(100)]
    open_rows += [(4000 + i, AS_OF - 15 * DAYS, "p", "a", "open") for i in range(100)]
    history, stays = _known_pipeline(open_rows)
    positions = _positions(history, stays, None)
    result = monte_carlo(history, stays, positions, horizon=2, trials=500, seed=3)
    january, february = result.months
    assert january.count.p90 == 0
    assert abs(february.count.mean - 60) < 4 * math.hypot(
        math.sqrt(200 * 0.21 / 500), 200 * math.sqrt(0.21 / forecast.MIN_PATHS_PER_GROUP)
    )


def test_a_stage_never_left_gives_no_evidence_and_its_opportunities_do_not_close():
    open_rows = [(5000, AS_OF - 3 * DAYS, "p", "c", "open")]
    history, stays = _known_pipeline(open_rows)
    codes = np.array([history.stage_code("p", "c")], dtype=np.int32)
    positions = open_positions(history, stays, stage_codes=codes, values={5000: 100.0})
    result = monte_carlo(history, stays, positions, horizon=2, trials=100, seed=1)
    assert result.open_count == 1 and result.not_modelled == 1
    assert all(m.count.p90 == 0 for m in result.months)


def test_same_seed_same_numbers_and_another_seed_other_numbers():
    open_rows = [(1000 + i, AS_OF - i * DAYS / 10, "p", "a", "open") for i in range(80)]
    history, stays = _known_pipeline(open_rows)
    values = {1000 + i: 100.0 * (1 + i % 7) for i in range(80)}
    positions = _positions(history, stays, values)
    first = monte_carlo(history, stays, positions, horizon=2, trials=3000, seed=5)
    again = monte_carlo(history, stays, positions, horizon=2, trials=3000, seed=5)
    other = monte_carlo(history, stays, positions, horizon=2, trials=3000, seed=6)
    assert first.months == again.months and first.quarters == again.quarters
    assert first.months != other.months


def test_more_trials_than_the_pool_still_reproduce_and_converge():
    open_rows = [(1000 + i, AS_OF, "p", "a", "open") for i in range(100)]
    history, stays = _known_pipeline(open_rows)
    positions = _positions(history, stays, {1000 + i: 10.0 for i in range(100)})
    trials = forecast.POOL * 3
    first = monte_carlo(history, stays, positions, horizon=2, trials=trials, seed=9)
    again = monte_carlo(history, stays, positions, horizon=2, trials=trials, seed=9)
    assert first.months == again.months
    february = first.months[1]
    se = math.hypot(
        math.sqrt(100 * 0.21 / forecast.POOL), 100 * math.sqrt(0.21 / forecast.PATHS_BUDGET)
    )
    assert abs(february.count.mean - 30) < 4 * se
    # Every won deal is worth 10: the value is exactly ten times the count.
    assert february.value.p50 == 10 * february.count.p50


def test_no_open_opportunities_gives_zeros():
    history, stays = _known_pipeline([])
    positions = OpenPositions(
        opportunity=np.zeros(0, dtype=np.int64),
        stage=np.zeros(0, dtype=np.int32),
        age=np.zeros(0, dtype=np.int64),
        value=np.zeros(0),
    )
    result = monte_carlo(history, stays, positions, horizon=2, trials=10, seed=1)
    assert [m.value.p50 for m in result.months] == [0.0, 0.0]
    assert result.open_count == 0 and result.groups == 0


def test_replay_samples_a_long_history_but_keeps_every_stay_of_a_rare_stage(monkeypatch):
    # 300 deals go a → b → lost (a: 10 days, b: 20 days); 3 deals go a → c → lost. A sample
    # of one row in each block of 909 // 60 = 15 keeps about 303/15 ≈ 20 stays of a and
    # 300/15 = 20 of b (the blocks' rows are a, b and lost in turn: a fixed stride of 15
    # would take only one kind), but c would keep one at most: with a deal open in it, it keeps all 3 of its own.
    rows = []
    for opp in range(300):
        rows += [(opp, T0, "p", "a", "open"), (opp, T0 + 10 * DAYS, "p", "b", "open")]
        rows.append((opp, T0 + 30 * DAYS, "p", "lost", "lost"))
    for opp in range(1000, 1003):
        rows += [(opp, T0, "p", "a", "open"), (opp, T0 + 10 * DAYS, "p", "c", "open")]
        rows.append((opp, T0 + 15 * DAYS, "p", "lost", "lost"))
    history = history_from_rows(rows, as_of=AS_OF)
    monkeypatch.setattr(forecast, "SAMPLE_ROWS", 60)
    monkeypatch.setattr(forecast, "MIN_STAYS_KEPT", 5)
    code = {key: history.stage_code("p", key) for key in ("a", "b", "c", "lost")}
    # An open deal is in c: its stays matter.
    replay = forecast.replay_tables(
        stays_of(history), len(history.stages), current_stages=np.array([code["c"]])
    )
    # 61 blocks, each row of a kind with chance 1/3: 20 ± 3.7 each (a fixed seed: always the
    # same numbers; the bounds are three standard deviations).
    assert 9 <= replay.count[code["a"]] <= 31 and 9 <= replay.count[code["b"]] <= 31
    assert replay.count[code["c"]] == 3 and replay.count[code["lost"]] == 0
    assert set(replay.lengths_of(code["a"]).tolist()) == {10 * 86_400}
    assert set(replay.lengths_of(code["c"]).tolist()) == {5 * 86_400}
    # Sorted by (stage, length) so that the replay can search them.
    assert np.all(np.diff(replay.key) >= 0)
