"""Gap-free document numbers (quotes, invoices), unique per organisation, kind and year.

`next_number` takes the number under a row lock in the caller's transaction: the lock is held
until that transaction ends, so two documents being made at once wait for each other, and a
document whose transaction rolls back gives its number back (the counter rolls back with it).
The first number of a year creates the sequence row; two first numbers at once cannot create it
twice (a unique constraint; the loser's insert fails inside a savepoint and it locks the
winner's row instead). On SQLite every write transaction is IMMEDIATE, so they queue whole.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from salesline.accounts.models import Organisation

from .document_catalogue import format_number
from .models import NumberSequence


def next_number(*, organisation: Organisation, kind: str, year: int) -> str:
    """The next number of `kind` for `organisation` in `year`, e.g. `INV-2026-0001`.

    Call it inside the transaction that stores the numbered document (it refuses to run
    outside one: a number taken in a transaction of its own could not be given back)."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "next_number must run inside the document's own transaction."
        )
    rows = NumberSequence.objects.filter(organisation=organisation, kind=kind, year=year)
    sequence_id = rows.select_for_update().values_list("pk", flat=True).first()
    if sequence_id is None:
        try:
            with transaction.atomic():  # a savepoint: a lost race leaves the outer one usable
                sequence_id = NumberSequence.objects.create(
                    organisation=organisation, kind=kind, year=year, last=0
                ).pk
        except IntegrityError:
            # Another transaction created it first (and has committed: the insert waited for
            # it); lock its row like any later caller would.
            sequence_id = rows.select_for_update().values_list("pk", flat=True).get()
    NumberSequence.objects.filter(pk=sequence_id).update(last=F("last") + 1)
    last = NumberSequence.objects.values_list("last", flat=True).get(pk=sequence_id)
    return format_number(kind, year, last)
