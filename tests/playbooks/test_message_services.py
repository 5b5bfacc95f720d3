"""Drafting, editing, sending and cancelling messages (the services; delivery has its own file)."""

import re

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from salesline.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.playbooks import message_services
from salesline.playbooks.models import Message
from tests.playbooks.message_fixtures import make_document, make_opportunity, make_template

pytestmark = pytest.mark.django_db


def locs(error) -> list[tuple]:
    return [problem.loc for problem in error.value.problems]


def delivery_tasks():
    return DBTaskResult.objects.filter(task_path__endswith="delivery.message_deliver")


@pytest.fixture
def template(org):
    org.from_email = "partnerships@piql.test"
    org.booking_url = "https://book.piql.test/ann"
    org.save()
    return make_template(org)


@pytest.fixture
def deal(actor, person):
    return make_opportunity(actor, person)


def draft(actor, deal, **overrides):
    return message_services.message_draft(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk, **overrides
    )


def test_a_draft_is_rendered_for_the_opportunitys_contact(actor, template, deal):
    message = draft(actor, deal)

    assert message.status == "draft"
    assert message.to == ["ola@acme.no"]
    assert message.subject == "Hello Ola from Piql Archive"
    assert message.body.startswith("Dear Ola Nordmann,\n\nAbout Archive project: book a meeting")
    assert "https://book.piql.test/ann" in message.body
    assert message.from_email == "partnerships@piql.test"
    assert re.fullmatch(r"<[^<>@\s]+@piql\.test>", message.message_id)
    assert (message.opportunity, message.template, message.sender) == (
        deal,
        "hail-the-lead",
        actor.user,
    )
    event = AuditEvent.objects.get(object_type="message", object_id=str(message.pk))
    assert event.action == "create"
    assert event.changes["to"] == [None, ["ola@acme.no"]]


def test_from_is_the_templates_then_the_organisations_then_the_default(actor, org, template, deal):
    template.from_email = "Partnerships <team@partners.test>"
    template.save()
    assert draft(actor, deal).from_email == "Partnerships <team@partners.test>"
    assert draft(actor, deal).message_id.endswith("@partners.test>")
    template.from_email = ""
    template.save()
    org.from_email = ""
    org.save()
    assert draft(actor, deal).from_email == "salesline@localhost"


def test_message_ids_are_unique(actor, template, deal):
    ids = {draft(actor, deal).message_id for _ in range(5)}
    assert len(ids) == 5


def test_a_leads_draft_goes_to_the_lead(actor, template, lead):
    message = message_services.message_draft(
        actor=actor, template_key="hail-the-lead", lead_id=lead.pk
    )
    assert message.to == ["kari@acme.no"]
    assert message.subject == "Hello Kari from Piql Archive"
    assert message.lead == lead


def test_no_address_to_send_to_is_a_422_naming_to(actor, template):
    from salesline.pipeline.services import opportunity_create

    bare = opportunity_create(actor=actor, data={"name": "No contact yet"})
    with pytest.raises(ValidationFailed) as error:
        draft(actor, bare)
    assert locs(error) == [("to",)]
    # Given recipients, it drafts.
    assert draft(actor, bare, to=["someone@acme.no"]).to == ["someone@acme.no"]


def test_unknown_template_is_a_422_naming_template(actor, template, deal):
    with pytest.raises(ValidationFailed) as error:
        message_services.message_draft(actor=actor, template_key="nope", opportunity_id=deal.pk)
    assert locs(error) == [("template",)]
    assert "hail-the-lead" in error.value.problems[0].msg


def test_no_record_is_a_422(actor, template):
    with pytest.raises(ValidationFailed) as error:
        message_services.message_draft(actor=actor, template_key="hail-the-lead")
    assert locs(error) == [("opportunity_id",)]


def test_overrides_are_checked_every_problem_at_once(actor, template, deal, other_org):
    foreign = make_document(other_org)
    with pytest.raises(ValidationFailed) as error:
        draft(
            actor,
            deal,
            to=["ok@acme.no", "not an address"],
            subject="two\nlines",
            body="   ",
            attachments=[foreign.pk],
        )
    assert locs(error) == [("to", 1), ("subject",), ("body",), ("attachments", 0)]
    assert Message.objects.count() == 0


def test_overrides_replace_the_rendered_text(actor, template, deal):
    document = make_document(deal.organisation, opportunity=deal)
    message = draft(
        actor,
        deal,
        to=["A@Acme.no", "b@acme.no"],
        subject="Hi",
        body="Text",
        attachments=[document.pk],
    )
    assert (message.to, message.subject, message.body) == (["a@acme.no", "b@acme.no"], "Hi", "Text")
    assert list(message.attachments.all()) == [document]


def test_the_templates_documents_are_attached_latest_version(actor, template, deal):
    make_document(deal.organisation, opportunity=deal, version=1, file_name="v1.pdf")
    latest = make_document(deal.organisation, opportunity=deal, version=2, file_name="v2.pdf")
    make_document(deal.organisation, version=3, file_name="another-record.pdf")
    template.attachments = ["service-description"]
    template.save()
    assert list(draft(actor, deal).attachments.all()) == [latest]


