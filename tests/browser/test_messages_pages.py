"""The message composer in a real browser: write from a template on an opportunity, preview
(htmx), send after the confirmation, the worker delivers it to a real SMTP server, "Sent"."""

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery
from tests.playbooks.message_fixtures import make_opportunity, make_template
from tests.playbooks.smtp_sink import SmtpSink

from .conftest import axe_violations


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


def test_compose_from_a_template_send_and_see_it_sent(signed_in, member, org, person, smtp):
    make_template(org)
    deal = make_opportunity(accounts.actor_for(member, org), person)
    # What creating the deal set going (its quality rating) is done before the send, so the
    # one task below is the delivery.
    run_pending_tasks()
    page = signed_in
    page.goto(f"/records/opportunities/{deal.pk}/")
    messages = page.locator("section.messages-panel")
    expect(messages.get_by_text("No messages yet.")).to_be_visible()
    messages.get_by_label("Write from a template").select_option("hail-the-lead")
    messages.get_by_role("button", name="Write message").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Message draft")
    expect(page.get_by_label("To", exact=False).first).to_have_value("ola@acme.no")
    subject = page.get_by_label("Subject")
    expect(subject).to_have_value("Hello Ola from Piql Archive")
    subject.fill("Our meeting, Ola")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Preview")).to_be_visible()
    expect(preview).to_contain_text("Our meeting, Ola")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Send…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send this message?")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("is queued")
    row = page.locator("section.messages-panel tbody tr")
    expect(row).to_contain_text("Queued")

    assert run_pending_tasks() == 1
    page.reload()
    expect(row).to_contain_text("Sent")
    expect(row).to_contain_text("Our meeting, Ola")
    assert axe_violations(page) == []
    (received,) = smtp.accepted
    assert received.message["Subject"] == "Our meeting, Ola"
    assert received.rcpt_tos == ["ola@acme.no"]
