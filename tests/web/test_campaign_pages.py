"""Reports › Campaigns and costs: the report (empty state, table, CSV), the campaign forms, the
hourly rate, and the Time and expenses panel on a lead's page."""

import html
import re
from decimal import Decimal

from salesline.analytics import cost_services
from salesline.analytics.cost_models import CostEntry
from salesline.records import campaign_services
from salesline.records.models import Campaign
from salesline.records.services import record_create
from tests.conftest import LEAD

REPORT = "/reports/campaigns/"


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_report_has_an_empty_state_and_is_linked_from_the_reports_navigation(browser):
    response = browser.get(REPORT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No campaigns yet." in page
    assert f'href="{REPORT}" aria-current="page"' in page


def test_a_campaign_is_added_with_the_form_and_shown_with_its_figures(browser):
    refused = browser.post("/reports/campaigns/new/", {"name": "", "currency": "EU", "cost": "x"})
    assert refused.status_code == 422
    assert "A campaign needs a name." in text_of(refused)
    saved = browser.post(
        "/reports/campaigns/new/",
        {"name": "=Expo", "kind": "trade_show", "cost": "1200", "currency": "EUR"},
    )
    assert saved.status_code == 302
    expo = Campaign.objects.get()
    record_create(actor=browser.actor, kind="lead", data={**LEAD, "campaign_id": expo.pk})
    record_create(
        actor=browser.actor,
        kind="lead",
        data={**LEAD, "name": "Bo", "email": "bo@acme.no", "campaign_id": expo.pk},
    )
    page = text_of(browser.get(REPORT))
    # 1,200 over 2 leads: 600 a lead; no win, so the return is -100 %.
    assert "=Expo" in page and "1,200 EUR" in page and "600 EUR" in page and "-100%" in page
    csv = b"".join(browser.get(f"{REPORT}?format=csv").streaming_content).decode("utf-8-sig")
    lines = csv.splitlines()
    assert lines[0].startswith("campaign_id,name,kind,currency,cost,leads")
    # The name a spreadsheet would evaluate is neutralised.
    assert lines[1] == f"{expo.pk},'=Expo,trade_show,EUR,1200.00,2,0,0,0.00,600.00,,,-1.0"
    assert lines[2].startswith(",All campaigns,,EUR,1200.00,2,")


def test_a_bad_period_is_named_beside_its_input(browser):
    response = browser.get(f"{REPORT}?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 422
    assert "'to' must not be before 'from'." in text_of(response)


def test_a_campaign_is_edited_with_its_version_and_deleted(browser):
    expo = campaign_services.campaign_create(actor=browser.actor, data={"name": "Expo"})
    edit = f"/reports/campaigns/{expo.pk}/"
    assert 'value="Expo"' in browser.get(edit).content.decode()
    values = {"name": "Expo 2026", "kind": "other", "currency": "EUR", "cost": "10"}
    assert browser.post(edit, {**values, "version": "1"}).status_code == 302
    stale = browser.post(edit, {**values, "name": "Again", "version": "1"})
    assert stale.status_code == 412
    assert browser.post(f"{edit}delete/").status_code == 302
    assert browser.get(edit).status_code == 404


def test_another_organisations_campaign_page_is_404(browser, other_actor):
    theirs = campaign_services.campaign_create(actor=other_actor, data={"name": "Theirs"})
    assert browser.get(f"/reports/campaigns/{theirs.pk}/").status_code == 404


def test_only_an_admin_sets_the_hourly_rate(browser):
    response = browser.post(
        "/reports/campaigns/hourly-rate/", {"hourly_rate": "60", "currency": "EUR"}
    )
    assert response.status_code == 403


def test_time_and_an_expense_are_logged_from_a_leads_page(browser, admin_actor):
    cost_services.cost_settings_update(actor=admin_actor, data={"hourly_rate": "60"})
    lead = record_create(actor=browser.actor, kind="lead", data=LEAD)
    page = f"/records/leads/{lead.pk}/"
    assert "No time or expenses logged on this lead yet." in text_of(browser.get(page))
    common = {"lead_id": lead.pk, "next": page, "currency": "EUR", "date": "2026-03-12"}
    response = browser.post("/costs/new/", {**common, "kind": "time", "hours": "1.5"})
    assert response.status_code == 302 and response["Location"] == f"{page}#costs"
    browser.post(
        "/costs/new/", {**common, "kind": "expense", "amount": "412.40", "description": "Train"}
    )
    refused = browser.post("/costs/new/", {**common, "kind": "expense"}, follow=True)
    assert "An expense needs its amount." in text_of(refused)
    assert [(e.kind, e.amount) for e in CostEntry.objects.order_by("id")] == [
        ("time", Decimal("90.00")),
        ("expense", Decimal("412.40")),
    ]
    shown = text_of(browser.get(page))
    assert "Time: 1 h 30 min at 60 EUR/h" in shown
    assert "Total: 502.40 EUR (1 h 30 min of time)" in shown
    entry = CostEntry.objects.get(kind="expense")
    assert browser.post(f"/costs/{entry.pk}/delete/", {"next": page}).status_code == 302
    assert CostEntry.objects.count() == 1
