"""List endpoint benchmark: GET /api/v1/leads filtered by source, by name prefix and by the start
of a surname (word search), over N leads, served by gunicorn (2 sync workers) to concurrent
clients on loopback."""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_ORG = "Bench Leads"
SOURCES = [
    "Archiving Expo 2024",
    "Archiving Expo 2025",
    "Archiving Expo 2026",
    "Website",
    "LinkedIn",
    "Referral",
    "Webinar: Digital preservation",
    "iPRES 2025",
    "DLM Forum 2025",
    "Trade show Frankfurt",
    "Trade show London",
    "Cold call",
    "Partner: CoTech",
    "Newsletter",
    "Google Ads",
    "Conference: Archives & Records",
    "Museum Next",
    "Public tender portal",
    "Customer event Oslo",
    "Roadshow India",
]


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    (ROOT / "var").mkdir(exist_ok=True)
    call_command("migrate", verbosity=0)


def name_pools(seed: int) -> tuple[list[str], list[str]]:
    from faker import Faker

    fake = Faker(["en_GB", "no_NO", "de_DE", "fr_FR", "es_ES", "hi_IN"])
    fake.seed_instance(seed)
    first = sorted({fake.first_name() for _ in range(4000)})
    last = sorted({fake.last_name() for _ in range(4000)})
    return first, last


