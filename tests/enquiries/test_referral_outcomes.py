"""Referrals after the hand-over: what the enquiry's timeline shows each member (the same rule
as the referral's own answer), the outcome read from the member's pipeline through the event
seam, withdrawing an offered referral."""

import pytest
from django.test import Client
from django.urls import reverse

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.enquiries.coordinator import network_report
from salesline.enquiries.models import Referral
from salesline.pipeline.services import opportunity_move
from salesline.process import services as process_services

from .directory_helpers import lead, skills, taxonomy

pytestmark = pytest.mark.django_db

SIMPLE_PIPELINE = """\
name: Simple sales
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
"""


@pytest.fixture
def ready(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5, "hosting": 4})
    skills(world, world.outlandish, {"drupal": 2, "python": 5})
    for member in (world.webarch, world.outlandish):
        process_services.process_load(actor=accounts.system_actor(member.org), text=SIMPLE_PIPELINE)
    return world


def _refer(world, enquiry, *members):
    response = world.coordinator.api.post(
        f"/enquiries/{enquiry.pk}/referrals", {"orgs": [m.org.slug for m in members]}
    )
    assert response.status_code == 201, response.content
    return [row["id"] for row in response.json()["items"]]


def _page(member, world, enquiry) -> str:
    client = Client()
    client.force_login(member.user)
    response = client.get(reverse("web:network_enquiry", args=[world.network.slug, enquiry.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_timeline_hides_a_decline_reason_as_the_referral_does(ready):
    world = ready
    enquiry = lead(world)
    (referral_id,) = _refer(world, enquiry, world.outlandish)
    secret = "Our bank will not lend us more this year"
    assert (
        world.outlandish.api.post(
            f"/referrals/{referral_id}/decline", {"reason": secret}
        ).status_code
        == 200
    )
    # Another member sees the decline on the timeline, not its reason — as in the API.
    page = _page(world.webarch, world, enquiry)
    assert "referral_decline" in page
    assert secret not in page
    assert "decline_reason" not in world.webarch.api.get(f"/referrals/{referral_id}").json()
    # The member that declined and the coordinator see it, on the page and in the API.
    for viewer in (world.outlandish, world.coordinator):
        assert secret in _page(viewer, world, enquiry)
        assert viewer.api.get(f"/referrals/{referral_id}").json()["decline_reason"] == secret
    # The audit trail itself keeps it.
    assert AuditEvent.objects.filter(
        organisation=world.network.organisation, action="referral_decline"
    ).get().changes["reason"] == [None, secret]


def test_a_won_opportunity_sets_the_referrals_outcome_end_to_end(ready):
    world = ready
    enquiry = lead(world)
    webarch_referral, outlandish_referral = _refer(world, enquiry, world.webarch, world.outlandish)
    opportunity_id = world.webarch.api.post(f"/referrals/{webarch_referral}/accept").json()[
        "opportunity_id"
    ]
    lost_id = world.outlandish.api.post(f"/referrals/{outlandish_referral}/accept").json()[
        "opportunity_id"
    ]
    run_pending_tasks()
    assert Referral.objects.get(pk=webarch_referral).outcome == ""

    opportunity_move(actor=world.webarch.actor, opportunity_id=opportunity_id, stage="won")
    opportunity_move(
        actor=world.outlandish.actor, opportunity_id=lost_id, stage="lost", reason="Too small"
    )
    run_pending_tasks()

    assert Referral.objects.get(pk=webarch_referral).outcome == "won"
    assert Referral.objects.get(pk=outlandish_referral).outcome == "lost"
    # Audited on the enquiry in the network's books: the outcome, not the opportunity.
    events = AuditEvent.objects.filter(
        organisation=world.network.organisation,
        object_type="enquiry",
        object_id=str(enquiry.pk),
        action="referral_outcome",
    )
    assert sorted(e.changes["outcome"][1] for e in events) == ["lost", "won"]
    assert all("opportunity" not in str(e.changes) for e in events)
    # The same event dispatched again changes nothing.
    run_pending_tasks()
    assert events.count() == 2
    # The coordinator's report counts it.
    report = network_report(actor=world.coordinator.actor, network=world.network)
    assert report["referrals"]["outcomes"] == {"won": 1, "lost": 1}
    # Ranking's past outcomes weigh the win.
    second = lead(world)
    ranked = world.coordinator.api.get(f"/enquiries/{second.pk}/referral-candidates").json()
    reasons = {c["org"]: c["reasons"] for c in ranked}
    assert "Past referrals: 1 won, 0 accepted, 0 declined." in reasons[world.webarch.org.slug]
    assert "Past referrals: 0 won, 1 accepted, 0 declined." in reasons[world.outlandish.org.slug]


def test_an_opportunity_not_from_a_referral_changes_no_referral(ready):
    from salesline.pipeline.services import opportunity_create

    world = ready
    enquiry = lead(world)
    (referral_id,) = _refer(world, enquiry, world.webarch)
    world.webarch.api.post(f"/referrals/{referral_id}/accept")
    other = opportunity_create(actor=world.webarch.actor, data={"name": "Unrelated"})
    opportunity_move(actor=world.webarch.actor, opportunity_id=other.pk, stage="won")
    run_pending_tasks()
    assert Referral.objects.get(pk=referral_id).outcome == ""


def test_withdraw_an_offered_referral(ready):
    world = ready
    enquiry = lead(world)
    first, second = _refer(world, enquiry, world.webarch, world.outlandish)
    # Only the chair or the coordinator; an outsider cannot tell it exists.
    assert world.webarch.api.post(f"/referrals/{first}/withdraw").status_code == 403
    assert world.outsider.api.post(f"/referrals/{first}/withdraw").status_code == 404
    withdrawn = world.coordinator.api.post(f"/referrals/{first}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert world.webarch.api.post(f"/referrals/{first}/accept").status_code == 409
    assert world.coordinator.api.post(f"/referrals/{first}/withdraw").status_code == 409
    world.outlandish.api.post(f"/referrals/{second}/accept")
    assert world.coordinator.api.post(f"/referrals/{second}/withdraw").status_code == 409
    assert AuditEvent.objects.filter(
        organisation=world.network.organisation, action="referral_withdraw"
    ).exists()
