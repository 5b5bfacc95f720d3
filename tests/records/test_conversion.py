"""Lead conversion: match an existing person and company instead of duplicating them, report every
missing field at once, create the opportunity when asked — atomically, and only once."""

import pytest

from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.conversion import find_matches, lead_convert
from salesline.pipeline.models import Opportunity, StageChange
from salesline.records.models import Company, Lead, Person
from salesline.records.services import record_create, record_delete
from tests.conftest import COMPANY, CONVERT_COMPANY, CONVERT_PERSON, LEAD, PERSON


def counts() -> dict:
    return {
        "people": Person.objects.count(),
        "companies": Company.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def make_lead(actor, **fields) -> Lead:
    return record_create(actor=actor, kind="lead", data={**LEAD, **fields})


# ---------------------------------------------------------------- matching


def test_a_person_is_matched_by_email_whatever_its_case(actor, company):
    ola = record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "OLA@Acme.NO", "company_id": company.pk},
    )
    lead = make_lead(actor, name="Ola N.", email="Ola@ACME.no")
    before = counts()

    converted = lead_convert(actor=actor, lead_id=lead.pk)

    assert (converted.converted_person_id, converted.converted_company_id) == (ola.pk, company.pk)
    assert Person.objects.count() == before["people"]
    assert Company.objects.count() == before["companies"]


def test_a_company_is_matched_by_the_leads_email_domain(actor, company):
    lead = make_lead(actor, company_name="Something Else Entirely")

    matches = find_matches(actor=actor, lead=lead)
    converted = lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)

    assert (matches.company, matches.company_reason) == (company, "e-mail domain acme.no")
    assert converted.converted_company_id == company.pk
    assert converted.converted_person.company_id == company.pk


def test_a_free_mail_domain_never_matches_a_company(actor):
    webmail = record_create(
        actor=actor, kind="company", data={**COMPANY, "name": "Gmail", "email_domain": "gmail.com"}
    )
    lead = make_lead(actor, email="kari.hansen@gmail.com", company_name="Hansen Arkiv")

    converted = lead_convert(
        actor=actor, lead_id=lead.pk, person=CONVERT_PERSON, company=CONVERT_COMPANY
    )

    new = converted.converted_company
    assert new.pk != webmail.pk
    assert (new.name, new.email_domain) == ("Hansen Arkiv", "")


@pytest.mark.parametrize(
    "written",
    [
        "acme archives",
        "ACME ARCHIVES",
        "Acme Archives A/S",
        "The Acme Archives Ltd",
        "Acme-Archives",
    ],
)
def test_a_company_is_matched_by_its_normalised_name(actor, written):
    acme = record_create(
        actor=actor, kind="company", data={**COMPANY, "email_domain": "acme-archives.no"}
    )
    lead = make_lead(actor, email="kari@elsewhere.no", company_name=written)

    matches = find_matches(actor=actor, lead=lead)
    converted = lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)

    assert (matches.company, matches.company_reason) == (acme, f"company name '{written}'")
    assert converted.converted_company_id == acme.pk
    assert Company.objects.count() == 1


def test_a_person_is_matched_by_name_at_the_matched_company(actor, company):
    kari = record_create(
        actor=actor,
        kind="person",
        data={
            **PERSON,
            "name": "Kari Hansen",
            "email": "k.hansen@acme.no",
            "company_id": company.pk,
        },
    )
    lead = make_lead(actor, email="kari@acme.no")

    matches = find_matches(actor=actor, lead=lead)

    assert (matches.person, matches.person_reason) == (
        kari,
        "name 'Kari Hansen' at Acme Archives AS",
    )


def test_deleted_and_foreign_records_are_never_matched(actor, other_actor, company):
    record_create(actor=other_actor, kind="company", data={**COMPANY, "name": "Acme Archives"})
    record_delete(actor=actor, kind="company", record_id=company.pk)
    lead = make_lead(actor)

    matches = find_matches(actor=actor, lead=lead)

    assert (matches.company, matches.person) == (None, None)


