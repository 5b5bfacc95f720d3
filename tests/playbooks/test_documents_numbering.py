"""Quote and invoice numbers are gap-free and unique per organisation, kind and year, also when
taken at once by several threads (own connections, real transactions) on SQLite and
PostgreSQL; a rolled-back transaction gives its number back."""

import threading
from collections import Counter

import pytest
from django.db import connections, transaction

from salesline.playbooks.document_services import document_generate
from salesline.playbooks.models import Document, NumberSequence
from salesline.playbooks.numbering import next_number

from .document_fixtures import (  # noqa: F401
    agreement_fixture,
    deal_fixture,
    media_root_fixture,
)

THREADS = 6
EACH = 5


def run_threads(work, count: int = THREADS) -> list:
    """Run `work(index)` in `count` threads started together; their results and errors."""
    start = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait()
            results.append(work(index))
        except BaseException as exc:  # noqa: BLE001 — reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.django_db
def test_numbers_count_up_per_kind_and_year(org, other_org):
    with transaction.atomic():
        taken = [
            next_number(organisation=org, kind="invoice", year=2026),
            next_number(organisation=org, kind="invoice", year=2026),
            next_number(organisation=org, kind="quote", year=2026),
            next_number(organisation=org, kind="invoice", year=2027),
            next_number(organisation=other_org, kind="invoice", year=2026),
        ]

    assert taken == ["INV-2026-0001", "INV-2026-0002", "Q-2026-0001", "INV-2027-0001",
                     "INV-2026-0001"]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_number_outside_a_transaction_is_refused(org):
    with pytest.raises(transaction.TransactionManagementError):
        next_number(organisation=org, kind="invoice", year=2026)
    assert not NumberSequence.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_numbers_are_unique_and_gap_free_and_rollbacks_give_them_back(org):
    def take(index: int) -> list[str]:
        numbers = []
        for turn in range(EACH):
            try:
                with transaction.atomic():
                    number = next_number(organisation=org, kind="invoice", year=2026)
                    if (index + turn) % 3 == 0:
                        raise LookupError("this document failed")
                    numbers.append(number)
            except LookupError:
                pass
        return numbers

    results = run_threads(take)

    kept = [number for numbers in results for number in numbers]
    assert len(kept) == len(set(kept))
    expected = [f"INV-2026-{n:04d}" for n in range(1, len(kept) + 1)]
    assert sorted(kept) == expected  # no gap: every failed document gave its number back
    assert NumberSequence.objects.get(organisation=org, kind="invoice", year=2026).last == len(kept)


@pytest.mark.django_db(transaction=True)
def test_the_first_number_of_a_year_taken_at_once_creates_one_sequence(org):
    def take(index: int) -> str:
        with transaction.atomic():
            return next_number(organisation=org, kind="quote", year=2031)

    numbers = run_threads(take, count=8)

    assert sorted(numbers) == [f"Q-2031-{n:04d}" for n in range(1, 9)]
    assert NumberSequence.objects.filter(kind="quote", year=2031).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_distinct_numbers_and_versions(actor, agreement):
    def generate(index: int) -> tuple[str, int]:
        document = document_generate(
            actor=actor,
            template_key="invoice",
            agreement_id=agreement.pk,
            extra_context={"invoice": {"issue_date": "2026-03-01"}},
        )
        return document.number, document.version

    results = run_threads(generate, count=4)

    assert sorted(number for number, _ in results) == [f"INV-2026-{n:04d}" for n in range(1, 5)]
    assert sorted(version for _, version in results) == [1, 2, 3, 4]
    assert Counter(Document.objects.values_list("version", flat=True)) == Counter([1, 2, 3, 4])
