"""Reading the flow history out of the database into columns (history.FlowHistory).

Only live opportunities count: a stage change whose opportunity was deleted (in the trash) or
purged is left out (docs/metrics.md). The metrics, the forecast and the dashboard all read the
history through `flow_history`, so how it is read and kept (see docs/metrics.md, "How the
numbers are computed") is decided here alone.

The columns are read once per organisation and kept: in this process's memory, and in a file
per organisation under `settings.ANALYTICS_CACHE_DIR` that other processes map into memory
instead of reading ten million rows again. Each call then asks the database only what changed:

- stage changes with an id above `floor_id` are merged in. Ids are taken when a row is
  inserted but become visible when its transaction commits, so on PostgreSQL a smaller id can
  appear after a larger one was read: the floor trails the largest id read by
  `ANALYTICS_COMMIT_WINDOW` seconds, and the ids read above it are remembered so none is
  merged twice;
- a different `Pipeline.history_revision` (a history import or purge rewrote the past) or a
  different set of pipelines means reading everything again;
- an opportunity deleted, restored or purged writes an audit event; a new one since the last
  look re-reads the (short) list of deleted opportunities, whose rows are then masked out. The
  columns keep the deleted opportunities' rows, so a restore needs no re-read.

Nothing read inside a transaction (`atomic`) is kept: it could still be rolled back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.pipeline.models import Pipeline, Stage, StageChange

from .history import KIND_CODES, NONE, OPEN, FlowHistory, StayEnds, epoch_seconds, stay_ends_of
from .history_reads import preparing, should_read_in_background

# Seconds a transaction may hold a stage change's id before committing it (see above).
DEFAULT_COMMIT_WINDOW = 600
# In-memory extracts kept per process (most recently used first out).
MAX_ORGANISATIONS = 8
# Rewrite an organisation's file once this many rows were merged in since it was written.
REWRITE_AFTER_ROWS = 100_000
FORMAT_VERSION = 2
# Bytes of COPY output decoded at a time (whole rows of 66 bytes).
COPY_DECODE_BYTES = 32 * 2**20
COLUMNS = ("opportunity", "at", "stage", "kind")
# How each stay ended, derived from the columns once and kept (and written) with them.
END_COLUMNS = ("left", "to_stage", "to_kind", "first")
# The worker reads a large history in about this many ranges of ids, reporting after each.
READ_PARTS = 20
MIN_PART_IDS = 100_000
# The share of the worker's read reported for reading the rows (the rest: sorting, writing).
READ_SHARE = 0.9

# Called with (rows read, share of the read done).
type Progress = Callable[[int, float], None]


@dataclass
class Extract:
    """One organisation's stage changes as columns, with what is needed to bring them up to
    date. `opportunity`/`at`/`stage`/`kind` hold every change of opportunities that exist (in
    the trash too), sorted by (opportunity, at, id); `deleted` the trashed ones' ids."""

    key: str
    opportunity: np.ndarray
    at: np.ndarray
    stage: np.ndarray
    kind: np.ndarray
    stages: list[tuple[str, str]]
    revisions: list[tuple[int, int]]
    deleted: np.ndarray
    floor_id: int
    recent_ids: set[int]
    # (wall-clock second, largest id read then): the floor moves up to the largest id read
    # at least a commit window ago.
    checkpoints: list[tuple[float, int]]
    audit_since: float
    audit_seen: set[int]
    merged_since_file: int = 0
    ends: StayEnds | None = field(default=None, repr=False)
    live: FlowHistory | None = field(default=None, repr=False)


_lock = threading.Lock()
_extracts: OrderedDict[str, Extract] = OrderedDict()


