"""Running an import: read the file, normalise rows (on every core), find duplicates within the
file and in the database, and write each chunk of rows in one transaction with the job's progress.

Because a chunk's records, its report rows and the job's `rows_done` commit together, a worker
that dies mid-import leaves the job exactly at a chunk boundary; running the job again replays
the rows before that boundary (to rebuild what the file has already said) and carries on.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import batched
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from rapidfuzz import fuzz

from salesline.accounts.models import Membership
from salesline.core.actors import Actor
from salesline.core.processes import exit_with_owner
from salesline.records import matching, search_index
from salesline.records.fields import KINDS
from salesline.records.models import Company, ImportChange, ImportIssue, ImportJob
from salesline.records.services import refresh_derived

from .rows import (
    CAMPAIGN_CONSTANT,
    CleanRow,
    RowPlan,
    clean_rows,
    clean_rows_packed,
    identity,
    unpack,
)

# Names at least this similar (rapidfuzz ratio, 0-100) in one block are reported for review.
FUZZY_SCORE = 85
PARALLEL_FROM_ROWS = 20_000

Progress = Callable[[ImportJob], None]


def chunk_rows() -> int:
    return getattr(settings, "SALESLINE_IMPORT_CHUNK", 5_000)


def commit_seconds() -> float:
    """How long an import may hold its transaction open before committing its chunks. On SQLite
    other writers wait that long at most (their busy timeout is 20 s)."""
    return float(getattr(settings, "SALESLINE_IMPORT_COMMIT_SECONDS", 1.0))


def processes() -> int:
    configured = getattr(settings, "SALESLINE_IMPORT_PROCESSES", None)
    return int(configured) if configured else (os.cpu_count() or 1)


# ----------------------------------------------------------------------------- reading


def members_of(organisation_id: int) -> dict[str, int]:
    """Member e-mail, and full name where no other member has it, in lower case -> user id: an
    owner column names a member by e-mail, or by name as another CRM's export does."""
    rows = set(
        Membership.objects.filter(organisation_id=organisation_id).values_list(
            "user__email", "user__full_name", "user_id"
        )
    )
    by_name: dict[str, set[int]] = {}
    for _, full_name, user_id in rows:
        if full_name.strip():
            by_name.setdefault(full_name.strip().lower(), set()).add(user_id)
    members = {name: ids.pop() for name, ids in by_name.items() if len(ids) == 1}
    members.update({email.lower(): user_id for email, _, user_id in rows})
    return members


def cleaned_chunks(
    plan: RowPlan, rows: Iterator[tuple[int, list[str]]], *, workers: int, size: int
) -> Iterator[list[CleanRow]]:
    """Chunks of normalised rows, in file order. With several workers, chunks are normalised in
    other processes while this one matches and writes the previous ones."""
    chunks = batched(rows, size, strict=False)
    if workers <= 1:
        for chunk in chunks:
            yield clean_rows(plan, list(chunk))
        return
    from concurrent.futures import ProcessPoolExecutor

    # forkserver: children start clean (no inherited database connections or threads) and
    # import only the pure row-cleaning modules. They end with this process, even killed.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=exit_with_owner, initargs=(os.getpid(),)
    ) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(clean_rows_packed, plan, list(chunk)))
            if len(pending) > workers + 1:
                yield unpack(pending.popleft().result())
        while pending:
            yield unpack(pending.popleft().result())


# ----------------------------------------------------------------------------- matching


@dataclass
class Match:
    record_id: int | None  # None: a duplicate of an earlier row of the file
    reason: str


@dataclass
class FileState:
    """What earlier rows of the file said: their keys, by hash to keep a million rows small."""

    emails: dict[int, int] = field(default_factory=dict)
    names: dict[int, int] = field(default_factory=dict)
    domains: dict[int, int] = field(default_factory=dict)
    # hash(block) -> (name, row), or a list of them once a block has several: most blocks
    # hold one row, and a tuple is a third of a list's size.
    blocks: dict[int, Any] = field(default_factory=dict)
    touched: dict[int, int] = field(default_factory=dict)  # existing record id -> row


