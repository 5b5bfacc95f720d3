"""Queues, a work item's page, the daily review and the defect log in a real browser: the
claim → escalate path works and every page is axe-clean, on a phone too."""

import datetime as dt

from django.utils import timezone
from playwright.sync_api import expect

from salesline.accounts.services import actor_for
from salesline.playbooks.defects import defect_create
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create

from .conftest import PHONE, axe_violations


def test_take_tick_and_escalate_a_work_item(signed_in, member, org):
    page = signed_in
    actor = actor_for(member, org)
    item = task_create(actor=actor, title="Order 1043", work_type="order", queue="salesperson")
    task_create(
        actor=actor,
        title="Late issue",
        work_type="issue",
        due_date=timezone.localdate() - dt.timedelta(days=3),
    )
    page.goto("/queues/")
    expect(page.get_by_role("heading", name="Queues", level=1)).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Salesperson queue").click()
    expect(page.get_by_text("Order 1043")).to_be_visible()
    page.get_by_role("link", name="Order 1043").click()
    expect(page.get_by_role("heading", name="Workflow")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Take it: Order 1043").click()
    expect(page.locator(".task-message")).to_contain_text("It is yours")
    page.get_by_label("Credit checked").check()
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.get_by_text("Checklist saved.")).to_be_visible()
    page.get_by_label("Escalate to").select_option("project_leader")
    page.get_by_label("Reason", exact=True).fill("Needs a special project")
    page.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.get_by_role("button", name="Yes, escalate it")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Yes, escalate it").click()
    expect(page.get_by_text("Needs a special project")).to_be_visible()
    item.refresh_from_db()
    assert (item.assignee_id, item.queue) == (None, "project_leader")
    assert [e["done"] for e in item.checklist if e["item"] == "Credit checked"] == [True]


def test_review_and_defects_are_accessible_on_a_phone(signed_in, member, org):
    page = signed_in
    page.set_viewport_size(PHONE)
    actor = actor_for(member, org)
    Task.objects.create(
        organisation=org,
        title="Missed one",
        assignee=member,
        due_date=timezone.localdate() - dt.timedelta(days=2),
    )
    defect_create(actor=actor, data={"description": "Wrong VAT rate", "cause": "Old list"})
    page.goto("/review/")
    expect(page.get_by_role("heading", name="Problem cases")).to_be_visible()
    expect(page.get_by_text("Missed one")).to_be_visible()
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto("/defects/")
    expect(page.get_by_text("Wrong VAT rate")).to_be_visible()
    assert axe_violations(page) == []
    page.goto("/defects/new/")
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("Description is required.").first).to_be_visible()
    assert axe_violations(page) == []
    page.goto("/")
    expect(page.get_by_role("heading", name="Work")).to_be_visible()
    assert axe_violations(page) == []


def test_fix_delete_and_restore_a_defect_on_a_phone(signed_in, member, org):
    page = signed_in
    page.set_viewport_size(PHONE)
    actor = actor_for(member, org)
    defect = defect_create(actor=actor, data={"description": "Wrong VAT rate"})
    page.goto("/defects/")
    page.get_by_role("link", name="Edit defect found").click()
    page.get_by_label("Cause").fill("Old price list")
    page.get_by_label("Fixed on").fill(timezone.localdate().isoformat())
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Defect saved.")).to_be_visible()
    expect(page.get_by_role("cell", name="Old price list")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"/defects/{defect.pk}/")
    page.get_by_role("link", name="Delete this defect…").click()
    expect(page.get_by_role("heading", name="Delete the defect found")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Delete defect").click()
    page.get_by_role("link", name="Deleted").click()
    page.get_by_role("button", name="Restore defect found").click()
    expect(page.get_by_text("Defect restored.")).to_be_visible()
    expect(page.get_by_text("Wrong VAT rate")).to_be_visible()
    page.goto("/review/?late_within=5")
    expect(page.get_by_label("Likely late within")).to_have_value("5")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