def test_with_no_match_person_and_company_are_made_from_the_lead(actor, user):
    lead = make_lead(actor, phone="+4799999999", linkedin="linkedin.com/in/kari")

    converted = lead_convert(
        actor=actor, lead_id=lead.pk, person={"title": "Archivist"}, company=CONVERT_COMPANY
    )

    company = converted.converted_company
    person = converted.converted_person
    assert (company.name, company.business_unit, company.email_domain, company.market) == (
        "Acme Archives",
        "Nordics",
        "acme.no",
        "Norway",
    )
    assert (person.name, person.email, person.phone, person.linkedin, person.title) == (
        "Kari Hansen",
        "kari@acme.no",
        "+4799999999",
        "https://linkedin.com/in/kari",  # normalised as by an import
        "Archivist",
    )
    assert (person.company_id, person.owner_id, company.owner_id) == (company.pk, user.pk, user.pk)
    assert converted.converted_at is not None
    assert converted.converted_opportunity_id is None


# ---------------------------------------------------------------- details


IMPORTED_DETAILS = "Met at Nor-Shipping\nE-mail: kari.hansen@gmail.com\nPhone: +4791234567"


def test_a_new_person_takes_the_leads_details(actor, company):
    lead = make_lead(actor, details=IMPORTED_DETAILS)

    person = lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON).converted_person

    assert person.details == IMPORTED_DETAILS
    created = AuditEvent.objects.get(action="create", object_type="person")
    assert created.changes["details"] == [None, IMPORTED_DETAILS]


def test_an_existing_person_keeps_their_details_and_gains_the_leads(actor, user, company):
    kari = record_create(
        actor=actor,
        kind="person",
        data={
            **PERSON,
            "name": "Kari Hansen",
            "email": "kari@acme.no",
            "company_id": company.pk,
            "details": "Prefers mornings\nMet at Nor-Shipping",
        },
    )
    lead = make_lead(actor, details=IMPORTED_DETAILS)

    converted = lead_convert(actor=actor, lead_id=lead.pk)

    kari.refresh_from_db()
    assert converted.converted_person_id == kari.pk
    # What the person had stays first; the lead's lines they lack follow, a shared one once.
    assert kari.details == (
        "Prefers mornings\nMet at Nor-Shipping\nE-mail: kari.hansen@gmail.com\nPhone: +4791234567"
    )
    assert kari.version == 2
    update = AuditEvent.objects.get(action="update", object_type="person", object_id=str(kari.pk))
    assert update.actor_id == user.pk
    assert update.changes == {"details": ["Prefers mornings\nMet at Nor-Shipping", kari.details]}


def test_a_person_already_holding_the_leads_details_is_not_changed(actor, company):
    kari = record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "kari@acme.no", "company_id": company.pk, "details": "x\ny"},
    )
    lead = make_lead(actor, details="y\n  x  ")

    lead_convert(actor=actor, lead_id=lead.pk)

    kari.refresh_from_db()
    assert (kari.details, kari.version) == ("x\ny", 1)
    assert not AuditEvent.objects.filter(action="update", object_type="person").exists()


def test_details_too_long_together_refuse_the_conversion_naming_them(actor, company):
    record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "kari@acme.no", "company_id": company.pk, "details": "a" * 30_000},
    )
    lead = make_lead(actor, details="b" * 30_000)
    before = counts()

    with pytest.raises(ValidationFailed) as refused:
        lead_convert(actor=actor, lead_id=lead.pk)

    [problem] = refused.value.problems
    assert problem.loc == ("person", "details")
    assert problem.msg.startswith("Details of Ola Nordmann with the lead's added must be at most")
    assert counts() == before
    lead.refresh_from_db()
    assert lead.converted_at is None


# ---------------------------------------------------------------- missing fields


def test_every_missing_person_and_company_field_is_named(api, lead):
    before = counts()

    response = api.post(f"/leads/{lead.pk}/convert", {})

    assert response.status_code == 422
    assert [(d["loc"], d["msg"]) for d in response.json()["detail"]] == [
        (["body", "company", "contact_type"], "Contact type is required."),
        (["body", "company", "market"], "Market is required."),
        (["body", "company", "life_cycle"], "Life cycle is required."),
        (["body", "company", "sector"], "Sector is required."),
        (["body", "company", "segment"], "Segment is required."),
        (["body", "person", "phone"], "Phone is required."),
        (["body", "person", "title"], "Title is required."),
    ]
    assert counts() == before
    lead.refresh_from_db()
    assert lead.converted_at is None


