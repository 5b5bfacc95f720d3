"""Import pages: upload, mapping, dry-run preview, progress, report, rejected rows, undo — the
same services as the API, scoped to the organisation, and no 500 on bad input."""

import csv
import html
import io
import re
import time
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.records import services as records
from salesline.records.importing import services as imports
from salesline.records.importing.limits import ReadLimits
from salesline.records.models import ImportJob, Lead
from salesline.web.views import imports as import_views
from tests.records import hostile
from tests.records.test_import import HEADER, csv_bytes, lead_row


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    """Each test stores uploads in its own folder, so staged files can be counted."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def existing_lead(browser):
    return records.record_create(
        actor=browser.actor,
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


ROWS = [
    lead_row("Ann Berg", "ANN@piql.com"),  # row 2: the existing lead, by e-mail
    lead_row("Bo Li", "bo@piql.com"),  # row 3: new
    lead_row("Cy Bad", "cy@"),  # row 4: rejected, bad e-mail
    lead_row("Di Ek", "di@piql.com"),  # row 5: new
]


def live_leads(org):
    return Lead.objects.filter(organisation=org, deleted_at=None)


def staged_files():
    try:
        return default_storage.listdir(import_views.STAGED_DIR)[1]
    except OSError:
        return []


def upload(client, data=None, name="fair.csv", **fields):
    """POST the upload form; `data` is the file's bytes (default: ROWS as CSV)."""
    form = {"kind": "leads", "on_duplicate": "skip", "region": "GB", **fields}
    if data is not False:
        form["file"] = SimpleUploadedFile(name, csv_bytes(ROWS) if data is None else data)
    return client.post("/imports/new/", form)


def mapping_form(response, **changes):
    """The mapping form's values as the page chose them, with `changes` by column name."""
    fields = {}
    for column in response.context["columns"]:
        fields[f"column-{column['index']}"] = changes.get(column["name"], column["chosen"])
    return {"on_duplicate": "skip", "region": "GB", **fields}


def dry_run(client, data=None, **changes):
    """Upload, accept the mapping (with `changes`) and return the dry run's job."""
    response = upload(client, data)
    assert response.status_code == 302, response.content
    mapping_url = response["Location"]
    page = client.get(mapping_url)
    response = client.post(mapping_url, mapping_form(page, **changes))
    assert response.status_code == 302, response.content
    return ImportJob.objects.get(pk=int(re.search(r"/imports/(\d+)/", response["Location"])[1]))


def run_for_real(client, dry):
    response = client.post(f"/imports/{dry.pk}/run/")
    assert response.status_code == 302
    return ImportJob.objects.get(pk=int(re.search(r"/imports/(\d+)/", response["Location"])[1]))


# --------------------------------------------------------------------------- list


def test_the_list_starts_empty_with_a_new_import_button(browser):
    page = browser.get("/imports/")
    assert page.status_code == 200
    assert b"No imports yet" in page.content
    assert b'href="/imports/new/"' in page.content


def test_the_list_shows_this_organisations_imports_newest_first(
    browser, other_actor, tmp_path, django_assert_max_num_queries
):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([lead_row("Ann", "a@piql.com")]))
    for name in ("first.csv", "second.csv"):
        job = imports.import_create(actor=browser.actor, kind="leads", file=path, file_name=name)
        imports.import_execute(actor=browser.actor, import_id=job.pk, workers=1)
    imports.import_create(actor=other_actor, kind="leads", file=path, file_name="theirs.csv")
    with django_assert_max_num_queries(12):
        page = browser.get("/imports/")
    text = page.content.decode()
    assert text.index("second.csv") < text.index("first.csv")
    assert "theirs.csv" not in text and "ann@piql.test" in text and "Done" in text


def test_the_list_is_paginated(browser, tmp_path, monkeypatch):
    monkeypatch.setattr(import_views, "IMPORTS_PER_PAGE", 2)
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([lead_row("Ann", "a@piql.com")]))
    for number in range(3):
        imports.import_create(
            actor=browser.actor, kind="leads", file=path, file_name=f"f{number}.csv"
        )
    first = browser.get("/imports/")
    assert len(first.context["rows"]) == 2 and first.context["has_next"]
    second = browser.get("/imports/?page=2")
    assert [r["job"].file_name for r in second.context["rows"]] == ["f0.csv"]
    for bad in ("x", "-4", "99999999999999999999"):
        assert browser.get(f"/imports/?page={bad}").status_code == 200