def flow_history(organisation) -> FlowHistory:
    """Every stage change of the organisation's live opportunities, sorted by (opportunity,
    at, id). Raises `Preparing` where a request would have to read a large history whole
    (analytics.history_reads)."""
    now = timezone.now()
    keep = not connection.in_atomic_block
    key = _key(organisation)
    revisions = _revisions(organisation)
    extract = _kept(key, revisions)
    if extract is not None:
        # Refreshed as a copy: a thread reading the kept one meanwhile is not disturbed.
        extract = _copy(extract)
        if _refresh(organisation, extract):
            if keep and extract.merged_since_file >= REWRITE_AFTER_ROWS:
                _write_file(extract)
        else:
            extract = None
    if extract is None:
        if should_read_in_background(organisation, partial(_count_rows, organisation)):
            raise preparing(organisation, revisions)
        extract = _read_all(organisation, key)
        if keep:
            _write_file(extract)
    if keep:
        _keep(extract)
    return dataclasses.replace(_live(extract), as_of=epoch_seconds(now))


def read_and_keep(organisation, *, progress: Progress | None = None) -> list[tuple[int, int]]:
    """Read the organisation's whole history afresh, in parts whose progress is reported, and
    keep it (memory and file). The worker's side of analytics.history_reads; returns the
    pipelines' revisions it was read at."""
    if progress is None:
        extract = _read_all(organisation, _key(organisation))
    else:
        # Sorting and writing the columns take about a tenth of the time after the last part.
        extract = _read_all(
            organisation,
            _key(organisation),
            progress=lambda rows, done: progress(rows, done * READ_SHARE),
        )
        progress(len(extract.opportunity), (1 + READ_SHARE) / 2)
    _write_file(extract)
    _keep(extract)
    return extract.revisions


def forget(organisation=None) -> None:
    """Drop the kept extracts (of one organisation, or all) from this process's memory."""
    with _lock:
        if organisation is None:
            _extracts.clear()
        else:
            _extracts.pop(_key(organisation), None)


# ---------------------------------------------------------------- reading


def _kept(key: str, revisions: list[tuple[int, int]]) -> Extract | None:
    """The extract kept in this process, or else in the shared file (another process, the
    worker say, may have read it since), if it was read at these revisions."""
    with _lock:
        extract = _extracts.get(key)
    if extract is not None and extract.revisions == revisions:
        return extract
    extract = _load_file(key)
    if extract is not None and extract.revisions == revisions:
        return extract
    return None


def _keep(extract: Extract) -> None:
    with _lock:
        _extracts[extract.key] = extract
        _extracts.move_to_end(extract.key)
        while len(_extracts) > MAX_ORGANISATIONS:
            _extracts.popitem(last=False)


def _count_rows(organisation, limit: int) -> int:
    """The organisation's stage changes of existing opportunities, counted up to `limit`."""
    sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {StageChange._meta.db_table} "  # noqa: S608 - table name from code
        "WHERE organisation_id = %s AND opportunity_id IS NOT NULL LIMIT %s) AS counted"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk, limit])
        return int(cursor.fetchone()[0])


def _key(organisation) -> str:
    """Names one organisation of one database: an id alone could name another organisation
    after a test database is rebuilt."""
    database = connection.settings_dict
    where = f"{database['ENGINE']}|{database.get('HOST', '')}|{database['NAME']}"
    created = organisation.created_at.isoformat() if organisation.created_at else ""
    digest = hashlib.sha256(f"{where}|{organisation.pk}|{created}".encode()).hexdigest()
    return f"{organisation.pk}-{digest[:16]}"


def _revisions(organisation) -> list[tuple[int, int]]:
    return [
        (pk, revision)
        for pk, revision in Pipeline.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("pk", "history_revision")
    ]


def _commit_window() -> float:
    return float(getattr(settings, "ANALYTICS_COMMIT_WINDOW", DEFAULT_COMMIT_WINDOW))


def _stage_codes(organisation) -> list[tuple[str, str]]:
    """The pipelines' current stages, in order: the codes most rows get in SQL."""
    return list(
        Stage.objects.filter(pipeline__organisation=organisation)
        .order_by("pipeline__position", "pipeline_id", "position", "id")
        .values_list("pipeline__key", "key")
    )


