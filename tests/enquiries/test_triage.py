"""Triage per category through the API and the services: the verdict, the lead in the network
pipeline, the decline drafted, the canned replies and the checklist; who may triage."""

import pytest

from salesline.core.errors import ValidationFailed
from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import AuditEvent, DomainEvent
from salesline.enquiries import triage_services
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Enquiry, MemberProfile, MemberSkill, Skill
from salesline.enquiries.rules import CATEGORIES
from salesline.records.models import Lead

FEASIBLE = {
    "budget": 40000,
    "timescale": "Start in May, three months",
    "technology": "Django, PostgreSQL",
    "brief": "A booking system for a housing co-op",
    "skills": ["django"],
}


@pytest.fixture
def chair(webarch_on_duty):
    """Webarchitects on duty this quarter."""
    return webarch_on_duty


@pytest.fixture
def skills(world):
    network = world.network
    django = Skill.objects.create(network=network, key="django", name="Django")
    drupal = Skill.objects.create(network=network, key="drupal", name="Drupal")
    MemberSkill.objects.create(
        network=network, organisation=world.webarch.org, skill=django, level=4
    )
    MemberSkill.objects.create(
        network=network, organisation=world.outlandish.org, skill=django, level=3
    )
    MemberSkill.objects.create(network=network, organisation=world.agile.org, skill=drupal, level=5)
    MemberProfile.objects.create(network=network, organisation=world.webarch.org, staff_count=12)
    MemberProfile.objects.create(
        network=network, organisation=world.outlandish.org, min_project_value=25000
    )
    MemberProfile.objects.create(network=network, organisation=world.agile.org, staff_count=2)
    return {"django": django, "drupal": drupal}


def _enquiry(world, **data) -> Enquiry:
    return enquiry_receive(
        network=world.network,
        data={
            "name": "Zoe Client",
            "email": "zoe@client.test",
            "organisation_name": "Client Housing",
            "country": "GB",
            "message": "We need some work done.",
            **data,
        },
        source="api",
    )


def _mails(world, **payload):
    mails = DomainEvent.objects.filter(
        organisation=world.network.organisation, kind=MAIL_REQUESTED
    ).order_by("pk")
    return [m.payload for m in mails if all(m.payload.get(k) == v for k, v in payload.items())]


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "sales"])
def test_a_non_sales_category_is_eligible_with_its_suggested_reply(world, chair, category):
    enquiry = _enquiry(world)
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage", {"category": category, "answers": {}}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["eligible"] is True
    assert body["reasons"] == []
    assert body["lead_id"] is None
    reply = body["suggested_reply"]
    assert reply["template"]
    assert "Zoe Client" in reply["body"]
    assert "{{" not in reply["body"] + reply["subject"]
    enquiry.refresh_from_db()
    assert (enquiry.category, enquiry.status, enquiry.eligible) == (category, "triaged", True)
    assert enquiry.triaged_by == world.coordinator.user
    assert AuditEvent.objects.filter(
        organisation=world.network.organisation, action="triage", object_id=str(enquiry.pk)
    ).exists()


def test_the_joining_and_research_replies_come_from_the_seed(world, chair):
    joining = _enquiry(world)
    body = world.webarch.api.post(
        f"/enquiries/{joining.pk}/triage", {"category": "research"}
    ).json()
    assert body["suggested_reply"]["template"] == "forum_invite"
    assert "forum" in body["suggested_reply"]["body"]


def test_a_feasible_sales_enquiry_becomes_one_lead_in_the_network_pipeline(world, chair, skills):
    enquiry = _enquiry(world)
    response = world.webarch.api.post(
        f"/enquiries/{enquiry.pk}/triage", {"category": "sales", "answers": FEASIBLE}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["eligible"] is True and body["reasons"] == []
    assert body["suggested_reply"]["template"] == "next_steps"
    lead = Lead.objects.get(pk=body["lead_id"])
    assert lead.organisation == world.network.organisation
    assert lead.email == "zoe@client.test"
    assert "Django" in lead.description
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.lead_id) == ("lead", lead.pk)
    assert enquiry.answers["skills"] == ["django"]
    again = world.webarch.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "budget": 50000}},
    ).json()
    assert again["lead_id"] == lead.pk
    assert Lead.objects.filter(organisation=world.network.organisation).count() == 1
    # No member's own books were touched.
    assert not Lead.objects.filter(organisation=world.webarch.org).exists()


def test_a_sales_enquiry_under_the_smallest_minimum_is_declined_with_a_draft(world, chair, skills):
    enquiry = _enquiry(world)
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "budget": 9000}},
    )
    body = response.json()
    assert body["eligible"] is False
    # Able: Webarchitects (12 staff: 12,000) and Outlandish (its own 25,000).
    assert body["reasons"] == [
        "The budget of GBP 9,000 is below GBP 12,000, the minimum value of the smallest member "
        "able to take it (Webarchitects)."
    ]
    assert body["lead_id"] is None
    assert body["suggested_reply"]["template"] == "decline"
    enquiry.refresh_from_db()
    assert enquiry.status == "declined"
    drafts = _mails(world, send=False)
    assert len(drafts) == 1
    assert drafts[0]["to"] == ["zoe@client.test"]
    assert "no thanks" in drafts[0]["body"]
    # Triaged again the same way: no second draft.
    world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "budget": 9000}},
    )
    assert len(_mails(world, send=False)) == 1