def name_key(block: str, search_name: str) -> int:
    return hash((block, search_name))


class Matcher:
    def __init__(self, job: ImportJob, state: FileState):
        self.job = job
        self.kind = job.kind
        self.model = KINDS[job.kind].model
        self.table = self.model._meta.db_table
        self.state = state
        self.org_id = job.organisation_id
        self.unit = "row"  # what the file's positions are: rows, or a vCard file's cards

    # A row's keys ---------------------------------------------------------------
    def block_of(self, row: CleanRow) -> str:
        if self.kind == "company":
            words = row.company_key.split()
            return words[0] if words else ""
        return matching.block_key(row.company_key, row.surname)

    def in_file(self, row: CleanRow, block: str) -> tuple[Match | None, list[tuple[str, int]]]:
        """An exact duplicate among earlier rows, else the similar names seen in its block."""
        state = self.state
        email = row.values.get("email", "")
        if email and (earlier := state.emails.get(hash(email))):
            return Match(None, f"same e-mail as {self.unit} {earlier}"), []
        if self.kind == "company":
            if row.company_key and (earlier := state.names.get(hash(row.company_key))):
                return Match(None, f"same company name as {self.unit} {earlier}"), []
            domain = row.values.get("email_domain", "")
            if domain and (earlier := state.domains.get(hash(domain))):
                return Match(None, f"same e-mail domain as {self.unit} {earlier}"), []
        elif (block or not email) and (
            earlier := state.names.get(name_key(block, row.search_name))
        ):
            what = "name and company" if block else "name (no e-mail, no company)"
            return Match(None, f"same {what} as {self.unit} {earlier}"), []
        if not block:
            return None, []
        seen = state.blocks.get(hash(block))
        return None, ([seen] if isinstance(seen, tuple) else seen or [])

    def remember(self, row: CleanRow, block: str) -> None:
        state = self.state
        email = row.values.get("email", "")
        if email:
            state.emails.setdefault(hash(email), row.row)
        if self.kind == "company":
            if row.company_key:
                state.names.setdefault(hash(row.company_key), row.row)
            if domain := row.values.get("email_domain", ""):
                state.domains.setdefault(hash(domain), row.row)
        elif block or not email:
            state.names.setdefault(name_key(block, row.search_name), row.row)
        if block:
            name = row.company_key if self.kind == "company" else row.search_name
            key = hash(block)
            seen = state.blocks.get(key)
            if seen is None:
                state.blocks[key] = (name, row.row)
            elif isinstance(seen, tuple):
                state.blocks[key] = [seen, (name, row.row)]
            else:
                seen.append((name, row.row))

    # The database ------------------------------------------------------------
    def _select(self, columns: str, where: str, column: str, values: list[str]) -> list[tuple]:
        if not values:
            return []
        base = (
            f"SELECT {columns} FROM {self.table} "  # noqa: S608 - names are ours, values bound
            f"WHERE organisation_id = %s AND deleted_at IS NULL {where} AND "
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(base + f"{column} = ANY(%s)", [self.org_id, values])
                return cursor.fetchall()
            rows: list[tuple] = []
            for part in batched(values, 30_000, strict=False):
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(base + f"{column} IN ({marks})", [self.org_id, *part])
                rows += cursor.fetchall()
            return rows

    def existing(self, rows: list[tuple[CleanRow, str]]) -> dict[str, Any]:
        """The database's records sharing a key with any of `rows`, in three lookups."""
        emails: dict[str, int] = {}
        names: dict[tuple[str, str], int] = {}
        blocks: dict[str, list[tuple[str, int]]] = {}
        domains: dict[str, int] = {}
        if self.kind == "company":
            keys = sorted({r.company_key for r, _ in rows if r.company_key})
            for key, pk in self._select("match_name, id", "", "match_name", keys):
                names.setdefault(("", key), pk)
            wanted = sorted({r.values.get("email_domain") for r, _ in rows} - {"", None})
            for domain, pk in self._select("email_domain, id", "", "email_domain", wanted):
                domains.setdefault(domain, pk)
            return {"emails": emails, "names": names, "blocks": blocks, "domains": domains}
        wanted = sorted({r.values.get("email", "") for r, _ in rows} - {""})
        for email, pk in self._select("email, id", "", "email", wanted):
            if pk < emails.get(email, pk + 1):
                emails[email] = pk
        wanted = sorted({block for _, block in rows if block})
        for block, name, pk in self._select(
            "dedupe_key, search_name, id", "", "dedupe_key", wanted
        ):
            blocks.setdefault(block, []).append((name, pk))
            names.setdefault((block, name), pk)
        wanted = sorted({r.search_name for r, b in rows if not b and not r.values.get("email")})
        for name, pk in self._select(
            "search_name, id", "AND dedupe_key = '' AND email = ''", "search_name", wanted
        ):
            names.setdefault(("", name), pk)
        return {"emails": emails, "names": names, "blocks": blocks, "domains": domains}

    def in_database(self, row: CleanRow, block: str, found: dict[str, Any]) -> Match | None:
        email = row.values.get("email", "")
        if email and (pk := found["emails"].get(email)):
            return Match(pk, f"same e-mail as {self.kind} {pk}")
        if self.kind == "company":
            if row.company_key and (pk := found["names"].get(("", row.company_key))):
                return Match(pk, f"same company name as company {pk}")
            domain = row.values.get("email_domain", "")
            if domain and (pk := found["domains"].get(domain)):
                return Match(pk, f"same e-mail domain as company {pk}")
            return None
        if (block or not email) and (pk := found["names"].get((block, row.search_name))):
            what = "name and company" if block else "name (no e-mail, no company)"
            return Match(pk, f"same {what} as {self.kind} {pk}")
        return None


def similar(name: str, candidates: Iterable[tuple[str, int]]) -> tuple[int, float] | None:
    """The most similar candidate (its row or id and score) at or above FUZZY_SCORE."""
    best = None
    for other, ref in candidates:
        if other == name:
            continue
        score = fuzz.ratio(name, other, score_cutoff=FUZZY_SCORE)
        if score and (best is None or score > best[1]):
            best = (ref, score)
    return best


# ----------------------------------------------------------------------------- writing


def insert_columns(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


class Writer:
    """Inserts rows the fastest way each database offers: COPY on PostgreSQL, one prepared
    executemany on SQLite. `fixed` holds the values every row shares (the organisation, the
    import); timestamps are stamped per batch."""

    def __init__(self, model, fixed: dict[str, Any]):
        self.model = model
        self.fields = insert_columns(model)
        self.fixed = fixed
        names = [f.column for f in self.fields]
        self.column_list = ", ".join(connection.ops.quote_name(n) for n in names)
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.json_columns = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}
        self.position = {f.attname: index for index, f in enumerate(self.fields)}
        self.defaults = []
        for f in self.fields:
            default = f.get_default()
            if f.attname in self.json_columns:
                default = json.dumps(default if default is not None else {})
            self.defaults.append(default)

    def tuples(self, rows: list[dict[str, Any]], now) -> list[tuple]:
        """Each row as a tuple in column order: a template of defaults with the row's values
        written over it (a lead row carries ~10 of ~20 columns)."""
        stamp = (
            now
            if connection.vendor == "postgresql"
            else (connection.ops.adapt_datetimefield_value(now))
        )
        fixed = {**self.fixed, "created_at": stamp, "updated_at": stamp}
        template = list(self.defaults)
        for attname, value in fixed.items():
            if attname in self.position:
                template[self.position[attname]] = value
        position, json_columns, out = self.position, self.json_columns, []
        for values in rows:
            record = template.copy()
            for attname, value in values.items():
                index = position.get(attname)
                if index is None or (value is None and attname in fixed):
                    continue
                if attname in json_columns:
                    if not value:
                        continue  # the column's default ({} or [])
                    value = json.dumps(value, cls=DjangoJSONEncoder)
                record[index] = value
            out.append(tuple(record))
        return out

    def insert(self, rows: list[dict[str, Any]], now) -> None:
        if not rows:
            return
        records = self.tuples(rows, now)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql = f"COPY {self.table} ({self.column_list}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for record in records:
                        copy.write_row(record)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.column_list}) VALUES ({marks})",  # noqa: S608
                    records,
                )


