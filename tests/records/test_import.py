"""Imports through the services: reading, mapping, normalisation, duplicates, policies, dry run,
report, undo and resuming after a crash — on SQLite and PostgreSQL."""

import csv
import io

import pytest
from django.db import connection

from salesline.accounts import services as accounts
from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.records import services as records
from salesline.records.importing import engine
from salesline.records.importing import services as imports
from salesline.records.models import Company, ImportIssue, ImportJob, Lead, Person
from tests.records import hostile

HEADER = ["Full name", "E-mail", "Company", "Business unit", "Source", "Details", "Phone"]


def lead_row(name, email, company="Piql AS", phone="", source="Expo 2026"):
    return [name, email, company, "Nordics", source, "Met at the stand", phone]


def csv_bytes(rows, header=HEADER, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def run(actor, tmp_path):
    """Import `rows` (or raw bytes) as a file; returns the finished job."""
    counter = iter(range(1000))

    def _run(rows, *, kind="leads", header=HEADER, name=None, execute=True, **options):
        data = rows if isinstance(rows, bytes) else csv_bytes(rows, header)
        path = tmp_path / (name or f"file{next(counter)}.csv")
        path.write_bytes(data)
        as_actor = options.pop("as_actor", actor)
        job = imports.import_create(
            actor=as_actor,
            kind=kind,
            file=path,
            file_name=path.name,
            **options,
        )
        return imports.import_execute(actor=as_actor, import_id=job.pk) if execute else job

    return _run


def leads(org):
    return Lead.objects.filter(organisation=org, deleted_at=None).order_by("id")


# ------------------------------------------------------------------ reading and mapping


def test_headers_are_mapped_by_synonyms_and_case(run, org):
    header = ["NAME", "Email address", "Company name", "Business Unit", "Lead source", "Notes"]
    job = run([["Ann Berg", "ann@piql.com", "Piql", "Nordics", "Web", "x"]], header=header)
    assert job.mapping == {
        "NAME": "name",
        "Email address": "email",
        "Company name": "company_name",
        "Business Unit": "business_unit",
        "Lead source": "source",
        "Notes": "details",
    }
    lead = leads(org).get()
    assert (lead.name, lead.email, lead.company_name, lead.source) == (
        "Ann Berg",
        "ann@piql.com",
        "Piql",
        "Web",
    )


def test_first_and_last_name_columns_make_the_name(run, org):
    header = ["First name", "Surname", "E-mail", "Company", "BU", "Source", "Comments"]
    run([["Åse", "Ødegård", "ase@piql.com", "Piql", "Nordics", "Web", "x"]], header=header)
    assert leads(org).get().name == "Åse Ødegård"


def test_explicit_mapping_overrides_guesses_and_ignores_columns(run, org):
    header = [*HEADER, "Internal"]
    rows = [[*lead_row("Ann Berg", "ann@piql.com"), "secret"]]
    job = run(rows, header=header, mapping={"Details": "description", "Internal": None})
    assert job.mapping["Details"] == "description"
    assert "Internal" not in job.mapping
    # details is a minimum field of leads and no column holds it now
    assert job.rejected == 1


def test_a_mapping_to_an_unknown_field_or_column_is_refused_up_front(run):
    with pytest.raises(ValidationFailed) as error:
        run([lead_row("Ann", "a@b.com")], mapping={"E-mail": "emial", "Nope": "name"})
    messages = " ".join(p.msg for p in error.value.problems)
    assert "'emial', which is not a field of leads" in messages
    assert "The file has no column 'Nope'" in messages
    assert ImportJob.objects.count() == 0


def test_a_file_without_a_name_column_is_refused(run):
    with pytest.raises(ValidationFailed, match="mapping"):
        run([["a@b.com"]], header=["E-mail"])


def test_the_mapping_is_saved_for_the_next_file_of_the_same_shape(run, org):
    header = ["Who", "Mail", "Firm", "Unit", "Where", "What"]
    mapping = {
        "Who": "name",
        "Mail": "email",
        "Firm": "company_name",
        "Unit": "business_unit",
        "Where": "source",
        "What": "details",
    }
    run(
        [["Ann Berg", "ann@piql.com", "Piql", "Nordics", "Web", "x"]],
        header=header,
        mapping=mapping,
    )
    job = run([["Bo Li", "bo@piql.com", "Piql", "Nordics", "Web", "x"]], header=header)
    assert job.mapping == mapping
    assert job.created == 1


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(",", "utf-8"), (";", "utf-8-sig"), ("\t", "cp1252"), ("|", "latin-1")],
)
def test_any_delimiter_and_the_usual_encodings(run, org, delimiter, encoding):
    data = csv_bytes(
        [lead_row("Zoë Ångström", "zoe@piql.com")], delimiter=delimiter, encoding=encoding
    )
    job = run(data)
    assert job.created == 1, imports.import_report(job)["rejected"]
    assert leads(org).get().name == "Zoë Ångström"


