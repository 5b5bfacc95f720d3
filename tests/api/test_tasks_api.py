"""/api/v1/tasks: the contract, status codes, ETags and the organisation matrix."""

import datetime as dt

import pytest
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.playbooks.models import Task
from salesline.playbooks.task_services import task_create

CONTRACT_KEYS = {
    "id",
    "title",
    "status",
    "due_date",
    "assignee_id",
    "queue",
    "opportunity_id",
    "lead_id",
    "playbook",
    "step",
    "completed_at",
}


def detail_locs(response) -> list:
    return [tuple(d["loc"]) for d in response.json()["detail"]]


def test_create_list_get_and_complete(api, user, opportunity):
    created = api.post(
        "/tasks",
        {
            "title": "Send the service description",
            "instructions": "Attach the **PDF**",
            "due_date": "2026-12-29",
            "opportunity_id": opportunity.pk,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) >= CONTRACT_KEYS
    assert body["assignee_id"] == user.pk
    assert body["queue"] is None and body["playbook"] is None
    assert body["due_date"] == "2026-12-29"
    assert body["status"] == "open" and body["completed_at"] is None
    assert created["ETag"] == f'"{body["id"]}-1"'

    listed = api.get(f"/tasks?opportunity_id={opportunity.pk}&status=open")
    assert listed.status_code == 200
    page = listed.json()
    assert (page["count"], page["limit"], page["offset"]) == (1, 50, 0)
    assert [item["id"] for item in page["items"]] == [body["id"]]
    assert set(page["items"][0]) >= CONTRACT_KEYS

    done = api.patch(f"/tasks/{body['id']}", {"status": "done"}, HTTP_IF_MATCH=created["ETag"])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    assert done["ETag"] == f'"{body["id"]}-2"'
    # A stale ETag is refused; the same status again is a no-op.
    assert (
        api.patch(f"/tasks/{body['id']}", {"title": "x"}, HTTP_IF_MATCH=created["ETag"]).status_code
        == 412
    )
    again = api.patch(f"/tasks/{body['id']}", {"status": "done"})
    assert again.status_code == 200 and again.json()["version"] == 2

    got = api.get(f"/tasks/{body['id']}")
    assert got.status_code == 200 and got.json()["status"] == "done"
    assert got["ETag"] == done["ETag"]
    assert api.get(f"/tasks?opportunity_id={opportunity.pk}&status=open").json()["count"] == 0


def test_queue_and_assignee_filters(api, actor, admin_actor):
    task_create(actor=actor, title="Mine")
    task_create(actor=actor, title="Coordinators", queue="sales_coordinator")
    task_create(actor=admin_actor, title="Boss's")
    queue = api.get("/tasks?queue=sales_coordinator").json()
    assert [i["title"] for i in queue["items"]] == ["Coordinators"]
    assert queue["items"][0]["queue"] == "sales_coordinator"
    assert queue["items"][0]["assignee_id"] is None
    mine = api.get(f"/tasks?assignee_id={actor.user.pk}").json()
    assert [i["title"] for i in mine["items"]] == ["Mine"]


def test_overdue_flag(api, actor):
    task_create(actor=actor, title="Late", due_date=timezone.localdate() - dt.timedelta(days=1))
    item = api.get("/tasks?overdue=true").json()["items"][0]
    assert item["overdue"] is True and item["on_time"] is None


@pytest.mark.parametrize(
    "query, name",
    [
        ("status=bogus", "status"),
        ("queue=bogus", "queue"),
        ("assignee_id=abc", "assignee_id"),
        ("opportunity_id=-1", "opportunity_id"),
        ("lead_id=99999999999999999999999", "lead_id"),
        ("overdue=perhaps", "overdue"),
        ("limit=0", "limit"),
        ("offset=-5", "offset"),
    ],
)
def test_unknown_filter_values_are_422_naming_them(api, query, name):
    response = api.get(f"/tasks?{query}")
    assert response.status_code == 422
    assert detail_locs(response) == [("query", name)]


def test_create_names_every_bad_field(api, other_actor, lead):
    response = api.post(
        "/tasks",
        {
            "title": "",
            "queue": "bogus",
            "assignee_id": other_actor.user.pk,
            "lead_id": 999_999,
        },
    )
    assert response.status_code == 422
    assert set(detail_locs(response)) == {
        ("body", "title"),
        ("body", "queue"),
        ("body", "assignee_id"),
        ("body", "lead_id"),
    }
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"title": "x", "due_date": "tomorrow"}, ("body", "due_date")),
        ({"title": "x", "colour": "red"}, ("body", "colour")),
        ({"title": 5}, ("body", "title")),
        ({"title": "x", "lead_id": 2**70}, ("body", "lead_id")),
        ({"title": "x", "playbook": "sneaky"}, ("body", "playbook")),
    ],
)
def test_create_schema_errors(api, body, loc):
    response = api.post("/tasks", body)
    assert response.status_code == 422
    assert loc in detail_locs(response)


