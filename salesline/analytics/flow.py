"""Flow metrics of one pipeline over one period, the bottleneck, and stage calibration.

Pure: NumPy over the columns of `history.FlowHistory`, no Django. Every definition here is
written out in docs/metrics.md ("Flow metrics", "Bottleneck", "Calibration"); the docstrings
say how each is computed.

The period is half-open, [start, end): `from` 00:00 UTC up to, not including, 00:00 UTC of the
day after `to`. A stay runs from the change that entered its stage to the opportunity's next
change; a stay still going on has no end. A figure that cannot be computed (no stays ended, no
opportunity closed, ...) is None, never a division error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from .history import DAY, LOST, NONE, OPEN, WON, FlowHistory, Stays, stay_left

WEEK = 7 * DAY
# The age bands of work in progress, in days: [0, 7), [7, 30), [30, 90), [90, ∞). A week, a
# month, a quarter: the horizons a sales manager reviews a pipeline at.
AGE_BAND_EDGES = (7, 30, 90)
AGE_BAND_LABELS = ("under 7 days", "7 to 30 days", "30 to 90 days", "90 days or more")
# The 95 % two-sided normal quantile, for the Wilson score interval.
Z_95 = 1.959963984540054
KIND_NAMES = {"open": OPEN, "won": WON, "lost": LOST}

# What each figure means, in the words of docs/metrics.md: the API returns them, the page shows
# them on hover and in its legend.
DEFINITIONS = {
    "arrivals": "Entries into the stage during the period (an opportunity that comes back "
    "counts again; its creation is an entry).",
    "exits": "Stays in the stage that ended during the period, by the stage moved to.",
    "conversion_to_next": "Of the exits, the share that went to a later stage of the pipeline "
    "that is not a lost stage.",
    "conversion_to_won": "Of the exits whose opportunity has closed since, the share whose "
    "first closing after the stay was a win.",
    "median_days_in_stage": "Median days from entering the stage to leaving it, over the stays "
    "that ended in the period (days of 24 hours).",
    "p85_days_in_stage": "85th percentile of the same days: 85 % of the stays were this short "
    "or shorter.",
    "wip": "Work in progress: opportunities in the stage at the end of the period (now, if the "
    "period ends later).",
    "wip_age": "How long the work in progress has been in the stage at the period's end, in "
    "bands: under 7, 7 to 30, 30 to 90, 90 days or more.",
    "stalled": "Work in progress in the stage longer than the stage's stalled_after_days (30 "
    "days when the definition gives none).",
    "exits_per_week": "Exits divided by the period's length in weeks.",
    "win_rate": "Won ÷ (won + lost) among the opportunities closed in the period (an "
    "opportunity closed twice counts once, by its last closing in the period).",
    "average_won_value": "Mean value of the opportunities won in the period (those with a value).",
    "average_cycle_days": "Mean days from creation (the opportunity's first stage change) to "
    "the win, of those won in the period.",
    "sales_velocity": "Open opportunities at the period's end × win rate × average won value "
    "÷ average cycle days: value per day.",
    "throughput": "Entries into a won stage (won) and into a won or lost stage (closed) per "
    "ISO week.",
    "cycle_time": "Days from creation to closing of the opportunities closed in the period: "
    "median and 85th percentile.",
}


@dataclass(frozen=True)
class StageDef:
    """A stage of the pipeline as the process definition has it, in the definition's order."""

    key: str
    name: str
    kind: str  # open | won | lost
    probability: int  # 0..100
    stalled_days: int


@dataclass(frozen=True)
class Period:
    """[start, end) in seconds since the epoch."""

    start: int
    end: int

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY


@dataclass(frozen=True)
class StageFlow:
    key: str
    name: str
    kind: str
    arrivals: int
    exits: dict[str, int]
    exit_count: int
    conversion_to_next: float | None
    conversion_to_won: float | None
    # Exits whose opportunity has closed since (the base of conversion_to_won).
    resolved_exits: int
    median_days_in_stage: float | None
    p85_days_in_stage: float | None
    wip_start: int
    wip: int
    wip_age_bands: tuple[int, ...]
    median_wip_age_days: float | None
    stalled: int
    stalled_after_days: int
    exits_per_week: float | None


@dataclass(frozen=True)
class WeekThroughput:
    week: str  # ISO week, "2026-W05"
    monday: str  # its Monday, "2026-01-26"
    won: int
    closed: int