def test_without_skills_every_member_is_able(world, chair, skills):
    enquiry = _enquiry(world)
    answers = {key: value for key, value in FEASIBLE.items() if key != "skills"}
    body = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**answers, "budget": 2500}},
    ).json()
    assert body["eligible"] is True  # Agile (Drupal only): 2 staff, so 2,000
    other = _enquiry(world)
    body = world.coordinator.api.post(
        f"/enquiries/{other.pk}/triage",
        {"category": "sales", "answers": {**answers, "budget": 1500}},
    ).json()
    assert body["reasons"] == [
        "The budget of GBP 1,500 is below GBP 2,000, the minimum value of the smallest member "
        "able to take it (Agile Collective)."
    ]


def test_missing_answers_are_each_a_reason(world, chair, skills):
    enquiry = _enquiry(world)
    body = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {"budget": 50000, "skills": ["drupal"]}},
    ).json()
    assert body["eligible"] is False
    assert body["reasons"] == [
        "The timescale is not answered.",
        "The technology is not answered.",
        "The brief is not answered.",
    ]


def test_unknown_skills_and_categories_are_422(world, chair, skills):
    enquiry = _enquiry(world)
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage",
        {"category": "sales", "answers": {**FEASIBLE, "skills": ["cobol"]}},
    )
    assert response.status_code == 422
    assert "cobol" in response.content.decode()
    response = world.coordinator.api.post(f"/enquiries/{enquiry.pk}/triage", {"category": "gossip"})
    assert response.status_code == 422
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/triage", {"category": "jobs", "answers": {"colour": "red"}}
    )
    assert response.status_code == 422
    enquiry.refresh_from_db()
    assert enquiry.status == "new"


def test_only_the_chair_or_the_coordinator_may_triage(world, chair):
    enquiry = _enquiry(world)
    path = f"/enquiries/{enquiry.pk}/triage"
    assert world.outlandish.api.post(path, {"category": "jobs"}).status_code == 403
    assert world.outsider.api.post(path, {"category": "jobs"}).status_code == 404
    assert (
        world.webarch.api.post("/enquiries/999999/triage", {"category": "jobs"}).status_code == 404
    )
    assert world.webarch.api.post("/enquiries/abc/triage", {"category": "jobs"}).status_code == 422
    assert world.webarch.api.post(path, {"category": "jobs"}).status_code == 200


def test_sending_a_canned_reply_is_the_first_response(world, chair):
    enquiry = _enquiry(world)
    world.webarch.api.post(f"/enquiries/{enquiry.pk}/triage", {"category": "jobs"})
    response = world.webarch.api.post(
        f"/enquiries/{enquiry.pk}/reply", {"template": "forum_invite"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "replied"
    enquiry.refresh_from_db()
    assert enquiry.first_response_at is not None
    sent = _mails(world, send=True, to=["zoe@client.test"])
    assert any("forum" in mail["body"] for mail in sent)
    bad = world.webarch.api.post(f"/enquiries/{enquiry.pk}/reply", {"template": "nope"})
    assert bad.status_code == 422
    assert (
        world.outlandish.api.post(
            f"/enquiries/{enquiry.pk}/reply", {"template": "forum_invite"}
        ).status_code
        == 403
    )


def test_a_draft_reply_changes_no_status(world, chair):
    enquiry = _enquiry(world)
    triage_services.enquiry_triage(
        actor=world.coordinator.actor, enquiry_id=enquiry.pk, category="speaking", answers={}
    )
    triage_services.enquiry_reply(
        actor=world.coordinator.actor,
        enquiry_id=enquiry.pk,
        template="details_please",
        body="Edited body",
        send=False,
    )
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.first_response_at) == ("triaged", None)
    assert _mails(world, send=False)[-1]["body"] == "Edited body"


def test_the_checklist_keeps_the_category_steps_ticked(world, chair):
    enquiry = _enquiry(world)
    path = f"/enquiries/{enquiry.pk}/checklist"
    assert world.webarch.api.request("put", path, {"done": ["forum"]}).status_code == 409
    triage_services.enquiry_triage(
        actor=world.webarch.actor, enquiry_id=enquiry.pk, category="jobs", answers={}
    )
    response = world.webarch.api.request("put", path, {"done": ["forum", "found_us"]})
    assert response.status_code == 200
    assert response.json()["checklist_done"] == ["found_us", "forum"]
    response = world.webarch.api.request("put", path, {"done": ["nope"]})
    assert response.status_code == 422
    with pytest.raises(ValidationFailed):
        triage_services.enquiry_checklist_tick(
            actor=world.webarch.actor, enquiry_id=enquiry.pk, done=["called"]
        )
