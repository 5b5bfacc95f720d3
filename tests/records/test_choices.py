"""Choice lists in the services every interface shares: writes take a choice in any case (or by
its label) and store its value, refuse anything else naming the allowed values, keep a value
stored before the list; lead conversion and imports follow the same rule; list filters match a
choice or a lead's source ignoring case."""

import csv
import io

import pytest

from salesline.core.errors import ValidationFailed
from salesline.pipeline.conversion import lead_convert
from salesline.pipeline.services import opportunity_create
from salesline.records import selectors
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.importing import services as imports
from salesline.records.models import Company, Lead
from salesline.records.services import record_create, record_update
from tests.conftest import COMPANY, CONVERT_COMPANY, CONVERT_PERSON, LEAD, edit_definition

CONTACT_TYPES = "Customer, Prospect, Partner, Reseller, Supplier"


def refused(call) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return [(p.loc, p.msg) for p in caught.value.problems]


def test_a_choice_in_any_case_is_stored_as_declared(actor):
    company = record_create(
        actor=actor,
        kind="company",
        data={**COMPANY, "contact_type": " customer ", "life_cycle": "FORMER CUSTOMER"},
    )

    company.refresh_from_db()
    assert (company.contact_type, company.life_cycle) == ("Customer", "Former customer")


def test_a_value_outside_the_list_is_refused_naming_the_allowed_values(actor):
    problems = refused(
        lambda: record_create(
            actor=actor, kind="company", data={**COMPANY, "contact_type": "Client"}
        )
    )

    assert problems == [(("contact_type",), f"Contact type must be one of: {CONTACT_TYPES}.")]
    assert not Company.objects.exists()


def test_an_opportunity_sector_is_named_by_value_or_label(actor):
    by_label = opportunity_create(actor=actor, data={"name": "A", "sector": "public sector"})
    problems = refused(lambda: opportunity_create(actor=actor, data={"name": "B", "sector": "ngo"}))

    assert by_label.sector == "public"
    assert problems == [
        (("sector",), "Sector must be one of: public (Public sector), private (Private sector).")
    ]


def test_a_value_stored_before_the_list_stays_until_changed(actor, admin_actor, company):
    Company.objects.filter(pk=company.pk).update(segment="SMB")  # an older definition's value

    kept = record_update(
        actor=actor, kind="company", record_id=company.pk, data={"segment": "SMB", "name": "X"}
    )
    problems = refused(
        lambda: record_update(
            actor=actor, kind="company", record_id=company.pk, data={"segment": "Tiny"}
        )
    )

    assert (kept.segment, kept.name) == ("SMB", "X")
    assert problems[0][0] == ("segment",)


def test_a_field_without_a_list_takes_any_text(actor, admin_actor):
    edit_definition(admin_actor, lambda document: document["choices"]["company"].pop("market"))

    company = record_create(actor=actor, kind="company", data={**COMPANY, "market": "Atlantis"})

    assert company.market == "Atlantis"


def test_lead_conversion_checks_the_new_company_against_the_lists(actor):
    lead = record_create(actor=actor, kind="lead", data={**LEAD, "business_unit": "nordics"})
    problems = refused(
        lambda: lead_convert(
            actor=actor,
            lead_id=lead.pk,
            person=CONVERT_PERSON,
            company={**CONVERT_COMPANY, "segment": "Huge"},
        )
    )
    converted = lead_convert(
        actor=actor,
        lead_id=lead.pk,
        person=CONVERT_PERSON,
        company={**CONVERT_COMPANY, "contact_type": "partner"},
    )

    assert lead.business_unit == "Nordics"
    assert [loc for loc, _ in problems] == [("company", "segment")]
    assert converted.converted_company.contact_type == "Partner"
    assert converted.converted_person.business_unit == "Nordics"


# ---------------------------------------------------------------- imports


def run_import(actor, tmp_path, rows, header, kind):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "companies.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    job = imports.import_create(actor=actor, kind=kind, file=path, file_name=path.name)
    return imports.import_execute(actor=actor, import_id=job.pk)


