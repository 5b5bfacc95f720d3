"""/api/v1/messages: drafting, listing, editing, sending; errors in the foundation's shape."""

import pytest

from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery
from tests.playbooks.message_fixtures import make_document, make_opportunity, make_template
from tests.playbooks.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(actor, person, org):
    make_template(org)
    return make_opportunity(actor, person)


def test_draft_edit_send_and_list_through_the_api(api, deal, settings):
    document = make_document(deal.organisation, opportunity=deal)
    created = api.post(
        "/messages",
        {"template": "hail-the-lead", "opportunity_id": deal.pk, "attachments": [document.pk]},
    )
    assert created.status_code == 201, created.content
    message = created.json()
    assert message["status"] == "draft"
    assert message["to"] == ["ola@acme.no"]
    assert message["subject"] == "Hello Ola from Piql Archive"
    assert message["attachments"] == ["Service description.pdf"]
    assert message["template"] == "hail-the-lead"
    assert (message["sent_at"], message["error"]) == (None, "")
    assert message["message_id"].startswith("<")

    etag = created["ETag"]
    patched = api.patch(f"/messages/{message['id']}", {"subject": "Edited"}, HTTP_IF_MATCH=etag)
    assert patched.status_code == 200, patched.content
    assert patched.json()["subject"] == "Edited"
    stale = api.patch(f"/messages/{message['id']}", {"subject": "Again"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412

    with SmtpSink() as sink:
        settings.MAILERS = sink.mailer()
        queued = api.post(f"/messages/{message['id']}/send")
        assert queued.status_code == 202, queued.content
        assert queued.json()["status"] == "queued"
        assert api.post(f"/messages/{message['id']}/send").status_code == 409
        run_pending_tasks()
        delivery.close_mail_connection()
    assert [r.message["Subject"] for r in sink.accepted] == ["Edited"]

    listed = api.get(f"/messages?opportunity_id={deal.pk}&status=sent").json()
    assert [m["id"] for m in listed["items"]] == [message["id"]]
    assert listed["items"][0]["sent_at"] is not None
    assert api.get(f"/messages?opportunity_id={deal.pk}&status=draft").json()["items"] == []
    assert api.patch(f"/messages/{message['id']}", {"body": "x"}).status_code == 409


def test_unknown_template_is_a_422_naming_template(api, deal):
    response = api.post("/messages", {"template": "nope", "opportunity_id": deal.pk})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "template"]]


def test_bad_overrides_are_422s_naming_each_field(api, deal):
    response = api.post(
        "/messages",
        {
            "template": "hail-the-lead",
            "opportunity_id": deal.pk,
            "to": ["not-an-address"],
            "subject": "a\nb",
        },
    )
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "to", 0], ["body", "subject"]]
    bad_status = api.get("/messages?status=cancelled")
    assert bad_status.status_code == 422
    unknown = api.post("/messages", {"template": "hail-the-lead", "lead": 1})
    assert unknown.status_code == 422


def test_to_may_be_one_address_as_a_string(api, deal):
    created = api.post(
        "/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk, "to": "a@example.org"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["to"] == ["a@example.org"]
    patched = api.patch(f"/messages/{created.json()['id']}", {"to": "B@Example.org"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["to"] == ["b@example.org"]
    listed = api.post(
        "/messages",
        {"template": "hail-the-lead", "opportunity_id": deal.pk, "to": ["a@example.org"]},
    )
    assert listed.json()["to"] == ["a@example.org"]


@pytest.mark.parametrize(
    ("to", "loc"),
    [
        ("not-an-address", ["body", "to", 0]),
        ("", ["body", "to"]),
        (5, ["body", "to"]),
        ([5], ["body", "to"]),
        ({"address": "a@example.org"}, ["body", "to"]),
        (["a@example.org"] * 51, ["body", "to"]),
    ],
)
def test_bad_recipients_are_one_422_naming_to(api, deal, to, loc):
    response = api.post(
        "/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk, "to": to}
    )
    assert response.status_code == 422, response.content
    assert [d["loc"] for d in response.json()["detail"]] == [loc]
    message_id = api.post(
        "/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk}
    ).json()["id"]
    patched = api.patch(f"/messages/{message_id}", {"to": to})
    assert patched.status_code == 422
    assert [d["loc"] for d in patched.json()["detail"]] == [loc]


def test_lead_messages_and_filters(api, lead, org):
    make_template(org)
    response = api.post("/messages", {"template": "hail-the-lead", "lead_id": lead.pk})
    assert response.status_code == 201
    assert response.json()["to"] == ["kari@acme.no"]
    assert api.get(f"/messages?lead_id={lead.pk}").json()["count"] == 1
    assert api.get("/messages?lead_id=999999").json()["count"] == 0


def test_another_organisations_message_is_404(api, other_api, other_org, deal):
    message = api.post("/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk}).json()
    path = f"/messages/{message['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"subject": "x"}).status_code == 404
    assert other_api.post(f"{path}/send").status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get("/messages").json()["items"] == []
    # Drafting on another organisation's record is 404 too.
    make_template(other_org)
    response = other_api.post("/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk})
    assert response.status_code == 404


def test_cancel_a_draft(api, deal):
    message = api.post("/messages", {"template": "hail-the-lead", "opportunity_id": deal.pk}).json()
    assert api.delete(f"/messages/{message['id']}").status_code == 204
    assert api.get(f"/messages/{message['id']}").status_code == 404
