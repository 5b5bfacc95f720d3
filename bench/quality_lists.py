"""Quality benchmark: the opportunity list sorted and filtered by quality over N opportunities,
each with a stored rating (the API and the web list, server time in-process), and the speed of
rating opportunities (what the worker and `salesline quality rerate` do).

    python -m bench.quality_lists --database-url sqlite:///var/bench-quality.sqlite3 --out q.json

The opportunities come from bench.web_pages (the same generator); their ratings are written
straight into the table with one INSERT … SELECT (scores spread over 0..100 by id), since
rating a million opportunities one by one is the slow path measured separately below."""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench.api_lists import setup_django
from bench.web_pages import ensure_data, timed


def fill_ratings(organisation) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from salesline.analytics.models import QualityRating

    have = QualityRating.objects.filter(organisation=organisation).count()
    total = organisation_opportunities(organisation)
    if have == total:
        return {"rows": 0, "seconds": 0.0}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        QualityRating.objects.filter(organisation=organisation).delete()
        # The score's spread: a multiplicative hash of the id, 0..100.
        cursor.execute(
            "INSERT INTO analytics_qualityrating"
            " (organisation_id, opportunity_id, score, band, reasons, rated_at, is_open)"
            " SELECT organisation_id, id, s, CASE WHEN s >= 75 THEN 'good'"
            " WHEN s >= 50 THEN 'fair' ELSE 'poor' END, '[]', %s, is_open"
            " FROM (SELECT organisation_id, id, (id * 7919) %% 101 AS s,"
            " status = 'open' AND deleted_at IS NULL AS is_open"
            " FROM pipeline_opportunity WHERE organisation_id = %s) AS rated",
            [timezone.now(), organisation.pk],
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE analytics_qualityrating"
            if connection.vendor == "postgresql"
            else "ANALYZE"
        )
    return {"rows": total, "seconds": seconds}


def organisation_opportunities(organisation) -> int:
    from salesline.pipeline.models import Opportunity

    return Opportunity.objects.filter(organisation=organisation).count()


def rating_speed(organisation, count: int) -> dict:
    """Rate `count` opportunities through the service (facts, rate(), upsert), in chunks as the
    re-rating does."""
    from salesline.analytics.quality_services import CHUNK, quality_rate
    from salesline.pipeline.models import Opportunity

    ids = list(
        Opportunity.objects.filter(organisation=organisation, status="open")
        .order_by("id")
        .values_list("id", flat=True)[:count]
    )
    started = time.perf_counter()
    for start in range(0, len(ids), CHUNK):
        quality_rate(organisation=organisation, opportunity_ids=ids[start : start + CHUNK])
    seconds = time.perf_counter() - started
    return {"rated": len(ids), "seconds": seconds, "per_second": len(ids) / seconds}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rate", type=int, default=5_000, help="opportunities to rate")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from salesline.accounts import services as accounts

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    organisation, owners, generation = ensure_data(args.rows)
    filled = fill_ratings(organisation)
    print(f"ratings written: {filled}", file=sys.stderr)
    client = Client()
    client.force_login(owners[0])
    _, token = accounts.token_create(
        user=owners[0], actor=accounts.system_actor(organisation), name="bench"
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    scenarios = [
        (api, "API: ordering=-quality", "/api/v1/opportunities?ordering=-quality"),
        (api, "API: ordering=quality", "/api/v1/opportunities?ordering=quality"),
        (
            api,
            "API: quality__gte=95, -quality",
            "/api/v1/opportunities?quality__gte=95&ordering=-quality",
        ),
        (api, "API: quality_band=poor", "/api/v1/opportunities?quality_band=poor"),
        (
            api,
            "API: offset 10,000 by quality",
            "/api/v1/opportunities?ordering=quality&offset=10000",
        ),
        (api, "API: ordering=-created_at (baseline)", "/api/v1/opportunities"),
        (
            api,
            "API: status=open, -quality",
            "/api/v1/opportunities?status=open&ordering=-quality",
        ),
        (client, "web: open, -quality", "/records/opportunities/?ordering=-quality"),
        (client, "web: open, quality", "/records/opportunities/?ordering=quality"),
        (client, "web: any status, quality", "/records/opportunities/?ordering=quality&status=any"),
        (client, "web: board with badges", "/board/"),
        (client, "web: quality report", "/reports/quality/"),
        (
            client,
            "web: quality report, pipeline",
            "/reports/quality/?pipeline=business-development",
        ),
    ]
    results = []
    for who, name, path in scenarios:
        row = timed(who, path, args.repeats)
        row["name"] = name
        results.append(row)
        print(
            f"{name:<40} {row['status']} p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms",
            file=sys.stderr,
        )
    speed = rating_speed(organisation, args.rate)
    print(f"rating: {speed}", file=sys.stderr)
    Path(args.out).write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "rows": args.rows,
                "generation": generation,
                "ratings": filled,
                "scenarios": results,
                "rating_speed": speed,
                "p50_summary_ms": statistics.median(r["p50_ms"] for r in results),
            },
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
