"""The stage-history import: years of stage changes from another CRM become the whole flow
history of opportunities already in Salesline.

An import kind of the records app's job machinery (records/importing/kinds.py): the file, the
job, dry run, progress, the report of rejected rows and the worker are the imports' own; this
module reads the rows and writes the history. Columns: `opportunity` (its id), `to_stage`,
`at` (ISO date-time), optional `actor` (e-mail).

The rows of one opportunity (in time order; they need not be next to each other in the file)
replace its history, the single entry of its creation included: its creation time becomes the
first row's, its stage and status the last row's. Gates are not evaluated and no move events
are sent: this is the past, not moves happening now. What is derived from an opportunity's
current state (the quality rating) hears of the rewrite through one `stage_history_imported`
event per chunk naming the opportunities. An opportunity moved in Salesline since its creation
keeps its history, and its rows are rejected.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from salesline.accounts.services import require_admin
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.records.importing.engine import Writer, chunk_rows, members_of
from salesline.records.importing.kinds import ImportKind, column_positions, register_import_kind
from salesline.records.importing.rowtypes import UnreadableRow
from salesline.records.models import ImportIssue, ImportJob

from .models import Opportunity, Pipeline, Stage, StageChange

KIND = "stage_history"
REJECTED = ImportIssue.Type.REJECTED.value
UNNAMED_ACTOR = "history import"
# The event that names the opportunities a chunk rewrote, and the most ids one event names.
REWRITTEN_EVENT = "stage_history_imported"
IDS_PER_EVENT = 2_000


@dataclass
class HistoryRow:
    row: int
    cells: list[str]
    opportunity_id: int | None
    to_stage: str
    at: dt.datetime | None
    actor_id: int | None
    actor_label: str
    problems: list[tuple[str, str]] = field(default_factory=list)


def parse_at(text: str) -> dt.datetime | None:
    """An ISO 8601 date-time (or date, read as midnight); one without an offset is in the
    server's time zone. None when `text` is not one."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


class Reader:
    """The file's rows, each with the problems it has on its own."""

    def __init__(self, job: ImportJob, header: list[str]):
        self.positions, _ = column_positions(HISTORY_KIND, header)
        self.members = members_of(job.organisation_id)
        self.now = timezone.now()

    def cell(self, cells: list[str], name: str) -> str:
        index = self.positions.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def read(self, number: int, cells: list[str]) -> HistoryRow:
        problems: list[tuple[str, str]] = []
        if isinstance(cells, UnreadableRow):
            problems.append(("", cells.reason))
        raw_id = self.cell(cells, "opportunity")
        opportunity_id = int(raw_id) if raw_id.isascii() and raw_id.isdecimal() else None
        if opportunity_id is None:
            problems.append(
                ("opportunity", f"'{raw_id}' is not an opportunity id (a whole number)")
                if raw_id
                else ("opportunity", "the opportunity id is missing")
            )
        to_stage = self.cell(cells, "to_stage")
        if not to_stage:
            problems.append(("to_stage", "the stage is missing"))
        raw_at = self.cell(cells, "at")
        at = parse_at(raw_at) if raw_at else None
        if not raw_at:
            problems.append(("at", "the date-time is missing"))
        elif at is None:
            problems.append(
                ("at", f"'{raw_at[:60]}' is not an ISO date-time such as 2024-03-01T09:30:00Z")
            )
        elif at > self.now:
            problems.append(("at", f"{raw_at} is in the future"))
        email = self.cell(cells, "actor").lower()
        return HistoryRow(
            row=number,
            cells=list(cells),
            opportunity_id=opportunity_id,
            to_stage=to_stage,
            at=at,
            # Former colleagues who are not members are kept by their e-mail.
            actor_id=self.members.get(email) if email else None,
            actor_label=email[:254] or UNNAMED_ACTOR,
            problems=problems,
        )


def grouped(
    reader: Reader, rows: Iterator[tuple[int, list[str]]]
) -> list[tuple[int | None, list[HistoryRow]]]:
    """The rows by opportunity, in the order opportunities first appear (rows without a usable
    id first, as one group): a fixed order, so a resumed import skips what it did."""
    groups: dict[int | None, list[HistoryRow]] = {None: []}
    for number, cells in rows:
        row = reader.read(number, cells)
        groups.setdefault(row.opportunity_id, []).append(row)
    return [(key, rows) for key, rows in groups.items() if rows]


def out_of_order(rows: list[HistoryRow]) -> tuple[HistoryRow, HistoryRow] | None:
    """The first row dated before the row above it (of the same opportunity), with that row;
    rows rejected on their own (a date in the future) take no part."""
    previous = None
    for row in rows:
        if row.at is None or row.problems:
            continue
        if previous is not None and previous.at is not None and row.at < previous.at:
            return previous, row
        previous = row
    return None


@dataclass
class ChunkOutcome:
    issues: list[dict[str, Any]] = field(default_factory=list)
    written: int = 0
    rewritten: int = 0
    rejected: int = 0
    rows: int = 0