# ----------------------------------------------------------------------------- the run


class bulk_writes:
    """Settings for an import that commits chunk after chunk, put back when it ends.

    - SQLite: checkpoint the write-ahead log every 64 MiB instead of every 4 MiB: the index
      pages each chunk touches are then copied back to the database file once per many chunks
      rather than after each (measured: commits took a third of an import's time).
    - PostgreSQL: new entries of the word index (records/search_index.py) gather in GIN's
      pending list up to 64 MiB instead of 4 MiB, so they are merged into the index in a few
      large sorted batches instead of many small ones (measured: the word index had doubled
      the write phase). The worker merges the list right after the import (merging it in the
      import cost 3–4 s per 200,000 rows; searches meanwhile read the pending list too, so
      they stay complete). Only this connection's inserts use the larger list.
    """

    PAGES = 16_384
    PENDING_LIST = "64MB"

    def __init__(self, table: str):
        self.table = table

    def __enter__(self):
        self.vendor = connection.vendor
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA wal_autocheckpoint")
                self.previous = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA wal_autocheckpoint = {self.PAGES}")
            elif self.vendor == "postgresql":
                cursor.execute(f"SET gin_pending_list_limit = '{self.PENDING_LIST}'")
        return self

    def __exit__(self, *exc) -> None:
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(f"PRAGMA wal_autocheckpoint = {int(self.previous)}")
            elif self.vendor == "postgresql":
                # What the chunks left pending is merged by the worker once the import is done
                # (records.tasks.word_index_merge), not in the import's own time.
                cursor.execute("RESET gin_pending_list_limit")


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    possible_duplicates: int = 0
    companies_created: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)