def test_a_convert_without_any_body_reports_the_same_fields(api, lead, company):
    response = api.client.post(f"/api/v1/leads/{lead.pk}/convert", content_type="application/json")

    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [
        ["body", "person", "phone"],
        ["body", "person", "title"],
    ]


def test_invalid_values_in_the_payload_are_named_under_their_object(api, lead):
    response = api.post(
        f"/leads/{lead.pk}/convert",
        {
            "person": {**CONVERT_PERSON, "email": "not-an-address"},
            "company": {**CONVERT_COMPANY, "colour": "red"},
        },
    )

    assert response.status_code == 422
    assert [(d["loc"], d["msg"]) for d in response.json()["detail"]] == [
        (["body", "company", "colour"], "Unknown field 'colour'."),
        (["body", "person", "email"], "E-mail is not a valid e-mail address: no @."),
    ]


def test_a_matched_company_needs_no_company_fields(api, lead, company):
    response = api.post(f"/leads/{lead.pk}/convert", {"person": CONVERT_PERSON})

    assert response.status_code == 200
    assert response.json()["company_id"] == company.pk


def test_the_api_links_a_chosen_company_and_person_instead_of_the_matches(
    api, actor, lead, company
):
    chosen = record_create(actor=actor, kind="company", data={**COMPANY, "name": "Acme Group"})
    someone = record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "kari.h@acme.no", "company_id": chosen.pk},
    )

    response = api.post(
        f"/leads/{lead.pk}/convert", {"company_id": chosen.pk, "person_id": someone.pk}
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["company_id"], response.json()["person_id"]) == (
        chosen.pk,
        someone.pk,
    )


def test_the_api_makes_a_new_company_when_told_the_match_is_another(api, lead, company):
    response = api.post(
        f"/leads/{lead.pk}/convert",
        {"link_company": False, "company": CONVERT_COMPANY, "person": CONVERT_PERSON},
    )

    assert response.status_code == 200, response.json()
    made = Company.objects.get(pk=response.json()["company_id"])
    assert made.pk != company.pk and made.name == LEAD["company_name"]


def test_the_api_refuses_a_chosen_record_of_another_organisation_and_writes_nothing(
    api, other_actor, lead
):
    foreign = record_create(actor=other_actor, kind="company", data=COMPANY)
    before = counts()

    response = api.post(
        f"/leads/{lead.pk}/convert", {"company_id": foreign.pk, "person": CONVERT_PERSON}
    )

    assert response.status_code == 422
    assert f"No company with id {foreign.pk} to link to." in str(response.json())
    assert counts() == before
    lead.refresh_from_db()
    assert lead.converted_at is None


# ---------------------------------------------------------------- with an opportunity


