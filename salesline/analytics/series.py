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

from .flow import StageDef
from .history import DAY, NONE, OPEN, WON, FlowHistory, Stays, stays_of

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


def _positions(history: FlowHistory, pipeline: str, stages: Sequence[StageDef]) -> np.ndarray:
    """For each stage code of the history: the stage's position in `stages`, or NONE (another
    pipeline's, or a stage the definition no longer has)."""
    lookup = np.full(len(history.stages) + 1, NONE, dtype=np.int32)
    for position, stage in enumerate(stages):
        code = history.stage_code(pipeline, stage.key)
        if code != NONE:
            lookup[code] = position
    return lookup


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
    history: FlowHistory,
    pipeline: str,
    stages: Sequence[StageDef],
    start: int,
    end: int,
    *,
    stays: Stays | None = None,
) -> tuple[list[tuple[str, str, int]], str]:
    """(date, stage key, opportunities in the stage at that moment) for every sample moment
    and stage, and the step. A stay counts from its entry (inclusive) to its end (exclusive);
    won and lost stays never end, so those bands only grow: the diagram's classic shape.
    Moments after the history's `as_of` are not drawn (the future is unknown)."""
    moments, step = sample_moments(start, min(end, max(history.as_of, start + 1)))
    stays = stays if stays is not None else stays_of(history)
    at = np.asarray(moments, dtype=np.int64)
    # Only the stays that were going on at some moment drawn: begun by the last, not over
    # by the first.
    left = np.where(stays.ongoing, np.iinfo(np.int64).max, stays.left)
    drawn = (stays.entered <= at[-1]) & (left > at[0])
    position = _positions(history, pipeline, stages)[stays.stage[drawn]]
    entered, left = stays.entered[drawn], left[drawn]
    counts = np.zeros((len(stages), len(moments)), dtype=np.int64)
    for index in range(len(stages)):
        mine = position == index
        # In the stage at t: entered at or before t, and not yet left at t.
        counts[index] = np.searchsorted(np.sort(entered[mine]), at, "right") - np.searchsorted(
            np.sort(left[mine]), at, "right"
        )
    rows: list[tuple[str, str, int]] = []
    for column, moment in enumerate(moments):
        day = _iso_day(moment - 1) if moment % DAY == 0 else _iso_day(moment)
        for index, stage in enumerate(stages):
            rows.append((day, stage.key, int(counts[index, column])))
    return rows, step


def time_in_stage(
    history: FlowHistory,
    pipeline: str,
    stages: Sequence[StageDef],
    start: int,
    end: int,
    *,
    stays: Stays | None = None,
) -> list[tuple[str, str, int]]:
    """(stage key, band label, stays) — the stays of each open stage that ended in the period,
    counted by how long they lasted (the same stays as the flow metrics' medians)."""
    stays = stays if stays is not None else stays_of(history)
    ended = np.flatnonzero(~stays.ongoing & (stays.left >= start) & (stays.left < end))
    position = _positions(history, pipeline, stages)[stays.stage[ended]]
    days = (stays.left[ended] - stays.entered[ended]) / DAY
    edges = [low for low, _ in DURATION_BANDS[1:]]
    band = np.digitize(days, edges)  # 0 .. len(DURATION_BANDS) - 1
    rows: list[tuple[str, str, int]] = []
    for index, stage in enumerate(stages):
        if stage.kind != "open":
            continue
        counts = np.bincount(band[position == index], minlength=len(DURATION_BANDS))
        for (low, high), count in zip(DURATION_BANDS, counts.tolist(), strict=True):
            rows.append((stage.key, band_label(low, high), count))
    return rows