def generate_leads(organisation, rows: int, seed: int = 7) -> dict:
    """Insert `rows` leads the fastest way each database offers (COPY / executemany)."""
    from django.db import connection, transaction

    from salesline.records.matching import (
        company_match_name,
        email_key,
        last_word,
        name_block,
        search_key,
        search_text,
    )

    rng = random.Random(seed)
    first, last = name_pools(seed)
    companies = [
        f"{rng.choice(last)} {rng.choice(['Archives', 'Records', 'Museum', 'Library', 'Foundation', 'AS', 'Ltd', 'GmbH'])}"
        for _ in range(5000)
    ]
    start_day = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span = 3 * 365 * 86400
    columns = (
        "organisation_id",
        "name",
        "search_name",
        "custom_fields",
        "created_at",
        "updated_at",
        "version",
        "company_name",
        "email",
        "business_unit",
        "source",
        "details",
        "phone",
        "linkedin",
        "description",
        "dedupe_key",
        "search_text",
        "search_last_word",
    )
    company_keys = {c: company_match_name(c) for c in companies}
    started = time.perf_counter()

    def batch(count: int):
        for _ in range(count):
            name = f"{rng.choice(first)} {rng.choice(last)}"
            company = rng.choice(companies)
            created = start_day + dt.timedelta(seconds=rng.randrange(span))
            local = name.split()[0].lower().encode("ascii", "ignore").decode() or "info"
            email = email_key(
                f"{local}.{rng.randrange(10**6)}@{company.split()[0].lower()}.example"
            )
            phone = f"+47{rng.randrange(10**7, 10**8)}"
            yield (
                organisation.pk,
                name,
                search_key(name),
                "{}",
                created,
                created,
                1,
                company,
                email,
                rng.choice(["Nordics", "DACH", "UK", "India", "Americas"]),
                rng.choice(SOURCES),
                "Met at the stand",
                phone,
                "",
                "",
                name_block(name, company_keys[company]),
                search_text(name, email=email, company_name=company, phone=phone),
                last_word(name),
            )

    chunk = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY records_lead ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in batch(rows):
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO records_lead ({', '.join(columns)}) VALUES ({placeholders})"
            done = 0
            while done < rows:
                n = min(chunk, rows - done)
                cursor.executemany(sql, list(batch(n)))
                done += n
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        # What autovacuum does in production after a bulk load: statistics and visibility map.
        cursor.execute(
            "VACUUM ANALYZE records_lead" if connection.vendor == "postgresql" else "ANALYZE"
        )
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [
            gunicorn,
            "--config",
            str(ROOT / "config" / "gunicorn.py"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Authorization"] = "Bearer %(token)s"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%f %%f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_load(port: int, token: str, paths: list[str], seconds: float, clients: int) -> dict:
    """`clients` concurrent connections for `seconds`, by wrk (a C client, so the load generator
    takes little of the two cores from the server), or by Python threads when wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return run_load_python(port, token, paths, seconds, clients)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    quoted = ", ".join(json.dumps(p) for p in paths)
    script.write_text(WRK_SCRIPT % {"paths": quoted, "token": token})
    try:
        output = subprocess.run(
            [
                wrk,
                "-t",
                "2",
                "-c",
                str(clients),
                "-d",
                f"{max(1, round(seconds))}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
        )
    finally:
        script.unlink()
    if output.returncode != 0:
        raise RuntimeError(f"wrk failed: {output.stderr or output.stdout}")
    line = next(line for line in output.stdout.splitlines() if line.startswith("RESULT"))
    requests, duration_us, errors, p50_us, p99_us = line.split()[1:]
    return {
        "client": "wrk",
        "requests": int(requests),
        "errors": int(errors),
        "rps": int(requests) / (int(duration_us) / 1e6),
        "p50_ms": float(p50_us) / 1000,
        "p99_ms": float(p99_us) / 1000,
    }


def run_load_python(port: int, token: str, paths: list[str], seconds: float, clients: int) -> dict:
    """`clients` threads request paths round-robin for `seconds`; latency per request."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        i = offset
        while time.perf_counter() < stop_at:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{paths[i % len(paths)]}",
                headers={"Authorization": f"Bearer {token}"},
            )
            i += clients
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            mine.append(time.perf_counter() - began)
            failed += not ok
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "client": "python",
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)

    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation, User
    from salesline.process import services as process_services
    from salesline.records.models import Lead

    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = process_services.organisation_create(
            name=BENCH_ORG, template="business-development"
        )
    user = accounts.user_create(
        email="bench@salesline.test", actor=accounts.system_actor(organisation), role="salesperson"
    )
    user = User.objects.get(pk=user.pk)
    _, token = accounts.token_create(
        user=user, actor=accounts.system_actor(organisation), name="bench"
    )
    existing = Lead.objects.filter(organisation=organisation).count()
    generation: dict = {"rows": 0}
    if existing < args.rows:
        print(f"generating {args.rows - existing:,} leads ...", flush=True)
        generation = generate_leads(organisation, args.rows - existing)
    total = Lead.objects.filter(organisation=organisation).count()

    rng = random.Random(1)
    names = list(
        Lead.objects.filter(organisation=organisation).values_list("search_name", flat=True)[:2000]
    )
    prefixes = sorted({n[: rng.choice([3, 4, 5])] for n in names})
    # One word that is not the start of the name: the start of a surname (word search).
    surnames = [n.split()[-1] for n in names if len(n.split()) > 1]
    words = sorted({w[: rng.choice([3, 4, 5])] for w in surnames if len(w) >= 3})
    scenarios = {
        "leads?source=…&ordering=-created_at": [
            f"/api/v1/leads?source={urllib.parse.quote(s)}&ordering=-created_at&limit=50"
            for s in SOURCES
        ],
        "leads?q=<name prefix>": [f"/api/v1/leads?q={urllib.parse.quote(p)}" for p in prefixes],
        "leads?q=<word prefix>": [f"/api/v1/leads?q={urllib.parse.quote(w)}" for w in words],
    }
    port = free_port()
    server = start_server(args.database_url, port)
    results = []
    try:
        for name, paths in scenarios.items():
            run_load(port, token, paths, min(3.0, args.seconds), args.clients)  # warm-up
            measured = run_load(port, token, paths, args.seconds, args.clients)
            results.append({"name": name, **measured})
            print(f"{name}: {measured}", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    Path(args.out).write_text(
        json.dumps({"rows": total, "generation": generation, "scenarios": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    import urllib.parse  # noqa: F401  (used in main)

    sys.exit(main())
