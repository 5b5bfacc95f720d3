"""Export of lists: the spreadsheet writers (neutralised text, CSV and XLSX rendering) and the
export service (columns, custom fields, the list's rows and order, the audit event)."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from salesline.core.errors import ValidationFailed
from salesline.core.models import AuditEvent
from salesline.core.spreadsheets import (
    DANGEROUS_PREFIXES,
    cell_text,
    csv_chunks,
    neutralise,
    unneutralise,
    write_xlsx,
)
from salesline.core.text import scrub
from salesline.pipeline.services import opportunity_create
from salesline.records import export
from salesline.records.filters import parse_list_query
from salesline.records.models import Lead
from salesline.records.selectors import record_list
from salesline.records.services import custom_field_defs, record_delete
from tests.conftest import COMPANY
from tests.exporting import (
    FORMULAS,
    UNICODE_NAMES,
    add_lead_custom_fields,
    make_formula_leads,
    make_lead,
    read_csv,
    read_xlsx,
)

LEAD_HEADER = [
    "id",
    "name",
    "company_name",
    "email",
    "business_unit",
    "source",
    "campaign_id",
    "details",
    "phone",
    "linkedin",
    "description",
    "owner_id",
    "created_at",
    "updated_at",
]

# ---------------------------------------------------------------- neutralise


@pytest.mark.parametrize(("text", "shown"), FORMULAS.items())
def test_text_a_spreadsheet_would_evaluate_gets_an_apostrophe(text, shown):
    assert neutralise(text) == shown


@pytest.mark.parametrize(
    "text", ["Anne", "", "a=b", "Zoë", " =not first", "'already quoted", "#N/A", "\n=x"]
)
def test_plain_text_is_untouched(text):
    assert neutralise(text) == text


@pytest.mark.parametrize(
    "value", [None, 5, -5, 1.5, -1.5, Decimal("-12.50"), dt.date(2026, 1, 2), True, False]
)
def test_values_that_are_not_text_are_untouched(value):
    assert neutralise(value) is value


def test_a_negative_number_held_as_text_is_neutralised_like_any_text():
    # A text field holding "-5" is text: a spreadsheet would compute it. Numbers kept as numbers
    # (amounts, custom number fields) are written as they are.
    assert neutralise("-5") == "'-5"
    assert cell_text(Decimal("-5.00")) == "-5.00"
    assert cell_text(-5) == "-5"


def test_neutralise_is_idempotent():
    once = neutralise("=1+2")
    assert neutralise(once) == once == "'=1+2"


@given(st.text())
def test_neutralised_text_never_starts_dangerously_and_the_apostrophe_is_all_it_adds(text):
    out = neutralise(text)

    assert not out.startswith(DANGEROUS_PREFIXES)
    if out != text:
        assert out.startswith("'")
        assert out[1:] == text
        assert text.startswith(DANGEROUS_PREFIXES)
    if not (text.startswith("'") and text[1:].startswith(DANGEROUS_PREFIXES)):
        assert unneutralise(out) == text


# ---------------------------------------------------------------- CSV and XLSX writers


def test_cells_are_rendered_as_text_for_csv():
    moment = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(False) == "false"
    assert cell_text(moment) == "2026-11-23T09:30:00+00:00"
    assert cell_text(dt.date(2026, 11, 23)) == "2026-11-23"
    assert cell_text(Decimal("180000.00")) == "180000.00"
    assert cell_text(Decimal("1E+3")) == "1000"
    assert cell_text(42) == "42"
    assert cell_text("@x") == "'@x"


def test_csv_has_a_byte_order_mark_crlf_lines_and_quotes_only_where_needed():
    rows = [[1, "Kari, Hansen", 'say "hi"', "two\nlines", None, "=1+2"]]
    data = "".join(csv_chunks(["id", "a", "b", "c", "d", "e"], rows)).encode()

    assert data.startswith(b"\xef\xbb\xbfid,a,b,c,d,e\r\n")
    assert data.endswith(b"\r\n")
    assert b'1,"Kari, Hansen","say ""hi""","two\nlines",,\'=1+2\r\n' in data


