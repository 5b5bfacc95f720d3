"""A generated flow history: N opportunities (default 1,000,000) on the business-development
pipeline and about 10 stage changes each (10,000,000), over the three years up to now.

Each opportunity is created in Identify and walks the five open stages: from each stage it
moves on, steps back one stage, or is lost, after a stay drawn from a log-normal law whose
median differs per stage (Develop and Negotiate are the slow ones); from Negotiate moving on
means winning. Walks still going at "now" stay open (~7 % of the opportunities). The walks are
simulated for all opportunities at once with NumPy, then written the fastest way each database
offers: COPY on PostgreSQL (psycopg 3), `executemany` in big transactions on SQLite.

    python -m bench.flow_history --database-url URL [--opportunities N] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass

import numpy as np

from bench.api_lists import setup_django
from bench.web_pages import sellers

BENCH_ORG = "Bench Flow"
PIPELINE = "business-development"
OPEN_STAGES = ("identify", "qualify", "develop", "propose", "negotiate")
STAGES = (*OPEN_STAGES, "won", "lost")
KINDS = ("open",) * len(OPEN_STAGES) + ("won", "lost")
WON, LOST = len(OPEN_STAGES), len(OPEN_STAGES) + 1
# Per open stage: median stay in days, chance of stepping back, chance of being lost.
MEDIAN_DAYS = np.array([4.0, 6.0, 12.0, 7.0, 10.0])
BACK = np.array([0.0, 0.35, 0.38, 0.37, 0.35])
LOSE = np.array([0.05, 0.045, 0.035, 0.035, 0.045])
SPAN_DAYS = 3 * 365
SOURCES = ("Website", "Referral", "Trade show", "Webinar", "Partner", "Cold call")
DAY = 86_400


@dataclass
class Walks:
    """The generated history: per opportunity and per change, in opportunity order."""

    created: np.ndarray  # int64 seconds, per opportunity
    final_stage: np.ndarray  # int8 index into STAGES, per opportunity
    final_at: np.ndarray  # int64 seconds of the last change, per opportunity
    change_opportunity: np.ndarray  # int64 index of the opportunity, per change
    change_at: np.ndarray  # int64 seconds, per change
    change_stage: np.ndarray  # int8 index into STAGES, per change
    change_from: np.ndarray  # int8 index into STAGES, -1 for the creation


def simulate(opportunities: int, *, now: int, seed: int) -> Walks:
    """Every opportunity's walk, all walks advanced one step at a time together."""
    rng = np.random.default_rng(seed)
    created = now - rng.integers(0, SPAN_DAYS * DAY, opportunities, dtype=np.int64)
    stage = np.zeros(opportunities, dtype=np.int8)
    at = created.copy()
    steps_opp = [np.arange(opportunities, dtype=np.int64)]
    steps_at = [created.copy()]
    steps_stage = [stage.copy()]
    steps_from = [np.full(opportunities, -1, dtype=np.int8)]
    active = np.arange(opportunities, dtype=np.int64)
    while active.size:
        here = stage[active]
        stay = rng.lognormal(np.log(MEDIAN_DAYS[here] * DAY), 0.8).astype(np.int64) + 60
        leaves_at = at[active] + stay
        still = leaves_at > now
        active, here, leaves_at = active[~still], here[~still], leaves_at[~still]
        draw = rng.random(active.size)
        lost = draw < LOSE[here]
        back = ~lost & (draw < LOSE[here] + BACK[here])
        nxt = np.where(lost, LOST, np.where(back, here - 1, here + 1)).astype(np.int8)
        steps_opp.append(active)
        steps_at.append(leaves_at)
        steps_stage.append(nxt)
        steps_from.append(here)
        stage[active] = nxt
        at[active] = leaves_at
        active = active[nxt < WON]
    change_opportunity = np.concatenate(steps_opp)
    order = np.argsort(change_opportunity, kind="stable")
    return Walks(
        created=created,
        final_stage=stage,
        final_at=at,
        change_opportunity=change_opportunity[order],
        change_at=np.concatenate(steps_at)[order],
        change_stage=np.concatenate(steps_stage)[order],
        change_from=np.concatenate(steps_from)[order],
    )


def _moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)


