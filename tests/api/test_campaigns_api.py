"""/api/v1/campaigns, /api/v1/costs and /api/v1/metrics/campaigns: status codes, ETags, the
organisation matrix (another organisation's campaign or cost is 404), filters by campaign and
source on the record lists, and the report's JSON."""

import pytest

from salesline.pipeline.models import Opportunity
from tests.conftest import LEAD


@pytest.fixture
def expo(api):
    response = api.post(
        "/campaigns",
        {
            "name": "Archiving Expo 2026",
            "kind": "trade_show",
            "cost": "5000",
            "starts_on": "2026-03-10",
        },
    )
    assert response.status_code == 201, response.json()
    return response


def test_campaign_crud_with_etags(api, expo):
    body = expo.json()
    assert (body["name"], body["cost"], body["currency"], body["version"]) == (
        "Archiving Expo 2026",
        "5000.00",
        "EUR",
        1,
    )
    path = f"/campaigns/{body['id']}"
    etag = expo["ETag"]
    assert api.get(path).json()["name"] == "Archiving Expo 2026"
    changed = api.patch(path, {"cost": "5200"}, HTTP_IF_MATCH=etag)
    assert (changed.status_code, changed.json()["cost"]) == (200, "5200.00")
    assert api.patch(path, {"cost": "1"}, HTTP_IF_MATCH=etag).status_code == 412
    listed = api.get("/campaigns?limit=1")
    assert (listed.json()["count"], listed.json()["limit"]) == (1, 1)
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get("/campaigns?deleted=true").json()["count"] == 1
    assert api.post(f"{path}/restore").status_code == 200


def test_campaign_problems_are_422_naming_the_field_and_a_duplicate_409(api, expo):
    response = api.post("/campaigns", {"name": "x", "kind": "billboard", "currency": "EU"})
    assert response.status_code == 422
    assert {tuple(p["loc"]) for p in response.json()["detail"]} == {
        ("body", "kind"),
        ("body", "currency"),
    }
    assert api.post("/campaigns", {"name": "ARCHIVING EXPO 2026"}).status_code == 409
    assert api.get("/campaigns?limit=0").status_code == 422


def test_another_organisations_campaign_and_cost_are_404(api, other_api, expo):
    path = f"/campaigns/{expo.json()['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"cost": "1"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get("/campaigns").json()["count"] == 0
    lead = api.post("/leads", LEAD).json()
    cost = api.post("/costs", {"kind": "expense", "amount": "12.50", "lead_id": lead["id"]})
    assert cost.status_code == 201, cost.json()
    assert other_api.get(f"/costs/{cost.json()['id']}").status_code == 404
    assert other_api.delete(f"/costs/{cost.json()['id']}").status_code == 404
    assert (
        other_api.post(
            "/costs", {"kind": "expense", "amount": "1", "lead_id": lead["id"]}
        ).status_code
        == 404
    )
    # Nor can a lead of this organisation be credited to another organisation's campaign.
    theirs = other_api.post("/campaigns", {"name": "Theirs"}).json()
    refused = api.patch(f"/leads/{lead['id']}", {"campaign_id": theirs["id"]})
    assert refused.status_code == 422


def test_records_carry_their_campaign_and_lists_filter_by_it_and_by_source(api, expo):
    campaign_id = expo.json()["id"]
    lead = api.post("/leads", {**LEAD, "campaign_id": campaign_id})
    assert (lead.status_code, lead.json()["campaign_id"]) == (201, campaign_id)
    api.post("/leads", {**LEAD, "name": "Other", "email": "o@acme.no"})
    assert api.get(f"/leads?campaign_id={campaign_id}").json()["count"] == 1
    opportunity = api.post(
        "/opportunities", {"name": "Deal", "source": "Trade show", "campaign_id": campaign_id}
    )
    assert opportunity.status_code == 201, opportunity.json()
    assert (opportunity.json()["source"], opportunity.json()["campaign_id"]) == (
        "Trade show",
        campaign_id,
    )
    api.post("/opportunities", {"name": "Other deal", "source": "Website"})
    found = api.get("/opportunities?source=Trade show").json()
    assert [item["name"] for item in found["items"]] == ["Deal"]
    assert api.get(f"/opportunities?campaign_id={campaign_id}").json()["count"] == 1


def test_costs_list_filter_and_total_per_currency(api, admin_api, expo):
    lead = api.post("/leads", {**LEAD, "campaign_id": expo.json()["id"]}).json()
    assert api.patch("/costs/settings", {"hourly_rate": "60"}).status_code == 403
    settings = admin_api.patch("/costs/settings", {"hourly_rate": "60", "currency": "nok"})
    assert settings.json() == {"hourly_rate": "60.00", "currency": "NOK", "version": 2}
    time = api.post(
        "/costs", {"kind": "time", "minutes": 45, "lead_id": lead["id"], "date": "2026-03-12"}
    )
    assert (time.status_code, time.json()["amount"], time.json()["currency"]) == (
        201,
        "45.00",
        "NOK",
    )
    api.post(
        "/costs",
        {"kind": "expense", "amount": "99.90", "currency": "EUR", "lead_id": lead["id"],
         "date": "2026-04-01"},
    )  # fmt: skip
    body = api.get(f"/costs?campaign_id={expo.json()['id']}").json()
    assert body["count"] == 2
    assert body["totals"] == [
        {"currency": "EUR", "amount": "99.90", "minutes": 0},
        {"currency": "NOK", "amount": "45.00", "minutes": 45},
    ]
    assert api.get("/costs?kind=time&from=2026-03-01&to=2026-03-31").json()["count"] == 1
    bad = api.get("/costs?kind=travel&from=2026-13-01")
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {("query", "kind"), ("query", "from")}
    missing = api.post("/costs", {"kind": "expense", "lead_id": lead["id"]})
    assert missing.status_code == 422
    assert api.delete(f"/costs/{time.json()['id']}").status_code == 204


def test_the_campaign_report_as_json(api, expo):
    campaign_id = expo.json()["id"]
    api.post("/leads", {**LEAD, "campaign_id": campaign_id})
    deal = api.post("/opportunities", {"name": "Deal", "campaign_id": campaign_id}).json()
    Opportunity.objects.filter(pk=deal["id"]).update(
        status="won", value=15000, closed_at="2026-04-15T10:00:00Z"
    )
    response = api.get("/metrics/campaigns")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["from"], body["to"]) == (None, None)
    (row,) = body["campaigns"]
    # An open period: everything counts. (15000 - 5000) / 5000 = 2.
    assert {k: row[k] for k in ("campaign_id", "cost", "leads", "won", "won_value", "return")} == {
        "campaign_id": campaign_id,
        "cost": "5000.00",
        "leads": 1,
        "won": 1,
        "won_value": "15000.00",
        "return": 2.0,
    }
    assert (row["cost_per_lead"], row["cost_per_opportunity"]) == ("5000.00", "5000.00")
    assert len(body["totals"]) == 1
    bad = api.get("/metrics/campaigns?from=2026-05-01&to=2026-04-01")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "to"]
    empty = api.get("/metrics/campaigns?from=2020-01-01&to=2020-01-31").json()
    assert empty["campaigns"] == []
