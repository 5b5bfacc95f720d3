"""The dashboard's data series from the flow history: cumulative flow, time in stage, the
funnel and the weekly sales-velocity trend. Pure: NumPy, no Django.

Every function takes a `FlowHistory` (already narrowed to the filtered opportunities), the
pipeline's stages in board order as `StageRef`s, and a period as epoch seconds [start, end),
and returns plain rows (tuples of str/int/float/None) that the charts draw, the page tabulates
and the CSV downloads — the same numbers everywhere (docs/metrics.md, "Dashboard and report").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from .history import DAY, LOST, NONE, WON, FlowHistory, Stays, stays_of

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


@dataclass(frozen=True)
class StageRef:
    """A stage of the pipeline, in board order."""

    key: str
    name: str
    kind: str  # "open", "won" or "lost"


def band_label(low: float, high: float | None) -> str:
    return f"{low:g}+ days" if high is None else f"{low:g}–{high:g} days"


def _iso_day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def _codes(history: FlowHistory, pipeline: str, stages: Sequence[StageRef]) -> list[int]:
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
    history: FlowHistory, pipeline: str, stages: Sequence[StageRef], start: int, end: int
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
    history: FlowHistory, pipeline: str, stages: Sequence[StageRef], start: int, end: int
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
    history: FlowHistory, pipeline: str, stages: Sequence[StageRef], start: int, end: int
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


def velocity_trend(
    history: FlowHistory,
    pipeline: str,
    start: int,
    end: int,
    won_values: Mapping[int, float],
    *,
    window_weeks: int = 12,
) -> list[tuple[str, int, float | None, float | None, float | None, float | None]]:
    """(week's end date, open opportunities, win rate, average won value, average cycle days,
    sales velocity) per week of the period (7-day steps from `start`, the last one ending at
    the period's end).

    Each week's figure follows the contract's `sales_velocity` with the week's end as the
    period's end and the closes of the trailing `window_weeks` weeks as the sample (a single
    week has too few closes for a steady trend): open opportunities at the week's end × win
    rate × average won value ÷ average cycle days. None where a figure cannot be computed.
    """
    codes = history.pipeline_codes(pipeline)
    stays = stays_of(history)
    in_pipeline = np.isin(stays.stage, codes)
    # Creation = the opportunity's first change (its first stay's entry).
    created_at = dict(
        zip(
            stays.opportunity[stays.first].tolist(),
            stays.entered[stays.first].tolist(),
            strict=True,
        )
    )
    closes = in_pipeline & (stays.kind != 0)
    close_opportunity = stays.opportunity[closes]
    close_at = stays.entered[closes]
    close_won = stays.kind[closes] == WON
    close_lost = stays.kind[closes] == LOST
    open_stays = in_pipeline & (stays.kind == 0)
    open_entered = stays.entered[open_stays]
    open_left = np.where(stays.ongoing, np.iinfo(np.int64).max, stays.left)[open_stays]
    rows = []
    week_end = min(start + WEEK, end)
    while True:
        moment = min(week_end, history.as_of)
        window_start = max(week_end - window_weeks * WEEK, 0)
        in_window = (close_at >= window_start) & (close_at < week_end)
        won = int(np.count_nonzero(in_window & close_won))
        lost = int(np.count_nonzero(in_window & close_lost))
        open_count = int(np.count_nonzero((open_entered <= moment) & (open_left > moment)))
        win_rate = won / (won + lost) if won + lost else None
        won_ids = close_opportunity[in_window & close_won].tolist()
        won_at = close_at[in_window & close_won].tolist()
        values = [float(won_values.get(ref, 0.0)) for ref in won_ids]
        average_value = sum(values) / len(values) if values else None
        cycles = [(at - created_at[ref]) / DAY for ref, at in zip(won_ids, won_at, strict=True)]
        average_cycle = sum(cycles) / len(cycles) if cycles else None
        velocity = (
            open_count * win_rate * average_value / average_cycle
            if win_rate is not None and average_value is not None and average_cycle
            else None
        )
        rows.append(
            (
                _iso_day(week_end - 1),
                open_count,
                win_rate,
                average_value,
                average_cycle,
                velocity,
            )
        )
        if week_end >= end:
            break
        week_end = min(week_end + WEEK, end)
    return rows