def test_both_records_refused(api, lead, opportunity):
    response = api.post(
        "/tasks", {"title": "x", "lead_id": lead.pk, "opportunity_id": opportunity.pk}
    )
    assert response.status_code == 422
    assert detail_locs(response) == [("body", "lead_id")]


def test_patch_errors(api, actor):
    task = task_create(actor=actor, title="Edit me")
    response = api.patch(f"/tasks/{task.pk}", {"status": "finished", "title": "  "})
    assert response.status_code == 422
    assert set(detail_locs(response)) == {("body", "status"), ("body", "title")}
    assert (
        api.patch(f"/tasks/{task.pk}", {"status": "done"}, HTTP_IF_MATCH='"1-x"').status_code == 412
    )
    assert api.patch("/tasks/999999", {"status": "done"}).status_code == 404
    assert api.get("/tasks/999999").status_code == 404


def test_reopening_a_playbook_task_whose_step_is_open_again_is_409(api, org, opportunity):
    system = accounts.system_actor(org)
    first = task_create(
        actor=system, title="Verify", playbook="bd", step="verify", opportunity_id=opportunity.pk
    )
    assert api.patch(f"/tasks/{first.pk}", {"status": "done"}).status_code == 200
    task_create(
        actor=system, title="Verify", playbook="bd", step="verify", opportunity_id=opportunity.pk
    )
    response = api.patch(f"/tasks/{first.pk}", {"status": "open"})
    assert response.status_code == 409
    assert "still open" in response.json()["detail"]


def test_organisation_matrix(api, other_api, actor, other_actor, opportunity):
    """Another organisation's task is 404 for every route; its lists never show it; its
    records cannot be linked or its members assigned."""
    mine = task_create(actor=actor, title="Ours", opportunity_id=opportunity.pk)
    theirs = task_create(actor=other_actor, title="Theirs")
    for client, foreign, own in ((api, theirs, mine), (other_api, mine, theirs)):
        assert client.get(f"/tasks/{foreign.pk}").status_code == 404
        assert client.patch(f"/tasks/{foreign.pk}", {"status": "done"}).status_code == 404
        assert client.get(f"/tasks/{own.pk}").status_code == 200
        assert [i["id"] for i in client.get("/tasks").json()["items"]] == [own.pk]
    assert other_api.get(f"/tasks?opportunity_id={opportunity.pk}").json()["count"] == 0
    refused = other_api.post("/tasks", {"title": "x", "opportunity_id": opportunity.pk})
    assert refused.status_code == 422 and detail_locs(refused) == [("body", "opportunity_id")]
    refused = other_api.post("/tasks", {"title": "x", "assignee_id": actor.user.pk})
    assert refused.status_code == 422 and detail_locs(refused) == [("body", "assignee_id")]
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, mine.status) == ("open", "open")
    assert not AuditEvent.objects.filter(object_type="task", action="update").exists()


def test_without_a_token(client, db):
    assert client.get("/api/v1/tasks").status_code == 401
    assert (
        client.post("/api/v1/tasks", {"title": "x"}, content_type="application/json").status_code
        == 401
    )