def _code_sql(stages: list[tuple[str, str]]) -> tuple[str, list]:
    """A CASE giving each row its stage's code (-1 for a stage not in `stages`) and one for
    the kind."""
    whens, params = [], []
    for code, (pipeline, stage) in enumerate(stages):
        whens.append("WHEN to_pipeline_key = %s AND to_stage = %s THEN " + str(code))
        params += [pipeline, stage]
    stage_case = f"CASE {' '.join(whens)} ELSE -1 END" if whens else "-1"
    kind_case = (
        f"CASE to_stage_kind WHEN 'won' THEN {KIND_CODES['won']} "
        f"WHEN 'lost' THEN {KIND_CODES['lost']} ELSE {OPEN} END"
    )
    return f"{stage_case}, {kind_case}", params


def _epoch_sql() -> str:
    if connection.vendor == "postgresql":
        return "floor(extract(epoch FROM at))::bigint"
    if connection.vendor == "sqlite":
        # Whole seconds, cut before SQLite parses: its date functions round the fraction to
        # milliseconds, so 12:00:07.9999995 would count as 12:00:08 here and 12:00:07 in Python.
        return "CAST(strftime('%%s', substr(at, 1, 19)) AS INTEGER)"
    raise NotImplementedError(connection.vendor)


def _select_rows(
    organisation, stages, where: str, params: list, *, by_id: bool = False
) -> np.ndarray:
    """(id, opportunity, at, stage code, kind code) of the organisation's changes of existing
    opportunities matching `where`, as an (n, 5) int64 array in no particular order. `by_id`:
    `where` is a range of ids, to be read along the primary key."""
    codes, code_params = _code_sql(stages)
    table = StageChange._meta.db_table
    if by_id and connection.vendor == "sqlite":
        # Without statistics SQLite would walk the organisation's index for every range.
        table += " NOT INDEXED"
    sql = (
        f"SELECT id, opportunity_id, {_epoch_sql()}, {codes} FROM {table} "  # noqa: S608 - table name and CASE from code; values are parameters
        f"WHERE organisation_id = %s AND opportunity_id IS NOT NULL{where}"
    )
    all_params = [*code_params, organisation.pk, *params]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _copy_binary(cursor, sql, all_params)
        cursor.execute(sql, all_params)
        chunks = []
        while rows := cursor.fetchmany(200_000):
            chunks.append(np.array(rows, dtype=np.int64))
    return np.concatenate(chunks) if chunks else np.empty((0, 5), dtype=np.int64)


# COPY's binary tuples of five bigints: a field count, then a length and a value per field.
_BINARY_ROW = np.dtype(
    [("count", ">i2")] + [item for n in range(5) for item in ((f"l{n}", ">i4"), (f"v{n}", ">i8"))]
)


def _copy_binary(cursor, sql: str, params: list) -> np.ndarray:
    """PostgreSQL: the rows through `COPY ... TO STDOUT (FORMAT binary)` of five bigints,
    decoded by NumPy (fixed-width rows) a few megabytes at a time instead of row by row in
    Python; the raw bytes are never all held at once."""
    import psycopg

    raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
    query = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
    width = _BINARY_ROW.itemsize
    chunks: list[np.ndarray] = []
    pending = bytearray()
    header = True
    with raw.copy(
        f"COPY (SELECT c0::bigint, c1::bigint, c2::bigint, c3::bigint, c4::bigint FROM "  # noqa: S608 - the query was bound by psycopg
        f"({query}) AS rows (c0, c1, c2, c3, c4)) TO STDOUT (FORMAT binary)"
    ) as copy:
        for block in copy:
            pending += block
            if header and len(pending) >= 19:
                # 11-byte signature, 4-byte flags, 4-byte header extension length (0).
                del pending[:19]
                header = False
            if not header and len(pending) >= COPY_DECODE_BYTES:
                whole = len(pending) // width * width
                chunks.append(_decode(pending[:whole]))
                del pending[:whole]
    # What is left: the last rows and the 2-byte trailer (-1).
    if len(pending) >= 2:
        whole = (len(pending) - 2) // width * width
        chunks.append(_decode(pending[:whole]))
    return np.concatenate(chunks) if chunks else np.empty((0, 5), dtype=np.int64)


