"""Build the shipped document templates, HTML and DOCX, from one description of each.

    .venv/bin/python salesline/playbooks/document_templates/build.py

Both formats say the same thing with the same merge fields (`salesline/playbooks/merge.py`):
`{{ group.field }}` is the same in Django's template language (HTML) and in Jinja (docxtpl).
The HTML files get Django's `date` filter on dates; the DOCX files show dates as YYYY-MM-DD.
Edit the description below, run this, and commit the .html and .docx files it writes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor

HERE = Path(__file__).resolve().parent

Block = tuple  # ("p", text) | ("h", text) | ("list", [text]) | ("fields", [(label, text)])
#              | ("table", [header], [[cell]]) | ("signatures",)

SIGNATURES: Block = (
    "table",
    ["", "For {{ organisation.name }}", "For {{ company.name }}"],
    [["Name", "", "{{ contact.name }}"], ["Signature", "", ""], ["Date", "", ""]],
)

TEMPLATES: dict[str, tuple[str, list[Block]]] = {
    "service-description": (
        "Service description",
        [
            ("p", "Prepared for {{ company.name }} by {{ organisation.name }}, {{ today }}."),
            ("h", "What we offer"),
            (
                "p",
                "{{ organisation.name }} works with you to understand what you need, agrees a "
                "plan with you and delivers it in stages, with one named contact on our side "
                "from the first meeting to the last invoice.",
            ),
            ("h", "How we work together"),
            (
                "list",
                [
                    "A first meeting to understand your goals, your constraints and your timing.",
                    "A written proposal and a service agreement for you to review.",
                    "A launch meeting once the agreement is signed.",
                    "Regular check-ins to make sure the service does what you need.",
                ],
            ),
            ("h", "Your contact"),
            ("p", "{{ sender.name }}, {{ sender.email }}"),
            ("p", "Book a meeting: {{ links.booking }}"),
        ],
    ),
    "running-notes": (
        "Running notes",
        [
            (
                "fields",
                [
                    ("Client", "{{ company.name }}"),
                    ("Contact", "{{ contact.name }} ({{ contact.email }})"),
                    ("Opportunity", "{{ opportunity.name }}"),
                    ("Stage", "{{ opportunity.stage }}"),
                    ("Our lead", "{{ opportunity.owner }}"),
                    ("Started", "{{ today }}"),
                ],
            ),
            ("h", "Agenda of the first meeting"),
            (
                "list",
                [
                    "Introductions",
                    "Your goals and where things stand today",
                    "How we could help, and what it would take",
                    "Next steps and who does what",
                ],
            ),
            ("h", "Notes"),
            ("p", "Add the notes of each meeting here, newest first, with its date."),
            ("h", "Actions"),
            ("table", ["Who", "What", "By when"], [["", "", ""], ["", "", ""]]),
        ],
    ),
    "service-agreement": (
        "Service agreement",
        [
            (
                "p",
                "This agreement is made between {{ organisation.name }} (the provider) and "
                "{{ company.name }} (the client).",
            ),
            (
                "fields",
                [
                    ("Start date", "{{ agreement.start_date }}"),
                    ("End date", "{{ agreement.end_date }}"),
                    ("Total value", "{{ agreement.value }} {{ agreement.currency }}"),
                    ("Billing frequency", "{{ agreement.billing_frequency }}"),
                    ("Renewal notice", "{{ agreement.renewal_notice_days }} days"),
                ],
            ),
            ("h", "1. Services"),
            (
                "p",
                "The provider delivers the services described in its service description and "
                "in any statement of work the parties agree in writing.",
            ),
            ("h", "2. Fees and invoicing"),
            (
                "p",
                "The client pays the total value above. It is invoiced in advance "
                "({{ agreement.billing_frequency }}) from the start date, split evenly over "
                "the billing periods. Invoices are due within 30 days.",
            ),
            ("h", "3. Term and renewal"),
            (
                "p",
                "The agreement runs from {{ agreement.start_date }} to {{ agreement.end_date }}. "
                "The parties discuss renewal at least {{ agreement.renewal_notice_days }} days "
                "before the end date.",
            ),
            ("h", "4. Confidentiality"),
            (
                "p",
                "Each party keeps the other's confidential information confidential and uses "
                "it only for this agreement.",
            ),
            ("h", "Signatures"),
            SIGNATURES,
        ],
    ),
    "statement-of-work": (
        "Statement of work",
        [
            (
                "p",
                "An addendum to the service agreement between {{ organisation.name }} and "
                "{{ company.name }}, for {{ opportunity.name }}.",
            ),
            (
                "fields",
                [
                    ("Client", "{{ company.name }}"),
                    ("Client contact", "{{ contact.name }}"),
                    ("Value", "{{ opportunity.value }} {{ opportunity.currency }}"),
                    ("Prepared", "{{ today }}"),
                ],
            ),
            ("h", "Scope"),
            ("p", "What the work covers, and what it does not."),
            ("h", "Deliverables"),
            ("table", ["Deliverable", "Description", "Due"], [["1", "", ""], ["2", "", ""]]),
            ("h", "Acceptance"),
            (
                "p",
                "{{ contact.name }} accepts each deliverable in writing within ten working "
                "days of delivery, or says in writing why it is not accepted.",
            ),
            SIGNATURES,
        ],
    ),
    "quote": (
        "Quote {{ quote.number }}",
        [
            (
                "fields",
                [
                    ("Quote number", "{{ quote.number }}"),
                    ("Date", "{{ quote.issue_date }}"),
                    ("Valid until", "{{ quote.valid_until }}"),
                    ("Client", "{{ company.name }}"),
                    ("Attention", "{{ contact.name }}"),
                ],
            ),
            (
                "table",
                ["Description", "Amount"],
                [
                    ["{{ opportunity.name }}", "{{ quote.amount }} {{ quote.currency }}"],
                    ["Total", "{{ quote.amount }} {{ quote.currency }}"],
                ],
            ),
            (
                "p",
                "This quote from {{ organisation.name }} is valid until {{ quote.valid_until }}. "
                "Amounts exclude VAT unless stated.",
            ),
            ("p", "Questions: {{ sender.name }}, {{ sender.email }}"),
        ],
    ),
    "invoice": (
        "Invoice {{ invoice.number }}",
        [
            (
                "fields",
                [
                    ("Invoice number", "{{ invoice.number }}"),
                    ("Issue date", "{{ invoice.issue_date }}"),
                    ("Period", "{{ invoice.period_start }} to {{ invoice.period_end }}"),
                    ("From", "{{ organisation.name }}"),
                    ("Bill to", "{{ company.name }}"),
                    ("Attention", "{{ contact.name }}"),
                ],
            ),
            (
                "table",
                ["Description", "Amount"],
                [
                    [
                        "Services under the agreement for {{ opportunity.name }} "
                        "({{ agreement.billing_frequency }} billing)",
                        "{{ invoice.amount }} {{ invoice.currency }}",
                    ],
                    ["Total due", "{{ invoice.amount }} {{ invoice.currency }}"],
                ],
            ),
            (
                "p",
                "Payment is due within 30 days of the issue date. Please quote "
                "{{ invoice.number }} with your payment.",
            ),
        ],
    ),
    "receipt": (
        "Receipt",
        [
            (
                "p",
                "{{ organisation.name }} thanks {{ company.name }} for the payment of invoice "
                "{{ invoice.number }}.",
            ),
            (
                "fields",
                [
                    ("Invoice number", "{{ invoice.number }}"),
                    ("Invoice date", "{{ invoice.issue_date }}"),
                    ("Amount received", "{{ invoice.amount }} {{ invoice.currency }}"),
                    ("Receipt date", "{{ today }}"),
                ],
            ),
        ],
    ),
    "renewal-notice": (
        "Renewal notice",
        [
            ("p", "Dear {{ contact.name }},"),
            (
                "p",
                "the service agreement between {{ company.name }} and {{ organisation.name }} "
                "ends on {{ agreement.end_date }}. We would like to continue working with you, "
                "and write {{ agreement.renewal_notice_days }} days ahead, as the agreement "
                "asks.",
            ),
            (
                "fields",
                [
                    ("Started", "{{ agreement.start_date }}"),
                    ("Ends", "{{ agreement.end_date }}"),
                    ("Value", "{{ agreement.value }} {{ agreement.currency }}"),
                    ("Billing", "{{ agreement.billing_frequency }}"),
                ],
            ),
            (
                "p",
                "To renew, reply to {{ sender.email }} or book a meeting at {{ links.booking }}. "
                "If you do not wish to renew, please tell us before the end date.",
            ),
            ("p", "Kind regards,"),
            ("p", "{{ sender.name }}, {{ organisation.name }}"),
        ],
    ),
}

# ---------------------------------------------------------------- HTML

CSS = """\
@page { size: A4; margin: 22mm 20mm; @bottom-center { content: counter(page) " / " counter(pages);
  font-size: 8pt; color: #555; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #1a1a1a; line-height: 1.4; }
header { border-bottom: 2px solid #1f4e79; margin-bottom: 8mm; padding-bottom: 2mm; }
header .organisation { font-size: 9pt; color: #1f4e79; font-weight: bold; }
h1 { font-size: 18pt; margin: 2mm 0 0; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; color: #1f4e79; }
table { border-collapse: collapse; width: 100%; margin: 3mm 0; }
th, td { border: 1px solid #c8c8c8; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
table.fields th { width: 35%; }
footer { margin-top: 10mm; font-size: 8pt; color: #555; }
"""

DATE_FIELDS = re.compile(
    r"\{\{ ((?:today)|(?:\w+\.(?:\w*date|start_date|end_date|signed_on|period_start|"
    r"period_end|valid_until))) \}\}"
)


def html_text(text: str) -> str:
    """Static text escaped; dates given Django's date filter."""
    return DATE_FIELDS.sub(r'{{ \1|date:"j F Y" }}', html.escape(text, quote=False))


def html_block(block: Block) -> str:
    kind = block[0]
    if kind == "p":
        return f"<p>{html_text(block[1])}</p>"
    if kind == "h":
        return f"<h2>{html_text(block[1])}</h2>"
    if kind == "list":
        items = "".join(f"\n  <li>{html_text(item)}</li>" for item in block[1])
        return f"<ul>{items}\n</ul>"
    if kind == "fields":
        rows = "".join(
            f"\n  <tr><th>{html_text(label)}</th><td>{html_text(value)}</td></tr>"
            for label, value in block[1]
        )
        return f'<table class="fields">{rows}\n</table>'
    if kind == "table":
        head = "".join(f"<th>{html_text(cell)}</th>" for cell in block[1])
        rows = "".join(
            "\n  <tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>"
            for row in block[2]
        )
        return f"<table>\n  <tr>{head}</tr>{rows}\n</table>"
    raise ValueError(kind)


def build_html(title: str, blocks: list[Block]) -> str:
    body = "\n".join(html_block(block) for block in blocks)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html_text(title)}</title>
<style>
{CSS}</style>
</head>
<body>
<header>
<div class="organisation">{{{{ organisation.name }}}}</div>
<h1>{html_text(title)}</h1>
</header>
{body}
<footer>{{{{ organisation.name }}}} &middot; {{{{ today|date:"j F Y" }}}}</footer>
</body>
</html>
"""


# ---------------------------------------------------------------- DOCX

ACCENT = RGBColor(0x1F, 0x4E, 0x79)


def docx_table(document, header: list[str] | None, rows: list[list[str]]) -> None:
    columns = len(header) if header else len(rows[0])
    table = document.add_table(rows=0, cols=columns)
    table.style = "Table Grid"
    for index, row in enumerate(([header] if header else []) + rows):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
            if header and index == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True
    document.add_paragraph()


def build_docx(title: str, blocks: list[Block], path: Path) -> None:
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10)
    section = document.sections[0]
    section.header.paragraphs[0].text = "{{ organisation.name }}"
    section.header.paragraphs[0].runs[0].bold = True
    footer = section.footer.paragraphs[0]
    footer.text = "{{ organisation.name }} · {{ today }}"
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_heading(title, level=1)
    for block in blocks:
        kind = block[0]
        if kind == "p":
            document.add_paragraph(block[1])
        elif kind == "h":
            document.add_heading(block[1], level=2)
        elif kind == "list":
            for item in block[1]:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "fields":
            docx_table(document, None, [[label, value] for label, value in block[1]])
        elif kind == "table":
            docx_table(document, block[1], block[2])
        else:
            raise ValueError(kind)
    for style in ("Heading 1", "Heading 2"):
        document.styles[style].font.color.rgb = ACCENT
    # A fixed date keeps the file the same from one build to the next.
    fixed = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    properties = document.core_properties
    properties.created = properties.modified = fixed
    properties.author = properties.last_modified_by = "Salesline"
    properties.title = title.split(" {{")[0]
    properties.revision = 1
    document.save(str(path))


def main() -> None:
    for key, (title, blocks) in TEMPLATES.items():
        (HERE / f"{key}.html").write_text(build_html(title, blocks), encoding="utf-8")
        build_docx(title, blocks, HERE / f"{key}.docx")
        print(f"wrote {key}.html and {key}.docx")


if __name__ == "__main__":
    main()
