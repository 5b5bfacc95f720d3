"""Import benchmark: 1,000,000 generated leads (10 columns; 5% duplicates, 1% bad e-mails, mixed
phone formats, non-ASCII names) imported with full normalisation and duplicate detection into an
organisation that already holds 1,000,000 leads; compared, in the same run, with a raw insert
(executemany on SQLite, COPY on PostgreSQL) of the already-normalised rows into the same table.

    python -m bench.imports --database-url URL [--rows N] [--out FILE]
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.api_lists import ROOT, SOURCES, generate_leads, name_pools, setup_django

ORG_NAME = "Bench Import"
HEADER = [
    "First name",
    "Last name",
    "E-mail",
    "Phone",
    "Company",
    "Business unit",
    "Source",
    "Details",
    "LinkedIn",
    "Description",
]


def phone_number(rng: random.Random) -> str:
    """Numbers from allocated ranges (London, UK mobiles, Oslo, Berlin) in the shapes people
    type them, each person's own."""
    shape = rng.randrange(6)
    if shape == 0:
        return f"020 7{rng.randrange(100, 1000)} {rng.randrange(10000):04d}"
    if shape == 1:
        return f"+44 20 8{rng.randrange(100, 1000)} {rng.randrange(10000):04d}"
    if shape == 2:
        return f"(020) 7{rng.randrange(100, 1000)}-{rng.randrange(10000):04d}"
    if shape == 3:
        return f"07{rng.choice('789')}{rng.randrange(10**7, 10**8)}"
    if shape == 4:
        return f"+47 9{rng.randrange(10**6, 10**7)}"
    return f"0049 30 {rng.randrange(10**7, 10**8)}"


def ascii_word(text: str) -> str:
    """'Ødegård-Sæther' -> 'degrdsther': what people's addresses are made of here."""
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def write_file(path: Path, rows: int, existing_emails: list[str], seed: int = 11) -> dict:
    rng = random.Random(seed)
    first, last = name_pools(seed)
    companies = [
        f"{rng.choice(last)} {rng.choice(['Archives', 'Records', 'Museum', 'Library', 'AS', 'Ltd', 'GmbH'])}"
        for _ in range(5000)
    ]
    written: list[list[str]] = []
    stats = {"rows": rows, "in_file_duplicates": 0, "database_duplicates": 0, "bad_emails": 0}
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rng.random()
            if roll < 0.025 and written:
                # The same person again, typed differently.
                row = list(rng.choice(written[-5000:]))
                row[2] = row[2].upper()
                stats["in_file_duplicates"] += 1
            else:
                given, family = rng.choice(first), rng.choice(last)
                company = rng.choice(companies)
                local = ascii_word(given) or "info"
                domain = ascii_word(company.split()[0]) or "mail"
                email = f"{local}.{ascii_word(family)[:3]}{i}@{domain}.example"
                if roll < 0.05 and existing_emails:
                    email = rng.choice(existing_emails)
                    stats["database_duplicates"] += 1
                elif roll < 0.06:
                    email = email.replace("@", "@@") if i % 2 else email.split("@")[0]
                    stats["bad_emails"] += 1
                row = [
                    f" {given}" if i % 17 == 0 else given,
                    family,
                    email,
                    phone_number(rng),
                    company,
                    rng.choice(["Nordics", "DACH", "UK", "India", "Americas"]),
                    rng.choice(SOURCES),
                    "Met at the stand; wants a quote",
                    f"https://www.linkedin.com/in/{local}-{i}" if i % 3 == 0 else "",
                    "",
                ]
                if len(written) < 5000 or i % 7 == 0:
                    written.append(row)
                    if len(written) > 20000:
                        del written[:10000]
            writer.writerow(row)
    stats["bytes"] = path.stat().st_size
    return stats


def organisation():
    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation
    from salesline.process import services as process_services

    org = Organisation.objects.filter(name=ORG_NAME).first()
    if org is None:
        org = process_services.organisation_create(name=ORG_NAME, template="business-development")
    user = accounts.user_create(
        email="bench-import@salesline.test", actor=accounts.system_actor(org), role="admin"
    )
    return org, user


