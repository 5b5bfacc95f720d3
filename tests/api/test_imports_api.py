"""POST /imports (inline and through the worker), GET /imports/{id}, rejected rows, undo,
preview — with real bearer tokens, both databases."""

import csv
import io
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesline.core.tasks import run_pending_tasks
from salesline.records.models import ImportJob, Lead
from tests.conftest import edit_definition
from tests.records import hostile
from tests.records.test_import import HEADER, csv_bytes, lead_row


def upload(rows, name="fair.csv"):
    return SimpleUploadedFile(name, csv_bytes(rows, HEADER), content_type="text/csv")


def post(api, **data):
    return api.client.post("/api/v1/imports", data=data)


def test_a_small_file_is_imported_at_once(api, org):
    rows = [lead_row("Ann Berg", "ann@piql.com"), lead_row("Bad", "bad@")]
    response = post(api, file=upload(rows), kind="leads", region="GB")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["created"], body["duplicates"]) == ("done", 1, 0)
    assert body["rejected"][0]["row"] == 3 and body["rejected"][0]["field"] == "email"
    assert body["progress"]["percent"] == 100.0
    assert Lead.objects.filter(organisation=org).count() == 1


def test_a_large_file_goes_to_the_worker_with_progress(
    api, org, settings, django_capture_on_commit_callbacks
):
    settings.SALESLINE_IMPORT_INLINE_ROWS = 5
    rows = [lead_row(f"P {i}", f"p{i}@piql.com") for i in range(20)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, file=upload(rows), kind="leads")
    assert response.status_code == 202, response.content
    import_id = response.json()["import_id"]
    assert response.json()["status"] == "queued"
    assert api.get(f"/imports/{import_id}").json()["status"] == "queued"
    assert run_pending_tasks() == 1
    body = api.get(f"/imports/{import_id}").json()
    assert (body["status"], body["created"]) == ("done", 20)
    assert body["progress"]["rows_done"] == body["progress"]["rows_total"] == 20
    assert body["progress"]["rows_per_second"] > 0


def test_dry_run_mapping_and_policy_fields(api, org):
    rows = [lead_row("Ann Berg", "ann@piql.com")]
    mapping = json.dumps({"Phone": None})
    response = post(
        api, file=upload(rows), kind="leads", dry_run="true", mapping=mapping, on_duplicate="update"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["dry_run"] is True and body["created"] == 1
    assert "Phone" not in body["mapping"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "deals"}, "kind"),
        ({"kind": "leads", "region": "XX"}, "region"),
        ({"kind": "leads", "on_duplicate": "merge"}, "on_duplicate"),
        ({"kind": "leads", "mapping": "[1]"}, "mapping"),
        ({"kind": "leads", "mapping": '{"E-mail": "emial"}'}, "mapping"),
    ],
)
def test_bad_options_are_422_naming_the_field(api, data, field):
    response = post(api, file=upload([lead_row("A", "a@b.com")]), **data)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][1] == field
    assert not ImportJob.objects.exists()


def test_a_missing_file_is_422_and_an_empty_one_too(api):
    assert api.client.post("/api/v1/imports", data={"kind": "leads"}).status_code == 422
    empty = SimpleUploadedFile("e.csv", b"", content_type="text/csv")
    response = post(api, file=empty, kind="leads")
    assert response.status_code == 422


