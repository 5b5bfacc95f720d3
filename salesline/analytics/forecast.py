"""Forecasts of what will close: the weighted pipeline and a Monte-Carlo forecast that replays
the observed flow. Pure: NumPy, no Django (docs/metrics.md, "Forecast", says it in prose).

**Weighted pipeline.** Each open opportunity's value × its stage's probability (0..100, the
configured one or the calibrated one: the caller passes the mapping), summed by the month of its
expected close date. Dates before today go to the bucket `overdue`, opportunities without a date
to `undated`, dates after the last month of the horizon to `later`.

**Monte-Carlo forecast.** The model: an opportunity in an open stage stays there for a while, then
moves on; where it goes and after how long are drawn *together* from the stays of that stage that
have ended (the stays of `history.stays_of`), so a stage whose quick exits are losses and whose
slow exits are wins keeps that shape. An opportunity already `age` seconds into its stage draws
from the ended stays that lasted longer than `age` (conditioning on age), and has their length
minus `age` left. When no ended stay of the stage lasted that long, it draws from all of the
stage's ended stays as if it had just entered (it has outlived the evidence; a fresh stay is the
least-informed guess that still lets it close). A stage that no stay has ever left gives no
evidence: its opportunities stay put (they do not close within the horizon). Then the next
stage, and so on, until won, lost, or past the horizon's end.

Simulating every open opportunity in every trial costs opportunities × trials × steps draws
(~1e9 for 75,000 open and 10,000 trials), far beyond the time budget. The scheme used instead:

1. Open opportunities are grouped by (stage, age band); the bands of a stage are cut at the
   quantiles of its ended stays' lengths, where the chance of leaving changes.
2. Each group's outcome distribution (won in month 0 … H-1 of the horizon, or not won in it) is
   estimated once, from replayed paths that start at its members' own ages.
3. A group's counts per outcome in a trial are one multinomial draw (members of a group are
   exchangeable under the model, so this is the exact distribution of the group's count up to
   the pooling of ages within a band). POOL draws are made per group; each trial takes one per
   group, in turn when the trials are no more than POOL, else at random and independently.
4. The won value of a month is the sum of the values of the members drawn: given the counts,
   a sample without replacement from each group's values, whose mean (k·μ) and variance
   (k·σ²·(n−k)/(n−1)) are known exactly; the month's total is drawn from a gamma distribution
   with that mean and variance (never negative, skewed like sums of deal values).

The ended stays come from a stratified sample of about SAMPLE_ROWS rows of the history (a
million-deal history has millions of them; the empirical distributions need far fewer); an
open stage the sample leaves with fewer than MIN_STAYS_KEPT keeps all of its stays. Everything
random comes from one `numpy.random.default_rng(seed)`, so a seed gives the same numbers every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from .history import LOST, NONE, OPEN, WON, FlowHistory, Stays

#: Age bands per stage (cut at quantiles of the stage's ended stays).
AGE_BANDS = 24
#: Rows of the history the replay samples its ended stays from (one row per block)…
SAMPLE_ROWS = 400_000
#: …but never fewer than this many of a stage that has them.
MIN_STAYS_KEPT = 5_000
#: Replayed paths per group: at least this many…
MIN_PATHS_PER_GROUP = 1_000
#: …and about this many in all, shared by group size.
PATHS_BUDGET = 200_000
#: Steps a path may take before it is counted as not closing (guards against cycles).
MAX_STEPS = 60
#: Trials assembled at once (bounds memory: trials × groups × months numbers).
TRIAL_CHUNK = 1_000
#: Multinomial draws kept per group; more trials than this pick from them at random.
POOL = 1_000

OVERDUE, UNDATED, LATER = "overdue", "undated", "later"


# --- periods ---------------------------------------------------------------------------------


def month_starts(as_of: int, horizon: int) -> list[date]:
    """The first day of the month of `as_of` (epoch seconds, UTC) and of the next `horizon`
    months: horizon + 1 boundaries for `horizon` months."""
    today = datetime.fromtimestamp(as_of, tz=UTC).date()
    year, month = today.year, today.month
    starts = []
    for _ in range(horizon + 1):
        starts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def period_label(start: date) -> str:
    return f"{start.year:04d}-{start.month:02d}"


def quarter_label(start: date) -> str:
    return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# --- weighted pipeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class WeightedPipeline:
    """Value × probability per month of the horizon (`months`, in order) and in the buckets
    `overdue`, `undated` and `later`."""

    months: tuple[float, ...]
    buckets: dict[str, float]


def day_number(day: date) -> int:
    """Whole days since 1970-01-01."""
    return day.toordinal() - _EPOCH_ORDINAL


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def weighted_pipeline(
    *,
    values: np.ndarray,
    probabilities: np.ndarray,
    close_days: np.ndarray,
    today: date,
    months: list[date],
) -> WeightedPipeline:
    """`values` and `probabilities` (0..100) per open opportunity, `close_days` their expected
    close dates as day numbers (NaN: none); `months` the horizon's month starts plus the end
    (month_starts)."""
    weighted = np.asarray(values, dtype=np.float64) * np.asarray(probabilities) / 100.0
    close = np.asarray(close_days, dtype=np.float64)
    bounds = np.array([day_number(month) for month in months], dtype=np.float64)
    undated = np.isnan(close)
    dated = ~undated
    overdue = dated & (close < day_number(today))
    later = dated & ~overdue & (close >= bounds[-1]) if bounds.size else dated & ~overdue
    inside = dated & ~overdue & ~later
    # Today is in the first month, so every date from today on falls in one of the months.
    index = np.searchsorted(bounds, close[inside], side="right") - 1
    per_month = np.bincount(index, weights=weighted[inside], minlength=max(len(months) - 1, 0))[
        : max(len(months) - 1, 0)
    ]
    buckets = {
        OVERDUE: float(weighted[overdue].sum()),
        UNDATED: float(weighted[undated].sum()),
        LATER: float(weighted[later].sum()),
    }
    return WeightedPipeline(
        months=tuple(round(float(v), 2) for v in per_month),
        buckets={key: round(value, 2) for key, value in buckets.items()},
    )


# --- the replay tables -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Replay:
    """Ended stays of open stages, sorted by (stage, length): for stage s, rows
    start[s] : start[s] + count[s] of `length`, `to_stage`, `to_kind`."""

    start: np.ndarray  # int64 per stage code
    count: np.ndarray  # int64 per stage code
    length: np.ndarray  # int64 seconds
    to_stage: np.ndarray  # int32
    to_kind: np.ndarray  # int8
    key: np.ndarray  # int64: stage << 40 | length, for searches

    def lengths_of(self, stage: int) -> np.ndarray:
        return self.length[self.start[stage] : self.start[stage] + self.count[stage]]


_SHIFT = 40  # lengths in seconds stay far below 2**40 (34,000 years)


def replay_tables(
    stays: Stays, stage_count: int, *, current_stages: np.ndarray | None = None
) -> Replay:
    """The ended stays of open stages: a sample of about SAMPLE_ROWS rows of the history.

    The sample takes one row from each block of k rows (rows are in opportunity order, which
    says nothing about how a stay went), at a place drawn by a generator seeded with the
    history's length, so the same history always gives the same tables; an open stage that
    the sample leaves with fewer than MIN_STAYS_KEPT stays keeps all of its own."""
    rows_total = stays.stage.shape[0]
    stride = max(1, rows_total // SAMPLE_ROWS)
    rows = np.arange(0, rows_total, stride, dtype=np.int64)
    if stride > 1:
        # One row at a random place in each block of `stride` rows: a fixed stride would alias
        # with histories whose deals all have the same number of changes. The generator's
        # seed is fixed, so the same history still gives the same tables.
        offsets = np.random.default_rng(rows_total).integers(0, stride, rows.shape[0])
        rows = np.minimum(rows + offsets, rows_total - 1)
    open_stage = np.zeros(stage_count, dtype=bool)
    open_stage[stays.stage[rows][stays.kind[rows] == OPEN]] = True
    if current_stages is not None:
        open_stage[current_stages] = True
    rows = rows[(stays.left[rows] != NONE) & (stays.kind[rows] == OPEN)]
    # A replay can only be in the stages open deals are in and those its stays lead to.
    open_stage[stays.to_stage[rows][stays.to_kind[rows] == OPEN]] = True
    if stride > 1:
        sampled = np.bincount(stays.stage[rows], minlength=stage_count)
        # Won and lost stages are never left in a replay: only open ones need their stays.
        sparse = (sampled < MIN_STAYS_KEPT) & open_stage
        if sparse.any():
            extra = np.flatnonzero(sparse[stays.stage])
            extra = extra[(stays.left[extra] != NONE) & (stays.kind[extra] == OPEN)]
            # The sparse stages' own sampled rows are among `extra`: keep them once.
            rows = np.concatenate((rows[~sparse[stays.stage[rows]]], extra))
    stage = stays.stage[rows]
    length = stays.left[rows] - stays.entered[rows]
    key = (stage.astype(np.int64) << _SHIFT) + np.clip(length, 0, (1 << _SHIFT) - 1)
    order = np.argsort(key, kind="stable")
    count = np.bincount(stage, minlength=stage_count).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
    return Replay(
        start=start,
        count=count,
        length=length[order],
        to_stage=stays.to_stage[rows][order],
        to_kind=stays.to_kind[rows][order],
        key=key[order],
    )


def replay_paths(
    replay: Replay,
    *,
    stage: np.ndarray,
    age: np.ndarray,
    as_of: int,
    until: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """One replayed path per (stage, age) pair: the moment it is won (epoch seconds), or NONE
    when it is lost, stays put or is still open at `until`."""
    paths = stage.shape[0]
    won_at = np.full(paths, NONE, dtype=np.int64)
    current = stage.astype(np.int64).copy()
    clock = np.full(paths, as_of, dtype=np.int64)
    # Age conditions the first stay only; after a move the path has just entered its stage.
    elapsed = age.astype(np.int64).copy()
    alive = np.arange(paths)
    for _ in range(MAX_STEPS):
        if alive.shape[0] == 0 or replay.length.shape[0] == 0:
            break
        stage_now = current[alive]
        begin = replay.start[stage_now]
        end = begin + replay.count[stage_now]
        # First ended stay longer than the elapsed time: search (stage, elapsed) in the keys.
        # (elapsed is -1 after a move: the search then lands on the stage's first stay.)
        first_longer = np.searchsorted(
            replay.key, (stage_now << _SHIFT) + elapsed[alive], side="right"
        )
        outlived = first_longer >= end
        low = np.where(outlived, begin, first_longer)
        no_evidence = end == begin
        pick = low + (rng.random(alive.shape[0]) * (end - low)).astype(np.int64)
        pick = np.minimum(pick, np.maximum(end - 1, 0))
        remaining = replay.length[pick] - np.where(outlived, 0, elapsed[alive])
        moved_at = clock[alive] + remaining
        to_kind = replay.to_kind[pick]
        won = (to_kind == WON) & ~no_evidence & (moved_at < until)
        won_at[alive[won]] = moved_at[won]
        going_on = ~no_evidence & (to_kind == OPEN) & (moved_at < until)
        survivors = alive[going_on]
        current[survivors] = replay.to_stage[pick[going_on]]
        clock[survivors] = moved_at[going_on]
        elapsed[survivors] = -1  # every ended stay lasted longer than -1 s: no conditioning
        alive = survivors
    return won_at


# --- the forecast ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    p10: float
    p50: float
    p90: float
    mean: float


@dataclass(frozen=True)
class PeriodForecast:
    period: str  # "YYYY-MM" or "YYYY-Qn"
    value: Percentiles
    count: Percentiles
    months: int = 1  # months of the horizon inside the period (a quarter may be cut)


@dataclass(frozen=True)
class MonteCarloForecast:
    months: tuple[PeriodForecast, ...]
    quarters: tuple[PeriodForecast, ...]
    trials: int
    seed: int
    open_count: int
    groups: int
    paths: int
    not_modelled: int = 0  # open opportunities in stages nothing has ever left
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, eq=False)
class OpenPositions:
    """Where the open opportunities are now: stage code, seconds in it, value (0 without)."""

    opportunity: np.ndarray
    stage: np.ndarray
    age: np.ndarray
    value: np.ndarray


def open_positions(
    history: FlowHistory,
    stays: Stays,
    *,
    stage_codes: np.ndarray,
    values: dict[int, float] | None = None,
    opportunity_ids: np.ndarray | None = None,
) -> OpenPositions:
    """The ongoing stays in the given (open) stages, restricted to `opportunity_ids` when given;
    `values` maps opportunity id → value (missing or None → 0)."""
    in_stages = np.zeros(max(len(history.stages), 1), dtype=bool)
    in_stages[stage_codes] = True
    rows = np.flatnonzero(stays.ongoing & (stays.kind == OPEN))
    rows = rows[in_stages[stays.stage[rows]]]
    if opportunity_ids is not None:
        rows = rows[np.isin(stays.opportunity[rows], opportunity_ids)]
    opportunity = stays.opportunity[rows]
    value = np.zeros(rows.shape[0], dtype=np.float64)
    if values:
        value = np.array([float(values.get(int(o)) or 0.0) for o in opportunity.tolist()])
    return OpenPositions(
        opportunity=opportunity,
        stage=stays.stage[rows],
        age=np.maximum(history.as_of - stays.entered[rows], 0),
        value=value,
    )


def monte_carlo(
    history: FlowHistory,
    stays: Stays,
    positions: OpenPositions,
    *,
    horizon: int,
    trials: int,
    seed: int,
) -> MonteCarloForecast:
    """P10/P50/P90 (and mean) of won value and won count per month of the horizon (the month of
    `history.as_of` and the horizon − 1 after it) and per calendar quarter."""
    rng = np.random.default_rng(seed)
    starts = month_starts(history.as_of, horizon)
    bounds = np.array([_epoch(day) for day in starts], dtype=np.int64)
    stage_count = max(len(history.stages), 1)
    replay = replay_tables(stays, stage_count, current_stages=np.unique(positions.stage))

    groups, group_of = _groups(replay, positions)
    probabilities, paths = _group_outcomes(
        replay, positions, group_of, groups, bounds, history.as_of, rng
    )
    members = np.bincount(group_of, minlength=groups).astype(np.int64)
    value_sum = np.bincount(group_of, weights=positions.value, minlength=groups)
    value_sq = np.bincount(group_of, weights=positions.value**2, minlength=groups)
    safe = np.maximum(members, 1)
    mean_value = value_sum / safe
    variance = np.maximum(value_sq / safe - mean_value**2, 0.0)
    # Each group's counts per outcome: a pool of multinomial draws (one per trial when the
    # trials are few; else POOL draws that the trials pick from at random, independently per
    # group). With the conditional mean and variance of the won value of each draw.
    pool_size = min(trials, POOL)
    drawn = rng.multinomial(members, probabilities, size=(pool_size, groups))[:, :, :horizon]
    won = drawn.transpose(1, 0, 2).astype(np.float64)  # (groups, pool, months)
    # Variance of a sum of k values drawn without replacement from n: k·σ²·(n−k)/(n−1).
    shrink = (members[:, None, None] - won) / np.maximum(safe - 1, 1)[:, None, None]
    # One table, one gather per trial: count, value mean and value variance side by side.
    pool = (
        np.concatenate(
            (won, won * mean_value[:, None, None], won * variance[:, None, None] * shrink), axis=2
        )
        .reshape(groups * pool_size, 3 * horizon)
        .astype(np.float32)
    )
    counts = np.zeros((trials, horizon), dtype=np.int64)
    values = np.zeros((trials, horizon), dtype=np.float64)
    group_offset = (np.arange(groups, dtype=np.int64) * pool_size)[None, :]
    for first in range(0, trials, TRIAL_CHUNK):
        size = min(TRIAL_CHUNK, trials - first)
        if groups == 0:
            break
        if trials <= POOL:
            entry = np.broadcast_to(np.arange(first, first + size)[:, None], (size, groups))
        else:
            entry = rng.integers(0, pool_size, size=(size, groups))
        # Stored in float32 (half the memory to read), summed in float64.
        summed = np.take(pool, group_offset + entry, axis=0).sum(axis=1, dtype=np.float64)
        counts[first : first + size] = np.rint(summed[:, :horizon]).astype(np.int64)
        mean = summed[:, horizon : 2 * horizon]
        spread = summed[:, 2 * horizon :]
        values[first : first + size] = _gamma_like(rng, mean, spread)
    month_results = tuple(
        PeriodForecast(
            period=period_label(starts[m]),
            value=_percentiles(values[:, m]),
            count=_percentiles(counts[:, m]),
        )
        for m in range(horizon)
    )
    quarter_results = []
    quarter_of = [quarter_label(day) for day in starts[:horizon]]
    for label in dict.fromkeys(quarter_of):
        inside = [m for m, q in enumerate(quarter_of) if q == label]
        quarter_results.append(
            PeriodForecast(
                period=label,
                value=_percentiles(values[:, inside].sum(axis=1)),
                count=_percentiles(counts[:, inside].sum(axis=1)),
                months=len(inside),
            )
        )
    not_modelled = int((replay.count[positions.stage] == 0).sum()) if positions.stage.size else 0
    return MonteCarloForecast(
        months=month_results,
        quarters=tuple(quarter_results),
        trials=trials,
        seed=seed,
        open_count=int(positions.stage.shape[0]),
        groups=groups,
        paths=paths,
        not_modelled=not_modelled,
    )


def _groups(replay: Replay, positions: OpenPositions) -> tuple[int, np.ndarray]:
    """A group number per open opportunity: (stage, age band), numbered densely."""
    if positions.stage.shape[0] == 0:
        return 0, np.zeros(0, dtype=np.int64)
    band = np.zeros(positions.stage.shape[0], dtype=np.int64)
    quantiles = np.linspace(0.0, 1.0, AGE_BANDS + 1)[1:-1]
    for stage in np.unique(positions.stage).tolist():
        lengths = replay.lengths_of(stage)
        if lengths.shape[0] == 0:
            continue
        edges = np.unique(np.quantile(lengths, quantiles, method="lower"))
        # Past the longest ended stay is a band of its own (the fallback applies to it).
        edges = np.append(edges, lengths[-1])
        members = positions.stage == stage
        band[members] = np.searchsorted(edges, positions.age[members], side="left")
    key = (positions.stage.astype(np.int64) << 8) | band
    _, group_of = np.unique(key, return_inverse=True)
    return int(group_of.max()) + 1, group_of.astype(np.int64)


def _group_outcomes(
    replay: Replay,
    positions: OpenPositions,
    group_of: np.ndarray,
    groups: int,
    bounds: np.ndarray,
    as_of: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Per group, the share of replayed paths won in each month of the horizon, and the share
    not won within it (last column); the paths start at members drawn at random."""
    horizon = bounds.shape[0] - 1
    if groups == 0:
        return np.zeros((0, horizon + 1)), 0
    members = np.bincount(group_of, minlength=groups)
    total = int(members.sum())
    per_group = np.maximum(
        MIN_PATHS_PER_GROUP, np.ceil(PATHS_BUDGET * members / max(total, 1))
    ).astype(np.int64)
    # Members of each group, contiguous: a path starts at a member picked uniformly.
    by_group = np.argsort(group_of, kind="stable")
    first_member = np.concatenate(([0], np.cumsum(members)[:-1]))
    path_group = np.repeat(np.arange(groups), per_group)
    picked = by_group[
        first_member[path_group]
        + (rng.random(path_group.shape[0]) * members[path_group]).astype(np.int64)
    ]
    won_at = replay_paths(
        replay,
        stage=positions.stage[picked],
        age=positions.age[picked],
        as_of=as_of,
        until=int(bounds[-1]),
        rng=rng,
    )
    month = np.where(won_at == NONE, horizon, np.searchsorted(bounds, won_at, side="right") - 1)
    # A path won before the first month starts cannot happen (it starts at as_of); clip anyway.
    month = np.clip(month, 0, horizon)
    tallies = np.zeros((groups, horizon + 1), dtype=np.float64)
    np.add.at(tallies, (path_group, month), 1.0)
    return tallies / per_group[:, None], int(path_group.shape[0])


def _gamma_like(rng: np.random.Generator, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Draws with the given mean and variance: gamma where both are positive, else the mean."""
    result = mean.copy()
    random = (mean > 0) & (variance > 0)
    if random.any():
        shape = mean[random] ** 2 / variance[random]
        scale = variance[random] / mean[random]
        result[random] = rng.gamma(shape, scale)
    return result


def _percentiles(samples: np.ndarray) -> Percentiles:
    low, middle, high = np.quantile(samples, [0.1, 0.5, 0.9], method="inverted_cdf")
    return Percentiles(
        p10=round(float(low), 2),
        p50=round(float(middle), 2),
        p90=round(float(high), 2),
        mean=round(float(samples.mean()), 4),
    )


__all__ = [
    "LATER",
    "LOST",
    "OVERDUE",
    "UNDATED",
    "MonteCarloForecast",
    "OpenPositions",
    "PeriodForecast",
    "Percentiles",
    "WeightedPipeline",
    "monte_carlo",
    "month_starts",
    "open_positions",
    "period_label",
    "weighted_pipeline",
]