def test_csv_is_written_in_chunks_that_join_to_the_whole():
    rows = [[n, f"Lead {n}"] for n in range(5000)]
    chunks = list(csv_chunks(["id", "name"], rows, chunk_chars=4096))

    assert len(chunks) > 10
    parsed = list(csv.reader(io.StringIO("".join(chunks).lstrip("\ufeff"), newline="")))
    assert parsed[0] == ["id", "name"]
    assert parsed[1:] == [[str(n), f"Lead {n}"] for n in range(5000)]


@given(st.lists(st.text(alphabet=st.characters(exclude_characters="\x00")), max_size=5))
def test_any_text_reads_back_from_csv_as_its_neutralised_form(cells):
    text = "".join(csv_chunks(["h"] * len(cells), [cells]))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))

    # A lone surrogate cannot be encoded: the export writes U+FFFD in its place.
    assert rows[1:] == ([[neutralise(scrub(cell)) for cell in cells]] if cells else [[]])


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def test_xlsx_stores_text_as_strings_never_formulas_or_errors():
    stream = io.BytesIO()
    rows = [
        [1, '=HYPERLINK("http://x","y")', "#N/A", "bell\x07ring", Decimal("-5.50"), 2.5, True],
        [2, "=1+2", "#DIV/0!", "", None, -3, False],
    ]
    write_xlsx(stream, ["id", "name", "code", "text", "value", "number", "flag"], rows, title="t")
    data = stream.getvalue()

    xml = sheet_xml(data)
    assert "<f>" not in xml and 't="e"' not in xml
    assert 't="inlineStr"' in xml
    header, read = read_xlsx(data)
    assert header == ["id", "name", "code", "text", "value", "number", "flag"]
    assert read[0] == {
        "id": 1,
        "name": '\'=HYPERLINK("http://x","y")',
        "code": "#N/A",
        "text": "bellring",  # XML cannot hold the control character
        "value": "-5.50",
        "number": 2.5,
        "flag": True,
    }
    assert read[1] == {
        "id": 2,
        "name": "'=1+2",
        "code": "#DIV/0!",
        "text": None,
        "value": None,
        "number": -3,
        "flag": False,
    }


def test_xlsx_sheet_title_is_one_excel_accepts():
    stream = io.BytesIO()
    write_xlsx(stream, ["a"], [], title="a/b:c*d?[e]" + "x" * 40)
    from openpyxl import load_workbook

    title = load_workbook(io.BytesIO(stream.getvalue())).active.title
    assert len(title) == 31 and not set("/:*?[]") & set(title)


# ---------------------------------------------------------------- the export service


def start(actor, kind="lead", params=None, fmt="csv"):
    _, query, filters = export.parse_export_query(kind, params or {}, actor)
    return export.records_export(actor=actor, kind=kind, query=query, format=fmt, filters=filters)


def csv_of(result) -> bytes:
    stream = io.BytesIO()
    result.write(stream)
    return stream.getvalue()


def xlsx_of(result) -> bytes:
    stream = io.BytesIO()
    result.write(stream)
    return stream.getvalue()


def test_lead_columns_are_the_api_names_with_id_and_timestamps(actor):
    assert start(actor).header == LEAD_HEADER


def test_every_kind_has_its_built_in_fields_as_columns(actor):
    from salesline.records.fields import KINDS

    for kind, kind_def in KINDS.items():
        header = start(actor, kind).header
        assert header[0] == "id"
        assert header[1 : 1 + len(kind_def.fields)] == list(kind_def.fields)
        assert header[-2:] == ["created_at", "updated_at"]


def test_opportunities_also_say_pipeline_stage_and_status(actor):
    deal = opportunity_create(actor=actor, data={"name": "Archive project", "value": "1250.5"})
    result = start(actor, "opportunity")

    rows = read_csv(csv_of(result))
    assert rows[0]["id"] == str(deal.pk)
    assert rows[0]["pipeline"] == "business-development"
    assert rows[0]["stage"] == deal.stage.key
    assert rows[0]["status"] == "open"
    assert rows[0]["value"] == "1250.50"
    assert rows[0]["currency"] == "EUR"
    assert rows[0]["expected_close_date"] == ""