def reset(org, rows: int) -> dict:
    """Leave exactly `rows` generated leads in the organisation (imports of earlier runs gone)."""
    from django.db import connection

    from salesline.records.models import ImportJob, Lead

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM records_lead WHERE organisation_id = %s AND import_job_id IS NOT NULL",
            [org.pk],
        )
    ImportJob.objects.filter(organisation=org).delete()
    existing = Lead.objects.filter(organisation=org).count()
    generation = {}
    if existing != rows:
        Lead.objects.filter(organisation=org).delete()
        generation = generate_leads(org, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE records_lead" if connection.vendor == "postgresql" else "ANALYZE"
        )
    return generation


def raw_insert(org, user, path: Path) -> dict:
    """The baseline: the file's valid rows, normalised beforehand (not timed), inserted the
    fastest way the database offers in one transaction, committed (timed), then deleted again
    (not timed) so the import meets the same table."""
    from django.db import connection, transaction

    from salesline.accounts.services import actor_for
    from salesline.records import matching
    from salesline.records.importing.engine import Writer
    from salesline.records.importing.reader import Spreadsheet
    from salesline.records.importing.rows import clean_rows
    from salesline.records.importing.services import build_plan, mapping_for
    from salesline.records.models import ImportJob, Lead

    actor = actor_for(user, org)
    sheet = Spreadsheet(path)
    job = ImportJob(organisation=org, kind="lead", pk=0, region="GB")
    job.mapping = mapping_for(actor, "lead", sheet.header, None)
    plan = build_plan(actor, job, sheet.header)
    writer = Writer(
        Lead,
        # No import job: these rows are indexed by the insert trigger, as any other insert.
        {"organisation_id": org.pk, "version": 1, "import_job_id": None, "owner_id": user.pk},
    )
    first_new = Lead.objects.order_by("-id").values_list("id", flat=True).first() or 0
    timed = 0.0
    inserted = 0
    from itertools import batched

    from django.utils import timezone

    with transaction.atomic():
        for chunk in batched(sheet.rows(), 5000, strict=False):
            values = []
            for row in clean_rows(plan, list(chunk)):
                if row.problems:
                    continue
                row.values["search_name"] = row.search_name
                row.values["search_last_word"] = row.search_last_word
                row.values["search_text"] = row.search_text
                row.values["dedupe_key"] = matching.name_block(row.values["name"], row.company_key)
                values.append(row.values)
            records = writer.tuples(values, timezone.now())
            started = time.perf_counter()
            _insert(connection, writer, records)
            timed += time.perf_counter() - started
            inserted += len(records)
        started = time.perf_counter()
    timed += time.perf_counter() - started  # the commit
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_lead WHERE id > %s", [first_new])
        cursor.execute(
            "VACUUM ANALYZE records_lead" if connection.vendor == "postgresql" else "ANALYZE"
        )
    return {"rows": inserted, "seconds": timed, "rows_per_second": inserted / timed}


def _insert(connection, writer, records) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY {writer.table} ({writer.column_list}) FROM STDIN"
            ) as copy:
                for record in records:
                    copy.write_row(record)
        else:
            marks = ", ".join(["%s"] * len(writer.fields))
            cursor.executemany(
                f"INSERT INTO {writer.table} ({writer.column_list}) VALUES ({marks})", records
            )


def phases(org, user, path: Path, rows: int) -> dict:
    """Parse alone and normalise alone (one core), to say where the time goes."""
    from salesline.accounts.services import actor_for
    from salesline.records.importing.reader import Spreadsheet
    from salesline.records.importing.rows import clean_rows
    from salesline.records.importing.services import build_plan, mapping_for
    from salesline.records.models import ImportJob

    actor = actor_for(user, org)
    sheet = Spreadsheet(path)
    started = time.perf_counter()
    count = sum(1 for _ in sheet.rows())
    parse = time.perf_counter() - started
    job = ImportJob(organisation=org, kind="lead", region="GB")
    job.mapping = mapping_for(actor, "lead", sheet.header, None)
    plan = build_plan(actor, job, sheet.header)
    sample = []
    for item in sheet.rows():
        sample.append(item)
        if len(sample) == 100_000:
            break
    started = time.perf_counter()
    for i in range(0, len(sample), 5000):
        clean_rows(plan, sample[i : i + 5000])
    normalise = (time.perf_counter() - started) * count / len(sample)
    return {"parse_seconds": parse, "normalise_one_core_seconds_estimated": normalise}


