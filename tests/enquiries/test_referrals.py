"""Hand-over of leads by skills: candidates ranked, referring, accept and decline, and what
each side sees (isolation)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import EnquiryStatus, Referral, RotaPeriod
from salesline.pipeline.models import Opportunity

from .directory_helpers import lead, skills, taxonomy

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5, "hosting": 4})
    skills(world, world.outlandish, {"drupal": 2, "python": 5})
    skills(world, world.agile, {"ux": 4})
    return world


def test_candidates_are_ranked_best_first_with_reasons(ready):
    world = ready
    enquiry = lead(world)
    response = world.coordinator.api.get(f"/enquiries/{enquiry.pk}/referral-candidates")
    assert response.status_code == 200, response.content
    ranked = response.json()
    assert [c["org"] for c in ranked] == [
        world.webarch.org.slug,
        world.outlandish.org.slug,
        world.agile.org.slug,
    ]
    assert ranked[0]["reasons"][0] == "Has Drupal at level 5 of 5."
    assert any("hosting" in reason for reason in ranked[0]["reasons"])
    assert ranked[2]["reasons"] == ["Lacks Drupal, which the lead needs."]
    assert ranked[0]["score"] > ranked[1]["score"] > ranked[2]["score"]
    # Only the chair or the coordinator; an outsider cannot tell it exists.
    assert world.webarch.api.get(f"/enquiries/{enquiry.pk}/referral-candidates").status_code == 403
    assert world.outsider.api.get(f"/enquiries/{enquiry.pk}/referral-candidates").status_code == 404


def test_the_chair_on_duty_may_refer(ready):
    world = ready
    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
    )
    enquiry = lead(world)
    assert (
        world.outlandish.api.get(f"/enquiries/{enquiry.pk}/referral-candidates").status_code == 200
    )
    response = world.outlandish.api.post(
        f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.webarch.org.slug]}
    )
    assert response.status_code == 201, response.content


def test_refer_accept_makes_an_opportunity_in_the_members_own_books(ready):
    world = ready
    enquiry = lead(world)
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals",
        {"orgs": [world.webarch.org.slug, world.outlandish.org.slug]},
    )
    assert response.status_code == 201, response.content
    items = response.json()["items"]
    assert [(i["org"], i["status"]) for i in items] == [
        (world.webarch.org.slug, "offered"),
        (world.outlandish.org.slug, "offered"),
    ]
    assert items[0]["reasons"][0] == "Has Drupal at level 5 of 5."
    assert items[0]["score"] > 0
    referral_id = items[0]["id"]
    # Another member cannot accept or decline it; an outsider cannot see it at all.
    assert world.outlandish.api.post(f"/referrals/{referral_id}/accept").status_code == 403
    assert (
        world.outlandish.api.post(f"/referrals/{referral_id}/decline", {"reason": "x"}).status_code
        == 403
    )
    assert world.outsider.api.post(f"/referrals/{referral_id}/accept").status_code == 404
    assert world.outsider.api.get(f"/referrals/{referral_id}").status_code == 404
    assert world.outsider.api.get("/referrals").json()["count"] == 0
    accepted = world.webarch.api.post(f"/referrals/{referral_id}/accept")
    assert accepted.status_code == 200, accepted.content
    opportunity_id = accepted.json()["opportunity_id"]
    opportunity = Opportunity.objects.get(pk=opportunity_id)
    assert opportunity.organisation_id == world.webarch.org.pk
    assert opportunity.owner_id == world.webarch.user.pk
    assert enquiry.reference in opportunity.name
    assert opportunity.company is not None
    assert opportunity.company.name == "Client Trust"
    assert opportunity.company.organisation_id == world.webarch.org.pk
    # A second lead from the same enquirer, accepted, finds them in the member's books.
    again = lead(world)
    second = world.coordinator.api.post(
        f"/enquiries/{again.pk}/referrals", {"orgs": [world.webarch.org.slug]}
    ).json()["items"][0]["id"]
    second_opportunity = Opportunity.objects.get(
        pk=world.webarch.api.post(f"/referrals/{second}/accept").json()["opportunity_id"]
    )
    assert second_opportunity.company_id == opportunity.company_id
    assert second_opportunity.primary_contact_id == opportunity.primary_contact_id is not None
    # Accepting twice is a conflict.
    assert world.webarch.api.post(f"/referrals/{referral_id}/accept").status_code == 409
    # The network sees the status only.
    for viewer in (world.coordinator, world.outlandish):
        seen = viewer.api.get(f"/referrals/{referral_id}").json()
        assert seen["status"] == "accepted"
        assert "opportunity_id" not in seen
        listed = viewer.api.get(f"/enquiries/{enquiry.pk}/referrals").json()["items"]
        assert all("opportunity_id" not in row for row in listed if row["org"] != viewer.org.slug)
        # The member's opportunity stays its own.
        assert viewer.api.get(f"/opportunities/{opportunity_id}").status_code == 404
    own = world.webarch.api.get(f"/referrals/{referral_id}").json()
    assert own["opportunity_id"] == opportunity_id
    # The timeline: on the enquiry in the network's books; the member's own for its opportunity.
    network_events = AuditEvent.objects.filter(
        organisation=world.network.organisation,
        object_type="enquiry",
        object_id=str(enquiry.pk),
    ).values_list("action", flat=True)
    assert {"referral_create", "referral_accept"} <= set(network_events)
    assert (
        not AuditEvent.objects.filter(
            organisation=world.network.organisation, changes__icontains=str(opportunity_id)
        )
        .filter(action="referral_accept")
        .exclude(object_type="enquiry")
        .exists()
    )
    assert AuditEvent.objects.filter(
        organisation=world.webarch.org, object_type="opportunity", object_id=str(opportunity_id)
    ).exists()


def test_decline_needs_a_reason(ready):
    world = ready
    enquiry = lead(world)
    referral_id = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.outlandish.org.slug]}
    ).json()["items"][0]["id"]
    no_reason = world.outlandish.api.post(f"/referrals/{referral_id}/decline", {})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    blank = world.outlandish.api.post(f"/referrals/{referral_id}/decline", {"reason": "  "})
    assert blank.status_code == 422
    declined = world.outlandish.api.post(
        f"/referrals/{referral_id}/decline", {"reason": "Fully booked until spring"}
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert world.outlandish.api.post(f"/referrals/{referral_id}/accept").status_code == 409
    assert Referral.objects.get(pk=referral_id).reason == "Fully booked until spring"
    # A declined referral counts against the member next time.
    second = lead(world)
    ranked = world.coordinator.api.get(f"/enquiries/{second.pk}/referral-candidates").json()
    outlandish = next(c for c in ranked if c["org"] == world.outlandish.org.slug)
    assert "Past referrals: 0 won, 0 accepted, 1 declined." in outlandish["reasons"]


def test_referring_rules(ready):
    world = ready
    not_lead = lead(world, status=EnquiryStatus.TRIAGED)
    response = world.coordinator.api.post(
        f"/enquiries/{not_lead.pk}/referrals", {"orgs": [world.webarch.org.slug]}
    )
    assert response.status_code == 409
    enquiry = lead(world)
    outsider_named = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals",
        {"orgs": [world.webarch.org.slug, world.outsider.org.slug]},
    )
    assert outsider_named.status_code == 422
    assert outsider_named.json()["detail"][0]["loc"] == ["body", "orgs", 1]
    assert not Referral.objects.filter(enquiry=enquiry).exists()
    first = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.webarch.org.slug]}
    )
    assert first.status_code == 201
    again = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals",
        {"orgs": [world.outlandish.org.slug, world.webarch.org.slug]},
    )
    assert again.status_code == 409
    assert Referral.objects.filter(enquiry=enquiry).count() == 1
    # A member that is not the chair may not refer; an outsider gets 404.
    assert (
        world.webarch.api.post(
            f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.outlandish.org.slug]}
        ).status_code
        == 403
    )
    assert (
        world.outsider.api.post(
            f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.outlandish.org.slug]}
        ).status_code
        == 404
    )


def test_referrals_to_us(ready):
    world = ready
    enquiry = lead(world)
    world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals",
        {"orgs": [world.webarch.org.slug, world.outlandish.org.slug]},
    )
    to_us = world.webarch.api.get("/referrals?to_us=true").json()["items"]
    assert [r["org"] for r in to_us] == [world.webarch.org.slug]
    everyone = world.webarch.api.get("/referrals").json()["items"]
    assert {r["org"] for r in everyone} == {world.webarch.org.slug, world.outlandish.org.slug}


def test_facts_load_in_a_fixed_number_of_queries(ready, django_assert_num_queries):
    from salesline.enquiries.referrals import member_facts

    world = ready
    with django_assert_num_queries(6):
        facts, taxonomy = member_facts(world.network)
    assert {f.org: dict(f.skills) for f in facts}[world.webarch.org.slug] == {
        "drupal": 5,
        "hosting": 4,
    }
    assert len(taxonomy) == 5


def test_ranking_reads_the_facts_from_the_cache_until_the_directory_changes(
    ready, django_assert_max_num_queries
):
    from salesline.enquiries.referrals import candidates_for

    world = ready
    enquiry = lead(world)

    def scores():
        ranked = candidates_for(actor=world.coordinator.actor, enquiry_id=enquiry.pk)
        return {c.org: c.score for c in ranked}

    first = scores()
    # Warm: the enquiry, the coordinator's rights and the facts' state; no facts are read.
    with django_assert_max_num_queries(5):
        assert scores() == first
    # A directory write is seen at once (the key changes with the network's audit trail).
    skills(world, world.agile, {"drupal": 5, "ux": 4})
    assert scores()[world.agile.org.slug] > first[world.agile.org.slug]
    # So is a referral's decision.
    (referral_id,) = [
        row["id"]
        for row in world.coordinator.api.post(
            f"/enquiries/{enquiry.pk}/referrals", {"orgs": [world.outlandish.org.slug]}
        ).json()["items"]
    ]
    world.outlandish.api.post(f"/referrals/{referral_id}/decline", {"reason": "Busy"})
    assert scores()[world.outlandish.org.slug] < first[world.outlandish.org.slug]


def test_enquiries_and_triage_keep_the_ranking_facts_warm(ready, django_assert_max_num_queries):
    """Only directory, membership and referral writes change the facts' key: a new enquiry
    (audited in the same books) does not send the next ranking back to the database."""
    from salesline.enquiries.referrals import candidates_for, facts_state

    world = ready
    enquiry = lead(world)
    candidates_for(actor=world.coordinator.actor, enquiry_id=enquiry.pk)
    before = facts_state(world.network)
    enquiry_receive(
        network=world.network,
        data={"name": "Jo", "email": "jo@example.test", "message": "Another enquiry"},
        source="api",
    )
    assert facts_state(world.network) == before
    with django_assert_max_num_queries(5):
        candidates_for(actor=world.coordinator.actor, enquiry_id=enquiry.pk)
    skills(world, world.agile, {"drupal": 2})
    assert facts_state(world.network) != before
