"""Web page benchmark: server time of the opportunity list over N opportunities (first page, a
filtered page, a deep page) and of the pipeline board with 10,000 open opportunities, plus the
weight of the home page and the board (HTML + CSS + JS, raw and gzipped).

Server time is measured in-process with Django's test client: the whole request through the
middleware, views, selectors, database and templates, without a network or a web server. One
database per process (Django settings are per process); `python -m bench` runs both."""

import argparse
import datetime as dt
import gzip
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.api_lists import name_pools, setup_django

BENCH_ORG = "Bench Pipeline"
OPEN_ON_BOARD = 10_000


def generate_opportunities(organisation, owners, rows: int, seed: int = 11) -> dict:
    """Insert `rows` opportunities, OPEN_ON_BOARD of them open, spread over the business
    pipeline's stages; the rest won or lost. COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    from salesline.pipeline.models import Opportunity, Pipeline, Stage
    from salesline.records.matching import search_key

    pipeline = Pipeline.objects.filter(organisation=organisation).order_by("position", "id")[0]
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    rng = random.Random(seed)
    first, last = name_pools(seed)
    fields = [f for f in Opportunity._meta.concrete_fields if f.column != "id"]
    columns = [f.column for f in fields]
    start_day = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span = 3 * 365 * 86400
    open_every = max(1, rows // OPEN_ON_BOARD)

    def defaults():
        values = {}
        for field in fields:
            default = field.get_default()
            if isinstance(default, dict):
                default = "{}"
            values[field.column] = default
        return values

    base = defaults()

    def batch(start: int, count: int):
        for i in range(start, start + count):
            name = f"{rng.choice(last)} archive {rng.choice(first)}"
            created = start_day + dt.timedelta(seconds=rng.randrange(span))
            is_open = i % open_every == 0 and i // open_every < OPEN_ON_BOARD
            row = {
                **base,
                "organisation_id": organisation.pk,
                "name": name,
                "search_name": search_key(name),
                "owner_id": rng.choice(owners).pk,
                "created_at": created,
                "updated_at": created,
                "stage_entered_at": created,
                "version": 1,
                "pipeline_id": pipeline.pk,
                "stage_id": rng.choice(stages[:-2] if is_open else stages[-2:]).pk,
                "status": "open" if is_open else rng.choice(["won", "lost"]),
                "value": Decimal(rng.randrange(1_000, 500_000)),
                "currency": "EUR",
                "expected_close_date": (created + dt.timedelta(days=rng.randrange(30, 400))).date(),
                "closed_at": None if is_open else created + dt.timedelta(days=30),
            }
            yield tuple(row[c] for c in columns)

    started = time.perf_counter()
    chunk = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY pipeline_opportunity ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in batch(0, rows):
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO pipeline_opportunity ({', '.join(columns)}) VALUES ({placeholders})"
            done = 0
            while done < rows:
                n = min(chunk, rows - done)
                cursor.executemany(sql, list(batch(done, n)))
                done += n
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE pipeline_opportunity"
            if connection.vendor == "postgresql"
            else "ANALYZE"
        )
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds}


def sellers(organisation, prefix: str, count: int = 5) -> list:
    """`count` salespeople of the organisation, <prefix><n>@bench.example, made once."""
    from salesline.accounts import services as accounts

    owners = []
    for i in range(count):
        email = f"{prefix}{i}@bench.example"
        try:
            owners.append(accounts.user_get(email=email))
        except Exception:  # noqa: BLE001 - not there yet
            owners.append(
                accounts.user_create(
                    email=email,
                    actor=accounts.system_actor(organisation),
                    role="salesperson",
                    password="x" * 12,
                )
            )
    return owners


def ensure_data(rows: int):
    from salesline.accounts.models import Organisation
    from salesline.pipeline.models import Opportunity
    from salesline.process import services as process_services

    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = process_services.organisation_create(
            name=BENCH_ORG, template="business-development", label="bench"
        )
    owners = sellers(organisation, "seller")
    have = Opportunity.objects.filter(organisation=organisation).count()
    generation = {"rows": 0}
    if have != rows:
        Opportunity.objects.filter(organisation=organisation).delete()
        generation = generate_opportunities(organisation, owners, rows)
    return organisation, owners, generation


def timed(client, path: str, repeats: int) -> dict:
    for _ in range(3):  # warm the caches and the connection
        client.get(path)
    samples = []
    status = None
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    samples.sort()
    return {
        "path": path,
        "status": status,
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "max_ms": samples[-1],
        "requests": repeats,
    }


def page_weight(client, path: str) -> dict:
    """HTML plus every stylesheet and script the page links, raw and gzip-compressed (what a
    browser transfers from whitenoise, which serves pre-compressed files)."""
    import re

    from django.contrib.staticfiles import finders

    html = client.get(path).content
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    raw = len(html)
    zipped = len(gzip.compress(html, 6))
    files = {}
    for asset in assets:
        relative = asset.decode().removeprefix("/static/")
        found = finders.find(relative)
        data = Path(found).read_bytes() if found else b""
        files[relative] = len(data)
        raw += len(data)
        zipped += len(gzip.compress(data, 6))
    return {"path": path, "raw_bytes": raw, "gzip_bytes": zipped, "assets": files}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from salesline.pipeline.models import Opportunity, Stage
    from salesline.records.filters import encode_cursor

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    organisation, owners, generation = ensure_data(args.rows)
    client = Client()
    client.force_login(owners[0])
    stage = Stage.objects.filter(pipeline__organisation=organisation).order_by("position")[1]
    deep = (
        Opportunity.objects.filter(organisation=organisation, deleted_at=None)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[args.rows // 2]
    )
    deep_cursor = encode_cursor("-created_at", deep[0], deep[1])
    scenarios = [
        ("list: first page", "/records/opportunities/"),
        ("list: filtered (stage)", f"/records/opportunities/?stage={stage.key}"),
        (
            "list: filtered (owner, won, value)",
            f"/records/opportunities/?owner_id={owners[1].pk}&status=won&value__gte=250000",
        ),
        (
            f"list: deep page (row {args.rows // 2:,})",
            f"/records/opportunities/?cursor={deep_cursor}",
        ),
        ("board: 10,000 open", "/board/"),
        ("board: owner filter", f"/board/?owner={owners[2].pk}"),
        ("home", "/"),
    ]
    results = []
    for name, path in scenarios:
        row = timed(client, path, args.repeats)
        row["name"] = name
        results.append(row)
        print(
            f"{name:<36} {row['status']} p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms",
            file=sys.stderr,
        )
    weights = [page_weight(client, "/"), page_weight(client, "/board/")]
    open_count = Opportunity.objects.filter(organisation=organisation, status="open").count()
    Path(args.out).write_text(
        json.dumps(
            {
                "scenarios": results,
                "weights": weights,
                "generation": generation,
                "open_opportunities": open_count,
                "rows": args.rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
