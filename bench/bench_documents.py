"""Document benchmark: 1,000 invoice PDFs through `document_generate`, one after the other, in
one process — each its own transaction (the opportunity row locked, the invoice number taken
from the year's sequence, the HTML template rendered in its sandbox, WeasyPrint, the file
stored through Django's storage API in a temporary MEDIA_ROOT, the row, the audit and the
event). Reports documents/s, per-document p50/p99, the process's peak RSS (getrusage) and,
in a second shorter pass, the Python heap's peak (tracemalloc, which slows what it measures).

    python -m bench.bench_documents --database-url URL [--count 1000] [--out FILE]
"""

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_ORG = "Bench Documents"


def _setup(database_url: str) -> None:
    os.environ.setdefault("SALESLINE_MEDIA_ROOT", tempfile.mkdtemp(prefix="salesline-bench-docs-"))
    from bench.api_lists import setup_django

    setup_django(database_url)


def _records():
    """The organisation, an admin, and an opportunity with a company, contact and agreement."""
    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation
    from salesline.pipeline.services import opportunity_create
    from salesline.playbooks.models import Agreement
    from salesline.process.services import organisation_create
    from salesline.records.services import record_create

    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = organisation_create(name=BENCH_ORG, template="partnerships")
    system = accounts.system_actor(organisation)
    user = accounts.user_create(email=f"docs-{time.time_ns()}@bench.example", actor=system,
                                role="admin")  # fmt: skip
    actor = accounts.actor_for(user, organisation)
    company = record_create(actor=actor, kind="company", data={"name": "Bench Archives AS"})
    person = record_create(
        actor=actor,
        kind="person",
        data={"name": "Berit Bench", "email": "berit@bench.example", "company_id": company.pk},
    )
    opportunity = opportunity_create(
        actor=actor,
        data={
            "name": "Bench archive",
            "company_id": company.pk,
            "primary_contact_id": person.pk,
            "value": "120000",
        },
    )
    agreement = Agreement.objects.create(
        organisation=organisation,
        opportunity=opportunity,
        status=Agreement.Status.SIGNED,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        value=Decimal("120000.00"),
        billing_frequency=Agreement.Billing.MONTHLY,
    )
    return actor, agreement


def _generate(actor, agreement, count: int) -> list[float]:
    from salesline.playbooks.document_services import document_generate

    seconds = []
    for index in range(count):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=index % 365)
        began = time.perf_counter()
        document_generate(
            actor=actor,
            template_key="invoice",
            agreement_id=agreement.pk,
            extra_context={
                "invoice": {
                    "issue_date": start,
                    "period_start": start,
                    "period_end": start + dt.timedelta(days=30),
                    "amount": Decimal("10000.00"),
                }
            },
        )
        seconds.append(time.perf_counter() - began)
    return seconds


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--traced", type=int, default=100, help="documents in the traced pass")
    parser.add_argument("--out")
    args = parser.parse_args()
    _setup(args.database_url)
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from django.conf import settings
    from django.db import connection

    actor, agreement = _records()
    _generate(actor, agreement, 5)  # warm up: WeasyPrint's import, fonts, the template cache
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    seconds = _generate(actor, agreement, args.count)
    elapsed = time.perf_counter() - began
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    _generate(actor, agreement, args.traced)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    from salesline.playbooks.models import Document

    sizes = list(
        Document.objects.filter(organisation=actor.organisation, template="invoice")
        .order_by("-pk")
        .values_list("size", flat=True)[: args.count]
    )
    result = {
        "database": connection.vendor,
        "count": args.count,
        "seconds": round(elapsed, 2),
        "documents_per_second": round(args.count / elapsed, 1),
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "p99_ms": round(_percentile(seconds, 0.99) * 1000, 1),
        "peak_rss_mib": round(rss_peak, 1),
        "rss_before_mib": round(rss_before, 1),
        "python_heap_peak_mib": round(heap_peak / 2**20, 1),
        "traced_documents": args.traced,
        "mean_pdf_kib": round(statistics.mean(sizes) / 1024, 1) if sizes else 0,
        "media_root": str(settings.MEDIA_ROOT),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