@dataclass(frozen=True)
class Bottleneck:
    stage: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class FlowMetrics:
    stages: tuple[StageFlow, ...]
    won: int
    lost: int
    win_rate: float | None
    average_won_value: float | None
    # Won opportunities with a value (the base of average_won_value).
    valued_won: int
    average_cycle_days: float | None
    open_at_end: int
    sales_velocity: float | None
    cycle_median_days: float | None
    cycle_p85_days: float | None
    won_cycle_median_days: float | None
    weekly: tuple[WeekThroughput, ...]
    bottleneck: Bottleneck | None
    age_band_labels: tuple[str, ...] = AGE_BAND_LABELS


def period_of(first_day, last_day) -> Period:
    """The period from the start of `first_day` to the end of `last_day` (dates, UTC)."""
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    end = datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC)
    return Period(int(start.timestamp()), int(end.timestamp()) + DAY)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percentiles(days: np.ndarray) -> tuple[float | None, float | None]:
    """The median and the 85th percentile, linear between the closest ranks (NumPy's
    default), or None for no values."""
    if days.size == 0:
        return None, None
    median, p85 = np.percentile(days, [50, 85])
    return float(median), float(p85)


def _stage_lookup(history: FlowHistory, pipeline: str, stages: Sequence[StageDef]) -> np.ndarray:
    """For each stage code of the history, its index in `stages` (NONE when the stage is not
    one of the definition's: another pipeline's, or one the definition no longer has)."""
    lookup = np.full(len(history.stages), NONE, dtype=np.int32)
    for index, stage in enumerate(stages):
        code = history.stage_code(pipeline, stage.key)
        if code != NONE:
            lookup[code] = index
    return lookup


def _next_closing_kind(history: FlowHistory, rows: np.ndarray) -> np.ndarray:
    """For each row, the kind of the same opportunity's first won or lost stay after it
    (NONE when it has not closed since)."""
    closing = np.flatnonzero(history.kind != OPEN)
    result = np.full(rows.size, NONE, dtype=np.int8)
    if closing.size == 0 or rows.size == 0:
        return result
    after = np.searchsorted(closing, rows, side="right")
    found = after < closing.size
    candidate = closing[np.minimum(after, closing.size - 1)]
    same = found & (history.opportunity[candidate] == history.opportunity[rows])
    result[same] = history.kind[candidate[same]]
    return result


def _last_per_opportunity(history: FlowHistory, rows: np.ndarray) -> np.ndarray:
    """Of ascending row numbers, the last of each opportunity (rows are sorted by
    opportunity, then time)."""
    if rows.size == 0:
        return rows
    owners = history.opportunity[rows]
    last = np.ones(rows.size, dtype=bool)
    last[:-1] = owners[1:] != owners[:-1]
    return rows[last]


def _iso_weeks(period: Period) -> list[tuple[int, str, str]]:
    """(Monday's day number since the epoch, ISO week, Monday's date) of every week the
    period touches."""
    first_day = period.start // DAY
    last_day = (period.end - 1) // DAY
    # 1970-01-01 was a Thursday: day d is weekday (d + 3) % 7, Monday being 0.
    monday = first_day - (first_day + 3) % 7
    weeks = []
    while monday <= last_day:
        moment = datetime.fromtimestamp(monday * DAY, tz=UTC).date()
        year, week, _ = moment.isocalendar()
        weeks.append((monday, f"{year}-W{week:02d}", moment.isoformat()))
        monday += 7
    return weeks


