"""An enquiry's state never contradicts its lead; the status moves by hand only as the table in
states.py allows; one definition each of open, overdue, budgets and money; the API's contract
additions (category and an optional network on POST, chair_org on PATCH, the triage scripts)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import DomainEvent
from salesline.enquiries import coordinator, states
from salesline.enquiries.eligibility import BUDGET_MAX, money, parse_budget
from salesline.enquiries.models import Enquiry, EnquiryStatus, MemberSkill, RotaPeriod, Skill
from salesline.enquiries.rules import CATEGORIES

from .directory_helpers import lead
from .test_triage import FEASIBLE, _enquiry


@pytest.fixture
def django_skill(world):
    skill = Skill.objects.create(network=world.network, key="django", name="Django")
    MemberSkill.objects.create(
        network=world.network, organisation=world.webarch.org, skill=skill, level=4
    )
    return skill


def _patch(member, enquiry, data):
    return member.api.request("patch", f"/enquiries/{enquiry.pk}", data)


def _drafts(world):
    return [
        e.payload
        for e in DomainEvent.objects.filter(
            organisation=world.network.organisation, kind=MAIL_REQUESTED
        )
        if not e.payload.get("send", True)
    ]


# ------------------------------------------------------------------ triage and the lead


def test_a_lead_is_not_re_triaged_into_a_contradiction(world, webarch_on_duty, django_skill):
    enquiry = _enquiry(world)
    body = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage", {"category": "sales", "answers": FEASIBLE}
    ).json()
    lead_id = body["lead_id"]
    assert lead_id is not None
    drafts = len(_drafts(world))
    not_feasible = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "timescale": ""}},
    )
    assert not_feasible.status_code == 409
    assert f"lead {lead_id}" in not_feasible.json()["detail"]
    other = world.coordinator.api.post(f"/enquiries/{enquiry.pk}/triage", {"category": "jobs"})
    assert other.status_code == 409
    assert f"lead {lead_id}" in other.json()["detail"]
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.lead_id, enquiry.category) == ("lead", lead_id, "sales")
    assert len(_drafts(world)) == drafts
    # Feasible again: still the one lead.
    again = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage", {"category": "sales", "answers": FEASIBLE}
    )
    assert again.status_code == 200 and again.json()["lead_id"] == lead_id


def test_status_moves_by_hand_follow_the_table(world, webarch_on_duty):
    enquiry = _enquiry(world)
    to_lead = _patch(world.webarch, enquiry, {"status": "lead"})
    assert to_lead.status_code == 422
    assert "a lead is made by triage" in str(to_lead.json()).lower()
    assert _patch(world.webarch, enquiry, {"status": "replied"}).status_code == 200
    back = _patch(world.webarch, enquiry, {"status": "triaged"})
    assert back.status_code == 422
    assert "from replied to triaged" in str(back.json())
    assert _patch(world.webarch, enquiry, {"status": "closed"}).json()["status"] == "closed"
    assert _patch(world.webarch, enquiry, {"status": "declined"}).status_code == 422
    assert _patch(world.webarch, enquiry, {"status": "new"}).json()["status"] == "new"
    # Every pair: the table decides, and lead is never reached by hand.
    for before, allowed in states.MANUAL_MOVES.items():
        assert EnquiryStatus.LEAD not in allowed
        for after in EnquiryStatus.values:
            refused = states.move_problem(before, after)
            assert (refused is None) == (after == before or after in allowed)


def test_a_lead_may_be_closed_by_hand(world, webarch_on_duty):
    enquiry = lead(world)
    assert enquiry.lead_id is not None
    assert _patch(world.webarch, enquiry, {"status": "closed"}).json()["status"] == "closed"


def test_referring_needs_the_lead_record(world, webarch_on_duty):
    enquiry = lead(world)
    Enquiry.objects.filter(pk=enquiry.pk).update(lead=None)
    response = world.webarch.api.post(
        f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.outlandish.org.slug]}
    )
    assert response.status_code == 409
    assert "no lead" in response.json()["detail"]


# ------------------------------------------------------------------ the contract additions


def test_post_without_network_when_the_member_is_in_one(world):
    response = world.webarch.api.post("/enquiries", {"name": "Ann", "message": "Hello"})
    assert response.status_code == 201
    assert response.json()["network"] == world.network.slug
    assert world.outsider.api.post("/enquiries", {"name": "x", "message": "y"}).status_code == 404


def test_post_refuses_an_unknown_category(world):
    response = world.webarch.api.post(
        "/enquiries", {"name": "Ann", "message": "Hello", "category": "gossip"}
    )
    assert response.status_code == 422
    assert ["category"] in [p["loc"][-1:] for p in response.json()["detail"]]
    assert not Enquiry.objects.exists()


def test_post_sets_the_category(world):
    response = world.webarch.api.post(
        "/enquiries", {"name": "Ann", "message": "Hello", "category": "jobs"}
    )
    assert response.status_code == 201
    assert response.json()["category"] == "jobs"


def test_patch_chair_org_re_routes(world, webarch_on_duty):
    chair = webarch_on_duty
    enquiry = _enquiry(world)
    assert enquiry.chair_org == world.webarch.org
    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=chair.ends_on + dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=170),
    )
    body = _patch(world.coordinator, enquiry, {"chair_org": world.outlandish.org.slug}).json()
    assert body["chair_org"] == world.outlandish.org.slug
    assert body["chair_person"] == world.outlandish.user.email
    body = _patch(world.coordinator, enquiry, {"chair_org": world.agile.org.slug}).json()
    assert body["chair_org"] == world.agile.org.slug
    assert body["chair_person"] is None  # Agile has no rota period
    refused = _patch(world.coordinator, enquiry, {"chair_org": world.outsider.org.slug})
    assert refused.status_code == 422
    # Another member (not the chair nor the coordinator) may not.
    assert (
        _patch(world.outlandish, enquiry, {"chair_org": world.outlandish.org.slug}).status_code
        == 403
    )


def test_joining_from_outside_the_countries_suggests_the_signpost(world, webarch_on_duty):
    abroad = _enquiry(world, country="US")
    body = world.webarch.api.post(f"/enquiries/{abroad.pk}/triage", {"category": "joining"})
    assert body.json()["suggested_reply"]["template"] == "signpost"
    home = _enquiry(world, country="GB")
    body = world.webarch.api.post(f"/enquiries/{home.pk}/triage", {"category": "joining"})
    assert body.json()["suggested_reply"]["template"] == "welcome"


@pytest.mark.parametrize("budget", [1e308, 10**40, "1" * 39])
def test_a_budget_too_big_to_store_is_refused(world, webarch_on_duty, django_skill, budget):
    enquiry = _enquiry(world)
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "budget": budget}},
    )
    assert response.status_code == 422
    assert "too big" in str(response.json())
    enquiry.refresh_from_db()
    assert enquiry.status == "new" and enquiry.lead_id is None


def test_the_triage_scripts_are_served_to_members(world):
    response = world.outlandish.api.get(f"/networks/{world.network.slug}/triage")
    assert response.status_code == 200
    body = response.json()
    assert [c["key"] for c in body["categories"]] == list(CATEGORIES)
    joining = next(c for c in body["categories"] if c["key"] == "joining")
    assert joining["guidance"] and joining["checklist"] and joining["questions"]
    signpost = next(r for r in joining["replies"] if r["key"] == "signpost")
    assert signpost["subject"] and signpost["body"]
    assert body["sales_criteria"]["currency"] == "GBP"
    assert "budget" in body["sales_criteria"]["required_answers"]
    assert world.outsider.api.get(f"/networks/{world.network.slug}/triage").status_code == 404


# ------------------------------------------------------------------ one definition each


def test_budgets_are_read_one_way():
    assert parse_budget("-5") is None
    assert parse_budget(-5) is None
    assert parse_budget("about 20k") == Decimal(20000)
    assert parse_budget("12k-15k") == Decimal(12000)
    assert parse_budget("£12,000") == Decimal(12000)
    assert parse_budget("1.5m") == Decimal(1_500_000)
    assert parse_budget("soon") is None
    assert parse_budget(float("nan")) is None
    assert parse_budget(10**40) > BUDGET_MAX


def test_money_is_written_one_way():
    assert money(Decimal(12000), "GBP") == "GBP 12,000"
    assert money(Decimal("12000.5"), "GBP") == "GBP 12,000.50"
    assert money(25000) == "25,000"
    assert money(None, "GBP") == ""


def test_open_and_overdue_agree_everywhere(world, webarch_on_duty):
    today = timezone.localdate()
    late = _enquiry(world)
    replied = _enquiry(world)
    a_lead = lead(world)
    closed = _enquiry(world)
    Enquiry.objects.filter(pk__in=[late.pk, replied.pk, a_lead.pk, closed.pk]).update(
        respond_by=today - dt.timedelta(days=3)
    )
    Enquiry.objects.filter(pk=replied.pk).update(status="replied", first_response_at=timezone.now())
    Enquiry.objects.filter(pk=closed.pk).update(status="closed")
    overdue_by_api = {
        e["reference"] for e in world.webarch.api.get("/enquiries").json()["items"] if e["overdue"]
    }
    late.refresh_from_db()
    assert overdue_by_api == {late.reference}
    assert set(
        Enquiry.objects.filter(states.overdue_q(today)).values_list("reference", flat=True)
    ) == {late.reference}
    summary = coordinator.network_summary(actor=world.coordinator.actor, network=world.network)
    assert summary.overdue_enquiries == 1
    assert summary.open_enquiries == 3  # new, replied and the lead; not the closed one
    network = world.network
    report = coordinator.network_report(actor=world.coordinator.actor, network=network)
    assert report["response_times"]["overdue_references"] == [late.reference]
    client = Client()
    client.force_login(world.webarch.user)
    page = client.get(f"/networks/{network.slug}/enquiries/")
    assert page.status_code == 200
    assert page.content.decode().count('class="enquiry-overdue"') == 1
