"""Generating documents: versions, numbers, merged text in PDF and DOCX, escaping, storage,
audit and events, scoping and the errors that name what is wrong."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from salesline.core.errors import NotFound, ValidationFailed
from salesline.core.models import AuditEvent, DomainEvent
from salesline.pipeline.services import opportunity_create
from salesline.playbooks import document_selectors
from salesline.playbooks.document_catalogue import CATALOGUE, CONTENT_TYPES
from salesline.playbooks.document_services import document_generate
from salesline.playbooks.models import Document, Invoice, NumberSequence

from .document_fixtures import (
    agreement_fixture,  # noqa: F401
    deal_fixture,  # noqa: F401
    docx_text,
    hostile_company,
    media_root_fixture,  # noqa: F401
    pdf_text,
    stored_bytes,
)

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def problems_of(excinfo) -> dict[tuple, str]:
    return {p.loc: p.msg for p in excinfo.value.problems}


def test_a_service_description_for_an_opportunity_is_stored_audited_and_announced(actor, deal):
    document = document_generate(
        actor=actor, template_key="service-description", opportunity_id=deal.pk
    )

    assert (document.template, document.format, document.version, document.number) == (
        "service-description",
        "pdf",
        1,
        "",
    )
    assert document.file_name == "service-description-personnel-records-archive-v1.pdf"
    assert document.content_type == "application/pdf"
    assert default_storage.exists(document.file.name)
    content = stored_bytes(document)
    assert document.size == len(content)
    text = pdf_text(content)
    assert "Service description" in text
    assert "Acme Archives AS" in text
    assert "Piql Archive" in text  # the organisation
    audit = AuditEvent.objects.get(object_type="document", object_id=str(document.pk))
    assert audit.action == "create"
    assert audit.changes["template"] == [None, "service-description"]
    event = DomainEvent.objects.get(kind="document_generated")
    assert event.payload == {
        "document_id": document.pk,
        "template": "service-description",
        "opportunity_id": deal.pk,
        "lead_id": None,
    }


def test_versions_count_up_per_record_and_template(actor, deal, lead):
    first = document_generate(actor=actor, template_key="running-notes", opportunity_id=deal.pk)
    second = document_generate(
        actor=actor, template_key="running-notes", opportunity_id=deal.pk, format="docx"
    )
    other_template = document_generate(
        actor=actor, template_key="service-description", opportunity_id=deal.pk
    )
    other_record = document_generate(actor=actor, template_key="running-notes", lead_id=lead.pk)

    assert [first.version, second.version, other_template.version, other_record.version] == [
        1,
        2,
        1,
        1,
    ]
    assert second.file_name == "running-notes-personnel-records-archive-v2.docx"
    assert other_record.file_name == "running-notes-kari-hansen-v1.pdf"
    assert "Kari Hansen" in pdf_text(stored_bytes(other_record))


def test_an_invoice_is_numbered_and_shows_its_period_amount_and_parties(actor, agreement):
    period = {
        "issue_date": dt.date(2026, 2, 1),
        "period_start": "2026-02-01",
        "period_end": dt.date(2026, 4, 30),
        "amount": Decimal("12000.00"),
    }
    first = document_generate(
        actor=actor,
        template_key="invoice",
        agreement_id=agreement.pk,
        extra_context={"invoice": period},
    )
    second = document_generate(
        actor=actor,
        template_key="invoice",
        agreement_id=agreement.pk,
        format="docx",
        extra_context={"invoice": {**period, "issue_date": "2026-05-01"}},
    )

    assert (first.number, second.number) == ("INV-2026-0001", "INV-2026-0002")
    assert first.file_name == "invoice-INV-2026-0001.pdf"
    assert (first.agreement_id, first.opportunity_id) == (agreement.pk, agreement.opportunity_id)
    text = pdf_text(stored_bytes(first))
    for expected in (
        "Invoice INV-2026-0001",
        "1 February 2026",
        "30 April 2026",
        "12,000.00 EUR",
        "Acme Archives AS",
        "Ola Nordmann",
        "Piql Archive",
    ):
        assert expected in text
    merged = docx_text(stored_bytes(second))
    for expected in ("INV-2026-0002", "2026-05-01", "12,000.00 EUR", "Acme Archives AS"):
        assert expected in merged
    assert second.content_type == CONTENT_TYPES["docx"]


def test_invoice_numbers_are_per_year_and_per_organisation(
    actor, agreement, other_actor, other_org
):
    from tests.playbooks.document_fixtures import Agreement

    later = document_generate(
        actor=actor,
        template_key="invoice",
        agreement_id=agreement.pk,
        extra_context={"invoice": {"issue_date": "2027-01-05"}},
    )
    other_deal = opportunity_create(actor=other_actor, data={"name": "Elsewhere"})
    other_agreement = Agreement.objects.create(
        organisation=other_org, opportunity=other_deal, value=Decimal(100)
    )
    elsewhere = document_generate(
        actor=other_actor,
        template_key="invoice",
        agreement_id=other_agreement.pk,
        extra_context={"invoice": {"issue_date": "2027-01-05"}},
    )

    assert later.number == "INV-2027-0001"
    assert elsewhere.number == "INV-2027-0001"


def test_an_invoice_without_an_amount_bills_the_agreements_value(actor, agreement):
    document = document_generate(
        actor=actor, template_key="invoice", opportunity_id=agreement.opportunity_id
    )

    assert document.agreement_id == agreement.pk
    assert document.number == f"INV-{YEAR}-0001"
    assert "48,000.00 EUR" in pdf_text(stored_bytes(document))


def test_a_quote_is_numbered_and_valid_for_thirty_days(actor, deal):
    document = document_generate(
        actor=actor,
        template_key="quote",
        opportunity_id=deal.pk,
        format="docx",
        extra_context={"quote": {"issue_date": "2026-03-01"}},
    )

    assert document.number == "Q-2026-0001"
    text = docx_text(stored_bytes(document))
    assert "Quote Q-2026-0001" in text
    assert "2026-03-31" in text  # valid until
    assert "48,000.00 EUR" in text


def test_a_rolled_back_document_gives_its_number_and_file_back(actor, agreement):
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = document_generate(actor=actor, template_key="invoice", agreement_id=agreement.pk)
        assert lost.number == f"INV-{YEAR}-0001"
        stored = lost.file.name
        raise RuntimeError("the caller's transaction fails after the document was made")

    assert not Document.objects.exists()
    again = document_generate(actor=actor, template_key="invoice", agreement_id=agreement.pk)
    assert again.number == f"INV-{YEAR}-0001"
    assert NumberSequence.objects.get().last == 1
    # The first file is orphaned on disk only while the caller's own transaction is open; our
    # own failures remove it (see test_a_template_that_fails_stores_nothing).
    assert stored


def test_a_receipt_carries_the_number_of_the_invoice_it_acknowledges(actor, agreement, org):
    invoice = Invoice.objects.create(
        organisation=org,
        agreement=agreement,
        period=0,
        number="INV-2026-0007",
        issue_date=dt.date(2026, 2, 1),
        amount=Decimal("12000.00"),
        currency="EUR",
    )

    receipt = document_generate(actor=actor, template_key="receipt", invoice_id=invoice.pk)

    assert receipt.number == "INV-2026-0007"
    assert receipt.file_name == "receipt-INV-2026-0007.pdf"
    text = pdf_text(stored_bytes(receipt))
    assert "payment of invoice INV-2026-0007" in text
    assert "12,000.00 EUR" in text
    assert not NumberSequence.objects.exists()  # a receipt takes no number of its own


def test_an_invoice_issued_again_keeps_its_number(actor, agreement, org):
    invoice = Invoice.objects.create(
        organisation=org,
        agreement=agreement,
        period=0,
        number="INV-2026-0003",
        issue_date=dt.date(2026, 2, 1),
        amount=Decimal("12000.00"),
        currency="EUR",
    )

    again = document_generate(actor=actor, template_key="invoice", invoice_id=invoice.pk)

    assert again.number == "INV-2026-0003"
    assert not NumberSequence.objects.exists()


@pytest.mark.parametrize("format", ["pdf", "docx"])
@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_shipped_template_renders_with_its_record(actor, agreement, org, key, format):
    Invoice.objects.create(
        organisation=org,
        agreement=agreement,
        period=0,
        number="INV-2026-0001",
        issue_date=dt.date(2026, 2, 1),
        amount=Decimal(1),
        currency="EUR",
    )
    extra = {"invoice_id": Invoice.objects.get().pk} if key == "receipt" else {}
    document = document_generate(
        actor=actor,
        template_key=key,
        format=format,
        opportunity_id=agreement.opportunity_id,
        **extra,
    )

    content = stored_bytes(document)
    text = pdf_text(content) if format == "pdf" else docx_text(content)
    assert CATALOGUE[key].name in text
    assert "Acme Archives AS" in text
    assert "{{" not in text and "}}" not in text
    if CATALOGUE[key].needs == "agreement" and key not in {"invoice", "receipt"}:
        assert ("1 February 2026" if format == "pdf" else "2026-02-01") in text


def test_a_company_name_with_markup_renders_as_text_in_both_formats(actor, person):
    company = hostile_company(actor)
    hostile_deal = opportunity_create(
        actor=actor, data={"name": "Hostile", "company_id": company.pk}
    )

    pdf = document_generate(
        actor=actor, template_key="service-description", opportunity_id=hostile_deal.pk
    )
    word = document_generate(
        actor=actor,
        template_key="service-description",
        opportunity_id=hostile_deal.pk,
        format="docx",
    )

    assert "Prepared for <b>&\"' by Piql Archive" in pdf_text(stored_bytes(pdf))
    content = stored_bytes(word)
    assert "Prepared for <b>&\"' by Piql Archive" in docx_text(content)
    body = zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode()
    assert "&lt;b&gt;&amp;" in body
    assert "<b>" not in body


def test_a_template_that_names_no_record_it_needs_is_refused(actor, deal, lead):
    with pytest.raises(ValidationFailed) as no_agreement:
        document_generate(actor=actor, template_key="invoice", opportunity_id=deal.pk)
    with pytest.raises(ValidationFailed) as lead_quote:
        document_generate(actor=actor, template_key="quote", lead_id=lead.pk)
    with pytest.raises(ValidationFailed) as nothing:
        document_generate(actor=actor, template_key="running-notes")
    with pytest.raises(ValidationFailed) as receipt:
        document_generate(actor=actor, template_key="receipt", opportunity_id=deal.pk)

    assert "needs an agreement" in problems_of(no_agreement)[("agreement_id",)]
    assert "not a lead" in problems_of(lead_quote)[("opportunity_id",)]
    assert ("opportunity_id",) in problems_of(nothing)
    assert ("agreement_id",) in problems_of(receipt)
    assert not Document.objects.exists()


def test_unknown_template_format_and_fields_are_named_all_at_once(actor, deal):
    with pytest.raises(ValidationFailed) as excinfo:
        document_generate(
            actor=actor,
            template_key="brochure",
            format="odt",
            opportunity_id=deal.pk,
            extra_context={"invoice": {"colour": "red"}, "secrets": {"a": 1}},
        )

    problems = problems_of(excinfo)
    assert "Unknown document template 'brochure'" in problems[("template",)]
    assert "Unknown format 'odt'" in problems[("format",)]
    assert ("extra_context", "invoice", "colour") in problems
    assert ("extra_context", "secrets") in problems


@pytest.mark.parametrize("key", ["invoice", "quote"])
def test_an_amount_that_is_no_number_is_refused(actor, agreement, key):
    with pytest.raises(ValidationFailed) as excinfo:
        document_generate(
            actor=actor,
            template_key=key,
            agreement_id=agreement.pk,
            extra_context={key: {"amount": "a lot"}},
        )

    assert ("extra_context", key, "amount") in problems_of(excinfo)
    assert not NumberSequence.objects.exists()


def test_an_invoice_number_cannot_be_given(actor, agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        document_generate(
            actor=actor,
            template_key="invoice",
            agreement_id=agreement.pk,
            extra_context={"invoice": {"number": "INV-1999-0001"}},
        )

    assert ("extra_context", "invoice", "number") in problems_of(excinfo)
    assert not NumberSequence.objects.exists()


def test_another_organisations_records_are_not_found(other_actor, deal, agreement, lead):
    for arguments in (
        {"opportunity_id": deal.pk},
        {"lead_id": lead.pk},
        {"agreement_id": agreement.pk},
    ):
        with pytest.raises(NotFound):
            document_generate(actor=other_actor, template_key="running-notes", **arguments)
    assert not Document.objects.exists()


def test_an_opportunity_and_a_lead_at_once_are_refused(actor, deal, lead):
    with pytest.raises(ValidationFailed) as excinfo:
        document_generate(
            actor=actor, template_key="running-notes", opportunity_id=deal.pk, lead_id=lead.pk
        )

    assert ("lead_id",) in problems_of(excinfo)


def test_list_get_and_open_are_scoped(actor, other_actor, deal, lead):
    on_deal = document_generate(actor=actor, template_key="running-notes", opportunity_id=deal.pk)
    on_lead = document_generate(actor=actor, template_key="running-notes", lead_id=lead.pk)
    newer = document_generate(actor=actor, template_key="running-notes", opportunity_id=deal.pk)

    assert list(document_selectors.document_list(actor=actor, opportunity_id=deal.pk)) == [
        newer,
        on_deal,
    ]
    assert list(document_selectors.document_list(actor=actor, lead_id=lead.pk)) == [on_lead]
    assert document_selectors.document_get_for(actor=actor, document_id=on_lead.pk) == on_lead
    with pytest.raises(NotFound):
        document_selectors.document_get_for(actor=other_actor, document_id=on_lead.pk)
    with pytest.raises(NotFound):
        document_selectors.document_list(actor=other_actor, opportunity_id=deal.pk)
    assert list(document_selectors.document_list(actor=other_actor)) == []
    assert stored_bytes(on_deal).startswith(b"%PDF")
