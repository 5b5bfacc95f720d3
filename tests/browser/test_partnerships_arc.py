"""The partnerships arc in a real browser, from lead to partner: a salesperson creates an
opportunity in Lead, the worker runs the template's playbooks (in-process, between steps), the
page shows the runs on its timeline, the tasks and the hail-the-lead draft; they send it (the
worker delivers it to a real SMTP server), mark a task done, move to Prospect with the verbal
close, fill in the agreement the playbook drafted and sign it: the opportunity is a partner."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.models import Opportunity
from salesline.playbooks import delivery
from salesline.playbooks.models import Agreement, Message, Task
from salesline.records.services import record_create
from tests.playbooks.smtp_sink import SmtpSink

from .conftest import PASSWORD, axe_violations, pick

BOOKING = "https://meet.example.org/open-partners/30min"


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


@pytest.fixture
def partner_member(partners_org, live_server):
    partners_org.booking_url = BOOKING
    partners_org.save()
    return accounts.user_create(
        email="sam@partners.test",
        actor=accounts.system_actor(partners_org),
        role="salesperson",
        password=PASSWORD,
    )


@pytest.fixture
def contact(partner_member, partners_org):
    actor = accounts.actor_for(partner_member, partners_org)
    company = record_create(actor=actor, kind="company", data={"name": "Fjordby Library"})
    record_create(
        actor=actor,
        kind="person",
        data={"name": "Ingrid Berg", "email": "ingrid@fjordby.no", "company_id": company.pk},
    )
    return company


def test_lead_to_partner_in_the_browser(page, sign_in, partner_member, contact, smtp):
    sign_in(page, partner_member)

    # --- A new opportunity in Lead. ---
    page.goto("/records/opportunities/new/")
    page.get_by_label("Name", exact=True).fill("Fjordby Library partnership")
    pick(page, "Company", "Fjordby", "Fjordby Library")
    pick(page, "Primary contact", "Ingrid", "Ingrid Berg")
    page.get_by_role("button", name="Create opportunity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fjordby Library partnership")
    opportunity = Opportunity.objects.get(name="Fjordby Library partnership")
    assert opportunity.stage.key == "lead"
    url = f"/records/opportunities/{opportunity.pk}/"

    # --- The worker runs the Lead playbooks; the page shows what they did. ---
    run_pending_tasks()
    page.reload()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Ran “SOP: Hail the lead”")
    expect(timeline).to_contain_text("Ran “SOP: Prep for first meeting with lead”")
    expect(timeline).to_contain_text('Canned message "Hail the lead"')
    tasks = page.locator("section.record-tasks")
    hail_task = Task.objects.get(opportunity=opportunity, playbook="hail-the-lead")
    prep_task = Task.objects.get(
        opportunity=opportunity, playbook="prep-first-meeting", step="prep"
    )
    expect(tasks).to_contain_text(hail_task.title)
    expect(tasks).to_contain_text("Prep for the first meeting with Fjordby Library")
    expect(tasks).to_contain_text("Meet with Fjordby Library: target a verbal close")
    messages = page.locator("section.messages-panel")
    hail = Message.objects.get(opportunity=opportunity, template="hail-the-lead")
    row = messages.locator(f'tr[data-message="{hail.pk}"]')
    expect(row).to_contain_text("Open Partners and Fjordby Library: a partnership?")
    expect(row).to_contain_text("Draft")
    expect(row).to_contain_text(".pdf")

    # --- Send the draft, with the confirmation; the worker delivers it. ---
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message draft")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_contain_text(BOOKING)
    page.get_by_role("button", name="Send…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send this message?")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("is queued")
    run_pending_tasks()
    (received,) = smtp.accepted
    assert received.rcpt_tos == ["ingrid@fjordby.no"]
    assert received.message["From"] == "partnerships@example.org"
    hail.refresh_from_db()
    assert hail.status == "sent" and received.message["Message-ID"] == hail.message_id
    page.goto(url)
    expect(page.locator(f'section.messages-panel tr[data-message="{hail.pk}"]')).to_contain_text(
        "Sent"
    )

    # --- Mark the hail task done on the record's panel. ---
    tasks.get_by_role("button", name=f"Mark done: {hail_task.title}").click()
    expect(page.locator(f"#task-{hail_task.pk}")).to_contain_text("Done")
    hail_task.refresh_from_db()
    assert hail_task.status == "done" and hail_task.completed_by_id == partner_member.pk
    assert Task.objects.get(pk=prep_task.pk).status == "open"

    # --- Verbal close: move to Prospect with the tick. ---
    page.goto(url)
    page.get_by_role("link", name="Move to Prospect…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Move Fjordby Library partnership to Prospect"
    )
    page.get_by_label("Verbal close: yes").check()
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("heading", level=2, name="Stage: Prospect")).to_be_visible()
    run_pending_tasks()
    page.reload()

    # --- The agreement the playbook drafted: fill it in and sign it. ---
    panel = page.locator("section.agreement-panel")
    expect(panel.locator(".agreement-status")).to_have_text("Draft")
    expect(page.locator("ol.timeline")).to_contain_text("Ran “SOP: Send draft contract”")
    # Partner is reached only by signing: the move says so.
    page.get_by_role("link", name="Move to another stage…").click()
    page.get_by_label("Partner", exact=True).check()
    page.get_by_role("button", name="Move").click()
    expect(page.locator(".gate-page")).to_contain_text(
        "The service agreement must be signed before the opportunity becomes Partner"
    )
    page.get_by_role("link", name="Back to the opportunity").click()
    expect(page.get_by_role("heading", level=2, name="Stage: Prospect")).to_be_visible()

    today = timezone.localdate()
    start = (today.replace(day=1) + dt.timedelta(days=40)).replace(day=10)
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    panel.get_by_text("Edit the terms").click()
    panel.get_by_label("Start date", exact=True).fill(start.isoformat())
    panel.get_by_label("End date", exact=True).fill(end.isoformat())
    panel.get_by_label("Total value", exact=True).fill("12000")
    panel.get_by_label("Currency", exact=True).fill("EUR")
    panel.get_by_role("button", name="Save the terms").click()
    expect(page.get_by_role("status")).to_contain_text("Agreement saved.")
    expect(panel).to_contain_text("12,000")
    panel = page.locator("section.agreement-panel")
    panel.get_by_role("link", name="Sign…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign the agreement")
    expect(page.locator(".sign-consequence")).to_have_text(
        "Signing moves Fjordby Library partnership to Partner."
    )
    page.get_by_role("button", name="Sign and move to Partner").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Agreement signed; “Fjordby Library partnership” moved to Partner."
    )
    expect(page.get_by_role("heading", level=2, name="Stage: Partner")).to_be_visible()
    expect(page.locator("section.agreement-panel .agreement-status")).to_have_text("Signed")
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "partner"
    agreement = Agreement.objects.get(opportunity=opportunity)
    assert (agreement.status, agreement.signed_on) == ("signed", today)
    assert agreement.start_date == start and str(agreement.value) == "12000.00"

    # --- The launch playbook runs; the page is accessible at the end. ---
    run_pending_tasks()
    page.reload()
    expect(page.locator("ol.timeline")).to_contain_text("Ran “SOP: Launch meeting”")
    tasks = page.locator("section.record-tasks")
    expect(tasks).to_contain_text("Hold the launch meeting with Fjordby Library")
    expect(tasks).not_to_contain_text("Satisfaction check-in")  # not before the meeting is held

    # --- The launch meeting held: its task done, the first check-in follows. ---
    done = "Mark done: Hold the launch meeting with Fjordby Library"
    tasks.get_by_role("button", name=done).click()
    expect(tasks.get_by_role("button", name=done)).to_have_count(0)
    run_pending_tasks()
    page.reload()
    expect(page.locator("ol.timeline")).to_contain_text("Ran “SOP: After the launch meeting”")
    expect(tasks).to_contain_text("Satisfaction check-in after the launch with Fjordby Library")
    assert axe_violations(page) == []