def test_pages_need_a_signed_in_member():
    response = Client().get("/imports/new/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --------------------------------------------------------------------------- upload


def test_upload_goes_to_the_mapping_step_and_creates_nothing(browser):
    response = upload(browser)
    assert response.status_code == 302
    assert response["Location"].startswith("/imports/new/")
    assert not ImportJob.objects.exists()
    page = browser.get(response["Location"])
    assert page.status_code == 200
    columns = {c["name"]: c["chosen"] for c in page.context["columns"]}
    assert columns["Full name"] == "name" and columns["E-mail"] == "email"
    assert columns["Company"] == "company_name"
    # Sample rows, with their spreadsheet row numbers, and every field to choose from.
    assert page.context["sample"][0] == (2, ROWS[0])
    assert b"ANN@piql.com" in page.content and b"Ignore this column" in page.content
    assert b'<option value="source" selected>' in page.content


BIG_HEADER = ",".join(f"c{i}" for i in range(ReadLimits().columns + 1)).encode()


@pytest.mark.parametrize(
    ("data", "name", "fields", "field", "message"),
    [
        (False, "fair.csv", {}, "file", "Choose a CSV, XLSX or vCard file"),
        (b"", "fair.csv", {}, "file", "The file is empty"),
        (b"\n\n", "fair.csv", {}, "file", "the first row (the column names) is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "fair.png", {}, "file", "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "old.xls", {}, "file", "old Excel"),
        (b"\xff\xfeN\x00\x00\xd8", "odd.csv", {}, "file", "cannot be imported"),
        (BIG_HEADER + b"\n1\n", "wide.csv", {}, "file", "cell SG1 is beyond column 500"),
        (b"x" * 2000 + b"\nrow\n", "long.csv", {}, "file", "must be at most 500"),
        (None, "fair.csv", {"kind": "deals"}, "kind", "Choose leads, people or companies"),
        (None, "fair.csv", {"kind": ""}, "kind", "This field is required"),
        (None, "fair.csv", {"on_duplicate": "merge"}, "on_duplicate", "skip, update or"),
        (None, "fair.csv", {"region": "XX"}, "region", "'XX' is not a country code"),
        (None, "fair.csv", {"region": "GBR"}, "region", "two-letter country code"),
    ],
)
def test_a_bad_upload_is_refused_naming_the_field(browser, data, name, fields, field, message):
    response = upload(browser, data, name=name, **fields)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert b'role="alert"' in response.content
    assert not ImportJob.objects.exists()
    assert staged_files() == []


def test_a_zip_that_is_not_a_spreadsheet_is_refused(browser):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    response = upload(browser, buffer.getvalue(), name="letter.docx")
    assert response.status_code == 400
    assert "cannot be imported" in response.context["form"].errors["file"][0]
    assert staged_files() == []


def test_a_file_over_the_size_limit_is_refused(browser, settings):
    settings.SALESLINE_IMPORT_MAX_BYTES = 20
    response = upload(browser)
    assert response.status_code == 400
    assert "too large" in response.context["form"].errors["file"][0]


def test_an_empty_post_is_a_400_not_a_500(browser):
    response = browser.post("/imports/new/", {})
    assert response.status_code == 400
    assert "Choose a CSV" in response.context["form"].errors["file"][0]


def test_an_xlsx_file_is_read(browser, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(lead_row("Ann Berg", "ann@piql.com"))
    path = tmp_path / "fair.xlsx"
    book.save(path)
    response = upload(browser, path.read_bytes(), name="fair.xlsx")
    assert response.status_code == 302
    page = browser.get(response["Location"])
    assert page.context["sample"][0][1][0] == "Ann Berg"


def test_a_vcard_file_is_read(browser):
    from tests.records.test_vcard import V4

    response = upload(browser, V4.encode(), name="Contacts.vcf")
    assert response.status_code == 302
    page = browser.get(response["Location"])
    assert [column["name"] for column in page.context["columns"]][:5] == [
        "Name",
        "First name",
        "Middle name",
        "Last name",
        "E-mail",
    ]
    assert page.context["sample"][0] == (1, page.context["sample"][0][1])  # card 1
    assert page.context["sample"][0][1][0] == "Ann Berg"
    text = page.content.decode()
    assert "about 3 cards of leads" in text and '<th scope="col" class="num">Card</th>' in text
    response = browser.post(response["Location"], mapping_form(page))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.dry_run and job.file_name == "Contacts.vcf"
    assert {issue["row"] for issue in imports.import_report(job)["rejected"]} >= {2}
    # The report numbers cards, as the file does; a spreadsheet's numbers rows.
    text = browser.get(f"/imports/{job.pk}/").content.decode()
    assert "Rejected cards (" in text and '<th scope="col" class="num">Card</th>' in text
    assert "Cards are numbered in the file's order" in text and ">Row<" not in text
    assert "(the whole card)" in text


def test_the_upload_form_offers_vcard_files(browser):
    page = browser.get("/imports/new/")
    assert 'accept=".csv,.tsv,.txt,.xlsx,.vcf"' in page.content.decode()


def test_a_staged_upload_belongs_to_its_session(browser, org):
    location = upload(browser)["Location"]
    stranger = Client()
    stranger.force_login(
        accounts.user_create(
            actor=accounts.system_actor(org), email="ola@piql.test", role="salesperson"
        )
    )
    assert stranger.get(location).status_code == 404
    assert browser.get("/imports/new/not-a-token/").status_code == 404


# --------------------------------------------------------------------------- mapping


def test_a_bad_mapping_is_refused_naming_the_column(browser):
    location = upload(browser)["Location"]
    page = browser.get(location)
    # Several columns may fill an e-mail or a phone (exports number them), one a source.
    response = browser.post(location, mapping_form(page, Phone="source"))
    assert response.status_code == 400
    errors = {c["name"]: c["errors"] for c in response.context["columns"]}
    assert "'Source' and 'Phone' are both mapped to 'source'" in errors["Phone"][0]
    assert response.context["columns"][6]["chosen"] == "source"  # the choice is kept
    response = browser.post(location, mapping_form(page, Source="sauce"))
    errors = {c["name"]: c["errors"] for c in response.context["columns"]}
    assert "Column 'Source' is mapped to 'sauce'" in errors["Source"][0]
    assert not ImportJob.objects.exists()


def test_a_mapping_without_a_name_is_explained(browser):
    data = csv_bytes([["x@piql.com", "Piql"]], header=["Mail", "Firm"])
    page = browser.get(upload(browser, data)["Location"])
    assert page.status_code == 200
    assert "No column holds the name" in page.context["general_errors"][0]
    response = browser.post(page.request["PATH_INFO"], mapping_form(page))
    assert response.status_code == 400
    assert "No column holds the name" in response.context["general_errors"][0]
    response = browser.post(page.request["PATH_INFO"], mapping_form(page, Firm="name"))
    assert response.status_code == 302


def test_bad_options_on_the_mapping_step_are_shown_with_the_mapping_problems(browser):
    location = upload(browser)["Location"]
    page = browser.get(location)
    form = {**mapping_form(page, Phone="source"), "region": "XX", "on_duplicate": "merge"}
    response = browser.post(location, form)
    assert response.status_code == 400
    assert set(response.context["options_form"].errors) == {"region", "on_duplicate"}
    assert response.context["columns"][6]["errors"]


def test_the_saved_mapping_of_the_same_headers_is_offered(browser):
    dry = dry_run(browser, **{"Details": ""})
    run_for_real(browser, dry)
    page = browser.get(upload(browser)["Location"])
    assert page.context["saved"]
    assert {c["name"]: c["chosen"] for c in page.context["columns"]}["Details"] == ""
    assert b"mapping saved" in page.content


# --------------------------------------------------------------------------- dry run, run


def test_the_dry_run_shows_duplicates_and_rejected_rows_and_writes_nothing(
    browser, org, existing_lead
):
    dry = dry_run(browser)
    assert dry.dry_run and dry.status == "done"
    assert live_leads(org).count() == 1
    page = browser.get(f"/imports/{dry.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Would be created" in text and "Run import" in text and "Back to mapping" in text
    assert (dry.created, dry.duplicates, dry.rejected) == (2, 1, 1)
    rejected = list(page.context["rejected"])
    assert (rejected[0].row, rejected[0].field_label) == (4, "E-mail")
    # Each rejected and duplicate row says who it is, as the file names them.
    assert (
        'class="import-rejected"><td class="num">4</td><td>Cy Bad</td><td>cy@</td>'
        "<td>E-mail</td>" in text
    )
    assert (
        'class="import-duplicate"><td class="num">2</td><td>Ann Berg</td><td>ann@piql.com</td>'
        in text
    )
    duplicate = list(page.context["duplicates"])[0]
    assert duplicate.row == 2 and duplicate.record_id == existing_lead.pk
    assert f'href="/records/leads/{existing_lead.pk}/"' in text
    assert "Undo this import" not in text
    # The staged upload is gone once the dry run holds its own copy of the file.
    assert staged_files() == []


def test_run_import_creates_the_records_and_shows_the_report(browser, org, existing_lead):
    dry = dry_run(browser)
    job = run_for_real(browser, dry)
    assert (job.dry_run, job.status, job.created, job.duplicates) == (False, "done", 2, 1)
    assert set(live_leads(org).values_list("email", flat=True)) == {
        "ann@piql.com",
        "bo@piql.com",
        "di@piql.com",
    }
    page = browser.get(f"/imports/{job.pk}/")
    text = page.content.decode()
    assert "Created" in text and "Download rejected rows" in text and "Undo this import" in text
    assert "every 1s" not in text
    assert '<progress id="import-progress-bar" max="4" value="4">' in text
    # Running a real import again is refused with a message, not done twice.
    response = browser.post(f"/imports/{job.pk}/run/", follow=True)
    assert "is not a dry run" in response.content.decode()
    assert ImportJob.objects.filter(dry_run=False).count() == 1


def test_running_the_same_dry_run_twice_imports_once(browser, org, existing_lead):
    """A double click or a second tab: the second request leads to the first one's import."""
    dry = dry_run(browser)
    first = browser.post(f"/imports/{dry.pk}/run/")
    second = browser.post(f"/imports/{dry.pk}/run/")
    real = ImportJob.objects.get(dry_run=False)
    assert first["Location"] == second["Location"] == f"/imports/{real.pk}/"
    assert ImportJob.objects.get(pk=dry.pk).ran_as_id == real.pk
    assert live_leads(org).count() == 3  # the existing lead and two created, once


def test_rejected_rows_download_as_the_apis_csv(browser, existing_lead):
    job = run_for_real(browser, dry_run(browser))
    response = browser.get(f"/imports/{job.pk}/rejected.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-rejected.csv"'
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["row", "reason", *HEADER]
    assert rows[1][0] == "4" and rows[1][2:] == ROWS[2]
    assert body == "".join(imports.rejected_rows_csv(job)).removeprefix("\ufeff")


def test_a_missing_file_is_a_404_for_the_download_and_a_message_for_run(browser):
    dry = dry_run(browser)
    default_storage.delete(dry.file.name)
    assert browser.get(f"/imports/{dry.pk}/rejected.csv").status_code == 404
    assert browser.get(f"/imports/{dry.pk}/mapping/").status_code == 404
    response = browser.post(f"/imports/{dry.pk}/run/", follow=True)
    assert "can no longer be read" in response.content.decode()


def test_back_to_mapping_starts_a_new_dry_run_and_the_run_keeps_ignored_columns_out(browser):
    dry = dry_run(browser)
    page = browser.get(f"/imports/{dry.pk}/mapping/")
    assert page.status_code == 200
    assert {c["name"]: c["chosen"] for c in page.context["columns"]}["Phone"] == "phone"
    form = {**mapping_form(page, Phone="", Details=""), "on_duplicate": "update"}
    response = browser.post(f"/imports/{dry.pk}/mapping/", form)
    assert response.status_code == 302
    second = ImportJob.objects.exclude(pk=dry.pk).get()
    assert second.dry_run and second.on_duplicate == "update"
    assert "Phone" not in second.mapping and "Details" not in second.mapping
    job = run_for_real(browser, second)
    assert "Details" not in job.mapping and job.on_duplicate == "update"


def test_a_large_file_is_queued_and_its_page_polls_until_done(
    browser, org, settings, django_capture_on_commit_callbacks
):
    settings.SALESLINE_IMPORT_INLINE_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        dry = dry_run(browser)
    assert dry.status == "queued"
    page = browser.get(f"/imports/{dry.pk}/")
    text = page.content.decode()
    assert 'hx-trigger="every 1s"' in text and f'hx-get="/imports/{dry.pk}/status/"' in text
    assert "Waiting for the background worker" in text and "<progress" in text
    fragment = browser.get(f"/imports/{dry.pk}/status/")
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    assert b'hx-trigger="every 1s"' in fragment.content
    assert run_pending_tasks() == 1
    fragment = browser.get(f"/imports/{dry.pk}/status/").content.decode()
    assert "hx-trigger" not in fragment and "Run import" in fragment
    assert "4 of 4 rows (100%)" in fragment and "rows/s" in fragment
    with django_capture_on_commit_callbacks(execute=True):
        job = run_for_real(browser, dry)
    assert job.status == "queued"
    assert run_pending_tasks() == 1
    job.refresh_from_db()
    assert job.status == "done" and live_leads(org).count() == 3


# --------------------------------------------------------------------------- undo


def test_undo_asks_first_then_removes_created_records_and_lists_the_kept_ones(browser, org):
    data = csv_bytes(ROWS)
    job = run_for_real(browser, dry_run(browser, data))
    assert live_leads(org).count() == 3
    edited = live_leads(org).get(email="bo@piql.com")
    page = browser.get(f"/imports/{job.pk}/undo/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "remove the 3 leads it created" in text and "Undo import" in text
    assert live_leads(org).count() == 3  # asking changes nothing
    records.record_update(
        actor=browser.actor, kind="lead", record_id=edited.pk, data={"source": "Later"}
    )
    response = browser.post(f"/imports/{job.pk}/undo/", follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Import undone: 3 leads removed" in text
    # A created record edited since is still removed (it was created, not updated); the undo
    # report's kept list is shown when it names any.
    job.refresh_from_db()
    assert job.status == "undone" and live_leads(org).count() == 0
    again = browser.post(f"/imports/{job.pk}/undo/", follow=True)
    assert "already undone" in again.content.decode()
    assert browser.get(f"/imports/{job.pk}/undo/").status_code == 409


def test_undo_lists_updated_records_edited_since(browser, org, existing_lead):
    dry = dry_run(browser)
    page = browser.get(f"/imports/{dry.pk}/mapping/")
    browser.post(f"/imports/{dry.pk}/mapping/", {**mapping_form(page), "on_duplicate": "overwrite"})
    second = ImportJob.objects.exclude(pk=dry.pk).get()
    job = run_for_real(browser, second)
    assert job.updated == 1
    records.record_update(
        actor=browser.actor, kind="lead", record_id=existing_lead.pk, data={"source": "Later"}
    )
    response = browser.post(f"/imports/{job.pk}/undo/", follow=True)
    text = response.content.decode()
    assert "1 kept as they are because they were edited since the import" in text
    assert f'href="/records/leads/{existing_lead.pk}/"' in text
    existing_lead.refresh_from_db()
    assert existing_lead.source == "Later" and existing_lead.deleted_at is None


def test_a_dry_run_cannot_be_undone(browser, org):
    dry = dry_run(browser)
    page = browser.get(f"/imports/{dry.pk}/undo/")
    assert page.status_code == 409 and b"dry run" in page.content
    response = browser.post(f"/imports/{dry.pk}/undo/", follow=True)
    assert "was a dry run" in response.content.decode()


# --------------------------------------------------------------------------- scope, bad input


def test_another_organisations_import_is_404_everywhere(browser, other_actor, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([lead_row("Eve", "eve@other.test")]))
    theirs = imports.import_create(actor=other_actor, kind="leads", file=path, file_name="x.csv")
    imports.import_execute(actor=other_actor, import_id=theirs.pk, workers=1)
    for suffix in ("", "status/", "mapping/", "undo/", "rejected.csv"):
        assert browser.get(f"/imports/{theirs.pk}/{suffix}").status_code == 404, suffix
    assert browser.post(f"/imports/{theirs.pk}/run/").status_code == 404
    assert browser.post(f"/imports/{theirs.pk}/undo/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "done"


@pytest.mark.parametrize(
    "url",
    [
        "/imports/999999/",
        "/imports/99999999999999999999/",
        "/imports/abc/",
        "/imports/0/status/",
        "/imports/999999/rejected.csv",
        "/imports/new/%00/",
    ],
)
def test_bad_ids_are_404(browser, url):
    assert browser.get(url).status_code == 404


def test_run_and_undo_need_a_post(browser):
    dry = dry_run(browser)
    assert browser.get(f"/imports/{dry.pk}/run/").status_code == 405


@pytest.mark.parametrize(
    ("name", "build", "message"), [pytest.param(*c[1:], id=c[0]) for c in hostile.REFUSED]
)
def test_a_hostile_upload_is_a_form_error_naming_the_problem(browser, name, build, message):
    data = build()
    started = time.perf_counter()
    response = upload(browser, data, name=name)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors.get("file", []))
    assert message in errors and errors.startswith("The file cannot be imported: "), errors
    assert time.perf_counter() - started < 15
    assert not ImportJob.objects.exists()
    assert staged_files() == []


def test_a_mixed_encoding_upload_shows_every_name_as_written(browser):
    response = upload(browser, hostile.mixed_encodings(), name="mixed.csv")
    assert response.status_code == 302
    page = browser.get(response["Location"])
    assert [cells[0] for _, cells in page.context["sample"]] == hostile.MIXED_NAMES


def test_the_mapping_page_and_the_report_say_which_rows_were_read_in_a_legacy_encoding(browser):
    dry = dry_run(browser, hostile.mixed_encodings())
    mapping_page = browser.get(f"/imports/{dry.pk}/mapping/")
    assert hostile.MIXED_NOTE in mapping_page.content.decode()
    report = browser.get(f"/imports/{dry.pk}/").content.decode()
    assert "How the file was read:" in report and hostile.MIXED_NOTE in report
    plain = browser.get(f"/imports/{dry_run(browser).pk}/").content.decode()
    assert "How the file was read" not in plain


def test_a_cell_over_the_cell_limit_is_one_rejected_row_on_the_pages(browser):
    dry = dry_run(browser, hostile.overlong_csv())
    assert (dry.status, dry.created, dry.rejected) == ("done", 3, 1)
    report = browser.get(f"/imports/{dry.pk}/").content.decode()
    assert "cell F3 (Details) holds 40,000." in report and "(the whole row)" in report


# --------------------------------------------------------------------------- what a kind needs

FAIR = ["Full name", "E-mail", "Company"]
FAIR_ROWS = [["Ann Berg", "ann@piql.com", "Piql AS"], ["Bo Li", "bo@", "Lund AS"]]


def fair_csv():
    return csv_bytes(FAIR_ROWS, FAIR)


def requirement_states(page) -> dict:
    return {r["label"]: (r["given"], r["state"]) for r in page.context["requirements"]}


def test_the_mapping_page_lists_the_required_fields_and_marks_the_unmapped(browser):
    page = browser.get(upload(browser, fair_csv())["Location"])
    states = requirement_states(page)
    assert list(states) == [
        "Name",
        "Company name",
        "E-mail",
        "Business unit",
        "Source",
        "Details",
    ]
    assert states["Name"] == (True, "from column “Full name”")
    assert states["Source"][0] is False and states["Source"][1].startswith("not mapped")
    assert page.context["missing"] == 3
    text = page.content.decode()
    assert "3 required fields not mapped: the dry run would reject every row." in text
    assert 'data-requirement="source"' in text and "import-requirement-missing" in text


def test_the_whole_file_maps_every_required_field(browser):
    page = browser.get(upload(browser)["Location"])
    assert page.context["missing"] == 0
    assert b"Every required field is mapped." in page.content


def constants_form(page, *pairs, **changes):
    form = mapping_form(page, **changes)
    for number, (field, value) in enumerate(pairs, start=1):
        form[f"constant-field-{number}"] = field
        form[f"constant-value-{number}"] = value
    return form


EXPO = (("source", "Archiving Expo 2026"), ("business_unit", "Nordics"), ("details", "Stand 4"))


def test_one_value_for_every_row_from_the_page(browser, org):
    location = upload(browser, fair_csv())["Location"]
    page = browser.get(location)
    response = browser.post(location, constants_form(page, *EXPO))
    assert response.status_code == 302, response.content
    dry = ImportJob.objects.get(dry_run=True)
    assert dry.constants == dict(EXPO)
    assert (dry.created, dry.rejected) == (1, 1)
    report = browser.get(f"/imports/{dry.pk}/").content.decode()
    assert "Same value for every row" in report and "Source: Archiving Expo 2026" in report
    # Back to mapping keeps the values; the required fields they give count as mapped.
    again = browser.get(f"/imports/{dry.pk}/mapping/")
    slots = [(s["field"], s["value"]) for s in again.context["constant_slots"]]
    # PostgreSQL's jsonb keeps no key order: the values come back, in some order, then a blank.
    assert sorted(slots[:-1]) == sorted(EXPO) and slots[-1] == ("", "")
    assert again.context["missing"] == 0
    states = requirement_states(again)
    assert states["Source"] == (True, "one value for every row: Archiving Expo 2026")
    job = run_for_real(browser, dry)
    assert job.constants == dict(EXPO)
    assert list(live_leads(org).values_list("source", flat=True)) == ["Archiving Expo 2026"]


def test_the_report_links_the_records_the_import_created(browser, org):
    location = upload(browser, fair_csv())["Location"]
    browser.post(location, constants_form(browser.get(location), *EXPO))
    job = run_for_real(browser, ImportJob.objects.get(dry_run=True))
    ann = live_leads(org).get()
    page = browser.get(f"/imports/{job.pk}/").content.decode()
    assert "Created leads (1)" in page
    assert f'<li><a href="/records/leads/{ann.pk}/">Ann Berg</a></li>' in page
    assert '<td class="num">3</td><td>Bo Li</td><td>bo@</td>' in page


@pytest.mark.parametrize(
    ("pairs", "changes", "says"),
    [
        ([("source", "Expo")], {"Source": "source"}, "both mapped to a column"),
        ([("", "Expo")], {}, "Choose the field that every row gets 'Expo' in."),
        ([("source", "A"), ("source", "B")], {}, "Source is given more than one value"),
        ([("email", "a@piql.com")], {}, "cannot be given one value for every row"),
        ([("owner", "nobody@else.test")], {}, "is not a member"),
    ],
)
def test_constants_the_import_cannot_use_are_shown_on_the_page(browser, pairs, changes, says):
    location = upload(browser)["Location"]
    page = browser.get(location)
    form = constants_form(page, *pairs, **changes)
    if "Source" not in changes:
        form = {**form, "column-4": ""}  # the Source column is ignored: only the value gives it
    response = browser.post(location, form)
    assert response.status_code == 400
    assert says in html.unescape(response.content.decode())
    assert not ImportJob.objects.exists()


def test_dry_runs_are_labelled_on_home_and_in_the_history(browser):
    dry = dry_run(browser)
    job = run_for_real(browser, dry)
    listing = browser.get("/imports/").content.decode()
    assert listing.count('<span class="import-tag import-tag-dry-run">Dry run</span>') == 1
    home = browser.get("/").content.decode()
    assert (
        f'<span class="import-tag import-tag-dry-run">Dry run</span> '
        f'<a href="/imports/{dry.pk}/">fair.csv</a>'
    ) in home
    assert f'<li class="home-import"><a href="/imports/{job.pk}/">fair.csv</a>' in home
    detail = browser.get(f"/imports/{dry.pk}/").content.decode()
    assert "<h1>Dry run of fair.csv</h1>" in detail
    assert f'It was run as <a href="/imports/{job.pk}/">import {job.pk}</a>' in detail