def test_custom_fields_are_columns_named_cf_key_with_their_values(actor, admin_actor):
    add_lead_custom_fields(admin_actor)
    full = make_lead(
        actor,
        "Kari Hansen",
        custom_fields={"interest": "=cmd", "budget": 1500, "met_on": "2026-05-04", "vip": True},
    )
    empty = make_lead(actor, "Ola Nordmann")

    result = start(actor, params={"ordering": "name"})
    assert result.header == [
        *LEAD_HEADER[:-2],
        "cf_interest",
        "cf_budget",
        "cf_met_on",
        "cf_vip",
        "created_at",
        "updated_at",
    ]
    rows = read_csv(csv_of(result))
    assert [row["id"] for row in rows] == [str(full.pk), str(empty.pk)]
    assert {k: v for k, v in rows[0].items() if k.startswith("cf_")} == {
        "cf_interest": "'=cmd",
        "cf_budget": "1500",
        "cf_met_on": "2026-05-04",
        "cf_vip": "true",
    }
    assert {k: v for k, v in rows[1].items() if k.startswith("cf_")} == dict.fromkeys(
        ["cf_interest", "cf_budget", "cf_met_on", "cf_vip"], ""
    )

    header, xrows = read_xlsx(xlsx_of(start(actor, params={"ordering": "name"}, fmt="xlsx")))
    assert header == result.header
    assert xrows[0]["cf_budget"] == 1500 and xrows[0]["cf_vip"] is True
    assert xrows[0]["cf_interest"] == "'=cmd"
    assert xrows[1]["cf_budget"] is None


def test_values_are_rendered_iso_and_unicode_survives_both_formats(actor):
    leads = [make_lead(actor, name, company_name="Ærø Arkiv") for name in UNICODE_NAMES]
    created = Lead.objects.get(pk=leads[0].pk).created_at

    rows = read_csv(csv_of(start(actor, params={"ordering": "id"})))
    assert [row["name"] for row in rows] == UNICODE_NAMES
    assert rows[0]["company_name"] == "Ærø Arkiv"
    assert rows[0]["created_at"] == created.isoformat()
    assert dt.datetime.fromisoformat(rows[0]["created_at"]) == created
    assert rows[0]["owner_id"] == str(actor.user.pk)
    assert rows[0]["linkedin"] == ""

    _, xrows = read_xlsx(xlsx_of(start(actor, params={"ordering": "id"}, fmt="xlsx")))
    assert [row["name"] for row in xrows] == UNICODE_NAMES
    assert xrows[0]["id"] == leads[0].pk
    assert xrows[0]["created_at"] == created.isoformat()
    assert xrows[0]["linkedin"] is None


def test_formulas_come_out_neutralised_in_both_formats(actor):
    expected = make_formula_leads(actor)
    plain = make_lead(actor, "Anne")

    rows = read_csv(csv_of(start(actor)))
    assert {int(row["id"]): row["name"] for row in rows} == {**expected, plain.pk: "Anne"}

    data = xlsx_of(start(actor, fmt="xlsx"))
    assert "<f>" not in sheet_xml(data)
    _, xrows = read_xlsx(data)
    # An XML parser may read a carriage return in text back as a line feed (openpyxl's own
    # does; with lxml installed it keeps it); either way the apostrophe stays first.
    in_xlsx = {pk: name.replace("\r", "\n") for pk, name in expected.items()}
    read_back = {row["id"]: row["name"].replace("\r", "\n") for row in xrows}
    assert read_back == {**in_xlsx, plain.pk: "Anne"}


def test_the_rows_and_their_order_are_the_lists(actor):
    sources = ["Website", "Expo", "Website", "Referral"]
    for n, name in enumerate(["Kari", "anne", "Ola", "Anders", "Bjørn", "Åse", "ann-Mari"] * 3):
        make_lead(actor, f"{name} {n}", source=sources[n % 4])
    for params in (
        {},
        {"source": "Website"},
        {"q": "an"},
        {"ordering": "name"},
        {"ordering": "-name", "source": "Expo"},
        {"ordering": "source"},
        {"ordering": "id"},
        {"ordering": "-updated_at"},
    ):
        query = parse_list_query(
            export.KINDS["lead"], {**params, "limit": 500}, lambda: custom_field_defs(actor, "lead")
        )
        listed = [
            row["id"]
            for row in record_list(actor=actor, kind="lead", query=query, columns=["id"]).items
        ]
        exported = [int(row["id"]) for row in read_csv(csv_of(start(actor, params=params)))]
        assert exported == listed, params