def test_xlsx_files_are_read_with_numbers_as_typed(run, org, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    # A phone typed into Excel as a number loses its leading 0; the region gives it back.
    sheet.append(["李雷", "li@piql.com", "Piql", "India", "Expo", "x", 2079460018])
    path = tmp_path / "leads.xlsx"
    workbook.save(path)
    job = run(path.read_bytes(), name="leads.xlsx", region="GB")
    assert job.created == 1
    lead = leads(org).get()
    assert (lead.name, lead.phone) == ("李雷", "+442079460018")


def test_an_unreadable_file_is_refused_with_the_reason(run):
    with pytest.raises(ValidationFailed, match="cannot be imported"):
        run(b"")


# ------------------------------------------------------------------ normalisation


def test_values_are_normalised_and_names_kept_as_written(run, org):
    rows = [
        [
            "  Łukasz  Nowak ",
            "  Lukasz.Nowak@Example.COM ",
            " Piql AS ",
            "Nordics",
            "Web",
            "x",
            "020 7946 0018",
        ],
    ]
    run(rows, region="GB")
    lead = leads(org).get()
    assert lead.name == "Łukasz  Nowak"  # trimmed, the inside kept
    assert lead.email == "lukasz.nowak@example.com"
    assert lead.phone == "+442079460018"
    assert lead.company_name == "Piql AS"
    assert lead.search_name == "łukasz nowak"


def test_bad_values_reject_the_row_naming_field_and_reason(run, org):
    rows = [
        lead_row("Ann Berg", "ann@piql.com"),
        lead_row("Bad Mail", "not-an-address"),
        lead_row("Bad Phone", "bp@piql.com", phone="call me"),
        lead_row("", "noname@piql.com"),
    ]
    job = run(rows, region="GB")
    report = imports.import_report(job)
    assert job.created == 1 and job.rejected == 3
    by_row = {issue["row"]: issue for issue in report["rejected"]}
    assert by_row[3]["field"] == "email" and "e-mail" in by_row[3]["reason"].lower()
    assert by_row[4]["field"] == "phone"
    assert by_row[5]["field"] == "name" and "required" in by_row[5]["reason"]


def test_minimum_fields_of_the_definition_apply(run, org):
    job = run([["Ann Berg", "ann@piql.com", "", "Nordics", "Web", "x", ""]])
    report = imports.import_report(job)
    assert job.rejected == 1
    assert report["rejected"][0]["field"] == "company_name"
    assert "Company name is required" in report["rejected"][0]["reason"]


def test_five_percent_bad_rows_never_abort_the_good_ones(run, org):
    rows = [
        lead_row(f"Person {i}", f"p{i}@piql.com" if i % 20 else f"p{i}@@bad") for i in range(400)
    ]
    job = run(rows)
    assert (job.created, job.rejected, job.status) == (380, 20, "done")
    assert leads(org).count() == 380


@pytest.mark.parametrize(
    ("name", "build"), [pytest.param(*c[1:], id=c[0]) for c in hostile.OVERLONG]
)
def test_a_cell_over_the_cell_limit_rejects_its_row_and_the_others_import(run, org, name, build):
    """A bad row never aborts the good ones: a cell over 32,767 characters (CSV, XLSX inline or
    shared text) rejects its row, naming the row, the cell, its column and the limit; the
    rejected rows' CSV keeps that cell cut within the limit."""
    job = run(build(), name=name)
    assert (job.status, job.created, job.rejected) == ("done", 3, 1)
    assert imports.import_report(job)["rejected"] == [
        {
            "row": 3,
            "name": "Bo Li",
            "email": "bo@piql.com",
            "field": "row",
            "reason": hostile.OVERLONG_REASON,
        }
    ]
    assert [lead.name for lead in leads(org)] == ["Ann Berg", "Cy Dahl", "Di Ek"]
    assert leads(org).get(name="Cy Dahl").details == "first line\nsecond line"
    text = "".join(imports.rejected_rows_csv(job)).lstrip("\ufeff")
    [_, rejected] = list(csv.reader(io.StringIO(text)))
    assert rejected[:3] == ["3", hostile.OVERLONG_REASON, "Bo Li"]
    assert len(rejected[7]) <= 32_767 and rejected[7].endswith("held 40,000 characters]")


def test_a_cell_over_the_cell_limit_in_an_ignored_column_rejects_nothing(run, org):
    rows = [[*lead_row("Ann Berg", "ann@piql.com"), "x" * 40_000], [*lead_row("Bo", "bo@x.no"), ""]]
    job = run(rows, header=[*HEADER, "History"], mapping={"History": None})
    assert (job.created, job.rejected) == (2, 0)
    job = run(rows, header=[*HEADER, "History"], mapping={"History": "description"})
    assert job.rejected == 1
    assert imports.import_report(job)["rejected"][0]["reason"] == (
        "Row 2: a cell may hold at most 32,767 characters; cell H2 (History) holds 40,000."
    )


def test_the_report_and_the_preview_name_the_rows_read_in_a_legacy_encoding(run, org, actor):
    preview = imports.import_preview(
        actor=actor, kind="leads", file=io.BytesIO(hostile.mixed_encodings())
    )
    assert preview.notes == (hostile.MIXED_NOTE,)
    for dry_run in (True, False):
        job = run(hostile.mixed_encodings(), dry_run=dry_run)
        assert (job.created, job.notes) == (4, [hostile.MIXED_NOTE])
        assert imports.import_report(job)["notes"] == [hostile.MIXED_NOTE]
    assert run(csv_bytes([lead_row("Åse", "ase@piql.com")])).notes == []


# ------------------------------------------------------------------ duplicates


def test_duplicates_within_the_file_by_email_in_any_case(run, org):
    rows = [
        lead_row("Ann Berg", "ann@piql.com"),
        lead_row("Ann B.", "ANN@Piql.com"),
        lead_row("Bo Li", "bo@piql.com"),
    ]
    job = run(rows)
    report = imports.import_report(job)
    assert (job.created, job.duplicates) == (2, 1)
    assert report["duplicate_rows"] == [
        {
            "row": 3,
            "name": "Ann B.",
            "email": "ann@piql.com",
            "reason": "same e-mail as row 2",
            "record_id": None,
        }
    ]


def test_duplicates_within_the_file_by_name_and_company(run, org, admin_actor):
    from salesline.process.definition import template_text
    from salesline.process.services import process_load

    text = template_text("business-development").replace(
        "lead: [name, company_name, email, business_unit, source, details]", "lead: [name]"
    )
    process_load(actor=admin_actor, text=text)
    rows = [
        lead_row("Bo Li", "", company="Piql AS"),
        lead_row("bo  li", "", company="PIQL"),
        lead_row("Bo Li", "", company="Other Ltd"),
        lead_row("Cy Ng", "", company=""),
        lead_row("cy ng", "", company=""),
    ]
    job = run(rows)
    report = imports.import_report(job)
    dupes = {d["row"]: d["reason"] for d in report["duplicate_rows"]}
    assert dupes == {
        3: "same name and company as row 2",
        6: "same name (no e-mail, no company) as row 5",
    }
    assert job.created == 3


def test_duplicates_against_the_database(run, org, actor):
    existing = records.record_create(
        actor=actor,
        kind="lead",
        data={
            "name": "Ann Berg",
            "email": "ann@piql.com",
            "company_name": "Piql",
            "business_unit": "Nordics",
            "source": "Web",
            "details": "x",
        },
    )
    job = run([lead_row("Ann Berg", "Ann@PIQL.com"), lead_row("Di Ho", "di@piql.com")])
    report = imports.import_report(job)
    assert (job.created, job.duplicates) == (1, 1)
    assert report["duplicate_rows"] == [
        {
            "row": 2,
            "name": "Ann Berg",
            "email": "ann@piql.com",
            "reason": f"same e-mail as lead {existing.pk}",
            "record_id": existing.pk,
        }
    ]


def test_similar_names_at_the_same_company_are_reported_not_merged(run, org, actor):
    existing = records.record_create(
        actor=actor,
        kind="lead",
        data={
            "name": "John Smith",
            "email": "john@piql.com",
            "company_name": "Piql AS",
            "business_unit": "Nordics",
            "source": "Web",
            "details": "x",
        },
    )
    job = run(
        [
            lead_row("Jon Smith", "jon@piql.com", company="Piql"),
            lead_row("Jonn Smith", "jonn@piql.com", company="Other"),
        ]
    )
    report = imports.import_report(job)
    assert job.created == 2 and job.possible_duplicates == 1
    [candidate] = report["possible_duplicate_rows"]
    assert candidate["row"] == 2 and candidate["record_id"] == existing.pk
    assert "similar" in candidate["reason"]


def test_similar_names_within_the_file_are_reported(run, org):
    job = run(
        [
            lead_row("John Smith", "john@piql.com"),
            lead_row("Jon Smith", "jon@piql.com"),
        ]
    )
    report = imports.import_report(job)
    assert job.created == 2
    assert report["possible_duplicate_rows"][0]["row"] == 3
    assert "row 2" in report["possible_duplicate_rows"][0]["reason"]


def _existing_lead(actor, **data):
    base = {
        "name": "Ann Berg",
        "email": "ann@piql.com",
        "company_name": "Piql",
        "business_unit": "Nordics",
        "source": "Web",
        "details": "x",
        "phone": "",
    }
    return records.record_create(actor=actor, kind="lead", data={**base, **data})


def test_policy_update_fills_empty_fields_only(run, org, actor):
    lead = _existing_lead(actor, source="Web")
    job = run(
        [lead_row("Ann Berg", "ann@piql.com", phone="+47 22 12 34 56", source="Expo")],
        on_duplicate="update",
    )
    lead.refresh_from_db()
    assert job.updated == 1
    assert (lead.phone, lead.source) == ("+4722123456", "Web")


def test_policy_overwrite_replaces_values(run, org, actor):
    lead = _existing_lead(actor, source="Web")
    job = run([lead_row("Ann Berg", "ann@piql.com", source="Expo")], on_duplicate="overwrite")
    lead.refresh_from_db()
    assert job.updated == 1 and lead.source == "Expo" and lead.version == 2


def test_policy_skip_leaves_the_record_alone(run, org, actor):
    lead = _existing_lead(actor, source="Web")
    job = run([lead_row("Ann Berg", "ann@piql.com", source="Expo")])
    lead.refresh_from_db()
    assert (job.updated, job.duplicates, lead.source) == (0, 1, "Web")


def test_an_unknown_policy_or_region_is_refused(run):
    with pytest.raises(ValidationFailed, match="On duplicate"):
        run([lead_row("A", "a@b.com")], on_duplicate="merge")
    with pytest.raises(ValidationFailed, match="Region"):
        run([lead_row("A", "a@b.com")], region="XX")


# ------------------------------------------------------------------ idempotence, dry run, undo


def test_importing_the_same_file_twice_creates_nothing_new(run, org):
    rows = [lead_row(f"Person {i}", f"p{i}@piql.com") for i in range(50)]
    first = run(rows)
    second = run(rows)
    assert (first.created, second.created, second.duplicates) == (50, 0, 50)
    assert leads(org).count() == 50


def test_a_dry_run_writes_nothing_and_reports_the_same(run, org):
    rows = [lead_row(f"Person {i}", f"p{i}@piql.com") for i in range(30)]
    rows += [lead_row("Bad", "bad@"), lead_row("Person 1", "P1@piql.com")]
    dry = run(rows, dry_run=True)
    assert leads(org).count() == 0
    real = run(rows)
    keys = ("created", "updated", "duplicates", "rejected", "rejected", "duplicate_rows")
    dry_report, real_report = imports.import_report(dry), imports.import_report(real)
    assert {k: dry_report[k] for k in keys} == {k: real_report[k] for k in keys}
    assert (real.created, real.rejected, real.duplicates) == (30, 1, 1)


def test_undo_removes_created_and_restores_updated_records(run, org, actor):
    lead = _existing_lead(actor, source="Web")
    job = run(
        [lead_row("Ann Berg", "ann@piql.com", source="Expo"), lead_row("New One", "n@piql.com")],
        on_duplicate="overwrite",
    )
    assert leads(org).count() == 2
    undone = imports.import_undo(actor=actor, import_id=job.pk)
    lead.refresh_from_db()
    assert undone.status == "undone"
    assert undone.undo_report["removed"] == 1 and undone.undo_report["restored"] == 1
    assert list(leads(org)) == [lead] and lead.source == "Web"
    assert AuditEvent.objects.filter(action="import_undo", object_id=str(job.pk)).exists()
    with pytest.raises(Conflict, match="already undone"):
        imports.import_undo(actor=actor, import_id=job.pk)


def test_undo_keeps_a_record_edited_since_the_import(run, org, actor):
    lead = _existing_lead(actor, source="Web")
    job = run([lead_row("Ann Berg", "ann@piql.com", source="Expo")], on_duplicate="overwrite")
    records.record_update(actor=actor, kind="lead", record_id=lead.pk, data={"source": "Later"})
    undone = imports.import_undo(actor=actor, import_id=job.pk)
    lead.refresh_from_db()
    assert lead.source == "Later"
    assert undone.undo_report["kept_changed_since"] == [lead.pk]


def test_a_dry_run_cannot_be_undone(run, actor):
    job = run([lead_row("Ann", "a@piql.com")], dry_run=True)
    with pytest.raises(Conflict, match="dry run"):
        imports.import_undo(actor=actor, import_id=job.pk)


def test_imports_of_another_organisation_are_not_found(run, other_actor):
    job = run([lead_row("Ann", "a@piql.com")])
    with pytest.raises(NotFound):
        imports.import_get_for(actor=other_actor, import_id=job.pk)
    with pytest.raises(NotFound):
        imports.import_undo(actor=other_actor, import_id=job.pk)


def test_an_import_is_audited(run, org):
    job = run([lead_row("Ann", "a@piql.com")])
    actions = set(
        AuditEvent.objects.filter(object_type="importjob", object_id=str(job.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == {"import_create", "import"}


# ------------------------------------------------------------------ report and formulas


def test_rejected_rows_download_with_reasons_and_neutralised_cells(run, org):
    rows = [
        lead_row("Ann Berg", "ann@piql.com"),
        lead_row('=HYPERLINK("http://evil","x")', "bad@", company="+cmd"),
    ]
    job = run(rows)
    text = "".join(imports.rejected_rows_csv(job)).lstrip("\ufeff")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["row", "reason", *HEADER]
    assert parsed[1][0] == "3" and "e-mail" in parsed[1][1].lower()
    assert parsed[1][2] == '\'=HYPERLINK("http://evil","x")'
    assert parsed[1][4] == "'+cmd"


def test_a_formula_cell_is_stored_as_text_not_evaluated(run, org):
    run([lead_row("=1+2", "f@piql.com")])
    assert leads(org).get().name == "=1+2"


# ------------------------------------------------------------------ people and companies

PEOPLE = ["Name", "Email", "Phone", "Business unit", "Company", "Title"]


def test_people_are_linked_to_companies_created_when_new(run, org, actor):
    piql = records.record_create(
        actor=actor,
        kind="company",
        data={
            "name": "Piql AS",
            "contact_type": "Customer",
            "business_unit": "Nordics",
            "market": "Norway",
            "life_cycle": "Prospect",
            "sector": "Government",
            "segment": "National",
        },
    )
    rows = [
        ["Ann Berg", "ann@piql.com", "+47 22 12 34 56", "Nordics", "piql", "CEO"],
        ["Bo Li", "bo@newco.com", "+47 22 12 34 57", "Nordics", "NewCo Ltd", "CTO"],
        ["Cy Ng", "cy@newco.com", "+47 22 12 34 58", "Nordics", "Newco", "CFO"],
    ]
    job = run(rows, kind="people", header=PEOPLE)
    assert (job.created, job.companies_created) == (3, 1)
    people = {p.name: p for p in Person.objects.filter(organisation=org)}
    assert people["Ann Berg"].company_id == piql.pk
    assert people["Bo Li"].company_id == people["Cy Ng"].company_id != piql.pk
    imports.import_undo(actor=actor, import_id=job.pk)
    assert not Person.objects.filter(organisation=org, deleted_at=None).exists()
    assert list(Company.objects.filter(organisation=org, deleted_at=None)) == [piql]


def test_companies_match_by_normalised_name_and_domain(run, org, actor):
    header = [
        "Company",
        "Contact type",
        "BU",
        "Market",
        "Life cycle",
        "Sector",
        "Segment",
        "Domain",
    ]
    base = ["Customer", "Nordics", "Norway", "Prospect", "Government", "National"]
    rows = [
        ["Piql AS", *base, "piql.com"],
        ["PIQL", *base, ""],
        ["Other Org", *base, "https://www.Piql.com/about"],
        ["Archive Corp", *base, "archive.org"],
    ]
    job = run(rows, kind="companies", header=header)
    report = imports.import_report(job)
    assert (job.created, job.duplicates) == (2, 2)
    assert {d["row"] for d in report["duplicate_rows"]} == {3, 4}
    assert Company.objects.get(organisation=org, match_name="piql").email_domain == "piql.com"


# ------------------------------------------------------------------ progress, resume, parallel


def test_progress_is_reported_per_chunk(run, org, actor, settings):
    settings.SALESLINE_IMPORT_CHUNK = 10
    seen = []
    job = run([lead_row(f"P {i}", f"p{i}@piql.com") for i in range(35)], execute=False)
    imports.import_execute(
        actor=actor, import_id=job.pk, progress=lambda j: seen.append(j.rows_done)
    )
    assert seen == [10, 20, 30, 35]
    progress = imports.progress_of(ImportJob.objects.get(pk=job.pk))
    assert progress["rows_done"] == progress["rows_total"] == 35
    assert progress["percent"] == 100.0


def test_chunks_share_a_transaction_until_the_commit_interval(run, org, actor, settings):
    settings.SALESLINE_IMPORT_CHUNK = 10
    settings.SALESLINE_IMPORT_COMMIT_SECONDS = 3600
    seen = []
    job = run([lead_row(f"P {i}", f"p{i}@piql.com") for i in range(35)], execute=False)
    job = imports.import_execute(
        actor=actor, import_id=job.pk, progress=lambda j: seen.append(j.rows_done)
    )
    assert seen == [35]  # one commit, at the end
    assert (job.created, leads(org).count()) == (35, 35)


def test_a_crash_rolls_back_to_the_last_commit(run, org, actor, settings, monkeypatch):
    settings.SALESLINE_IMPORT_CHUNK = 10
    settings.SALESLINE_IMPORT_COMMIT_SECONDS = 3600
    job = run([lead_row(f"P {i}", f"p{i}@piql.com") for i in range(35)], execute=False)
    original = engine.ImportRun.process
    calls = []

    def crash_on_third_chunk(self, rows, *, replay=False):
        calls.append(len(rows))
        if len(calls) == 3:
            raise Crash
        return original(self, rows, replay=replay)

    monkeypatch.setattr(engine.ImportRun, "process", crash_on_third_chunk)
    with pytest.raises(Crash):
        imports.import_execute(actor=actor, import_id=job.pk)
    job.refresh_from_db()
    # Two chunks were processed but never committed: nothing of them is left.
    assert (job.rows_done, job.created, leads(org).count()) == (0, 0, 0)
    assert not ImportIssue.objects.filter(job=job).exists()
    monkeypatch.setattr(engine.ImportRun, "process", original)
    assert imports.import_execute(actor=actor, import_id=job.pk).created == 35


class Crash(Exception):
    pass


def test_a_crash_mid_import_resumes_from_the_last_chunk(run, org, actor, settings):
    settings.SALESLINE_IMPORT_CHUNK = 10
    rows = [
        lead_row(f"P {i}", f"p{i % 37}@piql.com") for i in range(60)
    ]  # duplicates across chunks
    rows[25] = lead_row("Bad", "bad@")
    job = run(rows, execute=False)

    def crash_after_two_chunks(j):
        if j.rows_done >= 20:
            raise Crash

    with pytest.raises(Crash):
        imports.import_execute(actor=actor, import_id=job.pk, progress=crash_after_two_chunks)
    job.refresh_from_db()
    assert (job.status, job.rows_done, leads(org).count()) == ("running", 20, 20)
    finished = imports.import_execute(actor=actor, import_id=job.pk)
    assert finished.status == "done"
    # 36 distinct good addresses, each repeat a duplicate of its first row, one bad row:
    # the same report as an import that never stopped.
    assert (finished.created, finished.duplicates, finished.rejected) == (36, 23, 1)
    assert leads(org).count() == 36
    assert ImportIssue.objects.filter(job=finished, type="rejected").count() == 1


def test_rows_normalised_in_other_processes_give_the_same_result(
    run, org, actor, settings, monkeypatch
):
    settings.SALESLINE_IMPORT_CHUNK = 50
    monkeypatch.setattr(engine, "PARALLEL_FROM_ROWS", 0)
    rows = [
        lead_row(f"Person {i}", f"p{i % 150}@piql.com", phone="020 7946 0018") for i in range(300)
    ]
    rows[7] = lead_row("Bad", "bad@")
    serial = run(rows, dry_run=True, region="GB", execute=False)
    serial = imports.import_execute(actor=actor, import_id=serial.pk, workers=1)
    job = run(rows, execute=False, region="GB")
    parallel = imports.import_execute(actor=actor, import_id=job.pk, workers=2)
    assert (parallel.created, parallel.duplicates, parallel.rejected) == (150, 149, 1)
    assert (serial.created, serial.duplicates, serial.rejected) == (150, 149, 1)


def test_another_member_can_be_named_owner(run, org, user):
    boss = accounts.user_create(
        actor=accounts.system_actor(org), email="boss@piql.test", role="admin"
    )
    header = [*HEADER, "Owner"]
    rows = [
        [*lead_row("Ann", "a@piql.com"), "BOSS@piql.test"],
        [*lead_row("Bo", "b@piql.com"), "stranger@x.com"],
        [*lead_row("Cy", "c@piql.com"), ""],
    ]
    job = run(rows, header=header)
    report = imports.import_report(job)
    assert job.created == 2
    assert report["rejected"][0]["field"] == "owner"
    owners = dict(leads(org).values_list("name", "owner_id"))
    assert owners == {"Ann": boss.pk, "Cy": user.pk}


def test_dedupe_keys_are_kept_by_the_services(actor, org):
    lead = _existing_lead(actor, name="John Smith", company_name="Piql AS")
    assert lead.dedupe_key == "piql|smith"
    records.record_update(actor=actor, kind="lead", record_id=lead.pk, data={"company_name": "X"})
    lead.refresh_from_db()
    assert lead.dedupe_key == "x|smith"
    assert connection.vendor in ("sqlite", "postgresql")


def test_an_xlsx_formula_is_never_imported_as_a_formula(run, org, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    # openpyxl stores the formula without a computed value, as a file from a script would be.
    sheet.append(
        ['=HYPERLINK("http://evil","x")', "f@piql.com", "Piql", "Nordics", "Expo", "x", ""]
    )
    sheet.append(["Ann", "ann@piql.com", "Piql", "Nordics", "Expo", "x", ""])
    path = tmp_path / "formula.xlsx"
    workbook.save(path)
    job = run(path.read_bytes(), name="formula.xlsx")
    report = imports.import_report(job)
    assert (job.created, job.rejected) == (1, 1)
    assert report["rejected"][0] == {
        "row": 2,
        "name": "",
        "email": "f@piql.com",
        "field": "name",
        "reason": "Name is required",
    }
    assert not leads(org).filter(name__startswith="=").exists()


def test_custom_fields_can_be_mapped(run, org, actor):
    header = [*PEOPLE, "Buying influence concept"]
    rows = [
        ["Ann Berg", "ann@piql.com", "+47 22 12 34 56", "Nordics", "Piql", "CEO", "Economic buyer"]
    ]
    job = run(rows, kind="people", header=header)
    assert job.mapping["Buying influence concept"] == "cf_buying_influence_concept"
    person = Person.objects.get(organisation=org)
    assert person.custom_fields == {"buying_influence_concept": "Economic buyer"}


def test_a_finished_import_records_one_import_finished_event(run, org):
    from salesline.core.models import DomainEvent

    job = run([lead_row("Ann", "a@piql.com"), lead_row("Bo", "not-an-address")])
    [event] = DomainEvent.objects.filter(kind="import_finished", object_id=str(job.pk))
    assert event.organisation == org
    assert event.payload["status"] == "done" and event.payload["kind"] == job.kind
    assert (event.payload["created"], event.payload["rejected"]) == (1, 1)


# ------------------------------------------------------------------ the one text rule


def test_rows_with_text_no_other_write_would_take_are_rejected_with_row_and_field(run, org):
    rows = [
        lead_row("Ann Berg", "ann@piql.com"),
        lead_row("Invoice \u202efdp.exe", "rlo@piql.com"),
        lead_row("Bad Source", "src@piql.com", source="s" * 121),
        lead_row("Bell \x07 Berg", "bell@piql.com"),
        lead_row("Line\nBreak", "lb@piql.com", company="Piql\nAS"),
        lead_row("Odd \uffff", "odd@piql.com"),
    ]
    job = run(rows)

    by_row = {issue["row"]: issue for issue in imports.import_report(job)["rejected"]}
    assert sorted(by_row) == [3, 4, 7]
    assert by_row[3]["field"] == "name" and "bidirectional control" in by_row[3]["reason"]
    assert by_row[4]["field"] == "source" and "longer than 120" in by_row[4]["reason"]
    assert by_row[7]["field"] == "name" and "noncharacter U+FFFF" in by_row[7]["reason"]
    # What the normaliser can clean it cleans: controls removed, a cell's line break a space.
    assert {(lead.name, lead.company_name) for lead in leads(org)} == {
        ("Ann Berg", "Piql AS"),
        ("Bell  Berg", "Piql AS"),
        ("Line Break", "Piql AS"),
    }


def test_an_import_keeps_line_breaks_in_long_text(run, org):
    rows = [["Ann Berg", "ann@piql.com", "Piql AS", "Nordics", "Expo", "Met\nat the stand", ""]]

    run(rows)

    assert leads(org).get().details == "Met\nat the stand"
