"""The dashboard's data series from the flow history: cumulative flow, time in stage, the
funnel and the weekly sales-velocity trend. Pure: NumPy, no Django.

Every function takes a `FlowHistory` (already narrowed to the filtered opportunities), the
pipeline's stages in the definition's order (`flow.StageDef`), and a period as epoch seconds
[start, end), and returns plain rows (tuples of str/int/float/None) that the charts draw, the
page tabulates and the CSV downloads — the same numbers everywhere (docs/metrics.md,
"Dashboard and report").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import numpy as np

from .flow import Period, StageDef, flow_metrics
from .history import DAY, NONE, FlowHistory, Stays, stays_of

WEEK = 7 * DAY
# Time-in-stage bands in days: [low, high); the last has no upper bound.
DURATION_BANDS: tuple[tuple[float, float | None], ...] = (
    (0, 1),
    (1, 3),
    (3, 7),
    (7, 14),
    (14, 30),
    (30, 60),
    (60, 90),
    (90, None),
)
# A period longer than this is drawn per week instead of per day.
DAILY_UP_TO_DAYS = 120


def band_label(low: float, high: float | None) -> str:
    return f"{low:g}+ days" if high is None else f"{low:g}–{high:g} days"


def _iso_day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def _codes(history: FlowHistory, pipeline: str, stages: Sequence[StageDef]) -> list[int]:
    return [history.stage_code(pipeline, stage.key) for stage in stages]


def sample_moments(start: int, end: int) -> tuple[list[int], str]:
    """The moments the cumulative flow is counted at: the end of each day of [start, end), or
    of each week (7 days from `start`) when the period is longer than DAILY_UP_TO_DAYS; the
    last sample is the period's end. Also the step's name ("day" or "week")."""
    step, name = (DAY, "day") if end - start <= DAILY_UP_TO_DAYS * DAY else (WEEK, "week")
    moments = list(range(start + step, end, step))
    if not moments or moments[-1] != end:
        moments.append(end)
    return moments, name


def cumulative_flow(
    history: FlowHistory, pipeline: str, stages: Sequence[StageDef], start: int, end: int
) -> tuple[list[tuple[str, str, int]], str]:
    """(date, stage key, opportunities in the stage at that moment) for every sample moment
    and stage, and the step. A stay counts from its entry (inclusive) to its end (exclusive);
    won and lost stays never end, so those bands only grow: the diagram's classic shape.
    Moments after the history's `as_of` are not drawn (the future is unknown)."""
    moments, step = sample_moments(start, min(end, max(history.as_of, start + 1)))
    stays = stays_of(history)
    at = np.asarray(moments, dtype=np.int64)
    left = np.where(stays.ongoing, np.iinfo(np.int64).max, stays.left)
    rows: list[tuple[str, str, int]] = []
    counts: dict[str, np.ndarray] = {}
    for stage, code in zip(stages, _codes(history, pipeline, stages), strict=True):
        if code == NONE:
            counts[stage.key] = np.zeros(len(moments), dtype=np.int64)
            continue
        mine = stays.stage == code
        entered = np.sort(stays.entered[mine])
        ended = np.sort(left[mine])
        # In the stage at t: entered at or before t, and not yet left at t.
        counts[stage.key] = np.searchsorted(entered, at, "right") - np.searchsorted(
            ended, at, "right"
        )
    for index, moment in enumerate(moments):
        day = _iso_day(moment - 1) if moment % DAY == 0 else _iso_day(moment)
        for stage in stages:
            rows.append((day, stage.key, int(counts[stage.key][index])))
    return rows, step


def _ended_in(stays: Stays, start: int, end: int) -> np.ndarray:
    return ~stays.ongoing & (stays.left >= start) & (stays.left < end)


def time_in_stage(
    history: FlowHistory, pipeline: str, stages: Sequence[StageDef], start: int, end: int
) -> list[tuple[str, str, int]]:
    """(stage key, band label, stays) — the stays of each open stage that ended in the period,
    counted by how long they lasted (the same stays as the flow metrics' medians)."""
    stays = stays_of(history)
    ended = _ended_in(stays, start, end)
    days = (stays.left - stays.entered) / DAY
    rows: list[tuple[str, str, int]] = []
    for stage, code in zip(stages, _codes(history, pipeline, stages), strict=True):
        if stage.kind != "open":
            continue
        mine = days[ended & (stays.stage == code)] if code != NONE else np.empty(0)
        for low, high in DURATION_BANDS:
            inside = mine >= low if high is None else (mine >= low) & (mine < high)
            rows.append((stage.key, band_label(low, high), int(np.count_nonzero(inside))))
    return rows


def funnel(
    history: FlowHistory, pipeline: str, stages: Sequence[StageDef], start: int, end: int
) -> list[tuple[str, int]]:
    """(stage key, opportunities) for each open and won stage in board order: the distinct
    opportunities that entered the stage *or a later one* during the period, so a deal that
    skipped a stage still passed it and the funnel never widens. Lost stages are left out."""
    steps = [stage for stage in stages if stage.kind != "lost"]
    codes = _codes(history, pipeline, steps)
    entered = (history.at >= start) & (history.at < end)
    rows: list[tuple[str, int]] = []
    for position, stage in enumerate(steps):
        later = [code for code in codes[position:] if code != NONE]
        reached = entered & np.isin(history.stage, np.asarray(later, dtype=np.int32))
        rows.append((stage.key, int(np.unique(history.opportunity[reached]).shape[0])))
    return rows


def week_ends(start: int, end: int) -> list[int]:
    """The ends of the period's weeks: 7-day steps from `start`, the last one at `end`."""
    ends = list(range(start + WEEK, end, WEEK))
    return [*ends, end]


def velocity_trend(
    history: FlowHistory,
    *,
    pipeline: str,
    stages: Sequence[StageDef],
    start: int,
    end: int,
    won_values: Callable[[np.ndarray], Mapping[int, float]],
    window_weeks: int = 12,
    stays: Stays | None = None,
) -> list[tuple[str, int, float | None, float | None, float | None, float | None]]:
    """(week's end date, open opportunities, win rate, average won value, average cycle days,
    sales velocity) per week of the period.

    Each week's figures are the flow metrics' (`flow.flow_metrics`, the contract's
    definitions) for the `window_weeks` weeks up to the week's end: open opportunities at the
    week's end × win rate × average won value ÷ average cycle days, the closes of the trailing
    window as the sample (a single week has too few closes for a steady trend). None where a
    figure cannot be computed.
    """
    stays = stays if stays is not None else stays_of(history)
    rows = []
    for week_end in week_ends(start, end):
        metrics = flow_metrics(
            history,
            pipeline=pipeline,
            stages=stages,
            period=Period(max(week_end - window_weeks * WEEK, 0), week_end),
            won_values=won_values,
            stays=stays,
        )
        rows.append(
            (
                _iso_day(week_end - 1),
                metrics.open_at_end,
                metrics.win_rate,
                metrics.average_won_value,
                metrics.average_cycle_days,
                metrics.sales_velocity,
            )
        )
    return rows