def flow_metrics(
    history: FlowHistory,
    *,
    pipeline: str,
    stages: Sequence[StageDef],
    period: Period,
    won_values: Callable[[np.ndarray], Mapping[int, float]],
    stays: Stays | None = None,
) -> FlowMetrics:
    """Every flow metric of `pipeline` over `period` (docs/metrics.md, "Flow metrics").

    `won_values(ids)` answers the value of won opportunities (those with one) from the
    database: the history holds no values. `stays` may be passed when the caller has them.
    """
    count = len(stages)
    lookup = _stage_lookup(history, pipeline, stages)
    in_pipeline = np.zeros(len(history.stages), dtype=bool)
    in_pipeline[history.pipeline_codes(pipeline)] = True
    start, end = period.start, period.end

    # Every figure is about stays alive at some moment of the period (or ending exactly at its
    # start): entered before its end, and still going on or left at its start or later. A
    # quarter of years of history is a small share of the rows: the rest is computed on those.
    # When each stay ended (NONE: it goes on).
    left_all = stays.left if stays is not None else stay_left(history)
    alive = left_all >= start
    alive |= left_all == NONE
    alive &= history.at < end
    rows = np.flatnonzero(alive)
    del alive
    stage_codes = history.stage[rows]
    position = lookup[stage_codes]
    known = position != NONE
    of_pipeline = in_pipeline[stage_codes]
    entered = history.at[rows]
    left = left_all[rows]
    kind = history.kind[rows]
    ongoing = left == NONE

    entered_in = known & (entered >= start)
    ended_in = known & ~ongoing & (left < end)
    # In the stage at a moment: entered before it, not left by then. Nothing is dated after
    # the history was read, so at a period's end in the future this is "now".
    held_at_end = ongoing | (left >= end)
    wip_end = known & held_at_end
    wip_start = known & (entered < start)

    arrivals = np.bincount(position[entered_in], minlength=count)
    wip_at_end = np.bincount(position[wip_end], minlength=count)
    wip_at_start = np.bincount(position[wip_start], minlength=count)

    ended_rows = rows[ended_in]
    ended_position = position[ended_in]
    ended_days = (left[ended_in] - entered[ended_in]) / DAY
    # An ended stay's destination is its opportunity's next change.
    destination = history.stage[ended_rows + 1]
    destination_position = lookup[destination]
    forward = (destination_position > ended_position) & (history.kind[ended_rows + 1] != LOST)
    closing_kind = _next_closing_kind(history, ended_rows)

    measured_at = min(end, history.as_of)
    ages = (measured_at - entered[wip_end]) / DAY
    wip_position = position[wip_end]
    bands = np.digitize(ages, AGE_BAND_EDGES)

    stage_flows = []
    for index, stage in enumerate(stages):
        mine = ended_position == index
        exits: dict[str, int] = {}
        if mine.any():
            codes, counts = np.unique(destination[mine], return_counts=True)
            for code, number in zip(codes.tolist(), counts.tolist(), strict=True):
                to_pipeline, to_stage = history.stages[code]
                name = to_stage if to_pipeline == pipeline else f"{to_pipeline}:{to_stage}"
                exits[name] = number
        exit_count = int(mine.sum())
        resolved = mine & (closing_kind != NONE)
        resolved_count = int(resolved.sum())
        median, p85 = _percentiles(ended_days[mine])
        in_wip = wip_position == index
        stage_ages = ages[in_wip]
        stalled = int((stage_ages > stage.stalled_days).sum()) if stage.kind == "open" else 0
        stage_flows.append(
            StageFlow(
                key=stage.key,
                name=stage.name,
                kind=stage.kind,
                arrivals=int(arrivals[index]),
                exits=exits,
                exit_count=exit_count,
                conversion_to_next=_share(int((mine & forward).sum()), exit_count),
                conversion_to_won=_share(
                    int((resolved & (closing_kind == WON)).sum()), resolved_count
                ),
                resolved_exits=resolved_count,
                median_days_in_stage=median,
                p85_days_in_stage=p85,
                wip_start=int(wip_at_start[index]),
                wip=int(wip_at_end[index]),
                wip_age_bands=tuple(
                    np.bincount(bands[in_wip], minlength=len(AGE_BAND_LABELS)).tolist()
                ),
                median_wip_age_days=float(np.median(stage_ages)) if stage_ages.size else None,
                stalled=stalled,
                stalled_after_days=stage.stalled_days,
                exits_per_week=exit_count / (period.days / 7) if period.days > 0 else None,
            )
        )

    # Closings: entries into a won or lost stage of the pipeline during the period; an
    # opportunity closed more than once (reopened) counts once, by its last closing.
    closing_rows = rows[of_pipeline & (kind != OPEN) & (entered >= start)]
    closed_rows = _last_per_opportunity(history, closing_rows)
    won_rows = closed_rows[history.kind[closed_rows] == WON]
    won, lost = int(won_rows.size), int(closed_rows.size - won_rows.size)
    # Creation is the opportunity's first change: its first row (rows sorted by opportunity).
    created = history.at[np.searchsorted(history.opportunity, history.opportunity[closed_rows])]
    cycle_days = (history.at[closed_rows] - created) / DAY
    won_cycle_days = cycle_days[history.kind[closed_rows] == WON]
    average_cycle = float(won_cycle_days.mean()) if won_cycle_days.size else None
    values = won_values(history.opportunity[won_rows]) if won else {}
    won_amounts = [
        float(values[opportunity])
        for opportunity in history.opportunity[won_rows].tolist()
        if values.get(opportunity) is not None
    ]
    average_value = math.fsum(won_amounts) / len(won_amounts) if won_amounts else None
    win_rate = _share(won, won + lost)
    # Every open stay of the pipeline at the end, in a stage the definition no longer has too.
    open_at_end = int((of_pipeline & held_at_end & (kind == OPEN)).sum())
    velocity = None
    if win_rate is not None and average_value is not None and average_cycle:
        velocity = open_at_end * win_rate * average_value / average_cycle
    cycle_median, cycle_p85 = _percentiles(cycle_days)
    won_cycle_median, _ = _percentiles(won_cycle_days)

    return FlowMetrics(
        stages=tuple(stage_flows),
        won=won,
        lost=lost,
        win_rate=win_rate,
        average_won_value=average_value,
        valued_won=len(won_amounts),
        average_cycle_days=average_cycle,
        open_at_end=open_at_end,
        sales_velocity=velocity,
        cycle_median_days=cycle_median,
        cycle_p85_days=cycle_p85,
        won_cycle_median_days=won_cycle_median,
        weekly=_weekly(history, closing_rows, period),
        bottleneck=bottleneck_of(stage_flows),
    )


