"""Message template services and selectors: save-time checks, audit, scoping, previews."""

import pytest

from salesline.core.audit import AuditEvent
from salesline.core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from salesline.playbooks import message_template_selectors as selectors
from salesline.playbooks import message_template_services as services
from salesline.playbooks.models import MessageTemplate
from tests.conftest import LEAD

HAIL = {
    "key": "hail-the-lead",
    "name": "Hail the lead",
    "subject": "Hello {{ contact.first_name }} from {{ organisation.name }}",
    "body": "Dear {{ contact.name }},\n\nBook a meeting: {{ links.booking }}\n\n{{ sender.name }}",
}


def problems_of(error) -> list[tuple[tuple, str]]:
    return [(p.loc, p.msg) for p in error.value.problems]


@pytest.fixture
def hail(actor):
    return services.message_template_create(actor=actor, data=HAIL)


def test_create_saves_and_audits(actor):
    template = services.message_template_create(
        actor=actor,
        data={
            **HAIL,
            "from_email": "  Partnerships <Partnerships@Piql.test> ",
            "attachments": ["service-description", "service-description"],
        },
    )
    template.refresh_from_db()
    assert (template.key, template.name, template.version) == ("hail-the-lead", "Hail the lead", 1)
    assert template.from_email == "Partnerships <partnerships@piql.test>"
    assert template.attachments == ["service-description"]
    event = AuditEvent.objects.get(object_type="messagetemplate", action="create")
    assert event.object_id == str(template.pk)
    assert event.actor_label == "ann@piql.test"
    assert event.changes["key"] == [None, "hail-the-lead"]


def test_an_unknown_merge_field_is_refused_when_saved_naming_the_field(actor):
    with pytest.raises(ValidationFailed) as refused:
        services.message_template_create(
            actor=actor,
            data={
                **HAIL,
                "subject": "Hi {{ contact.nme }}",
                "body": "{{ opportunity.organisation }} {% load x %}",
            },
        )
    assert problems_of(refused) == [
        (("subject",), "unknown merge field 'contact.nme'"),
        (("body",), "unknown merge field 'opportunity.organisation'"),
        (
            ("body",),
            "the tag '{% load %}' is not allowed (use if, elif, else, firstof or comment) (line 1)",
        ),
    ]
    assert not MessageTemplate.objects.exists()


def test_every_field_problem_is_named_at_once(actor):
    with pytest.raises(ValidationFailed) as refused:
        services.message_template_create(
            actor=actor,
            data={
                "key": "Not a Slug!",
                "name": "  ",
                "subject": "two\nlines",
                "from_email": "not an address",
                "attachments": ["service-description", 7, "no-such-document"],
                "colour": "red",
            },
        )
    assert [p[0] for p in problems_of(refused)] == [
        ("colour",),
        ("key",),
        ("name",),
        ("subject",),
        ("body",),
        ("from_email",),
        ("attachments", 1),
        ("attachments", 2),
    ]
    messages = dict(problems_of(refused))
    assert messages[("name",)] == "'name' is required."
    assert messages[("body",)] == "'body' is required."
    assert messages[("subject",)] == "'subject' must be one line (no line breaks or tabs)."
    assert messages[("attachments", 2)].startswith(
        "unknown document template 'no-such-document' (known: "
    )


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("", ""),
        ("sales@piql.test", "sales@piql.test"),
        ("Piql Sales <SALES@piql.test>", "Piql Sales <sales@piql.test>"),
        ('"Sales, Piql" <sales@piql.test>', '"Sales, Piql" <sales@piql.test>'),
    ],
)
def test_from_email_is_blank_an_address_or_a_named_address(actor, value, stored):
    template = services.message_template_create(actor=actor, data={**HAIL, "from_email": value})
    assert template.from_email == stored


@pytest.mark.parametrize(
    "value",
    [
        "sales",
        "sales@",
        "<>",
        "Sales <sales@piql.test",
        "a@b.test, c@d.test",
        "x" * 250 + "@a.test",
    ],
)
def test_a_bad_from_email_is_refused(actor, value):
    with pytest.raises(ValidationFailed) as refused:
        services.message_template_create(actor=actor, data={**HAIL, "from_email": value})
    assert [p[0] for p in problems_of(refused)] == [("from_email",)]


def test_a_key_is_unique_per_organisation(actor, hail, other_actor):
    with pytest.raises(Conflict) as refused:
        services.message_template_create(actor=actor, data={**HAIL, "name": "Again"})
    assert problems_of(refused) == [
        (("key",), "a message template with key 'hail-the-lead' already exists")
    ]
    # Another organisation may use the same key.
    services.message_template_create(actor=other_actor, data=HAIL)
    second = services.message_template_create(actor=actor, data={**HAIL, "key": "second"})
    with pytest.raises(Conflict):
        services.message_template_update(
            actor=actor, template_id=second.pk, data={"key": "hail-the-lead"}
        )


def test_update_changes_only_what_is_given_and_audits_it(actor, hail):
    updated = services.message_template_update(
        actor=actor,
        template_id=hail.pk,
        data={"subject": "New {{ company.name }}", "name": "Hail the lead"},
        expected_version=1,
    )
    assert (updated.subject, updated.body, updated.version) == (
        "New {{ company.name }}",
        HAIL["body"],
        2,
    )
    event = AuditEvent.objects.get(object_type="messagetemplate", action="update")
    assert event.changes == {"subject": [HAIL["subject"], "New {{ company.name }}"]}
    # Nothing changed: no new version, no audit row.
    services.message_template_update(
        actor=actor, template_id=hail.pk, data={"name": "Hail the lead"}
    )
    assert MessageTemplate.objects.get().version == 2
    assert AuditEvent.objects.filter(object_type="messagetemplate", action="update").count() == 1


