"""The dashboard's data series on a small hand-made history (no database)."""

from datetime import UTC, datetime

from salesline.analytics.flow import Period, StageDef, flow_metrics
from salesline.analytics.history import DAY, history_from_rows
from salesline.analytics.series import (
    cumulative_flow,
    funnel,
    sample_moments,
    time_in_stage,
    velocity_trend,
)

STAGES = [
    StageDef("lead", "Lead", "open", 10, 30),
    StageDef("offer", "Offer", "open", 50, 30),
    StageDef("won", "Won", "won", 100, 30),
    StageDef("lost", "Lost", "lost", 0, 30),
]
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def at(day: float) -> int:
    return T0 + int(day * DAY)


# Opportunity 1: lead day 0, offer day 2, won day 5.
# Opportunity 2: lead day 1, lost day 4.
# Opportunity 3: lead day 3 (still there).
# Opportunity 4: created straight into offer on day 6 (skipped lead), still there.
ROWS = [
    (1, at(0), "sales", "lead", "open"),
    (1, at(2), "sales", "offer", "open"),
    (1, at(5), "sales", "won", "won"),
    (2, at(1), "sales", "lead", "open"),
    (2, at(4), "sales", "lost", "lost"),
    (3, at(3), "sales", "lead", "open"),
    (4, at(6), "sales", "offer", "open"),
]
HISTORY = history_from_rows(ROWS, as_of=at(10))


def test_cumulative_flow_counts_each_stage_at_the_end_of_each_day():
    rows, step = cumulative_flow(HISTORY, "sales", STAGES, at(0), at(7))
    assert step == "day"
    by_day = {}
    for day, stage, count in rows:
        by_day.setdefault(day, {})[stage] = count
    # End of 1 Jan (day 0 -> 1): opp 1 in lead (opp 2 enters at exactly day 1 = that moment).
    assert by_day["2026-01-01"] == {"lead": 2, "offer": 0, "won": 0, "lost": 0}
    # End of 3 Jan (moment day 3): opp 1 in offer since day 2, opp 2 in lead, opp 3 enters
    # at day 3 (counted: entered at or before the moment).
    assert by_day["2026-01-03"] == {"lead": 2, "offer": 1, "won": 0, "lost": 0}
    # End of 7 Jan (day 7): 1 won, 2 lost, 3 in lead, 4 in offer.
    assert by_day["2026-01-07"] == {"lead": 1, "offer": 1, "won": 1, "lost": 1}
    assert len(by_day) == 7


def test_a_long_period_is_sampled_per_week_and_ends_at_the_period_end():
    moments, step = sample_moments(at(0), at(200))
    assert step == "week"
    assert moments[0] == at(7)
    assert moments[-1] == at(200)
    assert len(moments) == 29  # 28 whole weeks (day 196), then day 200


def test_time_in_stage_counts_stays_that_ended_in_the_period_by_band():
    rows = time_in_stage(HISTORY, "sales", STAGES, at(0), at(10))
    counts = {(stage, band): n for stage, band, n in rows if n}
    # Lead stays that ended: opp 1 (2 days, 0 -> 2), opp 2 (3 days, 1 -> 4): bands 1–3, 3–7.
    # Offer: opp 1 (3 days, 2 -> 5). Opp 3 and 4 are still in their stage: not counted.
    assert counts == {("lead", "1–3 days"): 1, ("lead", "3–7 days"): 1, ("offer", "3–7 days"): 1}
    # Only open stages, 8 bands each.
    assert len(rows) == 2 * 8


def test_time_in_stage_leaves_out_stays_that_ended_outside_the_period():
    rows = time_in_stage(HISTORY, "sales", STAGES, at(4.5), at(10))
    # Only opp 1's offer stay ended (day 5) inside [4.5, 10).
    assert [(stage, band, n) for stage, band, n in rows if n] == [("offer", "3–7 days", 1)]


def test_funnel_counts_opportunities_that_reached_a_stage_or_a_later_one():
    # Whole history: lead reached by 1, 2, 3 and (by skipping it) 4: 4; offer by 1 and 4; won 1.
    assert funnel(HISTORY, "sales", STAGES, at(0), at(10)) == [
        ("lead", 4),
        ("offer", 2),
        ("won", 1),
    ]
    # From day 2: entries in lead or later by opps 1 (offer day 2, won), 2 (lost is not a
    # funnel step), 3 (lead day 3), 4 (offer day 6).
    assert funnel(HISTORY, "sales", STAGES, at(2), at(10)) == [
        ("lead", 3),
        ("offer", 2),
        ("won", 1),
    ]


def VALUES(ids):  # noqa: N802 - the database's answer: opportunity 1 was worth 9,000
    return {1: 9000.0}


def test_velocity_trend_per_week_from_the_trailing_closes():
    rows = velocity_trend(HISTORY, pipeline="sales", start=at(0), end=at(10), won_values=VALUES)
    assert [row[0] for row in rows] == ["2026-01-07", "2026-01-10"]
    week_end, open_count, win_rate, average_value, cycle, velocity = rows[0]
    # At day 7: open are opp 3 (lead) and opp 4 (offer) = 2. Closed before day 7: won 1, lost 1.
    assert open_count == 2
    assert win_rate == 0.5
    assert average_value == 9000.0
    assert cycle == 5.0  # opp 1 created day 0, won day 5
    assert velocity == 2 * 0.5 * 9000.0 / 5.0  # 1,800 per day


def test_velocity_is_none_without_a_won_opportunity():
    rows = velocity_trend(HISTORY, pipeline="sales", start=at(0), end=at(4.5), won_values=VALUES)
    # Up to day 4.5 only opp 2 closed (lost): win rate 0, no won value.
    assert rows == [("2026-01-05", 2, 0.0, None, None, None)]


def test_velocity_trend_agrees_with_the_flow_metrics_of_each_window():
    # Opportunity 5 is won on day 3, reopened on day 4 and lost on day 8: in a window holding
    # both closings it counts once, lost (its last).
    rows = [
        *ROWS,
        (5, at(0.5), "sales", "lead", "open"),
        (5, at(3), "sales", "won", "won"),
        (5, at(4), "sales", "offer", "open"),
        (5, at(8), "sales", "lost", "lost"),
    ]
    history = history_from_rows(rows, as_of=at(20))
    values = {1: 9000.0, 5: 1000.0}
    trend = velocity_trend(
        history, pipeline="sales", start=at(0), end=at(15), won_values=lambda ids: values
    )
    for week_end, row in zip((at(7), at(14), at(15)), trend, strict=True):
        metrics = flow_metrics(
            history,
            pipeline="sales",
            stages=STAGES,
            period=Period(max(week_end - 12 * 7 * DAY, 0), week_end),
            won_values=lambda ids: values,
        )
        assert row[1:] == (
            metrics.open_at_end,
            metrics.win_rate,
            metrics.average_won_value,
            metrics.average_cycle_days,
            metrics.sales_velocity,
        )
    # Up to day 14: Alpha won, Beta lost, opportunity 5 lost (last) -> 1/3.
    assert trend[1][2] == 1 / 3
