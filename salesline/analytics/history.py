"""The flow history as columns: every stage change of an organisation's live opportunities,
sorted by (opportunity, time), and the stays those changes imply. Pure: NumPy, no Django.

Each change starts a *stay* of its opportunity in the stage it moved into; the opportunity's
next change ends that stay (and names where it went). The last change of an opportunity starts
the stay it is in now. So stays and changes are the same rows, and every metric in
`flow.py` and every transition the forecast replays is a vectorised pass over these columns.

Times are whole seconds since the Unix epoch, UTC; durations are converted to days of 24 hours
(86,400 s) where a metric reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

OPEN, WON, LOST = 0, 1, 2
KIND_CODES = {"open": OPEN, "won": WON, "lost": LOST}
DAY = 86_400
# Marks "none" in the integer columns: a stay still going on has no end, no destination.
NONE = -1


def epoch_seconds(moment: datetime) -> int:
    """A timezone-aware moment as whole seconds since the epoch (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@dataclass(frozen=True, eq=False)
class StayEnds:
    """How each row's stay ended, aligned with the history's rows: what `stays_of` derives
    from the columns, kept beside them where the history is kept (analytics.extract) so that
    a request does not derive it again."""

    left: np.ndarray  # int64 seconds, NONE while the stay goes on
    to_stage: np.ndarray  # int32, NONE while the stay goes on
    to_kind: np.ndarray  # int8, NONE while the stay goes on
    first: np.ndarray  # bool: the opportunity's first stay (its creation)

    def select(self, rows: np.ndarray) -> StayEnds:
        return StayEnds(
            left=self.left[rows],
            to_stage=self.to_stage[rows],
            to_kind=self.to_kind[rows],
            first=self.first[rows],
        )


def stay_ends_of(
    opportunity: np.ndarray, at: np.ndarray, stage: np.ndarray, kind: np.ndarray
) -> StayEnds:
    """Each row's stay ends at the same opportunity's next change (rows sorted by
    opportunity, then time)."""
    count = opportunity.shape[0]
    left = np.full(count, NONE, dtype=np.int64)
    to_stage = np.full(count, NONE, dtype=np.int32)
    to_kind = np.full(count, NONE, dtype=np.int8)
    first = np.ones(count, dtype=bool)
    if count > 1:
        # Row i is followed by the same opportunity's next change exactly when row i + 1 has
        # the same opportunity.
        followed = opportunity[1:] == opportunity[:-1]
        ended = np.flatnonzero(followed)
        left[ended] = at[ended + 1]
        to_stage[ended] = stage[ended + 1]
        to_kind[ended] = kind[ended + 1]
        first[1:] = ~followed
    return StayEnds(left=left, to_stage=to_stage, to_kind=to_kind, first=first)


@dataclass(frozen=True, eq=False)
class FlowHistory:
    """Stage changes as parallel columns, sorted by (opportunity, at, id).

    `stage[i]` indexes `stages`, the (pipeline key, stage key) pairs this history names; `kind`
    is the stage's kind when it was entered (a stage's kind can change later; history keeps
    what it was). `as_of` is when the history was read: a stay still going on is measured up
    to it.
    """

    opportunity: np.ndarray  # int64
    at: np.ndarray  # int64, seconds since the epoch
    stage: np.ndarray  # int32, index into `stages`
    kind: np.ndarray  # int8: OPEN, WON or LOST
    stages: tuple[tuple[str, str], ...]
    as_of: int
    # Kept by whoever keeps the history; None: `stays_of` derives them.
    stay_ends: StayEnds | None = None

    def __len__(self) -> int:
        return int(self.opportunity.shape[0])

    def stage_code(self, pipeline: str, stage: str) -> int:
        """The code of a stage in this history, or NONE if no change ever entered it."""
        try:
            return self.stages.index((pipeline, stage))
        except ValueError:
            return NONE

    def pipeline_codes(self, pipeline: str) -> np.ndarray:
        """The codes of the stages of `pipeline` that this history names."""
        return np.array(
            [code for code, (key, _) in enumerate(self.stages) if key == pipeline], dtype=np.int32
        )

    def entered(self, pipeline: str) -> bool:
        """Whether any change ever entered a stage of `pipeline` (`stages` may name stages
        nothing entered yet)."""
        codes = self.pipeline_codes(pipeline)
        return bool(codes.size) and bool(np.isin(self.stage, codes).any())

    def select(self, rows: np.ndarray) -> FlowHistory:
        """The history of some opportunities only: `rows` is a boolean mask that keeps or drops
        *whole* opportunities (see `opportunities_mask`), so the stays stay intact."""
        return FlowHistory(
            opportunity=self.opportunity[rows],
            at=self.at[rows],
            stage=self.stage[rows],
            kind=self.kind[rows],
            stages=self.stages,
            as_of=self.as_of,
            # Whole opportunities are kept: each kept stay ends as it did.
            stay_ends=None if self.stay_ends is None else self.stay_ends.select(rows),
        )

    def until(self, moment: int) -> FlowHistory:
        """The history as it stood at `moment` (epoch seconds): the changes made up to it, read
        then. Rows are in time order within each opportunity, so every opportunity keeps a
        prefix of its changes: its last one up to `moment` is the stay it was in then, and
        opportunities whose first change came later are not in it at all."""
        kept = self.at <= moment
        # No stay ends carried over: a stay that ended after `moment` was still going on then.
        return FlowHistory(
            opportunity=self.opportunity[kept],
            at=self.at[kept],
            stage=self.stage[kept],
            kind=self.kind[kept],
            stages=self.stages,
            as_of=moment,
        )

    def opportunities_mask(self, opportunity_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """A row mask keeping the changes of the given opportunities."""
        wanted = np.asarray(
            opportunity_ids if isinstance(opportunity_ids, np.ndarray) else list(opportunity_ids),
            dtype=np.int64,
        )
        count = len(self)
        if not count:
            return np.zeros(0, dtype=bool)
        # Rows are sorted by opportunity: decide once per opportunity, then repeat over its
        # rows (a tenth of the work of testing every row).
        starts = np.flatnonzero(np.r_[True, self.opportunity[1:] != self.opportunity[:-1]])
        keep = np.isin(self.opportunity[starts], wanted)
        return np.repeat(keep, np.diff(np.r_[starts, count]))


@dataclass(frozen=True, eq=False)
class Stays:
    """One row per stay, aligned with the history's rows (stay i began with change i)."""

    opportunity: np.ndarray  # int64
    stage: np.ndarray  # int32
    kind: np.ndarray  # int8
    entered: np.ndarray  # int64 seconds
    left: np.ndarray  # int64 seconds, NONE while the stay goes on
    to_stage: np.ndarray  # int32, NONE while the stay goes on
    to_kind: np.ndarray  # int8, NONE while the stay goes on
    first: np.ndarray  # bool: the opportunity's first stay (its creation)

    @property
    def ongoing(self) -> np.ndarray:
        return self.left == NONE


def stays_of(history: FlowHistory) -> Stays:
    """The stays the changes imply: each ends at the same opportunity's next change."""
    ends = history.stay_ends
    if ends is None:
        ends = stay_ends_of(history.opportunity, history.at, history.stage, history.kind)
    return Stays(
        opportunity=history.opportunity,
        stage=history.stage,
        kind=history.kind,
        entered=history.at,
        left=ends.left,
        to_stage=ends.to_stage,
        to_kind=ends.to_kind,
        first=ends.first,
    )


def stay_left(history: FlowHistory) -> np.ndarray:
    """When each row's stay ended (NONE: it goes on): the kept column, else only that column
    derived, not every column of `stays_of`."""
    if history.stay_ends is not None:
        return history.stay_ends.left
    left = np.full(len(history), NONE, dtype=np.int64)
    if len(history) > 1:
        followed = history.opportunity[1:] == history.opportunity[:-1]
        left[:-1] = np.where(followed, history.at[1:], NONE)
    return left


def history_from_rows(
    rows: Sequence[tuple[int, datetime | int, str, str, str]], *, as_of: datetime | int
) -> FlowHistory:
    """A history from (opportunity, at, pipeline key, stage key, stage kind) rows in any order;
    rows of one opportunity at the same moment keep their given order. For tests and the
    extract alike."""
    stages: dict[tuple[str, str], int] = {}
    ordered = sorted(
        enumerate(rows),
        key=lambda item: (item[1][0], _seconds(item[1][1]), item[0]),
    )
    opportunity = np.empty(len(rows), dtype=np.int64)
    at = np.empty(len(rows), dtype=np.int64)
    stage = np.empty(len(rows), dtype=np.int32)
    kind = np.empty(len(rows), dtype=np.int8)
    for index, (_, (opp, moment, pipeline, stage_key, stage_kind)) in enumerate(ordered):
        opportunity[index] = opp
        at[index] = _seconds(moment)
        stage[index] = stages.setdefault((pipeline, stage_key), len(stages))
        kind[index] = KIND_CODES.get(stage_kind, OPEN)
    return FlowHistory(
        opportunity=opportunity,
        at=at,
        stage=stage,
        kind=kind,
        stages=tuple(stages),
        as_of=_seconds(as_of),
    )


def empty_history(*, as_of: datetime | int) -> FlowHistory:
    return history_from_rows([], as_of=as_of)


def _seconds(moment: datetime | int) -> int:
    return moment if isinstance(moment, int) else epoch_seconds(moment)
