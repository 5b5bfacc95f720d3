"""Tasks in a real browser: complete one on My tasks (htmx) and see it leave the open list;
the queue, the task's page and a record's panel are axe-clean."""

import datetime as dt

from django.utils import timezone
from playwright.sync_api import expect

from salesline.accounts.services import actor_for
from salesline.pipeline.services import opportunity_create
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create

from .conftest import PHONE, axe_violations, pick


def test_complete_a_task_on_my_tasks(signed_in, member, org):
    page = signed_in
    actor = actor_for(member, org)
    late = task_create(
        actor=actor,
        title="Call Kari about the volume",
        instructions="Ask for **terabytes**.",
        due_date=timezone.localdate() - dt.timedelta(days=1),
    )
    task_create(
        actor=actor, title="Send the quote", due_date=timezone.localdate() + dt.timedelta(days=2)
    )
    page.goto("/tasks/")
    expect(page.get_by_role("heading", name="My tasks", level=1)).to_be_visible()
    row = page.locator(f"#task-{late.pk}")
    expect(row).to_contain_text("Overdue")
    row.get_by_text("Instructions").click()
    expect(row.locator(".markdown strong")).to_have_text("terabytes")
    assert axe_violations(page) == []

    row.get_by_role("button", name="Mark done: Call Kari about the volume").click()
    expect(row).to_contain_text("Done: Call Kari about the volume")
    expect(page.locator('[data-task-status="open"]')).to_have_count(1)
    expect(page.get_by_role("button", name="Undo: Call Kari about the volume")).to_be_visible()
    late.refresh_from_db()
    assert late.status == Task.Status.DONE and late.completed_by_id == member.pk
    page.reload()
    expect(page.get_by_text("Call Kari about the volume")).to_have_count(0)
    expect(page.get_by_text("Send the quote")).to_be_visible()
    page.get_by_label("Show").select_option("done")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"#task-{late.pk}")).to_contain_text("Done")
    assert axe_violations(page) == []


def test_queue_task_page_and_record_panel_are_accessible(signed_in, member, org):
    page = signed_in
    actor = actor_for(member, org)
    opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
    queued = task_create(
        actor=actor, title="Check the credit", queue="salesperson", opportunity_id=opportunity.pk
    )
    page.goto("/tasks/queue/salesperson/")
    tabs = page.get_by_role("navigation", name="Task lists")
    expect(tabs.get_by_role("link", name="Salesperson queue")).to_have_attribute(
        "aria-current", "page"
    )
    assert axe_violations(page) == []
    page.get_by_role("button", name="Take it: Check the credit").click()
    expect(page.locator(f"#task-{queued.pk}")).to_contain_text("It is yours")
    page.goto(f"/tasks/{queued.pk}/")
    assert axe_violations(page) == []
    page.goto(f"/records/opportunities/{opportunity.pk}/")
    panel = page.locator("section.record-tasks")
    expect(panel).to_contain_text("Check the credit")
    page.get_by_label("New task").fill("Book the launch meeting")
    page.get_by_role("button", name="Add a task").click()
    expect(page.get_by_role("status")).to_contain_text("Task added: Book the launch meeting")
    expect(panel).to_contain_text("Book the launch meeting")
    expect(page.locator(".timeline")).to_contain_text("Task added: Book the launch meeting")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    page.goto("/tasks/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(page) == []


def test_new_task_about_an_opportunity_chosen_in_the_picker(signed_in, member, org):
    page = signed_in
    actor = actor_for(member, org)
    opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
    page.goto("/tasks/")
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Prepare the demo")
    page.get_by_label("Due date").fill("2027-01-04")
    pick(page, "Opportunity", "Arch", "Archive project")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("status")).to_contain_text("Task added: Prepare the demo")
    task = Task.objects.get(title="Prepare the demo")
    assert (task.opportunity_id, task.assignee_id) == (opportunity.pk, member.pk)
    assert task.due_date == dt.date(2027, 1, 4)