class HistoryRun:
    def __init__(self, job: ImportJob, actor: Actor):
        self.job = job
        self.actor = actor
        self.issue_writer = Writer(ImportIssue, {"job_id": job.pk})
        # COPY on PostgreSQL, one prepared INSERT on SQLite (as the record imports write).
        self.change_writer = Writer(
            StageChange, {"organisation_id": job.organisation_id, "imported": True}
        )
        # pipeline id -> (key, {stage key: Stage})
        self.stages: dict[int, tuple[str, dict[str, Stage]]] = {}
        self.timings = {"read": 0.0, "check": 0.0, "write": 0.0}

    def stages_of(self, pipeline_id: int) -> tuple[str, dict[str, Stage]]:
        if pipeline_id not in self.stages:
            pipeline = Pipeline.objects.get(pk=pipeline_id)
            self.stages[pipeline_id] = (
                pipeline.key,
                {stage.key: stage for stage in Stage.objects.filter(pipeline_id=pipeline_id)},
            )
        return self.stages[pipeline_id]

    def reject(self, outcome: ChunkOutcome, row: HistoryRow, problems) -> None:
        outcome.rejected += 1
        for index, (target, reason) in enumerate(problems):
            outcome.issues.append(
                dict(
                    row=row.row,
                    type=REJECTED,
                    field=target[:80],
                    reason=reason[:500],
                    record_id=row.opportunity_id,
                    values=row.cells if index == 0 else [],
                )
            )

    def chunk(self, groups: list[tuple[int | None, list[HistoryRow]]]) -> ChunkOutcome:
        """Check and (unless a dry run) write a few thousand rows' opportunities, in the
        caller's transaction."""
        outcome = ChunkOutcome()
        started = time.perf_counter()
        ids = sorted(key for key, _ in groups if key is not None)
        # Locked, so a move made meanwhile cannot slip between the check and the rewrite.
        found = {
            o.pk: o
            for o in Opportunity.objects.select_for_update()
            .filter(organisation_id=self.job.organisation_id, deleted_at=None, pk__in=ids)
            .order_by("pk")
            .only("pk", "name", "pipeline_id", "stage_id", "status", "created_at", "closed_at")
        }
        moved = set(
            StageChange.objects.filter(opportunity_id__in=list(found), imported=False)
            .exclude(from_stage="")
            .values_list("opportunity_id", flat=True)
        )
        histories: list[tuple[Opportunity, list[HistoryRow]]] = []
        for key, rows in groups:
            outcome.rows += len(rows)
            opportunity = found.get(key) if key is not None else None
            group_problem = None
            if key is None:
                pass  # each row has its own problem with the id
            elif opportunity is None:
                group_problem = ("opportunity", f"there is no opportunity {key}")
            elif key in moved:
                group_problem = (
                    "opportunity",
                    f"opportunity {key} has moves made in Salesline; its history is kept",
                )
            elif pair := out_of_order(rows):
                earlier, later = pair
                group_problem = (
                    "at",
                    f"the rows of opportunity {key} are not in time order: row {later.row} "
                    f"({later.at:%Y-%m-%d %H:%M}) is dated before row {earlier.row} "
                    f"({earlier.at:%Y-%m-%d %H:%M})",
                )
            if opportunity is not None and group_problem is None:
                pipeline_key, stages = self.stages_of(opportunity.pipeline_id)
                for row in rows:
                    if row.to_stage and row.to_stage not in stages:
                        row.problems.append(
                            ("to_stage", f"pipeline {pipeline_key} has no stage '{row.to_stage}'")
                        )
            good = []
            for row in rows:
                if row.problems:
                    self.reject(outcome, row, row.problems)
                elif group_problem is not None:
                    self.reject(outcome, row, [group_problem])
                else:
                    good.append(row)
            if good and opportunity is not None:
                histories.append((opportunity, good))
        self.timings["check"] += time.perf_counter() - started
        started = time.perf_counter()
        outcome.written = sum(len(rows) for _, rows in histories)
        outcome.rewritten = len(histories)
        if histories and not self.job.dry_run:
            self.write(histories)
        self.timings["write"] += time.perf_counter() - started
        return outcome

    def write(self, histories: list[tuple[Opportunity, list[HistoryRow]]]) -> None:
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        StageChange.objects.filter(opportunity_id__in=[o.pk for o, _ in histories]).delete()
        changes, updates, audits, pipelines = [], [], [], set()
        for opportunity, rows in histories:
            pipeline_key, stages = self.stages_of(opportunity.pipeline_id)
            pipelines.add(opportunity.pipeline_id)
            before: Stage | None = None
            for row in rows:
                stage = stages[row.to_stage]
                changes.append(
                    {
                        "opportunity_id": opportunity.pk,
                        "opportunity_ref": opportunity.pk,
                        "pipeline_id": opportunity.pipeline_id,
                        "to_pipeline_key": pipeline_key,
                        "to_stage": stage.key,
                        "to_stage_kind": stage.kind,
                        "from_pipeline_id": opportunity.pipeline_id if before else None,
                        "from_pipeline_key": pipeline_key if before else "",
                        "from_stage": before.key if before else "",
                        "from_stage_kind": before.kind if before else "",
                        "actor_id": row.actor_id,
                        "actor_label": row.actor_label,
                        "at": adapt(row.at),
                    }
                )
                before = stage
            first, last = rows[0], rows[-1]
            final = stages[last.to_stage]
            # A stage's kind names the status it gives; a closed stage's entry is the close.
            closed_at = last.at if final.kind != Stage.Kind.OPEN else None
            updates.append(
                (final.pk, final.kind, last.at, closed_at, first.at, now, opportunity.pk)
            )
            audits.append(
                (
                    opportunity,
                    {
                        "stage_changes": [None, len(rows)],
                        "stage": [
                            self.key_of(opportunity.pipeline_id, opportunity.stage_id),
                            final.key,
                        ],
                        "created_at": [opportunity.created_at, first.at],
                        "import": [None, self.job.pk],
                    },
                )
            )
        self.change_writer.insert(changes, now)
        self.update_opportunities(updates)
        audit.record_many(actor=self.actor, action="stage_history_import", entries=audits)
        self.announce(sorted(opportunity.pk for opportunity, _ in histories))
        # Copies of the flow history (analytics) re-read a pipeline whose revision moved.
        Pipeline.objects.filter(pk__in=sorted(pipelines)).update(
            history_revision=F("history_revision") + 1
        )

    def announce(self, opportunity_ids: list[int]) -> None:
        """Say which opportunities now have another stage, status or age, in the chunk's
        transaction: not a move each (no playbook runs for the past), one event per slice."""
        for start in range(0, len(opportunity_ids), IDS_PER_EVENT):
            events.emit(
                actor=self.actor,
                kind=REWRITTEN_EVENT,
                obj=self.job,
                object_type="import_job",
                payload={"opportunity_ids": opportunity_ids[start : start + IDS_PER_EVENT]},
            )

    @staticmethod
    def update_opportunities(updates: list[tuple]) -> None:
        """One prepared UPDATE run for every opportunity: Django's bulk_update builds a CASE
        per column over the whole batch, which took 6 s for 1,000 opportunities on SQLite."""
        adapt = connection.ops.adapt_datetimefield_value
        table = connection.ops.quote_name(Opportunity._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET stage_id = %s, status = %s, stage_entered_at = %s, "  # noqa: S608 - names are ours
                "closed_at = %s, created_at = %s, updated_at = %s, version = version + 1 "
                "WHERE id = %s",
                [
                    (stage, status, adapt(entered), adapt(closed), adapt(created), adapt(now), pk)
                    for stage, status, entered, closed, created, now, pk in updates
                ],
            )

    def key_of(self, pipeline_id: int, stage_id: int) -> str | None:
        _, stages = self.stages_of(pipeline_id)
        return next((key for key, stage in stages.items() if stage.pk == stage_id), None)

    def run(self, sheet, progress: Callable[[ImportJob], None] | None) -> dict[str, float]:
        job = self.job
        started = time.perf_counter()
        reader = Reader(job, sheet.header)
        groups = grouped(reader, sheet.rows())
        self.timings["read"] = time.perf_counter() - started
        # A resumed job skips the groups its committed chunks held (rows_done counts rows).
        skip = job.rows_done
        while groups and skip > 0:
            skip -= len(groups.pop(0)[1])
        size = chunk_rows()
        chunk: list[tuple[int | None, list[HistoryRow]]] = []
        held = 0
        for group in [*groups, None]:
            if group is not None:
                chunk.append(group)
                held += len(group[1])
                if held < size:
                    continue
            if not chunk:
                break
            with transaction.atomic():
                outcome = self.chunk(chunk)
                self.issue_writer.insert(outcome.issues, timezone.now())
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_done=F("rows_done") + outcome.rows,
                    created=F("created") + outcome.written,
                    updated=F("updated") + outcome.rewritten,
                    rejected=F("rejected") + outcome.rejected,
                )
            chunk, held = [], 0
            if progress:
                job.refresh_from_db()
                progress(job)
        self.timings["total"] = time.perf_counter() - started
        return self.timings


def _authorise(actor: Actor) -> None:
    require_admin(actor, "import stage history")


def _run(job, actor: Actor, sheet, progress) -> dict[str, float]:
    return HistoryRun(job, actor).run(sheet, progress)


HISTORY_KIND = ImportKind(
    kind=KIND,
    plural="stage-history",
    label="Stage history",
    required_columns=("opportunity", "to_stage", "at"),
    optional_columns=("actor",),
    authorise=_authorise,
    run=_run,
)


def register() -> None:
    register_import_kind(HISTORY_KIND)