def _weekly(
    history: FlowHistory, closing_rows: np.ndarray, period: Period
) -> tuple[WeekThroughput, ...]:
    """Entries into won and into any closed stage, per ISO week the period touches."""
    weeks = _iso_weeks(period)
    day = history.at[closing_rows] // DAY
    week_index = ((day - (day + 3) % 7) - weeks[0][0]) // 7 if weeks else day
    closed = np.bincount(week_index, minlength=len(weeks))
    won = np.bincount(week_index[history.kind[closing_rows] == WON], minlength=len(weeks))
    return tuple(
        WeekThroughput(week=label, monday=monday, won=int(won[i]), closed=int(closed[i]))
        for i, (_, label, monday) in enumerate(weeks)
    )


# ---------------------------------------------------------------- bottleneck


def _days_text(days: float) -> str:
    return f"{days:.1f} days"


def _opportunities(count: int) -> str:
    return f"{count} opportunit{'y' if count == 1 else 'ies'}"


def bottleneck_of(flows: Sequence[StageFlow]) -> Bottleneck | None:
    """The open stage that constrains flow (docs/metrics.md, "Bottleneck").

    Three signs, each scored 0..1 among the open stages with data (arrivals, exits or work in
    progress): WIP growth over the period (the stage's growth ÷ the largest growth; no growth
    scores 0), throughput against arrivals (1 − exits ÷ arrivals, floored at 0; no arrivals
    scores 0), and the wait (the stage's median days in stage — or, with no stay ended, the
    median age of its WIP — ÷ the longest such wait). The stage with the highest sum is the
    bottleneck; ties go to the larger WIP, then to the earlier stage. None when no open stage
    has data.
    """
    candidates = [f for f in flows if f.kind == "open" and (f.arrivals or f.exit_count or f.wip)]
    if not candidates:
        return None
    growth = {f.key: max(0, f.wip - f.wip_start) for f in candidates}
    ratio = {f.key: f.exit_count / f.arrivals if f.arrivals else None for f in candidates}
    wait = {
        f.key: f.median_days_in_stage
        if f.median_days_in_stage is not None
        else f.median_wip_age_days or 0.0
        for f in candidates
    }
    most_growth = max(growth.values())
    longest_wait = max(wait.values())
    lowest_ratio = min((r for r in ratio.values() if r is not None), default=None)

    def score(f: StageFlow) -> float:
        total = growth[f.key] / most_growth if most_growth else 0.0
        if ratio[f.key] is not None:
            total += max(0.0, 1.0 - ratio[f.key])
        total += wait[f.key] / longest_wait if longest_wait else 0.0
        return total

    order = sorted(enumerate(candidates), key=lambda item: (-score(item[1]), -item[1].wip, item[0]))
    chosen = order[0][1]
    evidence = []
    if growth[chosen.key]:
        most = " — the most of any open stage" if growth[chosen.key] == most_growth else ""
        evidence.append(
            f"Work in progress grew from {chosen.wip_start} to "
            f"{_opportunities(chosen.wip)} over the period{most}."
        )
    elif chosen.wip and chosen.wip == chosen.wip_start:
        evidence.append(f"Work in progress held at {_opportunities(chosen.wip)}.")
    elif chosen.wip:
        evidence.append(
            f"Work in progress fell from {chosen.wip_start} to {_opportunities(chosen.wip)}."
        )
    if ratio[chosen.key] is not None:
        lowest = (
            " — the lowest of the open stages"
            if lowest_ratio is not None
            and ratio[chosen.key] == lowest_ratio
            and len(candidates) > 1
            else ""
        )
        evidence.append(
            f"{chosen.exit_count} left for {chosen.arrivals} that arrived: throughput "
            f"{ratio[chosen.key]:.0%} of arrivals{lowest}."
        )
    if wait[chosen.key]:
        what = (
            "Median time in the stage"
            if chosen.median_days_in_stage is not None
            else "Median age of the opportunities waiting in it"
        )
        longest = (
            " — the longest of the open stages"
            if wait[chosen.key] == longest_wait and len(candidates) > 1
            else ""
        )
        evidence.append(f"{what}: {_days_text(wait[chosen.key])}{longest}.")
    if chosen.stalled:
        evidence.append(
            f"Stalled: {_opportunities(chosen.stalled)} in the stage for more than "
            f"{chosen.stalled_after_days} days."
        )
    return Bottleneck(stage=chosen.key, score=round(score(chosen), 6), evidence=tuple(evidence))


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class StageCalibration:
    key: str
    name: str
    configured: int
    observed: float | None  # 0..100
    sample: int
    won: int
    low: float | None  # 0..100
    high: float | None
    suggested: int | None  # the observed probability, rounded: what "Apply" sets
    # Opportunities that were in the stage and are still open: not in the sample.
    still_open: int = 0


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion, as fractions; None for no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _first_rows(history: FlowHistory) -> np.ndarray:
    """The first row of each opportunity (rows are sorted by opportunity)."""
    if not len(history):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, history.opportunity[1:] != history.opportunity[:-1]])