def test_update_refuses_an_unknown_field_a_stale_version_and_a_blank_body(actor, hail):
    with pytest.raises(ValidationFailed) as refused:
        services.message_template_update(
            actor=actor, template_id=hail.pk, data={"body": "{{ contact.nme }}", "subject": ""}
        )
    assert problems_of(refused) == [
        (("subject",), "'subject' is required."),
        (("body",), "unknown merge field 'contact.nme'"),
    ]
    with pytest.raises(PreconditionFailed):
        services.message_template_update(
            actor=actor, template_id=hail.pk, data={"name": "X"}, expected_version=7
        )
    assert MessageTemplate.objects.get().body == HAIL["body"]


def test_another_organisations_template_is_not_found(hail, other_actor):
    for call in (
        lambda: selectors.message_template_get_for(actor=other_actor, template_id=hail.pk),
        lambda: selectors.message_template_get_by_key(actor=other_actor, key=hail.key),
        lambda: services.message_template_update(
            actor=other_actor, template_id=hail.pk, data={"name": "Mine"}
        ),
        lambda: services.message_template_delete(actor=other_actor, template_id=hail.pk),
        lambda: selectors.message_template_preview(actor=other_actor, template_id=hail.pk),
    ):
        with pytest.raises(NotFound):
            call()
    assert list(selectors.message_template_list(actor=other_actor)) == []


def test_get_by_key(actor, hail):
    assert selectors.message_template_get_by_key(actor=actor, key="hail-the-lead") == hail
    with pytest.raises(NotFound):
        selectors.message_template_get_by_key(actor=actor, key="nope")


def test_delete_audits(actor, hail):
    services.message_template_delete(actor=actor, template_id=hail.pk)
    assert not MessageTemplate.objects.exists()
    event = AuditEvent.objects.get(object_type="messagetemplate", action="delete")
    assert event.changes["key"] == ["hail-the-lead", None]


def test_preview_with_sample_data_and_with_records(actor, hail, lead, org):
    org.booking_url = "https://book.example.com/piql"
    org.save(update_fields=["booking_url"])
    subject, body = selectors.message_template_preview(actor=actor, template_id=hail.pk)
    assert subject == "Hello Kari from Piql Archive"
    assert "Dear Kari Nordmann," in body
    assert "Book a meeting: https://book.example.com/piql" in body
    assert body.endswith("ann@piql.test")
    subject, body = selectors.message_template_preview(
        actor=actor, template_id=hail.pk, lead_id=lead.pk
    )
    assert (subject, body.splitlines()[0]) == ("Hello Kari from Piql Archive", "Dear Kari Hansen,")
    # Unsaved text is previewed as typed.
    subject, body = selectors.message_template_preview(
        actor=actor, subject="{{ lead.source }}", body="{{ lead.email }}", lead_id=lead.pk
    )
    assert (subject, body) == ("Trade show", "kari@acme.no")


def test_preview_refuses_what_saving_refuses_and_records_of_other_organisations(
    actor, hail, other_actor
):
    with pytest.raises(ValidationFailed) as refused:
        selectors.message_template_preview(actor=actor, subject="{{ x }}", body="ok")
    assert problems_of(refused) == [(("subject",), "unknown merge field 'x'")]
    from salesline.records.services import record_create

    foreign = record_create(actor=other_actor, kind="lead", data=LEAD)
    with pytest.raises(NotFound):
        selectors.message_template_preview(actor=actor, template_id=hail.pk, lead_id=foreign.pk)


def test_the_list_is_by_name(actor):
    for key, name in (("b", "Beta"), ("a", "alpha"), ("c", "Gamma")):
        services.message_template_create(actor=actor, data={**HAIL, "key": key, "name": name})
    assert [t.key for t in selectors.message_template_list(actor=actor)] == ["b", "c", "a"]


# --- templates a playbook sends -----------------------------------------------------------------


@pytest.fixture
def partners_hail(partners_actor):
    """The partnerships template's own: its definition declares `hail-the-lead` and the playbook
    "SOP: Hail the lead" sends it."""
    return selectors.message_template_get_by_key(actor=partners_actor, key="hail-the-lead")


def test_a_template_a_playbook_sends_cannot_be_deleted(partners_actor, partners_hail):
    assert services.playbooks_using(partners_actor, "hail-the-lead") == ["SOP: Hail the lead"]
    with pytest.raises(Conflict) as refused:
        services.message_template_delete(actor=partners_actor, template_id=partners_hail.pk)
    assert str(refused.value) == (
        "'Hail the lead' cannot be deleted: the playbook 'SOP: Hail the lead' sends it. "
        "Change the process definition first."
    )
    assert MessageTemplate.objects.filter(pk=partners_hail.pk).exists()


def test_nor_can_its_key_change_but_its_text_can(partners_actor, partners_hail):
    with pytest.raises(Conflict) as refused:
        services.message_template_update(
            actor=partners_actor, template_id=partners_hail.pk, data={"key": "hail"}
        )
    assert problems_of(refused) == [(("key",), "used by the playbook 'SOP: Hail the lead'")]
    updated = services.message_template_update(
        actor=partners_actor,
        template_id=partners_hail.pk,
        data={"subject": "Hi {{ contact.name }}"},
    )
    assert updated.subject == "Hi {{ contact.name }}"


def test_a_template_no_playbook_sends_can_be_deleted_in_the_same_organisation(partners_actor):
    spare = services.message_template_create(actor=partners_actor, data={**HAIL, "key": "spare"})
    assert services.playbooks_using(partners_actor, "spare") == []
    services.message_template_delete(actor=partners_actor, template_id=spare.pk)
    assert not MessageTemplate.objects.filter(pk=spare.pk).exists()
