"""Records to make documents for: an opportunity of a company with a contact and a value, and
its agreement (import `deal_fixture`, `agreement_fixture` to use `deal`, `agreement`), and
readers of the files made."""

import datetime as dt
import io
from decimal import Decimal

import docx
import pypdf
import pytest

from salesline.pipeline.services import opportunity_create
from salesline.playbooks.models import Agreement
from salesline.records.services import record_create


@pytest.fixture(name="media_root", autouse=True)
def media_root_fixture(settings, tmp_path):
    """Each test stores its files in a folder of its own (the storage API follows the
    setting), so a test can tell exactly which files it left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(name="deal")
def deal_fixture(actor, company, person):
    """An opportunity of Acme Archives AS with Ola Nordmann as its contact."""
    return opportunity_create(
        actor=actor,
        data={
            "name": "Personnel records archive",
            "company_id": company.pk,
            "primary_contact_id": person.pk,
            "value": "48000",
        },
    )


@pytest.fixture(name="agreement")
def agreement_fixture(deal, org):
    # The agreements' own services are another module's; a row is all a document needs.
    return Agreement.objects.create(
        organisation=org,
        opportunity=deal,
        status=Agreement.Status.SIGNED,
        start_date=dt.date(2026, 2, 1),
        end_date=dt.date(2027, 1, 31),
        value=Decimal("48000.00"),
        currency="EUR",
        billing_frequency=Agreement.Billing.QUARTERLY,
        renewal_notice_days=60,
        signed_on=dt.date(2026, 1, 20),
    )


def hostile_company(actor):
    return record_create(
        actor=actor,
        kind="company",
        data={
            "name": "<b>&\"'",
            "contact_type": "Customer",
            "business_unit": "Nordics",
            "market": "Norway",
            "life_cycle": "Prospect",
            "sector": "Government",
            "segment": "Enterprise",
        },
    )


def pdf_text(content: bytes) -> str:
    """The text of every page, runs of white space (line breaks in table cells) as one space."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def docx_text(content: bytes) -> str:
    """Every paragraph of the body, its tables, headers and footers."""
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.header.paragraphs)
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def stored_bytes(document) -> bytes:
    from salesline.playbooks.document_selectors import document_open

    with document_open(document) as handle:
        return handle.read()