def test_an_import_maps_choices_ignoring_case_and_rejects_unknown_ones(actor, org, tmp_path):
    header = ["Company", "Contact type", "BU", "Market", "Life cycle", "Sector", "Segment"]
    rows = [
        ["Alpha AS", "CUSTOMER", "nordics", "norway", "prospect", "government", "national"],
        ["Beta AS", "Client", "Nordics", "Norway", "Prospect", "Government", "National"],
    ]

    job = run_import(actor, tmp_path, rows, header, "companies")

    report = imports.import_report(job)
    assert (job.created, job.rejected) == (1, 1)
    alpha = Company.objects.get(organisation=org, name="Alpha AS")
    assert (alpha.contact_type, alpha.business_unit, alpha.market, alpha.segment) == (
        "Customer",
        "Nordics",
        "Norway",
        "National",
    )
    (issue,) = report["rejected"]
    assert issue["row"] == 3
    assert issue["field"] == "contact_type"
    assert f"must be one of: {CONTACT_TYPES}" in issue["reason"]


# ---------------------------------------------------------------- filters


def listed(actor, kind: str, **params) -> list[int]:
    query = parse_list_query(KINDS[kind], params, lambda: [])
    return [row.pk for row in selectors.record_list(actor=actor, kind=kind, query=query).items]


def test_a_choice_filter_takes_any_case_or_the_label(actor):
    customer = record_create(actor=actor, kind="company", data=COMPANY)
    record_create(
        actor=actor, kind="company", data={**COMPANY, "name": "B", "contact_type": "Partner"}
    )
    public = opportunity_create(actor=actor, data={"name": "P", "sector": "public"})
    opportunity_create(actor=actor, data={"name": "Q", "sector": "private"})

    assert listed(actor, "company", contact_type="customer") == [customer.pk]
    assert listed(actor, "opportunity", sector="public") == [public.pk]
    assert listed(actor, "company", contact_type="nobody") == []


def test_a_source_filter_ignores_case_and_finds_every_spelling(actor):
    made = [
        record_create(actor=actor, kind="lead", data={**LEAD, "email": f"{n}@x.no", "source": s})
        for n, s in enumerate(["Trade show", "trade show", "Website", "Trade shows"])
    ]

    assert sorted(listed(actor, "lead", source="TRADE SHOW")) == [made[0].pk, made[1].pk]
    assert listed(actor, "lead", source="website") == [made[2].pk]
    assert listed(actor, "lead", source="Fax") == []


def test_the_sources_in_use_are_read_from_live_leads_of_the_organisation(
    actor, other_actor, settings
):
    for n, source in enumerate(["Web", "Expo", "Blank", "Web", "Referral", "expo"]):
        record_create(
            actor=actor, kind="lead", data={**LEAD, "email": f"{n}@x.no", "source": source}
        )
    Lead.objects.filter(source="Blank").update(source="")  # as a lead of an older definition
    gone = record_create(actor=actor, kind="lead", data={**LEAD, "source": "Fax"})
    Lead.objects.filter(pk=gone.pk).update(deleted_at="2026-01-01T00:00:00Z")
    record_create(actor=other_actor, kind="lead", data={**LEAD, "source": "Their own"})

    found, more = selectors.values_in_use(actor=actor, kind="lead", field="source")

    assert sorted(found) == ["Expo", "Referral", "Web", "expo"]
    assert not more


def test_more_sources_than_the_cap_say_so(actor, monkeypatch):
    monkeypatch.setattr(selectors, "VALUE_LIST_CAP", 3)
    for n in range(5):
        record_create(
            actor=actor, kind="lead", data={**LEAD, "email": f"{n}@x.no", "source": f"S{n}"}
        )

    found, more = selectors.values_in_use(actor=actor, kind="lead", field="source")

    assert (found, more) == (["S0", "S1", "S2"], True)
