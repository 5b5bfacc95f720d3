"""What a member's leaving does to its open work (docs/networks.md, "A member leaving"): the
referrals offered to it are withdrawn, its votes on open applications stop counting (an
application decided by that is decided at once), the rest is listed by the preview; a refused
leave changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.enquiries import access, bids, membership, referrals
from salesline.enquiries.models import (
    Application,
    Enquiry,
    NetworkMember,
    Referral,
    RotaPeriod,
    Vote,
)
from salesline.enquiries.network_services import (
    member_leave,
    member_leave_preview,
    network_add_member,
)

from .conftest import _member
from .directory_helpers import lead, skills, taxonomy

pytestmark = pytest.mark.django_db

UK_COOP = {
    "organisation_name": "Digital Commons Co-op",
    "country": "GB",
    "legal_form": "Worker co-operative",
    "email": "hello@commons.test",
    "message": "We build websites for charities.",
}


def _leave(world, member):
    return member_leave(
        actor=world.coordinator.actor, network_slug="cotech", org_slug=member.org.slug
    )


def _books(world, **filters):
    return AuditEvent.objects.filter(organisation=world.network.organisation, **filters)


def _apply(world):
    return membership.application_submit(network=world.network, data=UK_COOP)


def _vote(member, application, vote):
    membership.vote_cast(actor=member.actor, application_id=application.pk, vote=vote)


# ------------------------------------------------------------------- referrals


@pytest.fixture
def referred(world):
    """A lead referred to Webarchitects and Outlandish; Webarchitects declined, so only
    Outlandish's is still offered. A second lead's referral Outlandish accepted."""
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5})
    skills(world, world.outlandish, {"drupal": 3})
    enquiry = lead(world)
    made = referrals.referrals_create(
        actor=world.coordinator.actor,
        enquiry_id=enquiry.pk,
        org_slugs=[world.webarch.org.slug, world.outlandish.org.slug],
    )
    referrals.referral_decline(actor=world.webarch.actor, referral_id=made[0].pk, reason="Busy")
    other = lead(world)
    (taken,) = referrals.referrals_create(
        actor=world.coordinator.actor, enquiry_id=other.pk, org_slugs=[world.outlandish.org.slug]
    )
    referrals.referral_accept(actor=world.outlandish.actor, referral_id=taken.pk)
    return enquiry, made[1], taken


def test_a_referral_offered_to_the_leaver_is_withdrawn_and_the_lead_can_be_referred_again(
    world, referred
):
    enquiry, offered, accepted = referred
    _leave(world, world.outlandish)
    offered.refresh_from_db()
    assert offered.status == "withdrawn"
    assert offered.reason == referrals.LEFT_THE_NETWORK == "member left the network"
    assert offered.decided_by == world.coordinator.user
    assert offered.decided_at is not None
    # What was decided stays as it was: the accepted one (and the other member's decline).
    accepted.refresh_from_db()
    assert accepted.status == "accepted"
    assert Referral.objects.get(enquiry=enquiry, organisation=world.webarch.org).status == (
        "declined"
    )
    # On the enquiry's trail, in the network's books, like a withdrawal by the chair.
    (event,) = _books(
        world, object_type="enquiry", object_id=str(enquiry.pk), action="referral_withdraw"
    )
    assert event.changes["organisation"] == [None, world.outlandish.org.slug]
    assert event.changes["status"] == ["offered", "withdrawn"]
    assert event.changes["reason"] == [None, "member left the network"]
    (left,) = _books(world, action="member_leave")
    assert left.changes["referrals_withdrawn"] == [None, [enquiry.reference]]
    # The lead is the chair's again: referred to a member, never to the former one.
    assert Enquiry.objects.get(pk=enquiry.pk).status == "lead"
    with pytest.raises(ValidationFailed) as refused:
        referrals.referrals_create(
            actor=world.coordinator.actor,
            enquiry_id=enquiry.pk,
            org_slugs=[world.outlandish.org.slug],
        )
    assert refused.value.problems[0].loc == ("orgs", 0)
    (again,) = referrals.referrals_create(
        actor=world.coordinator.actor, enquiry_id=enquiry.pk, org_slugs=[world.agile.org.slug]
    )
    assert again.status == "offered"


def test_the_withdrawn_referral_cannot_be_answered_any_more(world, referred):
    _, offered, _ = referred
    _leave(world, world.outlandish)
    # The former member cannot reach it at all; nobody can decide it again.
    with pytest.raises(NotFound):
        referrals.referral_accept(actor=world.outlandish.actor, referral_id=offered.pk)
    with pytest.raises(Conflict):
        referrals.referral_withdraw(actor=world.coordinator.actor, referral_id=offered.pk)


# ------------------------------------------------------------------- votes


def test_the_leavers_vote_on_an_open_application_no_longer_counts(world):
    application = _apply(world)
    _vote(world.agile, application, "yes")
    _vote(world.outlandish, application, "no")
    assert membership.tally(application).outcome == "undecided"  # 1-1, Webarchitects to vote
    _leave(world, world.outlandish)
    application.refresh_from_db()
    assert application.status == "voting"  # 1 yes of 2 members: Webarchitects could tie it
    assert not Vote.objects.filter(application=application, organisation=world.outlandish.org)
    result = membership.tally(application)
    assert (result.yes, result.no, result.members, result.not_voted) == (1, 0, 2, 1)
    (view,) = membership.application_views(actor=world.agile.actor, applications=[application])
    assert [vote.org for vote in view.votes] == [world.agile.org.slug]  # not among the voters
    (event,) = _books(world, object_type="application", action="vote_void")
    assert event.object_id == str(application.pk)
    assert event.changes == {
        "vote": ["no", None],
        "member": [world.outlandish.org.slug, None],
        "reason": [None, "member left the network"],
    }
    (left,) = _books(world, action="member_leave")
    assert left.changes["votes_void"] == [None, [application.pk]]
    assert "applications_decided" not in left.changes


def test_an_application_the_leaving_makes_certain_is_decided_at_once(world):
    application = _apply(world)
    _vote(world.agile, application, "yes")
    _vote(world.outlandish, application, "no")
    # Webarchitects has not voted: without it, every member has voted, 1-1, a tie rejects.
    _leave(world, world.webarch)
    application.refresh_from_db()
    assert application.status == "rejected"
    assert application.members_at_decision == 2
    assert application.reasons == ["Rejected by the members' vote: 1 yes, 1 no of 2 members."]
    (decided,) = _books(world, object_type="application", action="decide")
    assert decided.changes["members_at_decision"] == [None, 2]
    assert not _books(world, action="vote_void").exists()  # it had not voted
    (left,) = _books(world, action="member_leave")
    assert left.changes["applications_decided"] == [None, {str(application.pk): "rejected"}]


def test_an_approval_made_certain_by_the_leaving_admits_the_applicant(world):
    fourth = _member("Fourth Co-op", "fay@fourth.test")
    network_add_member(network_slug="cotech", org_slug=fourth.org.slug)
    application = _apply(world)
    _vote(world.agile, application, "yes")
    _vote(world.webarch, application, "yes")
    _vote(world.outlandish, application, "no")
    assert Application.objects.get(pk=application.pk).status == "voting"  # a 2-2 tie possible
    _leave(world, fourth)
    application.refresh_from_db()
    assert application.status == "approved"
    assert access.is_member(world.network, application.organisation)
    assert not access.is_member(world.network, fourth.org)


def test_a_vote_past_its_deadline_stays_for_the_worker_to_count(world):
    application = _apply(world)
    _vote(world.outlandish, application, "yes")
    with time_machine.travel(application.voting_closes_at + timedelta(minutes=5)):
        _leave(world, world.outlandish)
        assert Vote.objects.filter(application=application).count() == 1
        assert membership.applications_close_due() == 1
    application.refresh_from_db()
    assert application.status == "approved"  # its yes, cast while a member, by the deadline


def test_a_decided_applications_votes_stay(world):
    application = _apply(world)
    _vote(world.agile, application, "yes")
    _vote(world.outlandish, application, "yes")
    assert Application.objects.get(pk=application.pk).status == "approved"
    _leave(world, world.outlandish)
    assert Vote.objects.filter(application=application, organisation=world.outlandish.org)


# ------------------------------------------------------------------- refusals


def test_a_refused_leave_changes_nothing(world, referred):
    _, offered, _ = referred
    application = _apply(world)
    _vote(world.outlandish, application, "no")
    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today + timedelta(days=5),
        ends_on=today + timedelta(days=50),
    )
    with pytest.raises(Conflict, match="on the rota from"):
        _leave(world, world.outlandish)
    assert access.is_member(world.network, world.outlandish.org)
    assert Referral.objects.get(pk=offered.pk).status == "offered"
    assert Vote.objects.filter(application=application, organisation=world.outlandish.org)
    assert not _books(world, action__in=["member_leave", "vote_void"]).exists()
    assert not _books(world, action="referral_withdraw").exists()


def test_only_the_members_admin_or_the_coordinator(world, referred):
    _, offered, _ = referred
    for actor in (world.outlandish.actor, world.webarch.actor):  # a salesperson; another member
        with pytest.raises(PermissionDenied):
            member_leave(actor=actor, network_slug="cotech", org_slug=world.outlandish.org.slug)
        with pytest.raises(PermissionDenied):
            member_leave_preview(
                actor=actor, network_slug="cotech", org_slug=world.outlandish.org.slug
            )
    with pytest.raises(NotFound):
        member_leave(
            actor=world.outsider.actor, network_slug="cotech", org_slug=world.outlandish.org.slug
        )
    assert Referral.objects.get(pk=offered.pk).status == "offered"
    admin = accounts.user_create(
        email="admin@outlandish.test",
        actor=accounts.system_actor(world.outlandish.org),
        role="admin",
    )
    member_leave(
        actor=accounts.actor_for(admin, world.outlandish.org),
        network_slug="cotech",
        org_slug=world.outlandish.org.slug,
    )
    withdrawn = Referral.objects.get(pk=offered.pk)
    assert withdrawn.status == "withdrawn" and withdrawn.decided_by == admin
    assert NetworkMember.objects.get(organisation=world.outlandish.org).left_at is not None


# ------------------------------------------------------------------- the preview


def test_the_preview_lists_the_open_work_and_what_holds_it_back(world, referred):
    enquiry, offered, _ = referred
    application = _apply(world)
    _vote(world.outlandish, application, "no")
    bid = bids.bid_create(
        actor=world.outlandish.actor,
        data={
            "network": "cotech",
            "title": "Council portal",
            "members": [world.outlandish.org.slug, world.webarch.org.slug],
            "lead_member": world.outlandish.org.slug,
        },
    )
    Enquiry.objects.filter(pk=enquiry.pk).update(chair_org=world.outlandish.org)
    today = timezone.localdate()
    ended = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today - timedelta(days=40),
        ends_on=today - timedelta(days=11),
    )
    before = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=70),
        ends_on=today - timedelta(days=41),
        handover_notes="Notes",
        handover_written_at=timezone.now(),
    )
    preview = member_leave_preview(
        actor=world.coordinator.actor, network_slug="cotech", org_slug=world.outlandish.org.slug
    )
    assert preview.refusals == []
    assert [r.pk for r in preview.referrals] == [offered.pk]
    assert [(a.pk, vote) for a, vote in preview.votes] == [(application.pk, "no")]
    (part,) = preview.bids
    assert (part.bid.pk, part.is_lead, part.confirmed) == (bid.pk, True, True)
    assert [e.pk for e in preview.enquiries] == [enquiry.pk]
    assert [p.pk for p in preview.handovers_to_write] == [ended.pk]
    assert [p.pk for p in preview.handovers_to_acknowledge] == [before.pk]
    # A period to come holds it back: the refusal is in the preview, nothing changed.
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today + timedelta(days=1),
        ends_on=today + timedelta(days=30),
    )
    preview = member_leave_preview(
        actor=world.coordinator.actor, network_slug="cotech", org_slug=world.outlandish.org.slug
    )
    assert len(preview.refusals) == 1 and "on the rota from" in preview.refusals[0]
    home = member_leave_preview(
        actor=world.coordinator.actor, network_slug="cotech", org_slug=world.agile.org.slug
    )
    assert home.refusals == [
        "Agile Collective is the coordinator's home: change the coordinator before it leaves."
    ]
    # Leaving leaves the bid as it was.
    _leave_anyway = RotaPeriod.objects.filter(starts_on__gt=today).delete()
    assert _leave_anyway[0] == 1
    _leave(world, world.outlandish)
    bid.refresh_from_db()
    assert world.outlandish.org in bid.members.all()
    assert world.outlandish.org in bid.confirmed_members.all()
    assert bid.lead_member == world.outlandish.org


# ------------------------------------------------------------------- hand-overs


def _reminders():
    from salesline.core.mail_requests import MAIL_REQUESTED
    from salesline.core.models import DomainEvent

    return [
        event.payload
        for event in DomainEvent.objects.filter(kind=MAIL_REQUESTED).order_by("pk")
        if "hand-over" in event.payload["subject"]
    ]


def test_a_former_chairs_unwritten_hand_over_is_asked_of_the_coordinator(world):
    from salesline.enquiries.rota_services import rota_send_reminders

    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today - timedelta(days=40),
        ends_on=today - timedelta(days=1),
    )
    _leave(world, world.outlandish)
    assert rota_send_reminders(today) == 1
    (reminder,) = _reminders()
    assert reminder["to"] == ["coord@agile.test"]
    assert "write the chair's hand-over" in reminder["subject"]


def test_nobody_is_reminded_to_acknowledge_for_a_former_member(world):
    from salesline.enquiries.rota_services import rota_send_reminders

    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=60),
        ends_on=today - timedelta(days=31),
        handover_notes="All yours.",
        handover_written_at=timezone.now(),
    )
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today - timedelta(days=30),
        ends_on=today - timedelta(days=1),
        handover_notes="Done.",
        handover_written_at=timezone.now(),
        acknowledged_at=timezone.now(),
    )
    assert rota_send_reminders(today) == 1  # Outlandish, the next chair, to acknowledge
    assert _reminders()[-1]["to"] == ["cat@outlandish.test"]
    _leave(world, world.outlandish)
    assert rota_send_reminders(today + timedelta(days=1)) == 0