def _decode(data: bytes | bytearray) -> np.ndarray:
    rows = np.frombuffer(data, dtype=_BINARY_ROW)
    if rows.size and (rows["count"] != 5).any():
        raise ValueError("unexpected COPY row layout")
    decoded = np.empty((rows.size, 5), dtype=np.int64)
    for n in range(5):
        decoded[:, n] = rows[f"v{n}"]
    return decoded


def _resolve_unknown(organisation, rows: np.ndarray, stages: list[tuple[str, str]]) -> None:
    """Give a code to rows whose stage is not a current one (removed or renamed since): read
    their keys and extend `stages`."""
    unknown = np.flatnonzero(rows[:, 3] == -1)
    if not unknown.size:
        return
    codes = {pair: code for code, pair in enumerate(stages)}
    ids = rows[unknown, 0]
    keys: dict[int, tuple[str, str]] = {}
    for start in range(0, ids.size, 10_000):
        part = ids[start : start + 10_000].tolist()
        for pk, pipeline, stage in StageChange.objects.filter(pk__in=part).values_list(
            "pk", "to_pipeline_key", "to_stage"
        ):
            keys[pk] = (pipeline, stage)
    for index, pk in zip(unknown.tolist(), ids.tolist(), strict=True):
        pair = keys[pk]
        if pair not in codes:
            codes[pair] = len(stages)
            stages.append(pair)
        rows[index, 3] = codes[pair]


def _deleted(organisation) -> np.ndarray:
    from salesline.pipeline.models import Opportunity

    return np.sort(
        np.array(
            Opportunity.objects.filter(
                organisation=organisation, deleted_at__isnull=False
            ).values_list("pk", flat=True),
            dtype=np.int64,
        )
    )