def run_import(database_url: str, path: Path) -> dict:
    """The import itself, in its own process, so its peak memory is its own."""
    command = [
        sys.executable,
        "-m",
        "bench.imports",
        "--database-url",
        database_url,
        "--import-only",
        str(path),
    ]
    output = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def import_only(path: Path) -> None:
    from salesline.records.importing import services as imports

    org, user = organisation()
    from salesline.accounts.services import actor_for

    actor = actor_for(user, org)
    peaks = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0}
    sampling = threading.Event()

    def sample() -> None:
        # /proc/self/status every 50 ms: the resident set split into heap (anonymous) and
        # mapped files (SQLite's mmap of the database, shared libraries).
        while not sampling.wait(0.05):
            for line in Path("/proc/self/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in peaks:
                    peaks[key] = max(peaks[key], int(value.split()[0]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    job = imports.import_create(
        actor=actor, kind="leads", file=path, file_name=path.name, region="GB"
    )
    job = imports.import_execute(actor=actor, import_id=job.pk)
    seconds = time.perf_counter() - started
    sampling.set()
    sampler.join()
    # VmHWM: this process's own high-water mark. (getrusage's ru_maxrss survives exec, so it
    # would report the parent's peak: the bench process that generated the data.)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    own = int(status["VmHWM"].split()[0]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "status": job.status,
                "rows": job.rows_done,
                "created": job.created,
                "duplicates": job.duplicates,
                "rejected": job.rejected,
                "possible_duplicates": job.possible_duplicates,
                "seconds": seconds,
                "rows_per_second": job.rows_done / seconds,
                "peak_rss_mib": own,
                "peak_rss_normaliser_process_mib": children,
                "peak_anonymous_mib": peaks["RssAnon"] / 1024,
                "peak_file_mapped_mib": peaks["RssFile"] / 1024,
                "peak_shared_mib": peaks["RssShmem"] / 1024,
                "timings": getattr(job, "timings", {}),
            }
        )
    )


def prepare(args):
    """The organisation with exactly `args.existing` leads, and the file to import (some of its
    e-mails those of existing leads): (org, user, path, generation, file stats)."""
    from django.db import connection

    org, user = organisation()
    generation = reset(org, args.existing)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email FROM records_lead WHERE organisation_id = %s ORDER BY id LIMIT 50000",
            [org.pk],
        )
        emails = [row[0] for row in cursor.fetchall()]
    path = ROOT / "var" / f"bench-import-{args.rows}.csv"
    return org, user, path, generation, write_file(path, args.rows, emails)


# What "without the word index" drops: the full-text index (SQLite: the FTS5 tables and their
# triggers; PostgreSQL: the GIN indexes) and the last-word B-trees. An import skips a word index
# that is not there (records.search_index.has_sqlite_index, merge_pending).
WITHOUT_WORD_INDEX = {
    "sqlite": [
        *(
            f"DROP TRIGGER IF EXISTS {table}_words_{event}"
            for table in ("records_lead", "records_company")
            for event in ("insert", "delete", "update")
        ),
        "DROP TABLE IF EXISTS records_lead_words",
        "DROP TABLE IF EXISTS records_company_words",
        "DROP INDEX IF EXISTS lead_last_word",
        "DROP INDEX IF EXISTS company_last_word",
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS lead_words",
        "DROP INDEX IF EXISTS lead_words_deleted",
        "DROP INDEX IF EXISTS lead_last_word",
        "DROP INDEX IF EXISTS lead_newest",
    ],
}