def funnel(
    history: FlowHistory, pipeline: str, stages: Sequence[StageDef], start: int, end: int
) -> list[tuple[str, int]]:
    """(stage key, opportunities) for each open and won stage in board order: the distinct
    opportunities that entered the stage *or a later one* during the period, so a deal that
    skipped a stage still passed it and the funnel never widens. Lost stages are left out."""
    steps = [stage for stage in stages if stage.kind != "lost"]
    rows_in = np.flatnonzero((history.at >= start) & (history.at < end))
    position = _positions(history, pipeline, steps)[history.stage[rows_in]]
    known = position != NONE
    opportunity, position = history.opportunity[rows_in][known], position[known]
    # The furthest step each opportunity entered in the period (rows sorted by opportunity).
    furthest = np.zeros(0, dtype=np.int32)
    if opportunity.size:
        starts = np.flatnonzero(np.r_[True, opportunity[1:] != opportunity[:-1]])
        furthest = np.maximum.reduceat(position, starts)
    reached = np.bincount(furthest, minlength=len(steps))[::-1].cumsum()[::-1]
    return [(stage.key, int(reached[index])) for index, stage in enumerate(steps)]


def week_ends(start: int, end: int) -> list[int]:
    """The ends of the period's weeks: 7-day steps from `start`, the last one at `end`."""
    ends = list(range(start + WEEK, end, WEEK))
    return [*ends, end]


def velocity_trend(
    history: FlowHistory,
    *,
    pipeline: str,
    start: int,
    end: int,
    won_values: Callable[[np.ndarray], Mapping[int, float]],
    window_weeks: int = 12,
    stays: Stays | None = None,
) -> list[tuple[str, int, float | None, float | None, float | None, float | None]]:
    """(week's end date, open opportunities, win rate, average won value, average cycle days,
    sales velocity) per week of the period.

    Each week's figures follow the flow metrics' definitions (`flow.flow_metrics`, the
    contract's) for the `window_weeks` weeks up to the week's end: open opportunities at the
    week's end × win rate × average won value ÷ average cycle days; closings are entries into a
    won or lost stage of the pipeline, an opportunity closed twice in the window counting once
    by its last; creation is an opportunity's first change. The trailing window is the sample
    because a single week has too few closes for a steady trend. One pass over the closings
    per week, not the whole flow metrics: the trend must stay cheap at 10 million changes.
    None where a figure cannot be computed.
    """
    stays = stays if stays is not None else stays_of(history)
    codes = history.pipeline_codes(pipeline)
    in_pipeline = np.zeros(len(history.stages) + 1, dtype=bool)
    in_pipeline[codes] = True
    of_pipeline = in_pipeline[stays.stage]
    ends = week_ends(start, end)
    first_window = max(ends[0] - window_weeks * WEEK, 0)
    closing = np.flatnonzero(
        of_pipeline & (stays.kind != OPEN) & (stays.entered >= first_window) & (stays.entered < end)
    )
    close_opportunity = stays.opportunity[closing]
    close_at = stays.entered[closing]
    close_won = stays.kind[closing] == WON
    created = history.at[np.searchsorted(history.opportunity, close_opportunity)]
    cycle_days = (close_at - created) / DAY
    values = won_values(close_opportunity[close_won]) if close_won.any() else {}
    value = np.array(
        [values.get(ref, np.nan) for ref in close_opportunity.tolist()], dtype=np.float64
    )
    open_rows = of_pipeline & (stays.kind == OPEN)
    open_entered = stays.entered[open_rows]
    open_left = np.where(stays.ongoing, np.iinfo(np.int64).max, stays.left)[open_rows]
    rows = []
    for week_end in ends:
        window = np.flatnonzero(
            (close_at >= max(week_end - window_weeks * WEEK, 0)) & (close_at < week_end)
        )
        # The last closing of each opportunity in the window (closings sorted by opportunity).
        in_window = close_opportunity[window]
        last = window[np.r_[in_window[1:] != in_window[:-1], True]] if window.size else window
        won_rows = last[close_won[last]]
        won, lost = int(won_rows.size), int(last.size - won_rows.size)
        win_rate = won / (won + lost) if won + lost else None
        won_values_here = value[won_rows]
        valued = won_values_here[~np.isnan(won_values_here)]
        average_value = float(valued.mean()) if valued.size else None
        average_cycle = float(cycle_days[won_rows].mean()) if won else None
        open_count = int(np.count_nonzero((open_entered < week_end) & (open_left >= week_end)))
        velocity = (
            open_count * win_rate * average_value / average_cycle
            if win_rate is not None and average_value is not None and average_cycle
            else None
        )
        rows.append(
            (_iso_day(week_end - 1), open_count, win_rate, average_value, average_cycle, velocity)
        )
    return rows