UPDATABLE_SKIP = frozenset({"owner", "company"})


class ImportRun:
    def __init__(
        self,
        job: ImportJob,
        actor: Actor,
        plan: RowPlan,
        *,
        progress: Progress | None = None,
        workers: int | None = None,
    ):
        self.job = job
        self.actor = actor
        self.plan = plan
        self.progress = progress
        self.workers = workers
        self.state = FileState()
        self.matcher = Matcher(job, self.state)
        self.model = KINDS[job.kind].model
        self.writer = Writer(
            self.model,
            {
                "organisation_id": job.organisation_id,
                "version": 1,
                "import_job_id": job.pk,
                "owner_id": actor.user.pk if actor.user else None,
            },
        )
        self.issue_writer = Writer(ImportIssue, {"job_id": job.pk})
        self.members = members_of(job.organisation_id)
        self.companies: dict[str, int | str] = {}
        if job.kind == "person":
            self.companies = dict(
                Company.objects.filter(organisation_id=job.organisation_id, deleted_at=None)
                .order_by("-id")
                .values_list("match_name", "id")
            )
        self.timings = {"parse_normalise": 0.0, "match": 0.0, "write": 0.0}
        self.first_row = 2
        # Where the word index of the tables this import writes was last brought up to date
        # (a people import also creates the companies its rows name).
        self.tables = {self.model._meta.db_table}
        if job.kind == "person":
            self.tables.add(Company._meta.db_table)
        self.indexed_after = {
            table: search_index.last_id(connection, table)
            for table in self.tables
            if connection.vendor == "sqlite" and search_index.has_sqlite_index(connection, table)
        }

    # One row -----------------------------------------------------------------
    def _reject(self, result: ChunkResult, row: CleanRow) -> None:
        result.rejected += 1
        name, email = identity(self.plan, row)
        for index, (target, reason) in enumerate(row.problems):
            result.issues.append(
                dict(
                    row=row.row,
                    type=ImportIssue.Type.REJECTED.value,
                    field=target[:80],
                    reason=reason[:500],
                    values=row.raw if index == 0 else [],
                    name=name,
                    email=email,
                )
            )

    def _resolve_references(self, result: ChunkResult, rows: list[CleanRow]) -> None:
        """Owner e-mails to members; a person's company name to a company, created if new;
        the file's campaign (a constant, resolved to its id when the import was created)."""
        campaign = (self.job.constants or {}).get(CAMPAIGN_CONSTANT)
        for row in rows:
            if row.problems:
                continue
            owner = row.values.pop("owner", "")
            if owner:  # clean_rows has checked it is a member's address
                row.values["owner_id"] = self.members[owner.lower()]
            if campaign:
                row.values["campaign_id"] = int(campaign)
        if self.job.kind != "person":
            return
        new: dict[str, str] = {}
        for row in rows:
            company = row.values.pop("company", "")
            if row.problems or not row.company_key:
                continue
            if row.company_key not in self.companies:
                new.setdefault(row.company_key, company)
            row.values["__company_key"] = row.company_key
        if new:
            if self.job.dry_run:
                for key in new:
                    self.companies[key] = f"new:{key}"
            else:
                now = timezone.now()
                created = Company.objects.bulk_create(
                    Company(
                        organisation_id=self.job.organisation_id,
                        owner_id=self.actor.user.pk if self.actor.user else None,
                        name=name[:255],
                        search_name=matching.search_key(name)[:255],
                        search_last_word=matching.last_word(name)[:255],
                        search_text=matching.search_text(name[:255]),
                        match_name=key,
                        import_job=self.job,
                        created_at=now,
                        updated_at=now,
                    )
                    for key, name in new.items()
                )
                for company in created:
                    self.companies[company.match_name] = company.pk
            result.companies_created += len(new)
        for row in rows:
            key = row.values.pop("__company_key", None)
            if key is not None:
                company_id = self.companies[key]
                row.company_key = str(company_id)
                if isinstance(company_id, int):
                    row.values["company_id"] = company_id

    def _derived(self, row: CleanRow, block: str) -> dict[str, Any]:
        values = row.values
        values["search_name"] = row.search_name
        values["search_last_word"] = row.search_last_word
        values["search_text"] = row.search_text
        if self.job.kind == "company":
            values["match_name"] = row.company_key
        else:
            values["dedupe_key"] = block
        if row.custom:
            values["custom_fields"] = row.custom
        return values

    # One chunk ---------------------------------------------------------------
    def process(self, rows: list[CleanRow], *, replay: bool = False) -> ChunkResult:
        result = ChunkResult()
        self._resolve_references(result, rows)
        candidates: list[tuple[CleanRow, str]] = []
        fuzzy_in_file: dict[int, tuple[int, float]] = {}
        for row in rows:
            if row.problems:
                if not replay:
                    self._reject(result, row)
                continue
            block = self.matcher.block_of(row)
            match, neighbours = self.matcher.in_file(row, block)
            if match is not None:
                if not replay:
                    result.duplicates += 1
                    result.issues.append(self._issue(row, ImportIssue.Type.DUPLICATE.value, match))
                continue
            if neighbours and not replay:
                name = row.company_key if self.job.kind == "company" else row.search_name
                if best := similar(name, neighbours):
                    fuzzy_in_file[row.row] = best
            self.matcher.remember(row, block)
            candidates.append((row, block))
        if replay:
            return result
        started = time.perf_counter()
        found = self.matcher.existing(candidates)
        creates: list[dict[str, Any]] = []
        updates: list[tuple[CleanRow, Match]] = []
        for row, block in candidates:
            match = self.matcher.in_database(row, block, found)
            if match is not None:
                earlier = self.state.touched.get(match.record_id)
                if earlier is not None:
                    result.duplicates += 1
                    match = Match(
                        match.record_id,
                        f"{match.reason}, already matched by {self.matcher.unit} {earlier}",
                    )
                    result.issues.append(self._issue(row, ImportIssue.Type.DUPLICATE.value, match))
                    continue
                self.state.touched[match.record_id] = row.row
                updates.append((row, match))
                continue
            name = row.company_key if self.job.kind == "company" else row.search_name
            candidates_in_db = found["blocks"].get(block, []) if block else []
            best_db = similar(name, candidates_in_db)
            best_file = fuzzy_in_file.get(row.row)
            if best_db or best_file:
                result.possible_duplicates += 1
                if best_db and (not best_file or best_db[1] >= best_file[1]):
                    reason = f"name similar to {self.job.kind} {best_db[0]} ({best_db[1]:.0f}%)"
                    record_id = best_db[0]
                else:
                    reason = (
                        f"name similar to {self.matcher.unit} {best_file[0]} ({best_file[1]:.0f}%)"
                    )
                    record_id = None
                result.issues.append(
                    dict(
                        row=row.row,
                        type=ImportIssue.Type.POSSIBLE_DUPLICATE.value,
                        field="name",
                        reason=reason,
                        record_id=record_id,
                        name=row.values.get("name", "")[:255],
                        email=row.values.get("email", "")[:255],
                    )
                )
            creates.append(self._derived(row, block))
        self.timings["match"] += time.perf_counter() - started
        started = time.perf_counter()
        self._apply_updates(result, updates)
        if not self.job.dry_run:
            self.writer.insert(creates, timezone.now())
            for table, after in self.indexed_after.items():
                self.indexed_after[table] = search_index.index_imported(
                    connection, table, self.job.pk, after
                )
        result.created += len(creates)
        self.timings["write"] += time.perf_counter() - started
        return result

    def _issue(self, row: CleanRow, type_: str, match: Match) -> dict[str, Any]:
        return dict(
            row=row.row,
            type=type_,
            field="",
            reason=match.reason[:500],
            record_id=match.record_id,
            name=row.values.get("name", "")[:255],
            email=row.values.get("email", "")[:255],
        )

    def _apply_updates(self, result: ChunkResult, updates: list[tuple[CleanRow, Match]]) -> None:
        policy = self.job.on_duplicate
        if not updates:
            return
        if policy == ImportJob.OnDuplicate.SKIP:
            for row, match in updates:
                result.duplicates += 1
                result.issues.append(self._issue(row, ImportIssue.Type.DUPLICATE.value, match))
            return
        objects = self.model.objects.in_bulk([m.record_id for _, m in updates])
        changed_objects, changes = [], []
        fields_written: set[str] = set()
        for row, match in updates:
            obj = objects[match.record_id]
            before: dict[str, Any] = {}
            for attr, value in row.values.items():
                if attr in UPDATABLE_SKIP or value in ("", None):
                    continue
                current = getattr(obj, attr)
                if current == value or (policy == "update" and current not in ("", None)):
                    continue
                before[attr] = current
                setattr(obj, attr, value)
            custom = dict(obj.custom_fields or {})
            custom_before = dict(custom)
            for key, value in row.custom.items():
                if custom.get(key) == value:
                    continue
                if policy == "update" and custom.get(key) not in ("", None):
                    continue
                custom[key] = value
            if custom != custom_before:
                before["custom_fields"] = custom_before
                obj.custom_fields = custom
            if not before:
                result.duplicates += 1
                match = Match(match.record_id, f"{match.reason}; nothing to update")
                result.issues.append(self._issue(row, ImportIssue.Type.DUPLICATE.value, match))
                continue
            fields_written |= set(before) | refresh_derived(obj, before)
            obj.version += 1
            changed_objects.append(obj)
            changes.append(
                ImportChange(
                    job=self.job,
                    record_id=obj.pk,
                    before=before,
                    version_after=obj.version,
                )
            )
            result.updated += 1
        if changed_objects and not self.job.dry_run:
            now = timezone.now()
            for obj in changed_objects:
                obj.updated_at = now
            self.model.objects.bulk_update(
                changed_objects, sorted(fields_written | {"version", "updated_at"}), batch_size=500
            )
            ImportChange.objects.bulk_create(changes, batch_size=1000)

    # The whole file ----------------------------------------------------------
    def run(self, sheet) -> ImportJob:
        job = self.job
        # Row numbers are the file's (a spreadsheet's first data row is 2, a vCard file's first
        # card is 1); `rows_done` counts from the first, so rows before `resume_from` were
        # committed by an earlier run.
        self.first_row = sheet.first_row
        self.matcher.unit = "card" if sheet.kind == "vcard" else "row"
        resume_from = job.rows_done + self.first_row
        size = chunk_rows()
        if job.rows_done:
            self.state.touched = dict.fromkeys(
                ImportChange.objects.filter(job=job).values_list("record_id", flat=True), 0
            )
        workers = self.workers or processes()
        if (job.total_rows or 0) < PARALLEL_FROM_ROWS:
            workers = 1
        started = time.perf_counter()
        chunks = cleaned_chunks(self.plan, sheet.rows(), workers=workers, size=size)
        # The file's keys are a million long-lived objects that the cyclic collector would scan
        # again and again as they grow (measured: 15% of an import); nothing here makes cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with bulk_writes(self.model._meta.db_table):
                self._chunks(job, chunks, resume_from)
        finally:
            if collecting:
                gc.enable()
        self.timings["total"] = time.perf_counter() - started
        return job

    def _chunks(self, job: ImportJob, chunks, resume_from: int) -> None:
        """Process chunk after chunk; commit (records, report rows and progress together) once
        `commit_seconds()` have passed, so a transaction holds several chunks: each commit
        writes the index pages it touched, and fewer commits write hot pages fewer times."""
        open_transaction = None
        last_commit = time.perf_counter()

        def commit() -> None:
            nonlocal open_transaction, last_commit
            search_index.restore_insert_triggers(connection, self.indexed_after)
            open_transaction.__exit__(None, None, None)
            open_transaction, last_commit = None, time.perf_counter()
            job.refresh_from_db()
            if self.progress:
                self.progress(job)

        try:
            while True:
                tick = time.perf_counter()
                chunk = next(chunks, None)
                self.timings["parse_normalise"] += time.perf_counter() - tick
                if chunk is None:
                    break
                done = [row for row in chunk if row.row < resume_from]
                todo = [row for row in chunk if row.row >= resume_from]
                if done:
                    self.process(done, replay=True)
                if not todo:
                    continue
                if open_transaction is None:
                    open_transaction = transaction.atomic()
                    open_transaction.__enter__()
                    search_index.suspend_insert_triggers(connection, self.indexed_after)
                result = self.process(todo)
                self.issue_writer.insert(result.issues, timezone.now())
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_done=todo[-1].row - self.first_row + 1,
                    created=F("created") + result.created,
                    updated=F("updated") + result.updated,
                    duplicates=F("duplicates") + result.duplicates,
                    rejected=F("rejected") + result.rejected,
                    possible_duplicates=F("possible_duplicates") + result.possible_duplicates,
                    companies_created=F("companies_created") + result.companies_created,
                )
                if time.perf_counter() - last_commit >= commit_seconds():
                    commit()
            if open_transaction is not None:
                commit()
        except BaseException as error:
            if open_transaction is not None:
                open_transaction.__exit__(type(error), error, error.__traceback__)
            raise