def test_with_a_pipeline_an_opportunity_starts_in_its_first_stage(api, actor, lead, company):
    response = api.post(
        f"/leads/{lead.pk}/convert",
        {"person": CONVERT_PERSON, "pipeline": "business-development"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    opportunity = Opportunity.objects.get(pk=body["opportunity_id"])
    assert (opportunity.pipeline.key, opportunity.stage.key, opportunity.name) == (
        "business-development",
        "identify",
        "Acme Archives AS - Kari Hansen",
    )
    assert (opportunity.company_id, opportunity.primary_contact_id) == (
        body["company_id"],
        body["person_id"],
    )
    assert list(StageChange.objects.filter(opportunity=opportunity).values_list("to_stage")) == [
        ("identify",)
    ]


def test_opportunity_fields_come_from_the_payload(api, lead, company):
    response = api.post(
        f"/leads/{lead.pk}/convert",
        {
            "person": CONVERT_PERSON,
            "opportunity": {"name": "Expo follow-up", "value": "25000", "currency": "nok"},
        },
    )

    assert response.status_code == 200
    opportunity = Opportunity.objects.get(pk=response.json()["opportunity_id"])
    assert (opportunity.name, str(opportunity.value), opportunity.currency) == (
        "Expo follow-up",
        "25000.00",
        "NOK",
    )


def test_opportunity_gate_problems_are_named_under_opportunity(api, lead, company):
    before = counts()

    response = api.post(
        f"/leads/{lead.pk}/convert",
        {"person": CONVERT_PERSON, "opportunity": {"stage": "develop", "value": "-1"}},
    )

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0] == {
        "loc": ["body", "opportunity", "value"],
        "msg": "Estimated value must be a number of zero or more.",
        "type": "invalid",
    }
    assert {d["stage"] for d in detail[1:]} == {"qualify", "develop"}
    assert all(d["loc"][:2] == ["body", "opportunity"] for d in detail)
    assert counts() == before


def test_a_failing_opportunity_leaves_no_person_or_company_behind(actor, lead):
    before = counts()

    with pytest.raises(ValidationFailed) as refused:
        lead_convert(
            actor=actor,
            lead_id=lead.pk,
            person=CONVERT_PERSON,
            company=CONVERT_COMPANY,
            pipeline="no-such-pipeline",
        )

    assert [p.loc for p in refused.value.problems] == [("pipeline",)]
    assert counts() == before
    lead.refresh_from_db()
    assert (lead.converted_at, lead.converted_person_id, lead.converted_company_id) == (
        None,
        None,
        None,
    )


def test_an_unknown_pipeline_is_named_where_it_was_sent(api, lead, company):
    response = api.post(f"/leads/{lead.pk}/convert", {"person": CONVERT_PERSON, "pipeline": "nope"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "pipeline"],
            "msg": "Unknown pipeline 'nope' (known: business-development).",
            "type": "invalid",
        }
    ]


# ---------------------------------------------------------------- once only


def test_converting_twice_is_refused_and_creates_nothing_more(api, actor, lead, company):
    first = api.post(
        f"/leads/{lead.pk}/convert",
        {"person": CONVERT_PERSON, "pipeline": "business-development"},
    )
    after_first = counts()

    second = api.post(
        f"/leads/{lead.pk}/convert",
        {"person": CONVERT_PERSON, "pipeline": "business-development"},
    )

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["detail"].startswith(f"Lead #{lead.pk} was already converted on ")
    assert counts() == after_first
    with pytest.raises(Conflict):
        lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)


def test_the_links_are_kept_on_the_lead(api, lead, company):
    body = api.post(
        f"/leads/{lead.pk}/convert",
        {"person": CONVERT_PERSON, "pipeline": "business-development"},
    ).json()

    shown = api.get(f"/leads/{lead.pk}").json()

    assert (
        shown["converted_person_id"],
        shown["converted_company_id"],
        shown["converted_opportunity_id"],
    ) == (body["person_id"], body["company_id"], body["opportunity_id"])
    assert shown["converted_at"] is not None
    assert [item["id"] for item in api.get("/leads?converted=true").json()["items"]] == [lead.pk]


def test_conversion_is_audited_with_what_it_linked(actor, user, lead, company):
    converted = lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)

    event = AuditEvent.objects.get(action="convert")
    person_created = AuditEvent.objects.get(action="create", object_type="person")
    assert (event.actor_id, event.object_type, event.object_id) == (user.pk, "lead", str(lead.pk))
    assert event.changes == {
        "person_id": [None, converted.converted_person_id],
        "company_id": [None, company.pk],
        "opportunity_id": [None, None],
        "matched": [None, {"person": "", "company": "e-mail domain acme.no"}],
    }
    assert person_created.object_id == str(converted.converted_person_id)


def test_a_deleted_lead_cannot_be_converted(actor, lead):
    record_delete(actor=actor, kind="lead", record_id=lead.pk)

    with pytest.raises(NotFound):
        lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)


def test_matches_endpoint_shows_what_a_conversion_would_link(api, actor, lead, company):
    ola = record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "kari@acme.no", "company_id": company.pk},
    )

    response = api.get(f"/leads/{lead.pk}/matches")

    assert response.json() == {
        "person_id": ola.pk,
        "person_reason": "e-mail kari@acme.no",
        "company_id": company.pk,
        "company_reason": "e-mail domain acme.no",
    }
