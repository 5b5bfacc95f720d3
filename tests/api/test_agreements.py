"""/api/v1/agreements and /api/v1/invoices: the contract, errors in the foundation's shape."""

import pytest

from salesline.playbooks.models import Invoice

TERMS = {
    "start_date": "2026-01-31",
    "end_date": "2027-01-30",
    "value": "12000.00",
    "currency": "EUR",
    "billing_frequency": "monthly",
    "renewal_notice_days": 60,
}


@pytest.fixture
def prospect(partners_api):
    created = partners_api.post("/opportunities", {"name": "City library"})
    opportunity_id = created.json()["id"]
    moved = partners_api.post(
        f"/opportunities/{opportunity_id}/move",
        {"stage": "prospect", "checks": ["verbal_close_yes"]},
    )
    assert moved.status_code == 200
    return opportunity_id


@pytest.fixture
def agreement(partners_api, prospect):
    response = partners_api.post("/agreements", {"opportunity_id": prospect, **TERMS})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_get_and_list(partners_api, prospect, agreement):
    assert {k: agreement[k] for k in TERMS} == TERMS
    assert (agreement["opportunity_id"], agreement["status"]) == (prospect, "draft")
    assert (agreement["signed_on"], agreement["version"]) == (None, 1)
    got = partners_api.get(f"/agreements/{agreement['id']}")
    assert got.status_code == 200
    assert got.json() == agreement
    assert got["ETag"] == f'"{agreement["id"]}-1"'
    listed = partners_api.get(f"/agreements?opportunity_id={prospect}").json()
    assert [a["id"] for a in listed["items"]] == [agreement["id"]]
    assert listed["count"] == 1
    assert partners_api.get("/agreements?status=signed").json()["items"] == []
    bad = partners_api.get("/agreements?status=won")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "status"]


def test_bad_terms_are_named(partners_api, prospect):
    response = partners_api.post(
        "/agreements",
        {
            "opportunity_id": prospect,
            "start_date": "2026-02-01",
            "end_date": "2026-01-01",
            "value": "-5",
            "currency": "EU",
            "billing_frequency": "weekly",
            "renewal_notice_days": -1,
        },
    )
    assert response.status_code == 422
    assert sorted(tuple(d["loc"]) for d in response.json()["detail"]) == [
        ("body", "billing_frequency"),
        ("body", "currency"),
        ("body", "end_date"),
        ("body", "renewal_notice_days"),
        ("body", "value"),
    ]
    not_a_date = partners_api.post("/agreements", {"opportunity_id": prospect, "end_date": "soon"})
    assert not_a_date.status_code == 422
    assert not_a_date.json()["detail"][0]["loc"] == ["body", "end_date"]
    unknown = partners_api.post("/agreements", {"opportunity_id": prospect, "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "colour"]


def test_patch_moves_status_forward_and_checks_the_version(partners_api, agreement):
    path = f"/agreements/{agreement['id']}"
    shared = partners_api.patch(path, {"status": "shared"}, HTTP_IF_MATCH=f'"{agreement["id"]}-1"')
    assert shared.status_code == 200
    assert (shared.json()["status"], shared.json()["version"]) == ("shared", 2)
    stale = partners_api.patch(path, {"value": "1"}, HTTP_IF_MATCH=f'"{agreement["id"]}-1"')
    assert stale.status_code == 412
    back = partners_api.patch(path, {"status": "draft"})
    assert back.status_code == 422
    assert back.json()["detail"][0]["loc"] == ["body", "status"]


def test_sign_moves_the_opportunity_to_partner_and_twice_is_409(partners_api, prospect, agreement):
    signed = partners_api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": "2026-01-20"})
    assert signed.status_code == 200
    assert (signed.json()["status"], signed.json()["signed_on"]) == ("signed", "2026-01-20")
    opportunity = partners_api.get(f"/opportunities/{prospect}").json()
    assert (opportunity["stage"], opportunity["status"]) == ("partner", "won")

    again = partners_api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": "2026-01-21"})
    assert again.status_code == 409
    changed = partners_api.patch(f"/agreements/{agreement['id']}", {"value": "1.00"})
    assert changed.status_code == 409


def test_signed_on_null_or_unchanged_is_accepted_and_changes_nothing(partners_api, prospect):
    created = partners_api.post(
        "/agreements", {"opportunity_id": prospect, **TERMS, "status": "draft", "signed_on": None}
    )
    assert created.status_code == 201, created.json()
    agreement = created.json()
    assert (agreement["status"], agreement["signed_on"]) == ("draft", None)
    path = f"/agreements/{agreement['id']}"
    shared = partners_api.patch(path, {"status": "shared", "signed_on": None})
    assert shared.status_code == 200, shared.json()
    assert (shared.json()["status"], shared.json()["signed_on"]) == ("shared", None)
    # What a client read, sent back as it is (the contract's fields), changes nothing.
    read = partners_api.get(path).json()
    contract_fields = {*TERMS, "status", "signed_on", "opportunity_id"}
    echoed = partners_api.patch(path, {k: v for k, v in read.items() if k in contract_fields})
    assert echoed.status_code == 200, echoed.json()
    assert echoed.json()["version"] == read["version"]


def test_an_agreement_stays_with_its_opportunity(partners_api, agreement):
    other = partners_api.post("/opportunities", {"name": "Museum"}).json()["id"]
    path = f"/agreements/{agreement['id']}"
    for opportunity_id in (other, None):
        refused = partners_api.patch(path, {"opportunity_id": opportunity_id, "value": "1.00"})
        assert refused.status_code == 422, refused.json()
        assert [d["loc"] for d in refused.json()["detail"]] == [["body", "opportunity_id"]]
    after = partners_api.get(path).json()
    assert (after["opportunity_id"], after["value"]) == (agreement["opportunity_id"], "12000.00")


def test_a_signed_on_date_before_signing_is_a_422_pointing_to_sign(partners_api, agreement):
    path = f"/agreements/{agreement['id']}"
    refused = partners_api.patch(path, {"signed_on": "2026-01-20", "value": "5.00"})
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "signed_on"]
    assert f"POST /api/v1/agreements/{agreement['id']}/sign" in problem["msg"]
    after = partners_api.get(path).json()
    assert (after["status"], after["signed_on"], after["value"]) == ("draft", None, "12000.00")
    assert partners_api.get(f"/opportunities/{agreement['opportunity_id']}").json()["stage"] == (
        "prospect"
    )
    not_a_date = partners_api.patch(path, {"signed_on": "yesterday"})
    assert not_a_date.status_code == 422
    assert [d["loc"] for d in not_a_date.json()["detail"]] == [["body", "signed_on"]]


def test_creating_with_a_signed_on_date_is_a_422_and_creates_nothing(partners_api, prospect):
    refused = partners_api.post(
        "/agreements", {"opportunity_id": prospect, **TERMS, "signed_on": "2026-01-20"}
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "signed_on"]
    assert "/sign" in problem["msg"]
    assert partners_api.get(f"/agreements?opportunity_id={prospect}").json()["count"] == 0


def test_a_signed_agreements_date_cannot_change(partners_api, agreement):
    path = f"/agreements/{agreement['id']}"
    signed = partners_api.post(f"{path}/sign", {"signed_on": "2026-01-20"}).json()
    same = partners_api.patch(path, {"signed_on": "2026-01-20"})
    assert same.status_code == 200
    assert same.json()["version"] == signed["version"]
    for other in ("2026-01-21", None):
        refused = partners_api.patch(path, {"signed_on": other})
        assert refused.status_code == 409, refused.json()
        assert "signed_on" in refused.json()["detail"]
    assert partners_api.get(path).json()["signed_on"] == "2026-01-20"


def test_sign_needs_a_date(partners_api, agreement):
    response = partners_api.post(f"/agreements/{agreement['id']}/sign", {})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "signed_on"]