def test_rejected_rows_download(api):
    rows = [lead_row("Ann", "ann@piql.com"), lead_row("=1+1", "bad@")]
    import_id = post(api, file=upload(rows), kind="leads").json()["import_id"]
    response = api.get(f"/imports/{import_id}/rejected.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][:2] == ["row", "reason"]
    assert parsed[1][0] == "3" and parsed[1][2] == "'=1+1"


def test_undo_and_list(api, org):
    import_id = post(api, file=upload([lead_row("Ann", "ann@piql.com")]), kind="leads").json()[
        "import_id"
    ]
    listed = api.get("/imports").json()["items"]
    assert [i["import_id"] for i in listed] == [import_id]
    response = api.client.post(f"/api/v1/imports/{import_id}/undo")
    assert response.status_code == 200 and response.json()["removed"] == 1
    assert api.client.post(f"/api/v1/imports/{import_id}/undo").status_code == 409
    assert api.get(f"/imports/{import_id}").json()["status"] == "undone"


def test_preview_shows_columns_mapping_and_sample(api):
    response = api.client.post(
        "/api/v1/imports/preview",
        data={"file": upload([lead_row("Ann", "ann@piql.com")]), "kind": "leads"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == HEADER
    assert body["mapping"]["E-mail"] == "email" and body["mapping"]["Full name"] == "name"
    assert body["sample"][0][0] == "Ann"
    assert {"key": "email", "label": "E-mail"} in body["targets"]


def test_another_organisation_gets_404(api, other_api):
    import_id = post(api, file=upload([lead_row("Ann", "ann@piql.com")]), kind="leads").json()[
        "import_id"
    ]
    assert other_api.get(f"/imports/{import_id}").status_code == 404
    assert other_api.get(f"/imports/{import_id}/rejected.csv").status_code == 404
    assert other_api.client.post(f"/api/v1/imports/{import_id}/undo").status_code == 404
    assert other_api.get("/imports").json()["items"] == []


def test_without_a_token_401():
    assert Client().get("/api/v1/imports").status_code == 401
    assert Client().post("/api/v1/imports", data={"kind": "leads"}).status_code == 401


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Excel (.xls)"),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_422_with_the_reason(api, content, reason):
    """The same refusal as the web's upload page: the reader, not a page, decides."""
    response = post(api, file=SimpleUploadedFile("x.csv", content), kind="leads")
    assert response.status_code == 422, response.content
    assert reason in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_vcard_file_is_previewed_and_imported(api, org, admin_actor):
    from salesline.records.importing.vcard import COLUMNS
    from tests.records.test_vcard import V4

    # A job title stands in for the business unit below: the unit takes any text here.
    edit_definition(admin_actor, lambda document: document["choices"].pop("lead"))

    def vcf():
        return SimpleUploadedFile("contacts.vcf", V4.encode(), content_type="text/vcard")

    response = api.client.post("/api/v1/imports/preview", data={"file": vcf(), "kind": "leads"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"] == COLUMNS
    assert body["mapping"]["E-mail"] == "email" and body["mapping"]["Name"] == "name"
    assert body["sample"][0][0] == "Ann Berg"
    # This organisation's leads need a business unit and a source, which cards do not have.
    mapping = json.dumps({"Job title": "business_unit", "Website": "source"})
    response = post(api, file=vcf(), kind="leads", region="GB", mapping=mapping)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], sorted({r["row"] for r in body["rejected"]})) == (1, [2, 3])
    assert body["rejected"][0]["reason"].startswith("Card 2 (line 15) cannot be read")
    lead = Lead.objects.get(organisation=org, email="ann@piql.com")
    assert (lead.phone, lead.company_name) == ("+442079460018", "Piql AS")


# --------------------------------------------------------------------------- hostile files

HOSTILE = [pytest.param(*case[1:], id=case[0]) for case in hostile.REFUSED]


@pytest.mark.parametrize("endpoint", ["/api/v1/imports/preview", "/api/v1/imports"])
@pytest.mark.parametrize(("name", "build", "message"), HOSTILE)
def test_a_hostile_file_is_422_naming_the_problem_quickly(api, endpoint, name, build, message):
    data = {"file": SimpleUploadedFile(name, build()), "kind": "leads"}
    started = time.perf_counter()
    response = api.client.post(endpoint, data=data)
    assert response.status_code == 422, response.content[:500]
    body = response.json()
    assert body["detail"][0]["loc"][-1] == "file", body
    assert message in body["detail"][0]["msg"], body
    assert body["detail"][0]["msg"].startswith("The file cannot be imported: ")
    assert time.perf_counter() - started < 15
    assert not ImportJob.objects.exists()


def test_a_declared_dimension_of_the_whole_grid_previews_its_few_cells(api):
    response = api.client.post(
        "/api/v1/imports/preview",
        data={"file": SimpleUploadedFile("dim.xlsx", hostile.huge_dimension()), "kind": "leads"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"] == hostile.HEADER
    assert body["sample"] == [["Ann Berg", "ann@piql.com"]] and body["estimated_rows"] == 1


def test_mixed_encodings_preview_and_import_without_garbling(api, org):
    data = {"file": SimpleUploadedFile("mixed.csv", hostile.mixed_encodings()), "kind": "leads"}
    preview = api.client.post("/api/v1/imports/preview", data=data).json()
    assert [row[0] for row in preview["sample"]] == hostile.MIXED_NAMES[:4]
    assert preview["notes"] == [hostile.MIXED_NOTE]
    data = {"file": SimpleUploadedFile("mixed.csv", hostile.mixed_encodings()), "kind": "leads"}
    response = api.client.post("/api/v1/imports", data=data)
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 4, response.json()["rejected"]
    assert response.json()["notes"] == [hostile.MIXED_NOTE]
    report = api.client.get(f"/api/v1/imports/{response.json()['import_id']}").json()
    assert report["notes"] == [hostile.MIXED_NOTE]
    names = set(Lead.objects.filter(organisation=org).values_list("name", flat=True))
    assert names == set(hostile.MIXED_NAMES)


@pytest.mark.parametrize(
    ("name", "build"), [pytest.param(*c[1:], id=c[0]) for c in hostile.OVERLONG]
)
def test_a_cell_over_the_cell_limit_is_one_rejected_row_for_the_api(api, org, name, build):
    response = api.client.post(
        "/api/v1/imports", data={"file": SimpleUploadedFile(name, build()), "kind": "leads"}
    )
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert (body["created"], body["rejected_rows"]) == (3, 1)
    assert body["rejected"] == [
        {
            "row": 3,
            "name": "Bo Li",
            "email": "bo@piql.com",
            "field": "row",
            "reason": hostile.OVERLONG_REASON,
        }
    ]


def test_preview_cuts_long_cells_with_a_marker(api):
    details = "word " * 2000  # 10,000 characters, within a cell's limit
    rows = [lead_row("Ann", "ann@piql.com")[:5] + [details, ""]]
    response = api.client.post(
        "/api/v1/imports/preview", data={"file": upload(rows), "kind": "leads"}
    )
    assert response.status_code == 200
    cell = response.json()["sample"][0][5]
    assert cell == details[:200] + "… (10,000 characters)"


def test_rejected_rows_keep_cells_within_the_cell_limit(api):
    """A rejected row is stored as read, and a cell is never read past 32,767 characters: the
    rejected rows' CSV stays the size of what was sent."""
    long_name = "N" * 32_767
    rows = [lead_row(long_name, "ann@piql.com"), lead_row("Bo", "bo@piql.com")]
    response = post(api, file=upload(rows), kind="leads")
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["rejected"][0]["row"] == 2 and body["rejected"][0]["field"] == "name"
    csv_response = api.client.get(f"/api/v1/imports/{body['import_id']}/rejected.csv")
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert long_name in text and len(text) < 33_000


def test_a_file_wider_than_the_column_limit_is_422_for_the_api_too(api):
    header = ",".join(f"c{i}" for i in range(501)).encode()
    response = post(api, file=SimpleUploadedFile("wide.csv", header + b"\n1\n"), kind="leads")
    assert response.status_code == 422
    assert "cell SG1 is beyond column 500" in response.content.decode()


# ------------------------------------------------------------------ constants

FAIR = ["Full name", "E-mail", "Company"]


def fair_upload():
    rows = [["Ann Berg", "ann@piql.com", "Piql AS"], ["Bo Li", "bo@piql.com", "Lund AS"]]
    return SimpleUploadedFile("fair.csv", csv_bytes(rows, FAIR), content_type="text/csv")


EXPO = {"source": "Archiving Expo 2026", "business_unit": "Nordics", "details": "Stand 4"}


def test_constants_give_every_row_one_value(api, org):
    response = post(api, file=fair_upload(), kind="leads", constants=json.dumps(EXPO))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["rejected_rows"], body["constants"]) == (2, 0, EXPO)
    assert set(Lead.objects.filter(organisation=org).values_list("source", flat=True)) == {
        "Archiving Expo 2026"
    }
    assert [r["name"] for r in body["created_records"]] == ["Ann Berg", "Bo Li"]
    assert api.get(f"/imports/{body['import_id']}").json()["constants"] == EXPO


@pytest.mark.parametrize(
    ("constants", "loc", "says"),
    [
        ({"sauce": "Expo"}, ["body", "constants", "sauce"], "'sauce' is not a field of leads"),
        ({"email": "a@b.c"}, ["body", "constants", "email"], "cannot be given one value"),
        ('["source"]', ["body", "constants"], "Constants must be a JSON object"),
        ("{not json", ["body", "constants"], "Constants must be a JSON object"),
    ],
)
def test_constants_the_import_cannot_use_are_422_naming_the_field(api, org, constants, loc, says):
    text = constants if isinstance(constants, str) else json.dumps(constants)
    response = post(api, file=fair_upload(), kind="leads", constants=text)
    assert response.status_code == 422, response.content
    problems = response.json()["detail"]
    assert any(p["loc"] == loc and says in p["msg"] for p in problems), problems
    assert not ImportJob.objects.exists()


def test_a_constant_for_a_mapped_field_is_422(api, org):
    rows = [lead_row("Ann Berg", "ann@piql.com")]
    response = post(api, file=upload(rows), kind="leads", constants='{"source": "Expo"}')
    assert response.status_code == 422, response.content
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "constants", "source"]
    assert "both mapped to a column ('Source')" in problem["msg"]
