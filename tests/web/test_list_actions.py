"""List pages beyond the query: the filter panel (custom fields included), bulk assign and
delete (confirmed, all or nothing, undoable), export of the current filter, global search and
recently viewed records."""

import csv
import io

import pytest

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.records import services as records
from salesline.records.models import Company, Lead

from ..conftest import CONVERT_COMPANY
from .conftest import PASSWORD
from .test_lists import add_leads


@pytest.fixture
def colleague(org):
    return accounts.user_create(
        actor=accounts.system_actor(org),
        email="bo@piql.test",
        role="salesperson",
        password=PASSWORD,
    )


def lead_ids(actor, *names):
    return [Lead.objects.get(organisation=actor.organisation, name=n).pk for n in names]


def test_the_filter_panel_offers_owners_and_custom_fields(browser, company_custom_fields):
    page = browser.get("/records/companies/")
    controls = {c.name: c for c in page.context["controls"]}
    assert {"owner_id", "market", "cf_tier", "cf_listed", "cf_employees"} <= set(controls)
    assert ("gold", "gold") in controls["cf_tier"].options
    assert ("null", "No owner") in controls["owner_id"].options
    assert b'<label for="f-cf_tier">Tier</label>' in page.content


def test_a_custom_field_filter_narrows_the_list(browser, company_custom_fields):
    actor = browser.actor
    for name, tier in (("Gold Ltd", "gold"), ("Silver Ltd", "silver")):
        records.record_create(
            actor=actor,
            kind="company",
            data={
                "name": name,
                **CONVERT_COMPANY,
                "business_unit": "Nordics",
                "custom_fields": {"tier": tier},
            },
        )
    page = browser.get("/records/companies/?cf_tier=gold&market=")
    assert page.status_code == 200
    names = [values[0] for _, values in page.context["rows"]]
    assert names == ["Gold Ltd"]
    # The filter in force is shown with a link that drops it (and keeps the rest).
    assert [(c["label"], c["value"]) for c in page.context["chips"]] == [("Tier", "gold")]
    assert page.context["chips"][0]["remove"] == ""


def test_empty_filter_boxes_mean_any(browser):
    add_leads(browser.actor, ["Ann Berg"])
    page = browser.get("/records/leads/?owner_id=&source=&q=")
    assert page.status_code == 200 and len(page.context["rows"]) == 1