def test_another_organisations_record_is_not_found(other_actor, template, deal):
    make_template(other_actor.organisation)
    with pytest.raises(NotFound):
        draft(other_actor, deal)


def test_a_template_with_an_unknown_field_is_refused_naming_template(actor, template, deal):
    template.body = "Hi {{ contact.shoe_size }}"
    template.save()
    with pytest.raises(ValidationFailed) as error:
        draft(actor, deal)
    assert locs(error) == [("template",)]
    assert "contact.shoe_size" in error.value.problems[0].msg


def test_update_changes_a_draft_only(actor, template, deal):
    message = draft(actor, deal)
    updated = message_services.message_update(
        actor=actor,
        message_id=message.pk,
        data={"subject": "New subject", "to": ["x@acme.no"]},
        expected_version=message.version,
    )
    assert (updated.subject, updated.to, updated.version) == ("New subject", ["x@acme.no"], 2)
    with pytest.raises(PreconditionFailed):
        message_services.message_update(
            actor=actor, message_id=message.pk, data={"body": "B"}, expected_version=1
        )
    with pytest.raises(ValidationFailed) as error:
        message_services.message_update(
            actor=actor, message_id=message.pk, data={"status": "sent", "to": []}
        )
    assert locs(error) == [("status",), ("to",)]
    message_services.message_send(actor=actor, message_id=message.pk)
    with pytest.raises(Conflict):
        message_services.message_update(actor=actor, message_id=message.pk, data={"body": "B"})


def test_send_queues_with_its_task_and_twice_is_a_conflict(actor, template, deal):
    message = draft(actor, deal)
    sent = message_services.message_send(actor=actor, message_id=message.pk)

    assert sent.status == "queued"
    assert sent.queued_at is not None
    (task,) = delivery_tasks()
    assert task.args_kwargs["args"] == [message.pk, sent.delivery_token]
    with pytest.raises(Conflict):
        message_services.message_send(actor=actor, message_id=message.pk)
    assert delivery_tasks().count() == 1
    actions = AuditEvent.objects.filter(object_type="message").values_list("action", flat=True)
    assert sorted(actions) == ["create", "send"]


def test_the_task_row_rolls_back_with_the_send(actor, template, deal):
    message = draft(actor, deal)
    with pytest.raises(RuntimeError), transaction.atomic():
        message_services.message_send(actor=actor, message_id=message.pk)
        assert delivery_tasks().count() == 1  # written in the same transaction
        raise RuntimeError("the business transaction fails")
    message.refresh_from_db()
    assert message.status == "draft"
    assert not delivery_tasks().exists()


def test_create_and_send_queues_at_once(actor, template, deal):
    message = message_services.message_create_and_send(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk
    )
    assert message.status == "queued"
    assert delivery_tasks().count() == 1


def test_cancel_deletes_a_draft_and_keeps_the_audit(actor, template, deal):
    message = draft(actor, deal)
    message_services.message_cancel(actor=actor, message_id=message.pk)
    assert not Message.objects.exists()
    event = AuditEvent.objects.get(object_type="message", action="delete")
    assert event.changes["subject"] == ["Hello Ola from Piql Archive", None]

    queued = message_services.message_create_and_send(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk
    )
    with pytest.raises(Conflict):
        message_services.message_cancel(actor=actor, message_id=queued.pk)


def test_another_organisations_message_is_not_found(actor, other_actor, template, deal):
    message = draft(actor, deal)
    for call in (
        lambda: message_services.message_send(actor=other_actor, message_id=message.pk),
        lambda: message_services.message_update(
            actor=other_actor, message_id=message.pk, data={"body": "x"}
        ),
        lambda: message_services.message_cancel(actor=other_actor, message_id=message.pk),
    ):
        with pytest.raises(NotFound):
            call()


def test_messages_show_on_the_records_timeline(actor, template, deal, settings):
    from salesline.web.selectors import record_timeline

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    kept = draft(actor, deal)
    sent = message_services.message_create_and_send(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk, subject="Sent one"
    )
    from salesline.core.tasks import run_pending_tasks

    run_pending_tasks()
    texts = [e.text for e in record_timeline(actor=actor, kind="opportunity", obj=deal)]

    assert f"Drafted “{kept.subject}” to ola@acme.no" in texts
    assert "Sent “Sent one” to ola@acme.no" in texts
    assert texts.index("Sent “Sent one” to ola@acme.no") < texts.index(
        f"Drafted “{kept.subject}” to ola@acme.no"
    )
    assert sent.pk != kept.pk


def test_a_templates_document_the_record_lacks_is_generated(actor, template, deal):
    template.attachments = ["service-description"]
    template.save()
    message = draft(actor, deal)
    (document,) = message.attachments.all()
    assert (document.template, document.opportunity, document.version) == (
        "service-description",
        deal,
        1,
    )
    # The next draft attaches that same latest version: nothing is generated again.
    assert list(draft(actor, deal).attachments.all()) == [document]
