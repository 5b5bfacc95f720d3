"""/api/v1/costs on network enquiries: `enquiry_id` on POST, as a filter on GET and in the items
(with the reference); 404 for an organisation outside the network; exactly one target (422
naming the field); the report's "Network enquiries" row in /api/v1/metrics/campaigns."""

import pytest

from salesline.enquiries.intake import enquiry_receive
from salesline.records.services import record_create
from tests.conftest import LEAD
from tests.enquiries.conftest import world  # noqa: F401 (the network of three co-operatives)


@pytest.fixture
def enquiry(world):  # noqa: F811
    return enquiry_receive(
        network=world.network,
        data={"name": "Zoe Client", "email": "zoe@client.test", "message": "A new website"},
        source="form",
    )


def test_time_and_an_expense_on_an_enquiry_are_logged_listed_and_filtered(world, enquiry):  # noqa: F811
    api = world.webarch.api
    time = api.post(
        "/costs",
        {
            "kind": "time",
            "minutes": 45,
            "hourly_rate": "80",
            "enquiry_id": enquiry.pk,
            "date": "2026-03-02",
        },
    )
    assert time.status_code == 201, time.json()
    body = time.json()
    assert (body["enquiry_id"], body["enquiry_reference"], body["amount"]) == (
        enquiry.pk,
        enquiry.reference,
        "60.00",
    )
    assert (body["lead_id"], body["opportunity_id"]) == (None, None)
    expense = api.post("/costs", {"kind": "expense", "amount": "12.30", "enquiry_id": enquiry.pk})
    assert expense.status_code == 201, expense.json()
    # A cost on a lead of the organisation is left out of the enquiry's filter.
    lead = record_create(actor=world.webarch.actor, kind="lead", data=LEAD)
    on_lead = api.post("/costs", {"kind": "expense", "amount": "1", "lead_id": lead.pk})
    assert (on_lead.status_code, on_lead.json()["enquiry_id"]) == (201, None)
    assert api.get("/costs").json()["count"] == 3
    listed = api.get(f"/costs?enquiry_id={enquiry.pk}").json()
    assert listed["count"] == 2
    assert {item["enquiry_id"] for item in listed["items"]} == {enquiry.pk}
    assert listed["totals"] == [{"currency": "EUR", "amount": "72.30", "minutes": 45}]
    assert api.get(f"/costs/{body['id']}").json()["enquiry_reference"] == enquiry.reference
    # Another member's list does not hold them.
    assert world.outlandish.api.get(f"/costs?enquiry_id={enquiry.pk}").json()["count"] == 0
    assert world.outlandish.api.get(f"/costs/{body['id']}").status_code == 404


def test_outside_the_network_the_enquiry_is_404_and_bad_input_is_422(world, enquiry):  # noqa: F811
    outsider = world.outsider.api.post(
        "/costs", {"kind": "expense", "amount": "5", "enquiry_id": enquiry.pk}
    )
    assert outsider.status_code == 404
    api = world.webarch.api
    both = api.post(
        "/costs", {"kind": "expense", "amount": "5", "enquiry_id": enquiry.pk, "lead_id": 1}
    )
    assert both.status_code == 422
    assert any(d["loc"][-1] == "enquiry_id" for d in both.json()["detail"]), both.json()
    bad_filter = api.get("/costs?enquiry_id=abc")
    assert bad_filter.status_code == 422
    assert any(d["loc"][-1] == "enquiry_id" for d in bad_filter.json()["detail"])
    assert api.get("/costs").json()["count"] == 0


def test_the_campaign_report_has_a_network_enquiries_row(world, enquiry):  # noqa: F811
    api = world.webarch.api
    assert api.get("/metrics/campaigns").json()["campaigns"] == []
    api.post("/costs", {"kind": "expense", "amount": "250", "enquiry_id": enquiry.pk})
    report = api.get("/metrics/campaigns").json()
    (row,) = report["campaigns"]
    assert (row["name"], row["kind"], row["campaign_id"], row["cost"]) == (
        "Network enquiries",
        "network_enquiries",
        None,
        "250.00",
    )
    assert (row["leads"], row["cost_per_lead"], row["cost_per_won"]) == (0, None, None)
    assert report["totals"][0]["cost"] == "250.00"
