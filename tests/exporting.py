"""Helpers shared by the export tests (records, API, CLI): leads with awkward names, lead custom
fields, and readers for what an export writes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from salesline.records import services as record_services
from salesline.records.models import Lead
from tests.conftest import LEAD, edit_definition

UNICODE_NAMES = ["Åse Ødegård", "Zoë Saldaña", "Łukasz Żółć", "李雷"]
# Text a spreadsheet would evaluate, one per dangerous first character, and what an export
# must make of it.
FORMULAS = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "+1+2": "'+1+2",
    "-2+3": "'-2+3",
    "@SUM(1,1)": "'@SUM(1,1)",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}
LEAD_CUSTOM_FIELDS = [
    {"record": "lead", "key": "interest", "label": "Interest", "type": "text"},
    {"record": "lead", "key": "budget", "label": "Budget", "type": "number"},
    {"record": "lead", "key": "met_on", "label": "Met on", "type": "date"},
    {"record": "lead", "key": "vip", "label": "VIP", "type": "boolean"},
]


def add_lead_custom_fields(admin_actor) -> None:
    edit_definition(admin_actor, lambda d: d["custom_fields"].extend(LEAD_CUSTOM_FIELDS))


def make_lead(actor, name: str, **fields) -> Lead:
    serial = Lead.objects.count()
    data = {**LEAD, "name": name, "email": f"lead{serial}@acme.no", **fields}
    return record_services.record_create(actor=actor, kind="lead", data=data)


def make_formula_leads(actor) -> dict[int, str]:
    """{lead id: the name an export must show} for each formula. Services strip leading tabs
    and carriage returns; older data or another path may hold them, so those are set directly."""
    expected = {}
    for name, shown in FORMULAS.items():
        lead = make_lead(actor, name.strip())
        if lead.name != name:
            Lead.objects.filter(pk=lead.pk).update(name=name)
        expected[lead.pk] = shown
    return expected


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def csv_header(data: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(source: bytes | Path) -> tuple[list[str], list[dict]]:
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    sheet = load_workbook(stream, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    return header, [dict(zip(header, row, strict=True)) for row in rows]