def test_an_htmx_request_gets_only_the_results(browser):
    add_leads(browser.actor, ["Ann Berg", "Bo Li"])
    page = browser.get("/records/leads/?q=bo", headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert b"Bo Li" in page.content and b"Ann Berg" not in page.content
    assert b"<html" not in page.content and b'id="list-filters"' not in page.content


def test_bulk_assign_changes_the_owner_of_the_ticked_rows(browser, colleague):
    add_leads(browser.actor, ["Ann Berg", "Bo Li", "Cy Dee"])
    ids = lead_ids(browser.actor, "Ann Berg", "Bo Li")
    reply = browser.post(
        "/records/leads/bulk/",
        {"ids": ids, "action": "assign", "owner": colleague.pk, "back": "source=Expo"},
    )
    assert reply.status_code == 302 and reply["Location"] == "/records/leads/?source=Expo"
    owners = dict(Lead.objects.values_list("name", "owner_id"))
    assert owners["Ann Berg"] == owners["Bo Li"] == colleague.pk
    assert owners["Cy Dee"] != colleague.pk
    assert AuditEvent.objects.filter(action="update", object_id__in=ids).count() == 2


def test_bulk_assign_is_all_or_nothing(browser, colleague, other_actor):
    add_leads(browser.actor, ["Ann Berg"])
    add_leads(other_actor, ["Eve Other"])
    ids = lead_ids(browser.actor, "Ann Berg") + lead_ids(other_actor, "Eve Other")
    reply = browser.post(
        "/records/leads/bulk/", {"ids": ids, "action": "assign", "owner": colleague.pk}, follow=True
    )
    assert b"Nothing was changed." in reply.content and f"Lead {ids[1]}".encode() in reply.content
    assert Lead.objects.get(pk=ids[0]).owner_id != colleague.pk
    assert Lead.objects.get(pk=ids[1]).owner_id != colleague.pk


def test_bulk_assign_refuses_an_owner_from_elsewhere(browser, other_user):
    add_leads(browser.actor, ["Ann Berg"])
    ids = lead_ids(browser.actor, "Ann Berg")
    reply = browser.post(
        "/records/leads/bulk/",
        {"ids": ids, "action": "assign", "owner": other_user.pk},
        follow=True,
    )
    assert b"Choose the new owner" in reply.content
    assert Lead.objects.get(pk=ids[0]).owner_id != other_user.pk


@pytest.mark.parametrize("ids", [[], ["x"], list(range(1, 502))])
def test_bulk_needs_a_sane_selection(browser, ids):
    reply = browser.post("/records/leads/bulk/", {"ids": ids, "action": "delete"}, follow=True)
    assert reply.status_code == 200 and b"Tick between 1 and 500 leads first." in reply.content


def test_bulk_delete_asks_first_then_deletes_and_can_be_undone(browser):
    add_leads(browser.actor, ["Ann Berg", "Bo Li", "Cy Dee"])
    ids = lead_ids(browser.actor, "Ann Berg", "Bo Li")
    confirm = browser.post("/records/leads/bulk/", {"ids": ids, "action": "delete"})
    assert confirm.status_code == 200 and b"Delete 2 leads?" in confirm.content
    assert Lead.objects.filter(deleted_at=None).count() == 3  # nothing yet
    done = browser.post(
        "/records/leads/bulk/", {"ids": ids, "action": "delete", "confirm": "yes"}, follow=True
    )
    assert b"Deleted 2 leads." in done.content and b">Undo</button>" in done.content
    assert set(Lead.objects.filter(deleted_at=None).values_list("name", flat=True)) == {"Cy Dee"}
    # The undo offer is shown once.
    assert b">Undo</button>" not in browser.get("/records/leads/").content
    browser.post("/records/leads/bulk/", {"ids": ids, "action": "restore"})
    assert Lead.objects.filter(deleted_at=None).count() == 3


def test_an_unknown_bulk_action_changes_nothing(browser):
    add_leads(browser.actor, ["Ann Berg"])
    ids = lead_ids(browser.actor, "Ann Berg")
    reply = browser.post("/records/leads/bulk/", {"ids": ids, "action": "drop"}, follow=True)
    assert b"Choose an action" in reply.content
    assert Lead.objects.filter(deleted_at=None).count() == 1


def test_bulk_needs_a_post(browser):
    assert browser.get("/records/leads/bulk/").status_code == 405


def test_export_takes_the_current_filter_and_neutralises_formulas(browser):
    add_leads(browser.actor, ["Ann Berg"], source="Web")
    records.record_create(
        actor=browser.actor,
        kind="lead",
        data={
            "name": "=HYPERLINK(1)",
            "email": "x@piql.com",
            "company_name": "Piql",
            "business_unit": "Nordics",
            "source": "Expo",
            "details": "x",
        },
    )
    add_leads(browser.actor, ["Bo Li"], source="Expo")
    reply = browser.get("/records/leads/export/?source=Expo&owner_id=&format=csv")
    assert reply.status_code == 200 and reply["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(b"".join(reply.streaming_content).decode("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == ["'=HYPERLINK(1)", "Bo Li"]
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_a_bad_export_filter_goes_back_with_the_reason(browser):
    reply = browser.get("/records/leads/export/?format=pdf", follow=True)
    assert b"Unknown format" in reply.content


def test_global_search_finds_every_kind_as_you_type(browser, other_actor):
    actor = browser.actor
    records.record_create(
        actor=actor,
        kind="company",
        data={"name": "Adaptive Archives", **CONVERT_COMPANY, "business_unit": "Nordics"},
    )
    add_leads(actor, ["Ada Lovelace"])
    add_leads(other_actor, ["Ada Other"])
    reply = browser.get("/search/?q=ada", headers={"HX-Request": "true"})
    assert reply.status_code == 200 and b"<html" not in reply.content
    assert b"Adaptive Archives" in reply.content and b"Ada Lovelace" in reply.content
    assert b"Ada Other" not in reply.content
    company = Company.objects.get(name="Adaptive Archives")
    assert f'href="/records/companies/{company.pk}/"'.encode() in reply.content
    full = browser.get("/search/?q=zzz")
    assert full.status_code == 200 and b"<html" in full.content
    assert "No word starts with “zzz”".encode() in full.content
    # Any word of a name, not only its start; whole-name matches first.
    words = html_text(browser.get("/search/?q=love", headers={"HX-Request": "true"}))
    assert "Ada Lovelace" in words
    add_leads(actor, ["Lovisa Berg"])
    both = html_text(browser.get("/search/?q=lov", headers={"HX-Request": "true"}))
    assert both.index("Lovisa Berg") < both.index("Ada Lovelace")


def html_text(response) -> str:
    return response.content.decode()


def test_home_lists_recently_viewed_records_newest_first(browser):
    add_leads(browser.actor, ["Ann Berg", "Bo Li"])
    first, second = lead_ids(browser.actor, "Ann Berg", "Bo Li")
    browser.get(f"/records/leads/{first}/")
    browser.get(f"/records/leads/{second}/")
    browser.get(f"/records/leads/{first}/")
    recent = browser.get("/").context["recent"]
    assert [(r["kind"], r["id"]) for r in recent] == [("lead", first), ("lead", second)]


def test_a_stage_filter_finds_the_stage_by_key_in_this_organisation_only(browser, other_actor):
    from salesline.pipeline.services import opportunity_create

    mine = opportunity_create(actor=browser.actor, data={"name": "County archive"})
    opportunity_create(actor=other_actor, data={"name": "Other archive"})
    page = browser.get(f"/records/opportunities/?stage={mine.stage.key}")
    assert [values[0] for _, values in page.context["rows"]] == ["County archive"]
    nothing = browser.get("/records/opportunities/?stage=no-such-stage")
    assert nothing.status_code == 200 and nothing.context["rows"] == []