def _texts(seconds: np.ndarray, vendor: str) -> list[str]:
    """Timestamps as the database stores them (Django's SQLite backend: naive UTC text with a
    space; PostgreSQL: ISO with the zone)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    if vendor == "postgresql":
        return [t + "+00" for t in text.tolist()]
    return [t.replace("T", " ") for t in text.tolist()]


def write_opportunities(organisation, walks: Walks, owners, stages, seed: int) -> list[int]:
    """One opportunity row per walk, its stage and status the walk's end; returns their ids in
    walk order."""
    from django.db import connection

    from salesline.pipeline.models import Opportunity

    rng = np.random.default_rng(seed + 1)
    count = walks.created.size
    fields = [f for f in Opportunity._meta.concrete_fields if f.column != "id"]
    columns = [f.column for f in fields]
    base = {}
    for field in fields:
        default = field.get_default()
        base[field.column] = "{}" if isinstance(default, dict) else default
    vendor = connection.vendor
    created_text = _texts(walks.created, vendor)
    final_text = _texts(walks.final_at, vendor)
    values = rng.integers(1_000, 500_000, count).tolist()
    owner_pick = rng.integers(0, len(owners), count).tolist()
    source_pick = rng.integers(0, len(SOURCES), count).tolist()
    close_days = rng.integers(30, 400, count).tolist()
    final = walks.final_stage.tolist()
    created_day = walks.created // DAY
    owner_ids = [o.pk for o in owners]
    stage_ids = [stages[key].pk for key in STAGES]
    pipeline_id = stages["identify"].pipeline_id

    def rows():
        for i in range(count):
            status = "open" if final[i] < WON else STAGES[final[i]]
            name = f"Opportunity {i + 1}"
            close = dt.date.fromordinal(
                dt.date(1970, 1, 1).toordinal() + int(created_day[i]) + close_days[i]
            )
            row = {
                **base,
                "organisation_id": organisation.pk,
                "name": name,
                "search_name": name.lower(),
                "owner_id": owner_ids[owner_pick[i]],
                "created_at": created_text[i],
                "updated_at": final_text[i],
                "stage_entered_at": final_text[i],
                "version": 1,
                "pipeline_id": pipeline_id,
                "stage_id": stage_ids[final[i]],
                "status": status,
                "value": values[i],
                "currency": "EUR",
                "source": SOURCES[source_pick[i]],
                "expected_close_date": close,
                "closed_at": None if status == "open" else final_text[i],
            }
            yield tuple(row[c] for c in columns)

    _write(connection, "pipeline_opportunity", columns, rows())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM pipeline_opportunity WHERE organisation_id = %s ORDER BY id",
            [organisation.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) != count:
        raise SystemExit(f"expected {count} opportunities, found {len(ids)}")
    return ids


def write_changes(organisation, walks: Walks, ids: list[int], pipeline_id: int) -> int:
    from django.db import connection

    columns = (
        "organisation_id",
        "opportunity_id",
        "opportunity_ref",
        "pipeline_id",
        "to_pipeline_key",
        "to_stage",
        "to_stage_kind",
        "from_pipeline_id",
        "from_pipeline_key",
        "from_stage",
        "from_stage_kind",
        "actor_label",
        "at",
        "reason",
        "imported",
    )
    opportunity_ids = np.asarray(ids, dtype=np.int64)[walks.change_opportunity].tolist()
    at_text = _texts(walks.change_at, connection.vendor)
    to_stage = walks.change_stage.tolist()
    from_stage = walks.change_from.tolist()
    org = organisation.pk
    # The few distinct (from, to) halves of a row, built once.
    to_part = [(pipeline_id, PIPELINE, STAGES[s], KINDS[s]) for s in range(len(STAGES))]
    from_part = {-1: (None, "", "", "")}
    from_part.update({s: (pipeline_id, PIPELINE, STAGES[s], KINDS[s]) for s in range(WON)})
    closing = {WON: "Signed", LOST: "Budget cut"}

    def rows():
        for i, ref in enumerate(opportunity_ids):
            to = to_stage[i]
            yield (
                org,
                ref,
                ref,
                *to_part[to],
                *from_part[from_stage[i]],
                "bench",
                at_text[i],
                closing.get(to, ""),
                False,
            )

    _write(connection, "pipeline_stagechange", columns, rows())
    return len(opportunity_ids)


def _secondary_indexes(cursor, vendor: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes other than its primary key and unique
    constraints."""
    if vendor == "postgresql":
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname "
            "JOIN pg_index x ON x.indexrelid = c.oid "
            "WHERE i.tablename = %s AND NOT x.indisprimary AND NOT x.indisunique",
            [table],
        )
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
            [table],
        )
    return list(cursor.fetchall())


