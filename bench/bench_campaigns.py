"""The campaign report at scale: one organisation with N leads, N/2 opportunities (a fifth of
them won), twenty campaigns and N/20 cost entries, then the report over all time and over one
quarter.

    DATABASE_URL=sqlite:///var/bench_campaigns.sqlite3 .venv/bin/python -m bench.bench_campaigns --rows 200000

Prints the time of each report (median of five) and the number of queries it ran. The data is
written once per database file (a second run reuses it)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="leads (opportunities: half)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesline.accounts.models import Organisation
    from salesline.accounts.services import system_actor
    from salesline.analytics.campaign_selectors import campaign_report_with_totals

    call_command("migrate", verbosity=0)
    organisation = Organisation.objects.filter(slug="campaign-bench").first()
    if organisation is None:
        organisation = _generate(args.rows)
    actor = system_actor(organisation)
    for label, period in (
        ("all time", (None, None)),
        ("one quarter", (dt.date(2026, 1, 1), dt.date(2026, 3, 31))),
    ):
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                rows, _ = campaign_report_with_totals(
                    actor=actor, date_from=period[0], date_to=period[1]
                )
                times.append(time.perf_counter() - started)
        print(
            f"{connection.vendor} {args.rows:,} leads, {label}: "
            f"{statistics.median(times) * 1000:.0f} ms median of 5, "
            f"{len(queries)} queries, {len(rows)} rows"
        )


def _generate(rows: int):
    from django.utils import timezone

    from salesline.analytics.cost_models import CostEntry
    from salesline.pipeline.models import Opportunity, Pipeline
    from salesline.process.services import organisation_create
    from salesline.records.models import Campaign, Lead

    rng = random.Random(12)  # noqa: S311 - reproducible bench data
    organisation = organisation_create(name="Campaign bench", template="business-development")
    Organisation = type(organisation)
    Organisation.objects.filter(pk=organisation.pk).update(slug="campaign-bench")
    organisation.refresh_from_db()
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            organisation=organisation,
            name=f"Campaign {n}",
            kind="trade_show",
            cost=Decimal(1000 + 100 * n),
            starts_on=dt.date(2024, 1, 1) + dt.timedelta(days=30 * n),
        )
        for n in range(20)
    )
    start = timezone.now() - dt.timedelta(days=730)

    def moment():
        return start + dt.timedelta(seconds=rng.randrange(730 * 86_400))

    def campaign():
        return rng.choice(campaigns) if rng.random() < 0.7 else None

    leads = Lead.objects.bulk_create(
        (
            Lead(
                organisation=organisation,
                name=f"Lead {n}",
                campaign=campaign(),
                created_at=moment(),
            )
            for n in range(rows)
        ),
        batch_size=5000,
    )
    pipeline = Pipeline.objects.get(organisation=organisation)
    stages = list(pipeline.stages.all())
    won = next(s for s in stages if s.kind == "won")
    opportunities = []
    for n in range(rows // 2):
        is_won = rng.random() < 0.2
        created = moment()
        opportunities.append(
            Opportunity(
                organisation=organisation,
                name=f"Deal {n}",
                pipeline=pipeline,
                stage=won if is_won else stages[0],
                status="won" if is_won else "open",
                value=Decimal(rng.randrange(1000, 200_000)),
                campaign=campaign(),
                created_at=created,
                closed_at=created + dt.timedelta(days=60) if is_won else None,
            )
        )
    Opportunity.objects.bulk_create(opportunities, batch_size=5000)
    CostEntry.objects.bulk_create(
        (
            CostEntry(
                organisation=organisation,
                lead=rng.choice(leads),
                kind="expense",
                amount=Decimal(rng.randrange(10, 900)),
                currency="EUR",
                date=moment().date(),
            )
            for _ in range(rows // 20)
        ),
        batch_size=5000,
    )
    return organisation


if __name__ == "__main__":
    main()