def test_a_move_to_partner_without_a_signed_agreement_is_422_naming_it(partners_api, prospect):
    response = partners_api.post(f"/opportunities/{prospect}/move", {"stage": "partner"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "signed_agreement"],
            "msg": "The service agreement must be signed before the opportunity becomes "
            "Partner (sign it on the Agreement panel).",
            "type": "gate.require",
            "stage": "partner",
        }
    ]


def test_signing_refused_by_another_gate_signs_nothing(partners_api):
    lead = partners_api.post("/opportunities", {"name": "Museum"}).json()["id"]
    agreement = partners_api.post("/agreements", {"opportunity_id": lead, **TERMS}).json()
    response = partners_api.post(f"/agreements/{agreement['id']}/sign", {"signed_on": "2026-01-20"})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "checks", "verbal_close_yes"]]
    assert partners_api.get(f"/agreements/{agreement['id']}").json()["status"] == "draft"


def test_another_organisation_gets_404(partners_api, other_api, agreement, prospect):
    path = f"/agreements/{agreement['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"status": "shared"}).status_code == 404
    assert other_api.post(f"{path}/sign", {"signed_on": "2026-01-01"}).status_code == 404
    assert other_api.get("/agreements").json()["items"] == []
    assert other_api.get(f"/invoices?agreement_id={agreement['id']}").json()["items"] == []
    foreign = other_api.post("/agreements", {"opportunity_id": prospect})
    assert foreign.status_code == 422
    assert foreign.json()["detail"][0]["loc"] == ["body", "opportunity_id"]


def test_invoices_list_by_agreement(partners_api, partners_org, agreement):
    Invoice.objects.create(
        organisation=partners_org,
        agreement_id=agreement["id"],
        period=0,
        number="INV-2026-0001",
        issue_date="2026-01-31",
        amount="1000.00",
        currency="EUR",
    )
    response = partners_api.get(f"/invoices?agreement_id={agreement['id']}")
    assert response.status_code == 200
    assert response.json()["items"] == [
        {
            "id": Invoice.objects.get().pk,
            "agreement_id": agreement["id"],
            "number": "INV-2026-0001",
            "issue_date": "2026-01-31",
            "amount": "1000.00",
            "currency": "EUR",
            "document_id": None,
        }
    ]


def test_no_token_is_401(client):
    assert client.get("/api/v1/agreements").status_code == 401
