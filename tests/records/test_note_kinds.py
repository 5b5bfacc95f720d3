"""A note's kind (note, call, meeting, e-mail): chosen when logging it, on the API and the
record page, validated, shown on the timeline."""

from django.test import Client

from salesline.core.errors import ValidationFailed
from salesline.records.models import Note
from salesline.records.services import note_create


def test_a_note_is_logged_with_its_kind_and_a_wrong_kind_is_refused(actor, company):
    note = note_create(
        actor=actor, body="Met the archivist.", kind="meeting", target={"company_id": company.pk}
    )
    assert Note.objects.get(pk=note.pk).kind == "meeting"
    assert note_create(actor=actor, body="x", target={"company_id": company.pk}).kind == "note"
    try:
        note_create(actor=actor, body="x", kind="visit", target={"company_id": company.pk})
    except ValidationFailed as error:
        assert [(p.loc, p.msg) for p in error.problems] == [
            (("kind",), "Kind must be one of: note, call, meeting, email.")
        ]
    else:
        raise AssertionError("a kind that does not exist was accepted")


def test_the_api_takes_and_returns_the_kind(api, company):
    created = api.post("/notes", {"body": "Called.", "kind": "call", "company_id": company.pk})
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "call"
    plain = api.post("/notes", {"body": "Plain.", "company_id": company.pk})
    assert plain.json()["kind"] == "note"
    refused = api.post("/notes", {"body": "x", "kind": "visit", "company_id": company.pk})
    assert refused.status_code == 422
    assert "kind" in refused.content.decode()


def test_the_record_page_logs_a_meeting_and_shows_it(user, opportunity):
    client = Client()
    client.force_login(user)
    page = client.get(f"/records/opportunities/{opportunity.pk}/").content.decode()
    assert '<option value="meeting">Meeting</option>' in page
    response = client.post(
        f"/records/opportunities/{opportunity.pk}/notes/",
        {"body": "Demo at their office.", "kind": "meeting"},
    )
    assert response.status_code == 302
    page = client.get(f"/records/opportunities/{opportunity.pk}/").content.decode()
    assert '<span class="note-kind">Meeting</span>' in page
    refused = client.post(
        f"/records/opportunities/{opportunity.pk}/notes/", {"body": "x", "kind": "visit"}
    )
    assert refused.status_code == 400
    assert "Kind must be one of" in refused.content.decode()
