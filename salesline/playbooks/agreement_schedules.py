"""The agreements' schedules, run by every worker and by `salesline schedules run`:

- **invoicing**: each billing period of a signed agreement (billing.invoice_schedule) is
  invoiced on its issue date: a numbered PDF (the `invoice` document), the Invoice row and a task
  for whoever sends invoices (the `SALESLINE_INVOICE_QUEUE` role, default customer service).
  Missed periods are caught up in order; a period is never invoiced twice (the occurrence claim
  and the Invoice's unique (agreement, period) both say so).
- **renewal tickler**: `renewal_notice_days` before the end date, a renewal task for the
  opportunity's owner and a renewal notice (the `renewal-notice` document, and a drafted message
  with it attached when the organisation has a `renewal-notice` message template); on the end
  date, a renewal task still open is escalated to the sales-support manager's queue.

Each occurrence runs in its own transaction (schedules.occurrence_run), as the organisation's
system actor.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from salesline.accounts.services import system_actor
from salesline.core import audit, events
from salesline.core.errors import ValidationFailed

from .billing import Period, invoice_schedule
from .models import Agreement, Invoice, MessageTemplate, Task
from .schedules import FAILED, RAN, occurrence_run, register_schedule

INVOICING = "invoicing"
RENEWAL_NOTICE = "renewal_notice"
RENEWAL_ESCALATION = "renewal_escalation"
#: The task key (playbook, step) of an agreement's renewal task: one open per agreement.
PLAYBOOK = "agreements"
ESCALATION_QUEUE = "sales_support_manager"


def invoice_queue() -> str:
    """The role whose queue gets the "send the invoice" tasks."""
    return getattr(settings, "SALESLINE_INVOICE_QUEUE", "") or "customer_service"


def _signed(**filters: Any):
    return (
        Agreement.objects.filter(
            status=Agreement.Status.SIGNED,
            opportunity__deleted_at__isnull=True,
            **filters,
        )
        .select_related("organisation", "opportunity")
        .order_by("organisation_id", "id")
    )


def _money(amount: Any, currency: str) -> str:
    return f"{amount} {currency}"


# ---------------------------------------------------------------- invoicing


def periods_of(agreement: Agreement) -> list[Period]:
    if agreement.start_date is None or agreement.value is None:
        return []
    return invoice_schedule(
        start=agreement.start_date,
        end=agreement.end_date,
        frequency=agreement.billing_frequency,
        total=agreement.value,
        currency=agreement.currency,
    )


def run_invoicing(today: date) -> int:
    """Invoice every period due on or before `today` that has no invoice yet."""
    ran = 0
    for agreement in _signed(start_date__lte=today, value__isnull=False):
        billed = set(Invoice.objects.filter(agreement=agreement).values_list("period", flat=True))
        for period in periods_of(agreement):
            if period.issue_date > today:
                break
            if period.index in billed:
                continue
            outcome = occurrence_run(
                organisation=agreement.organisation,
                schedule=INVOICING,
                object_type="agreement",
                object_id=agreement.pk,
                due_on=period.issue_date,
                work=partial(_issue, agreement, period),
            )
            if outcome == FAILED:
                break  # later periods wait: invoices are numbered in the order of their periods
            ran += outcome == RAN
    return ran


def _issue(agreement: Agreement, period: Period) -> str:
    return issue_invoice(agreement, period)  # looked up when run (tests replace it)


def issue_invoice(agreement: Agreement, period: Period) -> str:
    """The invoice of one period: the numbered PDF, the Invoice row and the task to send it
    (in the caller's transaction)."""
    from .document_services import document_generate
    from .task_services import task_create

    actor = system_actor(agreement.organisation, "invoicing")
    opportunity = agreement.opportunity
    document = document_generate(
        actor=actor,
        template_key="invoice",
        format="pdf",
        agreement_id=agreement.pk,
        opportunity_id=opportunity.pk,
        extra_context={
            "invoice": {
                "issue_date": period.issue_date,
                "amount": period.amount,
                "currency": period.currency,
                "period_start": period.period_start,
                "period_end": period.period_end,
            }
        },
    )
    try:
        invoice = Invoice.objects.create(
            organisation=agreement.organisation,
            agreement=agreement,
            period=period.index,
            number=document.number,
            issue_date=period.issue_date,
            amount=period.amount,
            currency=period.currency,
            document=document,
        )
        task_create(
            actor=actor,
            title=f"Send invoice {invoice.number} to {opportunity.name}",
            instructions=(
                f"Invoice {invoice.number}: {_money(invoice.amount, invoice.currency)} for "
                f"{period.period_start.isoformat()} to {period.period_end.isoformat()}, "
                f"issued {period.issue_date.isoformat()}. The PDF is on the opportunity's "
                "Agreement panel."
            ),
            queue=invoice_queue(),
            opportunity_id=opportunity.pk,
            due_date=period.issue_date,
            playbook=PLAYBOOK,
            step=f"send-invoice-{invoice.pk}",
        )
    except BaseException:
        default_storage.delete(document.file.name or "")  # the rolled-back row's file
        raise
    audit.record(
        actor=actor,
        action="create",
        obj=invoice,
        changes={
            "number": [None, invoice.number],
            "issue_date": [None, invoice.issue_date.isoformat()],
            "amount": [None, str(invoice.amount)],
            "currency": [None, invoice.currency],
            "period": [None, period.index],
        },
    )
    events.emit(
        actor=actor,
        kind="invoice_issued",
        obj=invoice,
        payload={
            "invoice_id": invoice.pk,
            "agreement_id": agreement.pk,
            "opportunity_id": opportunity.pk,
            "number": invoice.number,
        },
    )
    return (
        f"Invoice {invoice.number} for {opportunity.name}: "
        f"{_money(invoice.amount, invoice.currency)}, issued {invoice.issue_date.isoformat()}"
    )


# ---------------------------------------------------------------- renewal tickler


def notice_date(agreement: Agreement) -> date | None:
    if agreement.end_date is None:
        return None
    return agreement.end_date - timedelta(days=agreement.renewal_notice_days)


def renewal_step(agreement: Agreement) -> str:
    return f"renewal-{agreement.pk}"


def run_renewal_notices(today: date) -> int:
    """The renewal task and notice of each signed agreement whose notice date has come (and
    whose end date has not passed: a notice after the end is no notice)."""
    ran = 0
    for agreement in _signed(end_date__isnull=False, end_date__gte=today):
        due = notice_date(agreement)
        if due is None or due > today:
            continue
        outcome = occurrence_run(
            organisation=agreement.organisation,
            schedule=RENEWAL_NOTICE,
            object_type="agreement",
            object_id=agreement.pk,
            due_on=due,
            work=partial(renewal_notice, agreement),
        )
        ran += outcome == RAN
    return ran


def renewal_notice(agreement: Agreement) -> str:
    from .document_services import document_generate
    from .task_services import task_create

    actor = system_actor(agreement.organisation, "renewal tickler")
    opportunity = agreement.opportunity
    assert agreement.end_date is not None  # noqa: S101 - selected with an end date
    end = agreement.end_date.isoformat()
    document = document_generate(
        actor=actor,
        template_key="renewal-notice",
        format="pdf",
        agreement_id=agreement.pk,
        opportunity_id=opportunity.pk,
    )
    try:
        done = [f"renewal notice {document.file_name}"]
        message_id, not_drafted = _draft_notice(actor, opportunity.pk, document.pk)
        if message_id or not_drafted:
            done.append(f"message draft #{message_id}" if message_id else not_drafted)
        task = task_create(
            actor=actor,
            title=f"Renew the agreement with {opportunity.name} (ends {end})",
            instructions=(
                f"The service agreement ends on {end}. Review the renewal notice"
                + (" and the drafted message" if message_id else "")
                + ", agree the renewal with the partner, and draft the new agreement. "
                "Still open on the end date, this task goes to the sales-support manager."
                + (f"\n\nNo message was drafted: {not_drafted}" if not_drafted else "")
            ),
            assignee_id=opportunity.owner_id,
            opportunity_id=opportunity.pk,
            due_date=agreement.end_date,
            playbook=PLAYBOOK,
            step=renewal_step(agreement),
        )
        done.append(f"task #{task.pk}")
    except BaseException:
        default_storage.delete(document.file.name or "")
        raise
    return f"Renewal of {opportunity.name} (ends {end}): " + ", ".join(done)


def _draft_notice(actor, opportunity_id: int, document_id: int) -> tuple[int | None, str]:
    """Draft the renewal-notice message with the notice attached, when the organisation has
    that message template: (the message's id, or None and why none was drafted). A draft that
    cannot be made (no contact with an e-mail address) does not stop the reminder: the task
    says why."""
    if not MessageTemplate.objects.filter(
        organisation=actor.organisation, key="renewal-notice"
    ).exists():
        return None, ""
    from .message_services import message_draft

    try:
        with transaction.atomic():
            message = message_draft(
                actor=actor,
                template_key="renewal-notice",
                opportunity_id=opportunity_id,
                attachments=[document_id],
            )
    except ValidationFailed as refused:
        return None, " ".join(p.msg for p in refused.problems) or str(refused)
    return message.pk, ""


def run_renewal_escalations(today: date) -> int:
    """On the end date, escalate the renewal task still open to the sales-support manager."""
    ran = 0
    for agreement in _signed(end_date__isnull=False, end_date__lte=today):
        open_task = Task.objects.filter(
            organisation=agreement.organisation,
            opportunity_id=agreement.opportunity_id,
            playbook=PLAYBOOK,
            step=renewal_step(agreement),
            status=Task.Status.OPEN,
        ).first()
        if open_task is None or open_task.queue == ESCALATION_QUEUE:
            continue
        assert agreement.end_date is not None  # noqa: S101 - selected with an end date
        outcome = occurrence_run(
            organisation=agreement.organisation,
            schedule=RENEWAL_ESCALATION,
            object_type="agreement",
            object_id=agreement.pk,
            due_on=agreement.end_date,
            work=partial(escalate, agreement, open_task),
        )
        ran += outcome == RAN
    return ran


def escalate(agreement: Agreement, task: Task) -> str:
    from .task_services import task_update

    actor = system_actor(agreement.organisation, "renewal tickler")
    assert agreement.end_date is not None  # noqa: S101
    reason = (
        f"The agreement ended on {agreement.end_date.isoformat()} and its renewal task was "
        "still open: escalated to the sales-support manager."
    )
    task_update(
        actor=actor,
        task_id=task.pk,
        data={"queue": ESCALATION_QUEUE, "assignee_id": None},
    )
    # The daily review counts and lists escalations by these.
    Task.objects.filter(pk=task.pk).update(escalated_at=timezone.now(), escalation_reason=reason)
    audit.record(
        actor=actor,
        action="escalate",
        obj=task,
        changes={"queue": [task.queue, ESCALATION_QUEUE], "reason": reason},
    )
    events.emit(
        actor=actor,
        kind="task_escalated",
        obj=task,
        payload={
            "task_id": task.pk,
            "agreement_id": agreement.pk,
            "opportunity_id": agreement.opportunity_id,
            "reason": reason,
        },
    )
    return f"Renewal task #{task.pk} of {agreement.opportunity.name} escalated: {reason}"


def register() -> None:
    register_schedule(INVOICING, run_invoicing)
    register_schedule(RENEWAL_NOTICE, run_renewal_notices)
    register_schedule(RENEWAL_ESCALATION, run_renewal_escalations)
