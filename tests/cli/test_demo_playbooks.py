"""The demo shows playbooks at work: what the real engine left after `init --demo`."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline import demo
from salesline.accounts.models import Membership, Organisation
from salesline.playbooks.models import (
    Agreement,
    Document,
    Invoice,
    Message,
    PlaybookRun,
    StepRun,
    Task,
)


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """One load for the module (it takes seconds), in a transaction rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo.load_demo()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def partnerships(loaded, db):
    return Organisation.objects.get(name="2i2c Partnerships")


def test_the_organisations_have_their_settings(loaded, db):
    demo_organisations = Organisation.objects.filter(
        name__in=["Piql Archive", "2i2c Partnerships", "CoTech Network"]
    )
    countries = dict(demo_organisations.values_list("name", "country"))
    assert countries == {"Piql Archive": "NO", "2i2c Partnerships": "US", "CoTech Network": "GB"}
    for organisation in demo_organisations:
        assert organisation.booking_url.startswith("https://")
        assert organisation.from_email.endswith(".salesline.test")


def test_the_playbooks_ran_through_the_worker_and_every_step_was_done(partnerships):
    runs = set(
        PlaybookRun.objects.filter(organisation=partnerships).values_list("playbook", flat=True)
    )
    assert runs >= {
        "hail-the-lead",
        "prep-first-meeting",
        "send-draft-contract",
        "negotiate-agreement",
        "launch",
        "after-launch",
        "satisfaction-check-in",
    }
    assert set(StepRun.objects.values_list("outcome", flat=True)) == {"done"}
    piql = Organisation.objects.get(name="Piql Archive")
    assert {"qualify", "propose", "close-date-reached"} <= set(
        PlaybookRun.objects.filter(organisation=piql).values_list("playbook", flat=True)
    )
    # Every job the load queued ran; none failed or waits for a retry.
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_messages_sent_and_drafted_from_the_shared_address(partnerships):
    messages = Message.objects.filter(organisation=partnerships)
    sent = messages.filter(status="sent")
    assert {m.template for m in sent} == {
        "hail-the-lead",
        "running-notes-invitation",
        "service-agreement-review",
    }
    assert all(m.sent_at and not m.error for m in sent)
    hail = sent.filter(template="hail-the-lead").order_by("id").first()
    assert [d.template for d in hail.attachments.all()] == ["service-description"]
    assert partnerships.booking_url in hail.body
    assert messages.filter(status="draft").count() >= 5
    assert set(messages.values_list("from_email", flat=True)) == {partnerships.from_email}


def test_documents_and_a_signed_agreement_with_its_invoices(partnerships):
    templates = set(
        Document.objects.filter(organisation=partnerships).values_list("template", flat=True)
    )
    assert templates >= {
        "service-description",
        "running-notes",
        "service-agreement",
        "statement-of-work",
        "invoice",
    }
    signed = Agreement.objects.get(
        organisation=partnerships, status="signed", billing_frequency="monthly"
    )
    today = timezone.localdate()
    assert signed.signed_on == today
    assert signed.start_date == today - timedelta(days=demo.START_DAYS_AGO)
    assert signed.opportunity.stage.key == "partner"
    invoices = Invoice.objects.filter(agreement=signed).order_by("issue_date")
    assert invoices.count() == 2  # months 0 and 1 of the backdated term, issued by the schedule
    assert all(invoice.document_id for invoice in invoices)
    assert Agreement.objects.filter(organisation=partnerships, status="shared").count() == 1
    quote = Document.objects.get(organisation__template="business-development", template="quote")
    assert quote.number


def test_tasks_in_queues_done_on_time_late_and_overdue(partnerships):
    today = timezone.localdate()
    tasks = Task.objects.filter(organisation=partnerships)
    queues = set(tasks.exclude(queue="").values_list("queue", flat=True))
    assert queues >= {"customer_service", "project_leader", "sales_coordinator"}
    assert tasks.filter(queue="sales_coordinator", assignee=None, status="open").exists()
    assert tasks.filter(queue="sales_coordinator", status="open").exclude(assignee=None).exists()
    done = tasks.filter(status="done", playbook__gt="").exclude(playbook="agreements")
    assert any(t.completed_at.date() <= t.due_date for t in done)  # on time
    assert any(t.completed_at.date() > t.due_date for t in done)  # late
    assert tasks.filter(status="open", due_date__lt=today).exists()  # overdue


def test_every_member_has_open_tasks_on_my_tasks_and_the_home_page(loaded, db):
    for membership in Membership.objects.select_related("user", "organisation"):
        assert Task.objects.filter(
            organisation=membership.organisation, assignee=membership.user, status="open"
        ).exists(), membership
    client = Client()
    client.post("/login/", {"username": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD})
    home = client.get("/")
    assert home.status_code == 200
    task = Task.objects.filter(
        organisation__slug="piql-archive", assignee__email=demo.DEMO_EMAIL, status="open"
    ).first()
    assert task.title in home.content.decode()
    assert client.get("/tasks/").status_code == 200


def test_the_partnership_page_shows_the_playbooks_work(loaded, db):
    client = Client()
    client.post("/login/", {"username": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD})
    partner = Agreement.objects.get(status="signed", billing_frequency="monthly").opportunity
    client.post("/organisation/", {"organisation": partner.organisation_id})
    page = client.get(reverse("web:record-detail", args=["opportunities", partner.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    invoice = Invoice.objects.filter(agreement__opportunity=partner).first()
    for text in ("SOP: Launch meeting", invoice.number, "Statement of work"):
        assert text in html, text


def test_the_launch_meeting_was_held_and_the_first_check_in_follows(partnerships):
    partner = Agreement.objects.get(
        organisation=partnerships, status="signed", billing_frequency="monthly"
    ).opportunity
    meeting = Task.objects.get(opportunity=partner, step="launch-meeting")
    assert meeting.status == "done" and meeting.completed_by_id is not None
    check_in = Task.objects.get(opportunity=partner, step="first-check-in")
    assert (check_in.playbook, check_in.status) == ("after-launch", "open")
    assert check_in.assignee_id == partner.owner_id