def _select_in_parts(organisation, stages, progress: Progress) -> np.ndarray:
    """`_select_rows` of everything, a range of ids at a time, reporting the rows read and the
    share of the id range done after each."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {StageChange._meta.db_table}")  # noqa: S608 - table name from code
        low, high = cursor.fetchone()
    if low is None:
        progress(0, 1.0)
        return np.empty((0, 5), dtype=np.int64)
    span = high - low + 1
    step = max(-(-span // READ_PARTS), MIN_PART_IDS)
    parts, rows_read = [], 0
    for start in range(low - 1, high, step):
        part = _select_rows(
            organisation, stages, " AND id > %s AND id <= %s", [start, start + step], by_id=True
        )
        parts.append(part)
        rows_read += part.shape[0]
        progress(rows_read, min(1.0, (start + step - low + 1) / span))
    return np.concatenate(parts)


def _read_all(organisation, key: str, *, progress: Progress | None = None) -> Extract:
    started = time.time()
    revisions = _revisions(organisation)
    stages = _stage_codes(organisation)
    window = _commit_window()
    audit_seen = set(_trash_events(organisation, since=started - window))
    deleted = _deleted(organisation)
    if progress is None:
        rows = _select_rows(organisation, stages, "", [])
    else:
        rows = _select_in_parts(organisation, stages, progress)
    _resolve_unknown(organisation, rows, stages)
    # Sorted by (opportunity, at, id); each column gathered once, in its final type.
    order = np.lexsort((rows[:, 0], rows[:, 2], rows[:, 1]))
    ids = rows[:, 0]
    largest = int(ids.max()) if ids.size else 0
    # What was committed before the window is surely all there; ids above it may be joined
    # by rows of transactions still open.
    older = ids[rows[:, 2] < int(started - window)]
    floor_id = int(older.max()) if older.size else 0
    recent_ids = set(ids[ids > floor_id].tolist())
    columns = {
        "opportunity": rows[order, 1],
        "at": rows[order, 2],
        "stage": rows[order, 3].astype(np.int32),
        "kind": rows[order, 4].astype(np.int8),
    }
    del rows, order, ids, older
    extract = Extract(
        key=key,
        **columns,
        stages=stages,
        revisions=revisions,
        deleted=deleted,
        floor_id=floor_id,
        recent_ids=recent_ids,
        checkpoints=[(started, largest)],
        audit_since=started,
        audit_seen=audit_seen,
    )
    return extract


def _refresh(organisation, extract: Extract) -> bool:
    """Merge in what was committed since the extract was read or last refreshed; False if
    only reading everything again will do."""
    started = time.time()
    window = _commit_window()
    rows = _select_rows(organisation, list(extract.stages), " AND id > %s", [extract.floor_id])
    if rows.size:
        fresh = np.array([pk not in extract.recent_ids for pk in rows[:, 0].tolist()], dtype=bool)
        rows = rows[fresh]
    if rows.size:
        stages = list(extract.stages)
        _resolve_unknown(organisation, rows, stages)
        extract.stages = stages
        _merge(extract, rows)
        extract.recent_ids.update(rows[:, 0].tolist())
        extract.ends = None
        extract.live = None
    largest = max([extract.checkpoints[-1][1], *rows[:, 0].tolist()])
    if largest > extract.checkpoints[-1][1]:
        extract.checkpoints.append((started, largest))
    # Every id up to a checkpoint's largest was either read then or held by a transaction
    # that has committed since, if the checkpoint is a commit window old: this refresh's read
    # (above) saw them all, so the floor may rise to it.
    settled = [point for point in extract.checkpoints if point[0] <= started - window]
    if settled:
        extract.floor_id = max(extract.floor_id, settled[-1][1])
        extract.checkpoints = [settled[-1]] + [
            point for point in extract.checkpoints if point[0] > started - window
        ]
        extract.recent_ids = {pk for pk in extract.recent_ids if pk > extract.floor_id}
    return not _refresh_deleted(organisation, extract, started, window)


def _refresh_deleted(organisation, extract: Extract, started: float, window: float) -> bool:
    events = _trash_events(organisation, since=extract.audit_since - window)
    new = {action for pk, action in events.items() if pk not in extract.audit_seen}
    if "purge" in new:
        # A purge empties its opportunities' links: their rows must go, not be unmasked.
        return True
    if new:
        extract.deleted = _deleted(organisation)
        extract.live = None
    extract.audit_seen = set(events)
    extract.audit_since = started
    return False


def _trash_events(organisation, *, since: float) -> dict[int, str]:
    """The audit events (id: action) of opportunities deleted, restored or purged since
    `since`."""
    return dict(
        AuditEvent.objects.filter(
            organisation=organisation,
            at__gte=datetime.fromtimestamp(since, tz=UTC),
            object_type="opportunity",
            action__in=("delete", "restore", "purge"),
        ).values_list("pk", "action")
    )


def _merge(extract: Extract, rows: np.ndarray) -> None:
    """Insert new rows (id, opportunity, at, stage, kind) where they belong in the sorted
    columns: after the same opportunity's rows of the same moment or earlier."""
    rows = rows[np.lexsort((rows[:, 0], rows[:, 2], rows[:, 1]))]
    opportunity, at = rows[:, 1], rows[:, 2]
    block_start = np.searchsorted(extract.opportunity, opportunity, side="left")
    block_end = np.searchsorted(extract.opportunity, opportunity, side="right")
    positions = np.empty(rows.shape[0], dtype=np.int64)
    for index in range(rows.shape[0]):
        start, end = block_start[index], block_end[index]
        positions[index] = start + np.searchsorted(extract.at[start:end], at[index], side="right")
    extract.opportunity = np.insert(extract.opportunity, positions, opportunity)
    extract.at = np.insert(extract.at, positions, at)
    extract.stage = np.insert(extract.stage, positions, rows[:, 3].astype(np.int32))
    extract.kind = np.insert(extract.kind, positions, rows[:, 4].astype(np.int8))
    extract.merged_since_file += int(rows.shape[0])


