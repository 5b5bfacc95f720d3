"""Task pages: my tasks, queues, a task's page, new/edit, the buttons (with and without htmx),
the record panel and the home page. Each: the happy path, the wrong method, another
organisation's task (404) and CSRF."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create
from tests.conftest import LEAD

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def me(browser):
    return browser.actor


@pytest.fixture
def mine(me):
    return task_create(
        actor=me,
        title="Call Kari",
        instructions="Ask about **volume**.\n\n<script>alert(1)</script> [x](javascript:alert(1))",
        due_date=timezone.localdate() - dt.timedelta(days=2),
    )


def test_my_tasks_lists_mine_with_overdue_marked_in_words(browser, mine, admin_actor):
    task_create(actor=admin_actor, title="Someone else's")
    response = browser.get("/tasks/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Call Kari" in html and "Someone else&#x27;s" not in html
    assert "task-overdue" in html and ">Overdue<" in html
    # Markdown rendered; raw HTML and javascript: links are not.
    assert "<strong>volume</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert 'aria-current="page">My tasks<' in html


def test_filters_and_pagination(browser, me):
    for n in range(27):
        task_create(
            actor=me, title=f"Task {n:02}", due_date=timezone.localdate() + dt.timedelta(days=n)
        )
    first = browser.get("/tasks/").content.decode()
    assert "27 tasks" in first and "Task 24" in first and "Task 25" not in first
    assert 'href="?show=open&amp;page=2"' in first
    second = browser.get("/tasks/?show=open&page=2").content.decode()
    assert "Task 25" in second and "Task 26" in second and "Task 00" not in second
    assert browser.get("/tasks/?show=overdue").content.decode().count('class="task ') == 0
    assert browser.get("/tasks/?show=done").status_code == 200


@pytest.mark.parametrize(
    "query, word", [("show=bogus", "Show"), ("page=0", "Page"), ("page=x", "Page")]
)
def test_bad_list_query_is_422_saying_why(browser, query, word):
    response = browser.get(f"/tasks/?{query}")
    assert response.status_code == 422
    assert f"{word} must be" in response.content.decode()


def test_empty_state_explains_tasks(browser):
    html = browser.get("/tasks/").content.decode()
    assert "A task is one thing someone has to do" in html
    assert "Playbooks create them" in html


def test_queue_page_and_take_it(browser, me, org):
    queued = task_create(actor=me, title="Check credit", queue="sales_coordinator")
    response = browser.get("/tasks/queue/sales_coordinator/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sales coordinator queue" in html and "Check credit" in html and "Take it" in html
    assert browser.get("/tasks/queue/bogus/").status_code == 404
    taken = browser.post(f"/tasks/{queued.pk}/take/", {"next": "/tasks/queue/sales_coordinator/"})
    assert taken.status_code == 302 and taken["Location"] == "/tasks/queue/sales_coordinator/"
    queued.refresh_from_db()
    assert queued.assignee_id == me.user.pk


def test_take_it_loser_is_told_who_won(browser, me, org, admin_actor):
    queued = task_create(actor=me, title="Check credit", queue="sales_coordinator")
    from salesline.playbooks.task_services import task_claim

    task_claim(actor=admin_actor, task_id=queued.pk)
    response = browser.post(f"/tasks/{queued.pk}/take/", {"listed": "open"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "boss@piql.test has already taken this task." in html
    assert "Take it" not in html
    # Without JavaScript: the message on the page it comes back to.
    response = browser.post(f"/tasks/{queued.pk}/take/", {"next": "/tasks/"}, follow=True)
    assert "boss@piql.test has already taken this task." in response.content.decode()


def test_mark_done_without_javascript_and_with_htmx(browser, me, mine):
    response = browser.post(f"/tasks/{mine.pk}/status/", {"status": "done", "next": "/tasks/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    mine.refresh_from_db()
    assert mine.status == "done" and mine.completed_by_id == me.user.pk
    # Reopen with htmx from the "done" list: the row leaves that list, with an undo.
    response = browser.post(
        f"/tasks/{mine.pk}/status/", {"status": "open", "listed": "done"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-task-status="open"' in html and "task-gone" in html
    # On the full list the row stays, in its new state.
    response = browser.post(
        f"/tasks/{mine.pk}/status/", {"status": "cancelled", "listed": "all"}, **HTMX
    )
    assert "Cancelled" in response.content.decode() and "Reopen" in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == "cancelled"


def test_bad_status_is_said_in_place(browser, mine):
    response = browser.post(f"/tasks/{mine.pk}/status/", {"status": "finished"}, **HTMX)
    assert response.status_code == 200
    assert "Status must be one of: open, done, cancelled." in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == "open"


@pytest.mark.parametrize(
    "method, url",
    [
        ("post", "/tasks/"),
        ("post", "/tasks/queue/salesperson/"),
        ("post", "/tasks/{id}/"),
        ("get", "/tasks/{id}/status/"),
        ("get", "/tasks/{id}/take/"),
        ("delete", "/tasks/new/"),
    ],
)
def test_wrong_method(browser, mine, method, url):
    assert getattr(browser, method)(url.format(id=mine.pk)).status_code == 405


@pytest.mark.parametrize(
    "method, url, data",
    [
        ("get", "/tasks/{id}/", None),
        ("get", "/tasks/{id}/edit/", None),
        ("post", "/tasks/{id}/edit/", {"title": "Mine now", "version": "1"}),
        ("post", "/tasks/{id}/status/", {"status": "done"}),
        ("post", "/tasks/{id}/take/", {}),
    ],
)
def test_another_organisations_task_is_404(browser, other_actor, method, url, data):
    theirs = task_create(actor=other_actor, title="Theirs", queue="admin")
    kwargs = {"data": data} if data is not None else {}
    response = getattr(browser, method)(url.format(id=theirs.pk), **kwargs)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status, theirs.assignee_id) == ("Theirs", "open", None)


def test_huge_id_is_404(browser):
    assert browser.get(f"/tasks/{2**70}/").status_code == 404


def test_csrf_is_required(org, mine, me):
    client = Client(enforce_csrf_checks=True)
    client.force_login(me.user)
    assert client.post(f"/tasks/{mine.pk}/status/", {"status": "done"}).status_code == 403
    assert client.post("/tasks/new/", {"title": "Sneaky"}).status_code == 403
    assert client.post(f"/tasks/{mine.pk}/take/").status_code == 403
    mine.refresh_from_db()
    assert mine.status == "open"
    assert not Task.objects.filter(title="Sneaky").exists()


def test_signed_out_goes_to_sign_in(client, db):
    response = client.get("/tasks/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_task_page(browser, mine):
    response = browser.get(f"/tasks/{mine.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Call Kari</h1>" in html and "Overdue:" in html and "Mark done" in html


def test_new_task_for_myself_and_for_a_queue(browser, me):
    page = browser.get("/tasks/new/")
    assert page.status_code == 200 and 'name="title"' in page.content.decode()
    response = browser.post(
        "/tasks/new/",
        {
            "title": "Write the proposal",
            "instructions": "- one\n- two",
            "due_date": "2027-01-04",
            "assignee_id": str(me.user.pk),
        },
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    task = Task.objects.get(title="Write the proposal")
    assert (task.assignee_id, task.due_date) == (me.user.pk, dt.date(2027, 1, 4))
    assert AuditEvent.objects.filter(
        object_type="task", object_id=str(task.pk), action="create"
    ).exists()
    browser.post("/tasks/new/", {"title": "For the coordinators", "queue": "sales_coordinator"})
    queued = Task.objects.get(title="For the coordinators")
    assert queued.assignee_id is None and queued.queue == "sales_coordinator"


def test_new_task_refused_says_why_beside_the_field(browser):
    response = browser.post("/tasks/new/", {"title": "  ", "due_date": "2027-01-04"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Title is required." in html and 'class="error-summary"' in html
    assert not Task.objects.exists()
    response = browser.post("/tasks/new/", {"title": "x", "due_date": "soon"})
    assert response.status_code == 400


def test_edit_checks_the_version(browser, me, mine):
    page = browser.get(f"/tasks/{mine.pk}/edit/")
    assert page.status_code == 200 and 'name="version" value="1"' in page.content.decode()
    saved = browser.post(
        f"/tasks/{mine.pk}/edit/",
        {"title": "Call Kari today", "version": "1", "assignee_id": str(me.user.pk)},
    )
    assert saved.status_code == 302
    stale = browser.post(
        f"/tasks/{mine.pk}/edit/", {"title": "Lost", "version": "1", "assignee_id": str(me.user.pk)}
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.content.decode()
    mine.refresh_from_db()
    assert mine.title == "Call Kari today"


def test_record_panel_lists_tasks_and_adds_one(browser, me, opportunity, lead):
    task_create(actor=me, title="Send the quote", opportunity_id=opportunity.pk)
    page = browser.get(f"/records/opportunities/{opportunity.pk}/")
    html = page.content.decode()
    assert 'id="tasks-title"' in html and "Send the quote" in html and "Add a task" in html
    next_url = f"/records/leads/{lead.pk}/"
    response = browser.post(
        "/tasks/new/",
        {
            "title": "Book the meeting",
            "lead_id": str(lead.pk),
            "assignee_id": str(me.user.pk),
            "next": next_url,
        },
    )
    assert response.status_code == 302 and response["Location"] == next_url
    assert Task.objects.get(title="Book the meeting").lead_id == lead.pk
    lead_page = browser.get(next_url).content.decode()
    assert "Book the meeting" in lead_page.split('id="tasks-title"')[1]


def test_timeline_shows_tasks_added_done_and_taken(browser, me, admin_actor, opportunity):
    from salesline.playbooks.task_services import task_claim, task_update

    task = task_create(actor=me, title="Send the quote", opportunity_id=opportunity.pk)
    task_update(actor=me, task_id=task.pk, data={"status": "done"})
    queued = task_create(
        actor=me, title="Check credit", queue="admin", opportunity_id=opportunity.pk
    )
    task_claim(actor=admin_actor, task_id=queued.pk)
    task_update(
        actor=admin_actor,
        task_id=queued.pk,
        data={"due_date": "2027-01-04", "title": "Check the credit"},
    )
    task_create(actor=me, title="Elsewhere")  # about no record: not on its timeline
    html = browser.get(f"/records/opportunities/{opportunity.pk}/").content.decode()
    timeline = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    entries = [line for line in timeline.split("<li") if 'class="task"' in line]
    texts = [e.split("<span>")[1].split("</span>")[0] for e in entries]
    assert texts == [
        "Task changed (due date, title): Check the credit",
        "Task taken: Check credit",
        "Task added: Check credit",
        "Task done: Send the quote",
        "Task added: Send the quote",
    ]
    assert "Elsewhere" not in timeline
    # Companies have no tasks panel.
    from salesline.records.services import record_create
    from tests.conftest import COMPANY

    company = record_create(actor=me, kind="company", data=COMPANY)
    assert (
        'id="tasks-title"' not in browser.get(f"/records/companies/{company.pk}/").content.decode()
    )


def test_new_task_for_another_organisations_record_is_refused(browser, other_actor):
    from salesline.records.services import record_create

    theirs = record_create(actor=other_actor, kind="lead", data=LEAD)
    assert browser.get(f"/tasks/new/?lead_id={theirs.pk}").status_code == 404
    for fixed in ("1", ""):
        response = browser.post(
            "/tasks/new/", {"title": "x", "lead_id": str(theirs.pk), "fixed": fixed}
        )
        assert response.status_code == 422
        assert f"Lead {theirs.pk} does not exist in this organisation" in response.content.decode()
    assert not Task.objects.exists()


def test_new_task_about_a_record_chosen_with_the_picker(browser, me, opportunity, lead):
    page = browser.get("/tasks/new/").content.decode()
    assert 'data-combobox data-kind="opportunity" data-source="/pick/opportunities/"' in page
    assert f'<option value="{opportunity.pk}">Archive project</option>' in page
    assert 'data-source="/pick/leads/"' in page
    response = browser.post(
        "/tasks/new/",
        {"title": "Prepare the demo", "opportunity_id": str(opportunity.pk), "assignee_id": ""},
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Prepare the demo")
    assert task.opportunity_id == opportunity.pk and task.assignee_id == me.user.pk
    both = browser.post(
        "/tasks/new/",
        {"title": "Both", "opportunity_id": str(opportunity.pk), "lead_id": str(lead.pk)},
    )
    assert both.status_code == 422
    assert "an opportunity or a lead, not both" in both.content.decode()
    # From a record's page the record is fixed: no pickers.
    fixed = browser.get(f"/tasks/new/?lead_id={lead.pk}").content.decode()
    assert "data-combobox" not in fixed and 'name="fixed" value="1"' in fixed


def test_home_lists_my_open_tasks_overdue_first(browser, me, mine):
    task_create(actor=me, title="Later", due_date=timezone.localdate() + dt.timedelta(days=3))
    html = browser.get("/").content.decode()
    section = html.split('id="tasks"')[1].split("</section>")[0]
    assert section.index("Call Kari") < section.index("Later")
    assert "Overdue" in section and "All my tasks (2 open)" in section


def test_navigation_has_tasks(browser):
    assert '<a href="/tasks/">Tasks</a>' in browser.get("/").content.decode()
