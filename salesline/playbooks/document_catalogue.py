"""The shipped document templates: what each is called, which formats it comes in, which record
it is made for, and whether it is numbered. Pure: no Django import.

The files are `document_templates/<key>.html` (rendered to PDF by WeasyPrint) and
`document_templates/<key>.docx` (docxtpl); an organisation may replace either with its own
(`DocumentTemplateFile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent / "document_templates"

FORMATS = ("pdf", "docx")

#: The template file format each output format is rendered from.
SOURCE_FORMAT = {"pdf": "html", "docx": "docx"}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

# What a template is made for.
RECORD = "record"  # a lead or an opportunity
OPPORTUNITY = "opportunity"
AGREEMENT = "agreement"  # an agreement (its opportunity comes with it)

#: Number prefixes per numbered kind: INV-2026-0001, Q-2026-0001.
NUMBER_PREFIXES = {"invoice": "INV", "quote": "Q"}


@dataclass(frozen=True)
class DocumentTemplate:
    key: str
    name: str
    needs: str  # RECORD, OPPORTUNITY or AGREEMENT
    description: str
    numbered: bool = False
    formats: tuple[str, ...] = FORMATS

    @property
    def needs_label(self) -> str:
        return {
            RECORD: "a lead or an opportunity",
            OPPORTUNITY: "an opportunity",
            AGREEMENT: "an agreement",
        }[self.needs]


CATALOGUE: dict[str, DocumentTemplate] = {
    t.key: t
    for t in (
        DocumentTemplate(
            "service-description",
            "Service description",
            RECORD,
            "What the service is and how working together goes; sent when hailing a lead.",
        ),
        DocumentTemplate(
            "running-notes",
            "Running notes",
            RECORD,
            "A shared page of notes for the meetings with the client, started before the first.",
        ),
        DocumentTemplate(
            "service-agreement",
            "Service agreement",
            AGREEMENT,
            "The agreement's terms: dates, value, billing frequency and renewal notice.",
        ),
        DocumentTemplate(
            "statement-of-work",
            "Statement of work",
            OPPORTUNITY,
            "An addendum to the agreement: the work, its deliverables and acceptance.",
        ),
        DocumentTemplate(
            "quote",
            "Quote",
            OPPORTUNITY,
            "A numbered offer for the opportunity's value, valid for 30 days.",
            numbered=True,
        ),
        DocumentTemplate(
            "invoice",
            "Invoice",
            AGREEMENT,
            "A numbered invoice for one billing period of an agreement.",
            numbered=True,
        ),
        DocumentTemplate(
            "receipt",
            "Receipt",
            AGREEMENT,
            "Acknowledges payment of an invoice; it carries that invoice's number.",
        ),
        DocumentTemplate(
            "renewal-notice",
            "Renewal notice",
            AGREEMENT,
            "Tells the client that the agreement ends and how to renew it.",
        ),
    )
}

#: How long a quote is valid.
QUOTE_VALID_DAYS = 30


def shipped_path(key: str, source_format: str) -> Path:
    """The shipped file of template `key` in `source_format` ("html" or "docx")."""
    return TEMPLATES_DIR / f"{key}.{source_format}"


def format_number(kind: str, year: int, number: int) -> str:
    """`INV-2026-0001`: the kind's prefix, the year and the number, at least four digits."""
    prefix = NUMBER_PREFIXES.get(kind, kind.upper())
    return f"{prefix}-{year}-{number:04d}"