def _live(extract: Extract) -> FlowHistory:
    """The history without the trashed opportunities' rows (kept until the columns change)."""
    if extract.live is not None:
        return extract.live
    stages = tuple(extract.stages)
    if extract.ends is None:
        extract.ends = stay_ends_of(extract.opportunity, extract.at, extract.stage, extract.kind)
    if extract.deleted.size:
        keep = np.ones(extract.opportunity.shape[0], dtype=bool)
        # Sorted by opportunity: each deleted one's rows are one slice, found by bisection.
        starts = np.searchsorted(extract.opportunity, extract.deleted, side="left")
        ends = np.searchsorted(extract.opportunity, extract.deleted, side="right")
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            keep[start:end] = False
        history = FlowHistory(
            opportunity=extract.opportunity[keep],
            at=extract.at[keep],
            stage=extract.stage[keep],
            kind=extract.kind[keep],
            stages=stages,
            as_of=0,
            stay_ends=extract.ends.select(keep),
        )
    else:
        history = FlowHistory(
            opportunity=extract.opportunity,
            at=extract.at,
            stage=extract.stage,
            kind=extract.kind,
            stages=stages,
            as_of=0,
            stay_ends=extract.ends,
        )
    extract.live = history
    return history


def _copy(extract: Extract) -> Extract:
    """A copy to refresh without touching the kept one (a merge replaces the arrays, never
    changes them in place)."""
    return dataclasses.replace(
        extract,
        recent_ids=set(extract.recent_ids),
        checkpoints=list(extract.checkpoints),
        audit_seen=set(extract.audit_seen),
        stages=list(extract.stages),
    )


# ---------------------------------------------------------------- the file


def _cache_dir() -> Path | None:
    configured = getattr(settings, "ANALYTICS_CACHE_DIR", None)
    return Path(configured) if configured else None


def _write_file(extract: Extract) -> None:
    """The columns as .npy files and a JSON description naming them, written last and
    atomically: a reader sees the old set or the new one, never half of one."""
    folder = _cache_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    generation = f"{extract.key}.{time.time_ns()}"
    if extract.ends is None:
        extract.ends = stay_ends_of(extract.opportunity, extract.at, extract.stage, extract.kind)
    arrays = {column: getattr(extract, column) for column in COLUMNS}
    arrays |= {column: getattr(extract.ends, column) for column in END_COLUMNS}
    for column, values in arrays.items():
        temporary = folder / f"{generation}.{column}.npy.tmp"
        with temporary.open("wb") as handle:
            np.save(handle, values)
        os.replace(temporary, folder / f"{generation}.{column}.npy")
    description = {
        "format": FORMAT_VERSION,
        "generation": generation,
        "stages": extract.stages,
        "revisions": extract.revisions,
        "deleted": extract.deleted.tolist(),
        "floor_id": extract.floor_id,
        "recent_ids": sorted(extract.recent_ids),
        "checkpoints": extract.checkpoints,
        "audit_since": extract.audit_since,
        "audit_seen": sorted(extract.audit_seen),
    }
    temporary = folder / f"{extract.key}.json.tmp"
    temporary.write_text(json.dumps(description))
    os.replace(temporary, folder / f"{extract.key}.json")
    extract.merged_since_file = 0
    # Earlier generations: a process that mapped one keeps reading it until it lets go.
    for old in folder.glob(f"{extract.key}.*.npy"):
        if not old.name.startswith(generation + "."):
            old.unlink(missing_ok=True)


def _load_file(key: str) -> Extract | None:
    folder = _cache_dir()
    if folder is None:
        return None
    try:
        description = json.loads((folder / f"{key}.json").read_text())
        if description.get("format") != FORMAT_VERSION:
            return None
        generation = description["generation"]
        mapped = {
            column: np.load(folder / f"{generation}.{column}.npy", mmap_mode="r")
            for column in COLUMNS + END_COLUMNS
        }
    except (OSError, ValueError, KeyError):
        return None
    return Extract(
        key=key,
        **{column: mapped[column] for column in COLUMNS},
        ends=StayEnds(**{column: mapped[column] for column in END_COLUMNS}),
        stages=[tuple(pair) for pair in description["stages"]],
        revisions=[tuple(pair) for pair in description["revisions"]],
        deleted=np.array(description["deleted"], dtype=np.int64),
        floor_id=description["floor_id"],
        recent_ids=set(description["recent_ids"]),
        checkpoints=[tuple(point) for point in description["checkpoints"]],
        audit_since=description["audit_since"],
        audit_seen=set(description["audit_seen"]),
    )


__all__ = ["NONE", "flow_history", "forget"]
