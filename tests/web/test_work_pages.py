"""The queues page, a task's workflow, checklist, reassign and escalate, the defect log, the
daily review and the home page's work panel."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.playbooks.defects import defect_create
from salesline.playbooks.models import Defect, Task
from salesline.playbooks.task_services import task_claim, task_create


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def helper(org):
    return accounts.user_create(
        email="cara@piql.test", actor=accounts.system_actor(org), role="customer_service"
    )


def test_queues_page_lists_every_queue_and_links_to_it(browser, actor):
    task_create(
        actor=actor,
        title="Late order",
        queue="customer_service",
        due_date=timezone.localdate() - dt.timedelta(days=2),
    )
    page = browser.get("/queues/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer service queue" in html and "1 overdue" in html
    listed = browser.get("/tasks/queue/customer_service/?show=overdue")
    assert listed.status_code == 200 and "Late order" in listed.content.decode()
    mine = browser.get(f"/tasks/queue/user:{actor.user.pk}/")
    assert mine.status_code == 200
    assert browser.get("/tasks/queue/user:999999/").status_code == 404


def test_queues_page_empty_state(browser):
    assert "No open work in any queue" in browser.get("/queues/").content.decode()


def test_a_work_item_page_shows_workflow_and_checklist_and_saves_ticks(browser, actor):
    item = task_create(actor=actor, title="Order 9", work_type="order")
    page = browser.get(f"/tasks/{item.pk}/").content.decode()
    assert 'aria-current="step">received' in page
    assert "Credit checked" in page and "Next step" in page
    browser.post(f"/tasks/{item.pk}/advance/")
    item.refresh_from_db()
    assert item.workflow_step == "confirmed"
    browser.post(f"/tasks/{item.pk}/checklist/", {"done": ["Credit checked"]})
    item.refresh_from_db()
    assert [e["done"] for e in item.checklist if e["item"] == "Credit checked"] == [True]
    assert sum(e["done"] for e in item.checklist) == 1


def test_new_work_item_form(browser, actor):
    form = browser.get("/tasks/new/?work_type=order")
    assert form.status_code == 200 and "Work type" in form.content.decode()
    made = browser.post(
        "/tasks/new/",
        {"title": "RFQ from Acme", "work_type": "rfq", "assignee_id": "", "queue": ""},
    )
    assert made.status_code == 302
    rfq = Task.objects.get(title="RFQ from Acme")
    assert (rfq.work_type, rfq.location) == ("rfq", "inside_sales")


def test_reassign_from_someone_asks_first(browser, actor, helper):
    task = task_create(actor=actor, title="Theirs", assignee_id=helper.pk)
    asked = browser.post(f"/tasks/{task.pk}/reassign/", {"to": "inside_sales", "reason": "Busy"})
    assert asked.status_code == 200
    assert "Yes, reassign it" in asked.content.decode()
    task.refresh_from_db()
    assert task.assignee_id == helper.pk  # nothing changed yet
    done = browser.post(
        f"/tasks/{task.pk}/reassign/", {"to": "inside_sales", "reason": "Busy", "confirmed": "1"}
    )
    assert done.status_code == 302
    task.refresh_from_db()
    assert (task.assignee_id, task.location) == (None, "inside_sales")
    # Nobody has it now: giving it to someone needs no confirmation.
    browser.post(f"/tasks/{task.pk}/reassign/", {"to": f"user:{helper.pk}"})
    task.refresh_from_db()
    assert task.assignee_id == helper.pk


def test_escalate_needs_a_reason_and_confirms_taking_it(browser, actor):
    task = task_create(actor=actor, title="Complex", queue="inside_sales")
    refused = browser.post(f"/tasks/{task.pk}/escalate/", {"queue": "project_leader"})
    assert refused.status_code == 422
    assert "Reason is required" in refused.content.decode()
    ok = browser.post(
        f"/tasks/{task.pk}/escalate/", {"queue": "project_leader", "reason": "Special project"}
    )
    assert ok.status_code == 302
    task.refresh_from_db()
    assert task.queue == "project_leader"
    assert AuditEvent.objects.filter(object_type="task", action="escalate").exists()
    page = browser.get(f"/tasks/{task.pk}/").content.decode()
    assert "Escalated" in page and "Special project" in page


def test_defect_log_form_and_list(browser, actor):
    assert "No defects logged" in browser.get("/defects/").content.decode()
    refused = browser.post("/defects/new/", {"description": ""})
    assert refused.status_code == 422
    assert "Description is required" in refused.content.decode()
    made = browser.post(
        "/defects/new/",
        {"description": "Wrong VAT rate", "cause": "Old price list", "queue": "customer_service"},
    )
    assert made.status_code == 302
    assert Defect.objects.get().cause == "Old price list"
    assert "Wrong VAT rate" in browser.get("/defects/").content.decode()


def test_review_page(browser, actor, org):
    Task.objects.create(
        organisation=org,
        title="Missed one",
        assignee=actor.user,
        due_date=dt.date(2026, 11, 12),
    )
    page = browser.get("/review/?date=2026-11-16")
    assert page.status_code == 200
    html = page.content.decode()
    assert "0.0%" in html and "Missed one" in html and "overdue by 4 days" in html.lower()
    bad = browser.get("/review/?date=someday")
    assert bad.status_code == 422 and "must be a date" in bad.content.decode()


def test_home_shows_the_teams_on_time_and_my_queues(browser, actor, org):
    today = timezone.localdate()
    Task.objects.create(
        organisation=org,
        title="On time",
        assignee=actor.user,
        due_date=today - dt.timedelta(days=2),
        status="done",
        completed_at=timezone.now() - dt.timedelta(days=3),
    )
    task_create(actor=actor, title="Open one", due_date=today - dt.timedelta(days=1))
    html = browser.get("/").content.decode()
    assert "<strong>50.0%</strong>" in html
    assert "Salesperson queue" in html and "Yours" in html


def test_edit_a_work_items_promise(browser, actor):
    item = task_create(actor=actor, title="Order 3", work_type="order", assignee_id=actor.user.pk)
    form = browser.get(f"/tasks/{item.pk}/edit/").content.decode()
    assert "Promised to the customer for" in form
    saved = browser.post(
        f"/tasks/{item.pk}/edit/",
        {
            "title": "Order 3",
            "assignee_id": str(actor.user.pk),
            "queue": "customer_service",
            "promised_date": "2026-12-24",
            "tolerance_days": "2",
            "version": str(item.version),
        },
    )
    assert saved.status_code == 302
    item.refresh_from_db()
    assert (item.promised_date, item.tolerance_days) == (dt.date(2026, 12, 24), 2)
    assert item.late_after == dt.date(2026, 12, 26)


def test_escalating_a_held_task_without_a_reason_is_refused_before_asking(browser, actor):
    task = task_create(actor=actor, title="Mine", queue="inside_sales")
    task_claim(actor=actor, task_id=task.pk)
    refused = browser.post(f"/tasks/{task.pk}/escalate/", {"queue": "project_leader"})
    assert refused.status_code == 422 and "Yes, escalate it" not in refused.content.decode()
    closed = task_create(actor=actor, title="Order", work_type="order", assignee_id=actor.user.pk)
    browser.post(f"/tasks/{closed.pk}/status/", {"status": "cancelled"})
    moved = browser.post(f"/tasks/{closed.pk}/advance/", follow=True)
    assert "only an open work item moves on" in moved.content.decode()


def test_edit_a_defect_add_its_fix_and_mark_it_fixed(browser, actor):
    defect = defect_create(
        actor=actor, data={"description": "Wrong VAT rate", "found_on": "2026-11-02"}
    )
    log = browser.get("/defects/").content.decode()
    assert "<strong>Open</strong>" in log and f'href="/defects/{defect.pk}/"' in log
    form = browser.get(f"/defects/{defect.pk}/").content.decode()
    assert "Edit defect found 2 Nov 2026" in form and "Wrong VAT rate" in form
    assert 'type="date" name="found_on" value="2026-11-02"' in form  # a date input reads it
    saved = browser.post(
        f"/defects/{defect.pk}/",
        {
            "found_on": "2026-11-02",
            "description": "Wrong VAT rate",
            "cause": "Old price list",
            "fix": "Price list replaced",
            "fixed_on": "2026-11-04",
            "version": "1",
        },
    )
    assert saved.status_code == 302
    defect.refresh_from_db()
    assert (defect.cause, defect.fixed_on, defect.version) == (
        "Old price list",
        dt.date(2026, 11, 4),
        2,
    )
    assert "Fixed <time" in browser.get("/defects/?state=fixed").content.decode()
    assert "No open defects" in browser.get("/defects/?state=open").content.decode()
    # A form from before that save is refused, and says why.
    stale = browser.post(
        f"/defects/{defect.pk}/",
        {"found_on": "2026-11-02", "description": "Wrong VAT", "version": "1"},
    )
    assert stale.status_code == 412 and "changed by someone else" in stale.content.decode()
    refused = browser.post(
        f"/defects/{defect.pk}/",
        {"found_on": "2026-11-02", "description": "", "fixed_on": "2026-11-01", "version": "2"},
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "Description is required" in html and "before the day it was found" not in html
    defect.refresh_from_db()
    assert defect.description == "Wrong VAT rate"


def test_delete_a_defect_asks_first_and_it_can_be_restored(browser, actor):
    defect = defect_create(actor=actor, data={"description": "Wrong VAT rate"})
    confirm = browser.get(f"/defects/{defect.pk}/delete/")
    assert confirm.status_code == 200 and "Delete defect" in confirm.content.decode()
    assert Defect.objects.get(pk=defect.pk).deleted_at is None  # asking deletes nothing
    assert browser.post(f"/defects/{defect.pk}/delete/").status_code == 302
    assert "No defects logged" in browser.get("/defects/").content.decode()
    assert browser.get(f"/defects/{defect.pk}/").status_code == 404
    deleted = browser.get("/defects/?deleted=1").content.decode()
    assert "Wrong VAT rate" in deleted and f"/defects/{defect.pk}/restore/" in deleted
    assert browser.post(f"/defects/{defect.pk}/restore/").status_code == 302
    assert "Wrong VAT rate" in browser.get("/defects/").content.decode()
    assert [e.action for e in AuditEvent.objects.filter(object_type="defect").order_by("id")] == [
        "create",
        "delete",
        "restore",
    ]


def test_another_organisations_defect_is_404(browser, other_actor):
    theirs = defect_create(actor=other_actor, data={"description": "Theirs"})
    assert browser.get(f"/defects/{theirs.pk}/").status_code == 404
    assert browser.post(f"/defects/{theirs.pk}/delete/").status_code == 404
    assert browser.post(f"/defects/{theirs.pk}/restore/").status_code == 404
    assert Defect.objects.get(pk=theirs.pk).deleted_at is None


def test_review_late_within_field(browser, actor, org):
    Task.objects.create(
        organisation=org,
        title="Friday job",
        queue="customer_service",
        due_date=dt.date(2026, 11, 20),
    )
    narrow = browser.get("/review/?date=2026-11-16").content.decode()
    assert 'name="late_within"' in narrow and 'value="2"' in narrow
    assert "Friday job" not in narrow and "in the next 2 working days" in narrow
    wide = browser.get("/review/?date=2026-11-16&late_within=5").content.decode()
    assert "Friday job" in wide and "due within 5 working days" in wide
    bad = browser.get("/review/?late_within=forty")
    assert bad.status_code == 422 and "late_within" in bad.content.decode()