def test_paging_parameters_are_ignored_an_export_has_every_page(actor):
    leads = [make_lead(actor, f"Lead {n}") for n in range(3)]
    result = start(actor, params={"limit": "1", "offset": "1", "ordering": "id"})

    assert [int(row["id"]) for row in read_csv(csv_of(result))] == [lead.pk for lead in leads]


def test_another_organisations_rows_and_deleted_rows_are_never_exported(actor, other_actor):
    mine = make_lead(actor, "Mine")
    gone = make_lead(actor, "Gone")
    record_delete(actor=actor, kind="lead", record_id=gone.pk)
    make_lead(other_actor, "Theirs")

    assert [row["name"] for row in read_csv(csv_of(start(actor)))] == ["Mine"]
    trash = read_csv(csv_of(start(actor, params={"deleted": "true"})))
    assert [row["id"] for row in trash] == [str(gone.pk)]
    assert mine.pk not in [int(row["id"]) for row in trash]


def test_each_export_writes_one_audit_event_with_filters_and_row_count(actor):
    make_lead(actor, "Kari", source="Website")
    make_lead(actor, "Ola", source="Expo")

    result = start(actor, params={"source": "Website", "limit": "5"}, fmt="xlsx")
    xlsx_of(result)

    event = AuditEvent.objects.get(action="export")
    assert event.organisation_id == actor.organisation.pk
    assert event.actor_id == actor.user.pk
    assert event.object_type == "lead"
    assert event.changes == {"filters": {"source": "Website"}, "format": "xlsx", "rows": 1}
    assert result.count == result.written == 1


def test_the_queries_do_not_grow_with_the_rows(actor, admin_actor):
    add_lead_custom_fields(admin_actor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            csv_of(start(actor))
        return len(captured)

    make_lead(actor, "First")
    few = queries()
    for n in range(30):
        make_lead(actor, f"Lead {n}", custom_fields={"budget": n})
    assert queries() == few


def test_the_filename_says_what_and_when(actor):
    assert start(actor, "person").filename == f"people-{timezone.localdate():%Y-%m-%d}.csv"
    assert start(actor, "company", fmt="xlsx").filename.startswith("companies-")


def test_format_and_filter_problems_are_reported_together(actor):
    with pytest.raises(ValidationFailed) as refused:
        export.parse_export_query(
            "lead", {"format": "pdf", "sourc": "x", "ordering": "nope"}, actor, with_format=True
        )

    locs = [problem.loc for problem in refused.value.problems]
    assert locs == [("query", "sourc"), ("query", "ordering"), ("query", "format")]
    assert "Unknown filter 'sourc'." in [p.msg for p in refused.value.problems]


def test_format_defaults_to_csv_and_is_only_read_when_asked(actor):
    fmt, _, filters = export.parse_export_query("lead", {"source": "Web"}, actor, with_format=True)
    assert (fmt, filters) == ("csv", {"source": "Web"})
    with pytest.raises(ValidationFailed):
        export.parse_export_query("lead", {"format": "csv"}, actor)


@pytest.mark.parametrize(
    ("name", "kind"), [("leads", "lead"), ("people", "person"), ("company", "company")]
)
def test_kinds_are_named_by_the_api_resource_or_the_kind(name, kind):
    assert export.export_kind(name) == kind


def test_an_unknown_kind_names_the_kinds():
    with pytest.raises(ValidationFailed) as refused:
        export.export_kind("notes")
    assert refused.value.problems[0].msg == (
        "Unknown kind 'notes'. Kinds: companies, people, leads, opportunities."
    )


def test_companies_export_with_their_custom_fields(actor, admin_actor, company_custom_fields):
    from salesline.records.services import record_create

    company = record_create(
        actor=actor,
        kind="company",
        data={**COMPANY, "custom_fields": {"motto": "+47 rules", "tier": "gold"}},
    )
    rows = read_csv(csv_of(start(actor, "company")))

    assert rows[0]["id"] == str(company.pk)
    assert rows[0]["cf_motto"] == "'+47 rules"
    assert rows[0]["cf_tier"] == "gold"
    assert rows[0]["cf_listed"] == ""
