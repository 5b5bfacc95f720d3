"""/api/v1/queues, claim, escalate, reassign, work items, /defects and /wip-review."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create
from tests.conftest import ApiClient


def detail_locs(response) -> list:
    return [tuple(d["loc"]) for d in response.json()["detail"]]


@pytest.fixture
def helper(org):
    return accounts.user_create(
        email="cara@piql.test", actor=accounts.system_actor(org), role="customer_service"
    )


@pytest.fixture
def helper_api(helper, org):
    _, plain = accounts.token_create(user=helper, actor=accounts.system_actor(org))
    return ApiClient(plain)


def test_queues_answer_exactly_the_contract(api, actor, helper):
    today = timezone.localdate()
    task_create(actor=actor, title="A", queue="customer_service")
    task_create(
        actor=actor, title="B", queue="customer_service", due_date=today - dt.timedelta(days=1)
    )
    task_create(actor=actor, title="Mine")
    response = api.get("/queues")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert all(set(row) == {"queue", "size", "oldest_age_hours", "overdue"} for row in body)
    rows = {row["queue"]: row for row in body}
    assert rows["customer_service"]["size"] == 2 and rows["customer_service"]["overdue"] == 1
    assert rows["customer_service"]["oldest_age_hours"] >= 0
    assert rows[f"user:{actor.user.pk}"]["size"] == 1
    assert rows["inside_sales"]["size"] == 0 and rows["inside_sales"]["oldest_age_hours"] == 0


def test_queues_are_the_organisations_own(api, other_actor):
    task_create(actor=other_actor, title="Theirs", queue="customer_service")
    rows = {row["queue"]: row for row in api.get("/queues").json()}
    assert rows["customer_service"]["size"] == 0


def test_claim_200_then_409_for_someone_else(api, helper_api, actor, helper):
    task = task_create(actor=actor, title="Ring", queue="customer_service")
    won = helper_api.post(f"/tasks/{task.pk}/claim")
    assert won.status_code == 200, won.content
    assert won.json()["assignee_id"] == helper.pk
    assert won.json()["location"] == f"user:{helper.pk}"
    lost = api.post(f"/tasks/{task.pk}/claim")
    assert lost.status_code == 409
    assert helper_api.post(f"/tasks/{task.pk}/claim").status_code == 200  # already theirs
    assert api.post("/tasks/999999/claim").status_code == 404


def test_claim_of_another_organisations_task_is_404(api, other_actor):
    task = task_create(actor=other_actor, title="Theirs", queue="customer_service")
    assert api.post(f"/tasks/{task.pk}/claim").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_one_winner(org, actor, helper):
    """Two people claim the same item at the same moment through the API: one 200, one 409.
    (Real concurrency on PostgreSQL; SQLite serialises the writers, and the answer is the
    same.)"""
    task = task_create(actor=actor, title="Race", queue="customer_service")
    clients = []
    for user in (actor.user, helper):
        _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
        clients.append(ApiClient(plain))
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def claim(client):
        try:
            barrier.wait()
            codes.append(client.post(f"/tasks/{task.pk}/claim").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409], codes
    task.refresh_from_db()
    assert task.assignee_id in (actor.user.pk, helper.pk)


def test_escalate_moves_it_and_names_bad_fields(api, actor):
    task = task_create(actor=actor, title="Complex", queue="inside_sales")
    done = api.post(
        f"/tasks/{task.pk}/escalate", {"queue": "project_leader", "reason": "Special project"}
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["queue"] == "project_leader" and body["assignee_id"] is None
    assert body["escalation_reason"] == "Special project"
    missing = api.post(f"/tasks/{task.pk}/escalate", {})
    assert missing.status_code == 422
    assert set(detail_locs(missing)) == {("body", "queue"), ("body", "reason")}
    unknown = api.post(f"/tasks/{task.pk}/escalate", {"queue": "warehouse", "reason": "x"})
    assert unknown.status_code == 422 and detail_locs(unknown) == [("body", "queue")]


def test_reassign_and_patch_keep_one_queue(api, actor, helper):
    task = task_create(actor=actor, title="Q", queue="inside_sales")
    to_helper = api.post(f"/tasks/{task.pk}/reassign", {"assignee_id": helper.pk, "reason": "Hers"})
    assert to_helper.status_code == 200 and to_helper.json()["location"] == f"user:{helper.pk}"
    to_role = api.patch(f"/tasks/{task.pk}", {"queue": "customer_service"})
    assert to_role.status_code == 200
    assert to_role.json()["assignee_id"] is None
    assert to_role.json()["location"] == "customer_service"
    orphan = api.patch(f"/tasks/{task.pk}", {"queue": None})
    assert orphan.status_code == 422 and ("body", "assignee_id") in detail_locs(orphan)


def test_a_work_item_through_the_api(api, actor):
    created = api.post(
        "/tasks", {"title": "Order 55", "work_type": "order", "promised_date": "2026-12-20"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["work_type"] == "order" and body["workflow_step"] == "received"
    assert body["location"] == "customer_service" and body["tolerance_days"] == 1
    assert body["promised_date"] == "2026-12-20"
    assert [e["done"] for e in body["checklist"]] == [False, False, False]
    pk = body["id"]
    advanced = api.post(f"/tasks/{pk}/advance")
    assert advanced.json()["workflow_step"] == "confirmed"
    bad = api.patch(f"/tasks/{pk}", {"workflow_step": "lost"})
    assert bad.status_code == 422 and detail_locs(bad) == [("body", "workflow_step")]
    api.post(f"/tasks/{pk}/claim")
    early = api.patch(f"/tasks/{pk}", {"status": "done"})
    assert early.status_code == 422 and detail_locs(early) == [("body", "checklist")]
    items = [{"item": e["item"], "done": True} for e in body["checklist"]]
    ticked = api.patch(f"/tasks/{pk}", {"checklist": items})
    assert all(e["done"] for e in ticked.json()["checklist"])
    assert api.patch(f"/tasks/{pk}", {"status": "done"}).status_code == 200
    unknown = api.post("/tasks", {"title": "X", "work_type": "pizza"})
    assert unknown.status_code == 422 and detail_locs(unknown) == [("body", "work_type")]


def test_defects_post_and_list(api, actor, other_actor):
    task = task_create(actor=actor, title="Order", queue="customer_service")
    created = api.post(
        "/defects",
        {
            "description": "Shipped to the old address",
            "cause": "Address not confirmed",
            "fix": "Checklist item added",
            "task_id": task.pk,
            "found_on": "2026-11-02",
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["queue"] == "customer_service"
    refused = api.post("/defects", {"description": " ", "queue": "warehouse"})
    assert refused.status_code == 422
    assert set(detail_locs(refused)) == {("body", "description"), ("body", "queue")}
    listed = api.get("/defects").json()
    assert listed["count"] == 1 and listed["items"][0]["cause"] == "Address not confirmed"
    other = task_create(actor=other_actor, title="Theirs")
    foreign = api.post("/defects", {"description": "x", "task_id": other.pk})
    assert foreign.status_code == 422 and detail_locs(foreign) == [("body", "task_id")]


def test_wip_review_answers_exactly_the_contract(api, actor, org):
    Task.objects.create(
        organisation=org,
        title="Done on time",
        assignee=actor.user,
        due_date=dt.date(2026, 11, 10),
        status="done",
        completed_at=dt.datetime(2026, 11, 9, 12, tzinfo=dt.UTC),
    )
    Task.objects.create(
        organisation=org,
        title="Missed",
        assignee=actor.user,
        due_date=dt.date(2026, 11, 11),
    )
    response = api.get("/wip-review?date=2026-11-16")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"on_time_pct", "queues", "late_risk", "defects", "flow"}
    assert body["on_time_pct"] == 50.0
    assert {"created", "completed", "escalated"} <= set(body["flow"])
    assert any(row["queue"] == f"user:{actor.user.pk}" for row in body["queues"])
    bad = api.get("/wip-review?date=16/11/2026")
    assert bad.status_code == 422 and detail_locs(bad) == [("query", "date")]


def test_location_filter_and_its_422(api, actor, helper):
    waiting = task_create(actor=actor, title="Waiting", queue="customer_service")
    held = task_create(actor=actor, title="Held", assignee_id=helper.pk, queue="customer_service")
    in_role = api.get("/tasks?location=customer_service").json()
    assert [item["id"] for item in in_role["items"]] == [waiting.pk]
    hers = api.get(f"/tasks?location=user:{helper.pk}").json()
    assert [item["id"] for item in hers["items"]] == [held.pk]
    team = api.get("/tasks?queue=customer_service").json()
    assert team["count"] == 2
    bad = api.get("/tasks?location=user:abc")
    assert bad.status_code == 422 and detail_locs(bad) == [("query", "location")]


def test_a_closed_task_is_not_reassigned_or_escalated(api, actor):
    task = task_create(actor=actor, title="Done")
    api.patch(f"/tasks/{task.pk}", {"status": "done"})
    assert api.post(f"/tasks/{task.pk}/reassign", {"queue": "admin"}).status_code == 409
    escalated = api.post(f"/tasks/{task.pk}/escalate", {"queue": "admin", "reason": "x"})
    assert escalated.status_code == 409


def test_wip_review_late_within_and_its_422(api, actor, org):
    friday = Task.objects.create(
        organisation=org, title="Friday", queue="customer_service", due_date=dt.date(2026, 11, 20)
    )
    narrow = api.get("/wip-review?date=2026-11-16").json()
    assert narrow["late_risk"] == []
    wide = api.get("/wip-review?date=2026-11-16&late_within=5")
    assert wide.status_code == 200
    assert set(wide.json()) == {"on_time_pct", "queues", "late_risk", "defects", "flow"}
    assert [r["task_id"] for r in wide.json()["late_risk"]] == [friday.pk]
    bad = api.get("/wip-review?late_within=-2")
    assert bad.status_code == 422 and detail_locs(bad) == [("query", "late_within")]


def test_wip_review_problems(api, actor, org, other_actor):
    overdue = Task.objects.create(
        organisation=org,
        title="Late order",
        queue="customer_service",
        due_date=dt.date(2026, 11, 13),
    )
    task_create(
        actor=other_actor, title="Theirs", queue="customer_service", due_date=dt.date(2026, 1, 1)
    )
    response = api.get("/wip-review/problems?date=2026-11-16")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["date"] == "2026-11-16" and body["count"] == 1
    (case,) = body["items"]
    assert (case["task_id"], case["title"], case["queue"]) == (
        overdue.pk,
        "Late order",
        "customer_service",
    )
    assert case["reasons"] == [
        {"kind": "overdue", "days": 3, "text": "overdue by 3 days", "detail": None}
    ]
    assert case["action"] == "Take it from the queue and finish it today"
    bad = api.get("/wip-review/problems?date=yesterday")
    assert bad.status_code == 422 and detail_locs(bad) == [("query", "date")]
