"""The partnerships arc end to end, from lead to partner, through the API only: the template's
playbooks run by the worker, the hail-the-lead draft delivered to a real SMTP server on loopback,
the agreement drafted by the playbook and signed (the executed close), the launch task in the
project leaders' queue, done, starting the first satisfaction check-in, and the first invoice issued by `salesline schedules run` on the start
date. Another organisation's token sees none of it."""

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from salesline import cli
from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery
from tests.playbooks.smtp_sink import SmtpSink

BOOKING = "https://meet.example.org/open-partners/30min"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


@pytest.fixture
def arc_org(partners_org):
    partners_org.booking_url = BOOKING
    partners_org.save()
    return partners_org


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if response.content else None


def items(response):
    return ok(response)["items"]


def docx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("word/document.xml").decode()
    return re.sub(r"<[^>]+>", "", xml)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def test_lead_to_partner_through_the_api(arc_org, partners_actor, partners_api, other_api, smtp):
    api = partners_api
    owned: list[str] = []  # every object's path, for the other organisation's token at the end

    # --- Lead: a person and an opportunity; the worker runs the Lead playbooks. ---
    company = ok(api.post("/companies", {"name": "Fjordby Library"}), 201)
    person = ok(
        api.post(
            "/people",
            {"name": "Ingrid Berg", "email": "ingrid@fjordby.no", "company_id": company["id"]},
        ),
        201,
    )
    opportunity = ok(
        api.post(
            "/opportunities",
            {
                "name": "Fjordby Library partnership",
                "company_id": company["id"],
                "primary_contact_id": person["id"],
            },
        ),
        201,
    )
    opp = opportunity["id"]
    assert opportunity["stage"] == "lead"
    owned += [f"/companies/{company['id']}", f"/people/{person['id']}", f"/opportunities/{opp}"]

    run_pending_tasks()

    tasks = items(api.get(f"/tasks?opportunity_id={opp}"))
    steps = {(t["playbook"], t["step"]): t for t in tasks}
    assert {("hail-the-lead", "send-hail"), ("prep-first-meeting", "prep")} <= set(steps)
    assert ("prep-first-meeting", "meet") in steps
    assert all(t["status"] == "open" and t["opportunity_id"] == opp for t in tasks)
    assert all(t["assignee_id"] == partners_actor.user.pk for t in tasks)
    hail_task = steps[("hail-the-lead", "send-hail")]
    assert "Ingrid Berg" in hail_task["title"]
    owned += [f"/tasks/{t['id']}" for t in tasks]

    drafts = items(api.get(f"/messages?opportunity_id={opp}&status=draft"))
    (hail,) = [m for m in drafts if m["template"] == "hail-the-lead"]
    assert hail["to"] == ["ingrid@fjordby.no"]
    assert hail["from_email"] == "partnerships@example.org"
    assert hail["subject"] == "Open Partners and Fjordby Library: a partnership?"
    assert BOOKING in hail["body"]
    (attachment_name,) = hail["attachments"]
    assert attachment_name == "service-description-fjordby-library-partnership-v1.pdf"
    assert (hail["sent_at"], hail["error"]) == (None, "")
    owned.append(f"/messages/{hail['id']}")

    # The template previews with the booking link.
    (template,) = [t for t in items(api.get("/message-templates")) if t["key"] == "hail-the-lead"]
    preview = ok(api.post(f"/message-templates/{template['id']}/preview", {"opportunity_id": opp}))
    assert preview["subject"] == hail["subject"]
    assert BOOKING in preview["body"] and "Dear Ingrid," in preview["body"]
    owned.append(f"/message-templates/{template['id']}")

    # --- Send it: 202, the worker delivers it to the SMTP server on loopback. ---
    queued = ok(api.post(f"/messages/{hail['id']}/send"), 202)
    assert queued["status"] == "queued"
    run_pending_tasks()
    (received,) = smtp.accepted
    mail = received.message
    sent = ok(api.get(f"/messages/{hail['id']}"))
    assert sent["status"] == "sent" and sent["sent_at"] is not None and sent["error"] == ""
    assert received.rcpt_tos == ["ingrid@fjordby.no"]
    assert mail["From"] == "partnerships@example.org"
    assert mail["To"] == "ingrid@fjordby.no"
    assert mail["Subject"] == hail["subject"]
    assert mail["Message-ID"] == sent["message_id"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert BOOKING in body
    (mailed,) = mail.iter_attachments()
    assert mailed.get_filename() == attachment_name
    assert mailed.get_content_type() == "application/pdf"
    assert "Open Partners" in pdf_text(mailed.get_content())
    assert items(api.get(f"/messages?opportunity_id={opp}&status=sent"))[0]["id"] == hail["id"]

    # --- The hail task is done. ---
    done = ok(api.patch(f"/tasks/{hail_task['id']}", {"status": "done"}))
    assert done["status"] == "done" and done["completed_at"] is not None

    # --- Verbal close: Prospect; the worker drafts the agreement and its documents. ---
    refused = api.post(f"/opportunities/{opp}/move", {"stage": "prospect"})
    assert refused.status_code == 422
    assert "verbal_close_yes" in refused.content.decode()
    moved = ok(
        api.post(
            f"/opportunities/{opp}/move", {"stage": "prospect", "checks": ["verbal_close_yes"]}
        )
    )
    assert moved["stage"] == "prospect"
    run_pending_tasks()

    (agreement,) = items(api.get(f"/agreements?opportunity_id={opp}"))
    assert (agreement["status"], agreement["billing_frequency"]) == ("draft", "monthly")
    assert agreement["renewal_notice_days"] == 60
    owned.append(f"/agreements/{agreement['id']}")

    documents = items(api.get(f"/documents?opportunity_id={opp}"))
    by_template = {d["template"]: d for d in documents}
    assert {"running-notes", "service-agreement", "statement-of-work"} <= set(by_template)
    for document in documents:
        owned += [f"/documents/{document['id']}", f"/documents/{document['id']}/file"]
        download = api.get(f"/documents/{document['id']}/file")
        assert download.status_code == 200
        content = b"".join(download.streaming_content) if download.streaming else download.content
        if document["format"] == "docx":
            assert download["Content-Type"].startswith(DOCX)
            assert "Fjordby Library" in docx_text(content), document["template"]
        else:
            assert download["Content-Type"].startswith("application/pdf")
            assert "Fjordby Library" in pdf_text(content), document["template"]
    assert by_template["service-agreement"]["format"] in {"docx", "pdf"}

    prospect_tasks = items(api.get(f"/tasks?opportunity_id={opp}&status=open"))
    assert {"share", "negotiate"} <= {t["step"] for t in prospect_tasks}

    # --- Partner is only reached by signing. ---
    unsigned = api.post(f"/opportunities/{opp}/move", {"stage": "partner"})
    assert unsigned.status_code == 422
    assert any(
        "service agreement must be signed before the opportunity becomes Partner" in d["msg"]
        for d in unsigned.json()["detail"]
    ), unsigned.json()
    assert ok(api.get(f"/opportunities/{opp}"))["stage"] == "prospect"

    today = timezone.localdate()
    start = (today.replace(day=1) + dt.timedelta(days=40)).replace(day=10)  # a month or two ahead
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    terms = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "value": "12000.00",
        "currency": "EUR",
    }
    edited = ok(api.patch(f"/agreements/{agreement['id']}", terms))
    assert {k: edited[k] for k in terms} == terms

    signed = ok(api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": today.isoformat()}))
    assert (signed["status"], signed["signed_on"]) == ("signed", today.isoformat())
    partner = ok(api.get(f"/opportunities/{opp}"))
    assert (partner["stage"], partner["status"]) == ("partner", "won")
    again = api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": today.isoformat()})
    assert again.status_code == 409

    # --- The launch playbook: a task in the project leaders' queue. ---
    run_pending_tasks()
    queue = items(api.get("/tasks?queue=project_leader"))
    (launch,) = [t for t in queue if t["opportunity_id"] == opp]
    assert (launch["playbook"], launch["step"], launch["status"]) == (
        "launch",
        "launch-meeting",
        "open",
    )
    assert launch["assignee_id"] is None and launch["queue"] == "project_leader"
    owned.append(f"/tasks/{launch['id']}")
    assert items(api.get(f"/invoices?agreement_id={agreement['id']}")) == []

    # --- The launch meeting held: its task done, the first satisfaction check-in follows. ---
    def check_ins():
        return [
            t
            for t in items(api.get(f"/tasks?opportunity_id={opp}"))
            if t["step"] == "first-check-in"
        ]

    assert check_ins() == []  # not at signing: only once the meeting is held
    done = ok(api.patch(f"/tasks/{launch['id']}", {"status": "done"}))
    assert done["status"] == "done" and done["completed_at"]
    run_pending_tasks()
    (check_in,) = check_ins()
    assert (check_in["playbook"], check_in["status"]) == ("after-launch", "open")
    assert check_in["assignee_id"] == partners_actor.user.pk  # the owner
    assert check_in["due_date"] > today.isoformat()
    owned.append(f"/tasks/{check_in['id']}")

    # --- Invoicing: `salesline schedules run` on the start date issues the first invoice. ---
    with time_machine.travel(dt.datetime.combine(start, dt.time(12), dt.UTC), tick=False):
        assert cli.main(["schedules", "run"]) == 0
        run_pending_tasks()
    (invoice,) = items(api.get(f"/invoices?agreement_id={agreement['id']}"))
    assert invoice["number"]
    assert invoice["issue_date"] == start.isoformat()
    assert Decimal(invoice["amount"]) == Decimal("1000.00")
    assert invoice["currency"] == "EUR"
    assert invoice["document_id"] is not None
    invoice_file = api.get(f"/documents/{invoice['document_id']}/file")
    assert invoice_file.status_code == 200
    assert invoice_file["Content-Type"].startswith("application/pdf")
    content = (
        b"".join(invoice_file.streaming_content) if invoice_file.streaming else invoice_file.content
    )
    assert invoice["number"] in pdf_text(content)
    owned += [f"/documents/{invoice['document_id']}", f"/documents/{invoice['document_id']}/file"]
    (send_invoice,) = [
        t for t in items(api.get("/tasks?queue=customer_service")) if t["opportunity_id"] == opp
    ]
    assert send_invoice["title"] == f"Send invoice {invoice['number']} to {opportunity['name']}"
    owned.append(f"/tasks/{send_invoice['id']}")

    # --- Another organisation's token: 404 on every object, empty lists. ---
    for path in owned:
        assert other_api.get(path).status_code == 404, path
    assert other_api.post(f"/messages/{hail['id']}/send").status_code == 404
    assert other_api.patch(f"/tasks/{launch['id']}", {"status": "done"}).status_code == 404
    assert other_api.patch(f"/agreements/{agreement['id']}", {"value": "1"}).status_code == 404
    assert (
        other_api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": "2030-01-01"})
    ).status_code == 404
    assert (
        other_api.post(f"/message-templates/{template['id']}/preview", {"opportunity_id": opp})
    ).status_code == 404
    assert other_api.post(f"/opportunities/{opp}/move", {"stage": "lost"}).status_code == 404
    for listing in (
        f"/tasks?opportunity_id={opp}",
        f"/messages?opportunity_id={opp}",
        f"/documents?opportunity_id={opp}",
        f"/agreements?opportunity_id={opp}",
        f"/invoices?agreement_id={agreement['id']}",
    ):
        response = other_api.get(listing)
        assert response.status_code in {200, 404}, listing
        if response.status_code == 200:
            assert response.json()["items"] == [], listing