# Stages a bit mask per opportunity can hold (uint64).
MASK_STAGES = 64


def _stages_visited(
    history: FlowHistory, pipeline: str, stages: Sequence[StageDef], starts: np.ndarray
) -> list[np.ndarray]:
    """Per stage of `stages`, a mask over the opportunities (numbered as `starts`, their
    first rows) of those that were ever in it."""
    count = len(history)
    groups = starts.size
    lookup = _stage_lookup(history, pipeline, stages)
    if len(stages) <= MASK_STAGES and count:
        # One bit per stage, OR-ed over each opportunity's rows: one pass for every stage, in
        # the narrowest unsigned integers that hold the bits.
        width = next(
            t
            for t in (np.uint8, np.uint16, np.uint32, np.uint64)
            if np.iinfo(t).bits >= len(stages)
        )
        bit_of_code = np.zeros(len(history.stages), dtype=width)
        for index, code in enumerate(lookup.tolist()):
            if code != NONE:
                bit_of_code[index] = 1 << code
        visited_bits = np.bitwise_or.reduceat(bit_of_code[history.stage], starts)
        return [(visited_bits & width(1 << index)) != 0 for index in range(len(stages))]
    position = lookup[history.stage]
    group = np.repeat(np.arange(groups), np.diff(np.r_[starts, count]))
    masks = []
    for index in range(len(stages)):
        mask = np.zeros(groups, dtype=bool)
        mask[group[position == index]] = True
        masks.append(mask)
    return masks


def calibration(
    history: FlowHistory, *, pipeline: str, stages: Sequence[StageDef]
) -> tuple[StageCalibration, ...]:
    """Per open stage: the configured probability against the observed probability of winning
    from it — of the opportunities that were ever in the stage and are now closed (their
    latest change entered a won or lost stage), the share won — with the sample size and a
    95 % Wilson score interval, all in 0..100 (docs/metrics.md, "Calibration")."""
    count = len(history)
    starts = _first_rows(history)
    # Each opportunity's latest change says whether it is closed now, and how.
    final_kind = history.kind[np.r_[starts[1:] - 1, count - 1]] if count else history.kind
    visited = _stages_visited(history, pipeline, stages, starts)
    results = []
    for index, stage in enumerate(stages):
        if stage.kind != "open":
            continue
        kinds = final_kind[visited[index]]
        won = int((kinds == WON).sum())
        sample = int((kinds != OPEN).sum())
        interval = wilson_interval(won, sample)
        observed = 100 * won / sample if sample else None
        results.append(
            StageCalibration(
                key=stage.key,
                name=stage.name,
                configured=stage.probability,
                observed=observed,
                sample=sample,
                won=won,
                low=100 * interval[0] if interval else None,
                high=100 * interval[1] if interval else None,
                suggested=math.floor(observed + 0.5) if observed is not None else None,
                still_open=int(kinds.size) - sample,
            )
        )
    return tuple(results)
