"""Invoicing and the renewal tickler, run as the workers run them (schedules_run), across month
ends and a leap year with time-machine; each occurrence once, also with two workers racing."""

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from salesline.core.models import AuditEvent, DomainEvent
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_schedules, agreement_services, schedules
from salesline.playbooks.models import Document, Invoice, Message, MessageTemplate, Task
from salesline.records.services import record_create

# The services the schedules call (documents, tasks, messages) are built alongside.
pytest.importorskip("salesline.playbooks.document_services")
pytest.importorskip("salesline.playbooks.task_services")

from tests.subprocesses import ROOT, subprocess_env  # noqa: E402

SALESLINE = str(Path(sys.executable).parent / "salesline")


def at(day: str):
    """Travel to noon of `day` (UTC, the test settings' zone) for the block."""
    return time_machine.travel(f"{day}T12:00:00+00:00", tick=False)


def signed_agreement(actor, name="City library hub", **terms):
    opportunity = opportunity_create(actor=actor, data={"name": name})
    opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="prospect", checks=["verbal_close_yes"]
    )
    agreement = agreement_services.agreement_create(
        actor=actor,
        opportunity_id=opportunity.pk,
        data={
            "start_date": "2028-01-31",
            "end_date": "2029-01-30",
            "value": "1000.00",
            "currency": "EUR",
            "billing_frequency": "monthly",
            "renewal_notice_days": 30,
            **terms,
        },
    )
    return agreement_services.agreement_sign(
        actor=actor, agreement_id=agreement.pk, signed_on=date(2028, 1, 20)
    )


def invoices(agreement):
    return list(Invoice.objects.filter(agreement=agreement).order_by("period"))


def test_invoices_once_per_period_across_month_ends_and_a_leap_year(partners_actor):
    agreement = signed_agreement(partners_actor)

    with at("2028-01-30"):
        assert schedules.schedules_run()["invoicing"] == 0
    with at("2028-01-31"):
        assert schedules.schedules_run()["invoicing"] == 1
        assert schedules.schedules_run()["invoicing"] == 0  # the same day again: nothing
    (first,) = invoices(agreement)
    assert (first.issue_date, first.amount, first.currency) == (
        date(2028, 1, 31),
        Decimal("83.33"),
        "EUR",
    )
    assert first.document is not None and first.document.number == first.number
    assert first.document.format == "pdf" and first.document.agreement_id == agreement.pk

    with at("2028-02-29"):  # the leap day: the 31st's month has no 31st, nor a 30th
        assert schedules.schedules_run()["invoicing"] == 1
    assert [i.issue_date for i in invoices(agreement)] == [date(2028, 1, 31), date(2028, 2, 29)]

    # The workers were down for two months: both missed periods, in order, then nothing more.
    with at("2028-05-15"):
        assert schedules.schedules_run()["invoicing"] == 2
        assert schedules.schedules_run()["invoicing"] == 0
    issued = invoices(agreement)
    assert [i.issue_date for i in issued] == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]
    numbers = [i.number for i in issued]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4

    with at("2029-01-30"):  # the end date starts no period
        assert schedules.schedules_run()["invoicing"] == 8
    issued = invoices(agreement)
    assert len(issued) == 12
    assert issued[-1].issue_date == date(2028, 12, 31)
    assert sum(i.amount for i in issued) == Decimal("1000.00")
    assert issued[-1].amount == Decimal("83.37")  # the rounding remainder on the last

    tasks = Task.objects.filter(opportunity_id=agreement.opportunity_id, queue="customer_service")
    assert tasks.count() == 12
    assert tasks.get(due_date=date(2028, 2, 29)).title == (
        f"Send invoice {issued[1].number} to City library hub"
    )
    assert DomainEvent.objects.filter(kind="invoice_issued").count() == 12


def test_an_agreement_that_fails_stops_neither_the_others_nor_its_own_retry(
    partners_actor, monkeypatch
):
    good = signed_agreement(partners_actor, name="Good hub")
    bad = signed_agreement(partners_actor, name="Bad hub")
    issue = agreement_schedules.issue_invoice

    def broken_for_bad(agreement, period):
        if agreement.pk == bad.pk:
            raise RuntimeError("the invoice template is broken")
        return issue(agreement, period)

    monkeypatch.setattr(agreement_schedules, "issue_invoice", broken_for_bad)
    with at("2028-02-29"):
        report = schedules.schedules_run_report()
    assert report.ran["invoicing"] == 2
    assert len(invoices(good)) == 2 and invoices(bad) == []
    assert [f.object_id for f in report.failures] == [str(bad.pk)]  # one failure: Feb waits
    failure = AuditEvent.objects.get(action="schedule_failed")
    assert "the invoice template is broken" in failure.changes["error"]
    assert not Document.objects.filter(agreement=bad).exists()

    monkeypatch.setattr(agreement_schedules, "issue_invoice", issue)
    with at("2028-03-01"):
        assert schedules.schedules_run()["invoicing"] == 2
    assert [i.issue_date for i in invoices(bad)] == [date(2028, 1, 31), date(2028, 2, 29)]


