"""GET /api/v1/{kind}/export: the list with its filters as CSV or XLSX, every page, scoped to the
token's organisation; bad filters and formats answer 422 like the list."""

import pytest
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.pipeline.services import opportunity_create
from salesline.records.models import Lead
from tests.api.test_lists import ids
from tests.exporting import (
    UNICODE_NAMES,
    add_lead_custom_fields,
    make_formula_leads,
    make_lead,
    read_csv,
    read_xlsx,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ["companies", "people", "leads", "opportunities"]


def body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def exported_ids(response) -> list[int]:
    return [int(row["id"]) for row in read_csv(body(response))]


@pytest.mark.parametrize("kind", KINDS)
def test_csv_is_the_default_and_an_attachment(api, actor, kind):
    response = api.get(f"/{kind}/export")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="{kind}-{today}.csv"'
    assert response["Cache-Control"] == "no-store"
    assert body(response).startswith(b"\xef\xbb\xbfid,name,")


@pytest.mark.parametrize("kind", KINDS)
def test_xlsx_on_request(api, actor, kind):
    response = api.get(f"/{kind}/export?format=xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        f'attachment; filename="{kind}-{timezone.localdate()}.xlsx"'
    )
    header, rows = read_xlsx(body(response))
    assert header[:2] == ["id", "name"] and rows == []


def test_the_export_is_the_list_with_its_filters_every_page_in_its_order(api, actor):
    for n, name in enumerate(["Kari", "anne", "Ola", "Anders", "Bjørn", "ann-Mari"] * 4):
        make_lead(actor, f"{name} {n}", source=["Website", "Expo"][n % 2])
    for query in (
        "",
        "source=Website",
        "q=an",
        "q=an&ordering=-created_at",
        "ordering=name",
        "ordering=-source&source=Expo",
        "converted=false&ordering=id",
    ):
        listed = ids(api.get(f"/leads?{query}&limit=500"))
        assert exported_ids(api.get(f"/leads/export?{query}")) == listed, query
        # Paging parameters are accepted and ignored: an export has every page.
        assert exported_ids(api.get(f"/leads/export?{query}&limit=2&offset=1")) == listed
        _, rows = read_xlsx(body(api.get(f"/leads/export?{query}&format=xlsx")))
        assert [row["id"] for row in rows] == listed, query


def test_custom_fields_and_unicode_are_exported(api, actor, admin_actor):
    add_lead_custom_fields(admin_actor)
    for name in UNICODE_NAMES:
        make_lead(actor, name, custom_fields={"interest": "Film", "budget": 10, "vip": False})

    rows = read_csv(body(api.get("/leads/export?ordering=id&cf_interest=Film")))
    assert [row["name"] for row in rows] == UNICODE_NAMES
    assert {(row["cf_interest"], row["cf_budget"], row["cf_vip"]) for row in rows} == {
        ("Film", "10", "false")
    }
    header, xrows = read_xlsx(body(api.get("/leads/export?ordering=id&format=xlsx")))
    assert "cf_interest" in header
    assert [row["name"] for row in xrows] == UNICODE_NAMES
    assert xrows[0]["cf_budget"] == 10


def test_formulas_are_neutralised_in_csv_and_xlsx(api, actor):
    expected = make_formula_leads(actor)
    anne = make_lead(actor, "Anne")

    rows = read_csv(body(api.get("/leads/export")))
    assert {int(row["id"]): row["name"] for row in rows} == {**expected, anne.pk: "Anne"}
    _, xrows = read_xlsx(body(api.get("/leads/export?format=xlsx")))
    names = {row["id"]: row["name"] for row in xrows}
    assert all(names[pk].startswith("'") for pk in expected)
    assert names[anne.pk] == "Anne"


def test_opportunities_carry_pipeline_stage_and_status(api, actor):
    deal = opportunity_create(actor=actor, data={"name": "Archive project"})

    [row] = read_csv(body(api.get("/opportunities/export?status=open")))
    assert (row["id"], row["pipeline"], row["stage"], row["status"]) == (
        str(deal.pk),
        "business-development",
        deal.stage.key,
        "open",
    )


def test_another_organisations_rows_never_appear(api, other_api, actor, other_actor):
    mine = make_lead(actor, "Mine")
    theirs = make_lead(other_actor, "Theirs")

    assert exported_ids(api.get("/leads/export")) == [mine.pk]
    assert exported_ids(other_api.get("/leads/export")) == [theirs.pk]
    assert exported_ids(api.get(f"/leads/export?q=Theirs&owner_id={other_actor.user.pk}")) == []


@pytest.mark.parametrize(
    ("query", "locs"),
    [
        ("format=pdf", [["query", "format"]]),
        ("sourc=Website", [["query", "sourc"]]),
        ("ordering=nope", [["query", "ordering"]]),
        ("cf_nothing=1", [["query", "cf_nothing"]]),
        ("format=pdf&sourc=x&created_at__gte=yesterday", None),
    ],
)
def test_bad_filters_and_formats_answer_422_like_the_list(api, actor, query, locs):
    response = api.get(f"/leads/export?{query}")

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert all(set(problem) >= {"loc", "msg", "type"} for problem in detail)
    if locs is not None:
        assert [problem["loc"] for problem in detail] == locs
    else:  # every problem at once
        assert {tuple(problem["loc"]) for problem in detail} == {
            ("query", "format"),
            ("query", "sourc"),
            ("query", "created_at__gte"),
        }
    if "format" not in query:
        # The list answers the same.
        assert api.get(f"/leads?{query}").json() == response.json()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_without_a_token_401(client, lead):
    response = client.get("/api/v1/leads/export")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_each_export_is_audited_with_its_filters_and_row_count(api, actor):
    make_lead(actor, "Kari", source="Website")
    make_lead(actor, "Ola", source="Expo")

    body(api.get("/leads/export?source=Website&format=xlsx"))

    event = AuditEvent.objects.get(action="export")
    assert (event.object_type, event.actor_label) == ("lead", actor.user.email)
    assert event.changes == {"filters": {"source": "Website"}, "format": "xlsx", "rows": 1}


def test_the_export_route_is_not_taken_for_a_record_id(api, lead):
    assert api.get(f"/leads/{lead.pk}").json()["id"] == lead.pk
    assert api.get("/leads/export").status_code == 200
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_the_openapi_document_describes_the_export(api):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/leads/export"]["get"]

    assert operation["operationId"] == "export_leads"
    assert operation["parameters"][0]["schema"]["enum"] == ["csv", "xlsx"]
    assert set(operation["responses"]["200"]["content"]) == {"text/csv", XLSX}