def _write(connection, table: str, columns, rows) -> None:
    """Bulk insert with the secondary indexes dropped and built again afterwards (one sort
    each instead of ten million random B-tree inserts) and, on PostgreSQL, foreign keys left
    unchecked for the load (the generator's ids come from the rows it just wrote)."""
    from django.db import transaction

    if connection.vendor == "sqlite":
        # Only outside a transaction does SQLite take this pragma.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = OFF")
    with transaction.atomic(), connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor, connection.vendor, table)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        try:
            _insert(connection, cursor, table, columns, rows)
        finally:
            inserted = time.perf_counter()
            for _, create in indexes:
                cursor.execute(create.replace("%", "%%"))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = ON")
    print(
        f"{table}: insert {inserted - started:.1f} s, "
        f"{len(indexes)} indexes {time.perf_counter() - inserted:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def _insert(connection, cursor, table: str, columns, rows) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL session_replication_role = replica")
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("SET LOCAL session_replication_role = origin")
        return
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 200_000:
            cursor.executemany(sql, batch)
            batch.clear()
    if batch:
        cursor.executemany(sql, batch)


def ensure_history(opportunities: int, *, seed: int = 12) -> tuple[object, dict]:
    """The bench organisation with exactly `opportunities` generated ones and their history
    (generated again only when the count differs). Returns it and the generation's figures."""
    from django.db import connection

    from salesline.accounts.models import Organisation
    from salesline.pipeline.models import Opportunity, Stage, StageChange
    from salesline.process import services as process_services

    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = process_services.organisation_create(
            name=BENCH_ORG, template="business-development", label="bench"
        )
    have = Opportunity.objects.filter(organisation=organisation).count()
    if have == opportunities:
        changes = StageChange.objects.filter(organisation=organisation).count()
        return organisation, {"generated": False, "opportunities": have, "changes": changes}
    owners = sellers(organisation, "flow")
    stages = {
        s.key: s
        for s in Stage.objects.filter(pipeline__organisation=organisation, pipeline__key=PIPELINE)
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Raw deletes: the ORM's cascade would load a million rows into Python.
        cursor.execute(
            "DELETE FROM pipeline_stagechange WHERE organisation_id = %s", [organisation.pk]
        )
        cursor.execute(
            "DELETE FROM pipeline_opportunity WHERE organisation_id = %s", [organisation.pk]
        )
    now = int(time.time())
    walks = simulate(opportunities, now=now, seed=seed)
    simulated = time.perf_counter()
    print(
        f"simulated {opportunities:,} walks, {walks.change_at.size:,} changes in "
        f"{simulated - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    ids = write_opportunities(organisation, walks, owners, stages, seed)
    written_opportunities = time.perf_counter()
    print(
        f"wrote opportunities in {written_opportunities - simulated:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    changes = write_changes(organisation, walks, ids, stages["identify"].pipeline_id)
    written = time.perf_counter()
    print(f"wrote {changes:,} changes in {written - written_opportunities:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE pipeline_opportunity")
            cursor.execute("VACUUM ANALYZE pipeline_stagechange")
        else:
            cursor.execute("ANALYZE")
    finished = time.perf_counter()
    return organisation, {
        "generated": True,
        "opportunities": opportunities,
        "changes": changes,
        "open": int((walks.final_stage < WON).sum()),
        "simulate_seconds": simulated - started,
        "opportunities_seconds": written_opportunities - simulated,
        "changes_seconds": written - written_opportunities,
        "analyze_seconds": finished - written,
        "seconds": finished - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    setup_django(args.database_url)
    _, figures = ensure_history(args.opportunities, seed=args.seed)
    print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