def _copy_database(database_url: str, vendor: str, suffix: str) -> str:
    """A copy of the benchmark's database (a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE),
    its URL returned. The Django connection to the original must be closed."""
    import shutil
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database_url)
    if vendor == "sqlite":
        source = Path(parts.path)
        target = source.with_name(f"{source.stem}-{suffix}{source.suffix}")
        for extra in ("-wal", "-shm"):
            Path(f"{target}{extra}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        if Path(f"{source}-wal").exists():  # what is not checkpointed yet
            shutil.copyfile(f"{source}-wal", f"{target}-wal")
        return urlunsplit(parts._replace(path=str(target)))
    import psycopg

    name = parts.path.lstrip("/")
    copy = f"{name}_{suffix}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    return urlunsplit(parts._replace(path=f"/{copy}"))


def _drop_word_index(url: str, vendor: str) -> None:
    if vendor == "sqlite":
        import sqlite3
        from urllib.parse import urlsplit

        # Closed, not only committed (sqlite3's context manager does not close): the next pair
        # replaces this file.
        conn = sqlite3.connect(urlsplit(url).path)
        try:
            with conn:
                for statement in WITHOUT_WORD_INDEX[vendor]:
                    conn.execute(statement)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in WITHOUT_WORD_INDEX[vendor]:
            conn.execute(statement)


def word_index_pairs(args) -> int:
    """Interleaved pairs: the same file imported into two copies of one database, one without
    the word index, one with it (each in its own process, after the copy's own `migrate`). The
    ratio of the second's rows/s to the first's is the cost of the word index. The copy's own
    set-up runs `migrate`, so the index is dropped after it (ensure_sqlite_triggers would
    otherwise put SQLite's triggers back)."""
    from django.db import connection

    vendor = connection.vendor
    path = prepare(args)[2]
    connection.close()
    results = []
    try:
        for pair in range(1, args.word_index_pairs + 1):
            row = {"pair": pair}
            for variant in ("without", "with"):
                url = _copy_database(args.database_url, vendor, "pairs")
                subprocess.run(
                    [sys.executable, "manage.py", "migrate", "-v0"],
                    cwd=ROOT,
                    env={**os.environ, "DATABASE_URL": url},
                    check=True,
                    capture_output=True,
                )
                if variant == "without":
                    _drop_word_index(url, vendor)
                result = run_import(url, path)
                row[variant] = result["rows_per_second"]
                row[f"{variant}_write_seconds"] = result["timings"].get("write")
                row[f"{variant}_created"] = result["created"]
            row["ratio"] = row["with"] / row["without"]
            results.append(row)
            print(
                f"pair {pair}: without {row['without']:,.0f} rows/s, with {row['with']:,.0f} "
                f"rows/s, ratio {row['ratio']:.2f} (write phase {row['without_write_seconds']:.1f}"
                f" -> {row['with_write_seconds']:.1f} s)",
                flush=True,
            )
    finally:
        path.unlink(missing_ok=True)
    out = {"database": vendor, "rows": args.rows, "existing_leads": args.existing, "pairs": results}
    print(json.dumps(out, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--out")
    parser.add_argument("--import-only", metavar="FILE")
    parser.add_argument(
        "--word-index-pairs",
        type=int,
        metavar="N",
        help="instead: N interleaved pairs of imports into copies of the database, without and "
        "with the word index (the search target: no more than 10%% slower)",
    )
    args = parser.parse_args()
    setup_django(args.database_url)
    if args.import_only:
        import_only(Path(args.import_only))
        return 0
    if args.word_index_pairs:
        return word_index_pairs(args)
    from django.db import connection

    org, user, path, generation, file_stats = prepare(args)
    component = phases(org, user, path, args.rows)
    baseline = raw_insert(org, user, path)
    result = run_import(args.database_url, path)
    result["ratio_to_raw_insert"] = result["rows_per_second"] / baseline["rows_per_second"]
    out = {
        "database": connection.vendor,
        "existing_leads": args.existing,
        "generation": generation,
        "file": file_stats,
        "phases": component,
        "raw_insert": baseline,
        "import": result,
    }
    print(json.dumps(out, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))
    path.unlink()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.exit(main())