def test_renewal_notice_at_the_notice_date_and_escalation_at_the_end(partners_actor):
    # The template's renewal-notice message needs a contact with an e-mail address: without
    # one the reminder still comes, saying so.
    agreement = signed_agreement(partners_actor, end_date="2028-12-30")  # 30 days' notice
    owner = partners_actor.user

    with at("2028-11-29"):
        assert schedules.schedules_run()["renewal_notice"] == 0
    with at("2028-11-30"):
        assert schedules.schedules_run()["renewal_notice"] == 1
        assert schedules.schedules_run()["renewal_notice"] == 0
    task = Task.objects.get(step=f"renewal-{agreement.pk}")
    assert (task.assignee_id, task.queue, task.status, task.due_date) == (
        owner.pk,
        "",
        "open",
        date(2028, 12, 30),
    )
    assert task.title == "Renew the agreement with City library hub (ends 2028-12-30)"
    notice = Document.objects.get(template="renewal-notice")
    assert notice.agreement_id == agreement.pk
    assert not Message.objects.filter(template="renewal-notice").exists()
    assert "No message was drafted: The record has no contact with an e-mail address" in (
        task.instructions
    )

    with at("2028-12-29"):
        assert schedules.schedules_run()["renewal_escalation"] == 0
    with at("2028-12-30"):
        assert schedules.schedules_run()["renewal_escalation"] == 1
        assert schedules.schedules_run()["renewal_escalation"] == 0
    task.refresh_from_db()
    assert (task.queue, task.assignee_id, task.status) == ("sales_support_manager", None, "open")
    escalation = AuditEvent.objects.get(action="escalate", object_id=str(task.pk))
    assert "still open" in escalation.changes["reason"]
    # The daily review sees it as escalated, with the reason.
    assert task.escalated_at is not None and "still open" in task.escalation_reason


def test_a_renewal_done_in_time_is_not_escalated(partners_actor):
    from salesline.playbooks.task_services import task_update

    agreement = signed_agreement(partners_actor, end_date="2028-12-30")
    with at("2028-12-01"):
        schedules.schedules_run()
    task = Task.objects.get(step=f"renewal-{agreement.pk}")
    task_update(actor=partners_actor, task_id=task.pk, data={"status": "done"})
    with at("2029-01-05"):
        assert schedules.schedules_run()["renewal_escalation"] == 0
    task.refresh_from_db()
    assert task.queue == ""


def test_the_renewal_notice_is_drafted_with_the_notice_attached(partners_actor):
    # The partnerships template ships the renewal-notice message.
    assert MessageTemplate.objects.filter(key="renewal-notice").exists()
    person = record_create(
        actor=partners_actor, kind="person", data={"name": "Ada Byron", "email": "ada@lib.test"}
    )
    agreement = signed_agreement(partners_actor, end_date="2028-12-30")
    Opportunity.objects.filter(pk=agreement.opportunity_id).update(primary_contact=person)
    with at("2028-11-30"):
        assert schedules.schedules_run()["renewal_notice"] == 1
    message = Message.objects.get(template="renewal-notice")
    assert (message.status, message.to) == ("draft", ["ada@lib.test"])
    assert message.subject.startswith("Your agreement with Open Partners ends on")
    assert "renewal-notice" in [d.template for d in message.attachments.all()]
    assert message.opportunity_id == agreement.opportunity_id


def test_without_the_message_template_only_the_notice_and_the_task(partners_actor):
    MessageTemplate.objects.filter(key="renewal-notice").delete()
    agreement = signed_agreement(partners_actor, end_date="2028-12-30")
    with at("2028-11-30"):
        assert schedules.schedules_run()["renewal_notice"] == 1
    assert not Message.objects.filter(template="renewal-notice").exists()
    assert Document.objects.filter(template="renewal-notice", agreement=agreement).count() == 1
    assert Task.objects.filter(step=f"renewal-{agreement.pk}").count() == 1


def test_two_workers_racing_issue_each_invoice_once(transactional_db, partners_actor):
    agreements = [signed_agreement(partners_actor, name=f"Hub {n}") for n in range(3)]
    MessageTemplate.objects.all().delete()  # quicker: no drafts to attempt
    env = subprocess_env()
    runs = [
        subprocess.Popen(  # noqa: S603 - our own console script
            [SALESLINE, "schedules", "run", "--today", "2028-04-30"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    for agreement in agreements:
        assert [i.issue_date for i in invoices(agreement)] == [
            date(2028, 1, 31),
            date(2028, 2, 29),
            date(2028, 3, 31),
            date(2028, 4, 30),
        ]
    assert Invoice.objects.count() == 12
    assert Document.objects.filter(template="invoice").count() == 12
    printed = [
        line for out, _ in outputs for line in out.splitlines() if line.startswith("Invoice")
    ]
    assert len(printed) == 12  # each printed by the one worker that issued it
