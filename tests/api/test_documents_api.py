"""The documents API: the contract's requests and answers, the file with its content type,
404 across organisations, 422s naming the field."""

import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.playbooks.document_fixtures import (
    agreement_fixture,  # noqa: F401
    deal_fixture,  # noqa: F401
    docx_text,
    media_root_fixture,  # noqa: F401
    pdf_text,
)

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_generate_list_get_and_download_a_pdf(api, deal):
    created = api.post("/documents", {"template": "service-description", "opportunity_id": deal.pk})
    again = api.post(
        "/documents",
        {"template": "service-description", "opportunity_id": deal.pk, "format": "pdf"},
    )

    assert created.status_code == 201, created.json()
    item = created.json()
    assert item["template"] == "service-description"
    assert (item["format"], item["version"], item["number"]) == ("pdf", 1, None)
    assert item["file_name"] == "service-description-personnel-records-archive-v1.pdf"
    assert item["opportunity_id"] == deal.pk
    assert item["size"] > 0
    assert again.json()["version"] == 2

    listed = api.get(f"/documents?opportunity_id={deal.pk}")
    assert listed.status_code == 200
    assert [d["version"] for d in listed.json()["items"]] == [2, 1]
    assert listed.json()["count"] == 2

    got = api.get(f"/documents/{item['id']}")
    assert got.status_code == 200
    assert got.json() == item

    file = api.get(f"/documents/{item['id']}/file")
    assert file.status_code == 200
    assert file["Content-Type"] == "application/pdf"
    assert file["Content-Disposition"] == (
        'attachment; filename="service-description-personnel-records-archive-v1.pdf"'
    )
    content = body_of(file)
    assert len(content) == item["size"]
    assert "Acme Archives AS" in pdf_text(content)


def test_a_docx_invoice_carries_its_number_and_the_docx_type(api, agreement):
    created = api.post(
        "/documents",
        {"template": "invoice", "opportunity_id": agreement.opportunity_id, "format": "docx"},
    )

    assert created.status_code == 201, created.json()
    item = created.json()
    assert item["number"].startswith("INV-") and item["number"].endswith("-0001")
    assert item["agreement_id"] == agreement.pk
    assert item["file_name"] == f"invoice-{item['number']}.docx"
    file = api.get(f"/documents/{item['id']}/file")
    assert file["Content-Type"] == DOCX
    content = body_of(file)
    assert zipfile.is_zipfile(io.BytesIO(content))
    text = docx_text(content)
    assert item["number"] in text and "48,000.00 EUR" in text and "Acme Archives AS" in text
    by_agreement = api.get(f"/documents?agreement_id={agreement.pk}").json()["items"]
    assert [d["id"] for d in by_agreement] == [item["id"]]


def test_a_lead_document(api, lead):
    created = api.post("/documents", {"template": "running-notes", "lead_id": lead.pk})

    assert created.status_code == 201
    assert api.get(f"/documents?lead_id={lead.pk}").json()["items"][0]["lead_id"] == lead.pk


def test_wrong_input_is_a_422_naming_the_field(api, deal, lead):
    unknown = api.post(
        "/documents", {"template": "brochure", "opportunity_id": deal.pk, "format": "odt"}
    )
    no_agreement = api.post("/documents", {"template": "invoice", "opportunity_id": deal.pk})
    lead_quote = api.post("/documents", {"template": "quote", "lead_id": lead.pk})
    extra = api.post(
        "/documents", {"template": "quote", "opportunity_id": deal.pk, "colour": "red"}
    )
    missing = api.post("/documents", {"opportunity_id": deal.pk})
    bad_id = api.post("/documents", {"template": "quote", "opportunity_id": 0})
    bad_filter = api.get("/documents?opportunity_id=abc")

    assert unknown.status_code == 422
    assert {tuple(p["loc"]) for p in unknown.json()["detail"]} == {
        ("body", "template"),
        ("body", "format"),
    }
    assert no_agreement.status_code == 422
    assert [p["loc"] for p in no_agreement.json()["detail"]] == [["body", "agreement_id"]]
    assert lead_quote.status_code == 422
    assert [p["loc"] for p in lead_quote.json()["detail"]] == [["body", "opportunity_id"]]
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "colour"]
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "template"]
    assert bad_id.status_code == 422
    assert bad_filter.status_code == 422


def test_another_organisations_documents_and_records_are_404(api, other_api, deal):
    document = api.post(
        "/documents", {"template": "running-notes", "opportunity_id": deal.pk}
    ).json()

    assert other_api.get(f"/documents/{document['id']}").status_code == 404
    assert other_api.get(f"/documents/{document['id']}/file").status_code == 404
    assert other_api.get(f"/documents?opportunity_id={deal.pk}").status_code == 404
    assert other_api.get("/documents").json()["items"] == []
    generated = other_api.post(
        "/documents", {"template": "running-notes", "opportunity_id": deal.pk}
    )
    assert generated.status_code == 404
    assert api.get("/documents/999999").status_code == 404


def test_the_list_costs_the_same_few_queries_for_many_documents(api, deal):
    for _ in range(3):
        api.post("/documents", {"template": "running-notes", "opportunity_id": deal.pk})
    with CaptureQueriesContext(connection) as few:
        api.get(f"/documents?opportunity_id={deal.pk}")
    for _ in range(3):
        api.post("/documents", {"template": "running-notes", "opportunity_id": deal.pk})
    with CaptureQueriesContext(connection) as more:
        listed = api.get(f"/documents?opportunity_id={deal.pk}")

    assert len(listed.json()["items"]) == 6
    assert len(more) == len(few)
