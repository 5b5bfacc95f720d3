"""Joining a network by the members' vote: screening, the vote, the deadline, approval."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.auth import user_by_email
from salesline.accounts.models import Organisation, Role
from salesline.accounts.selectors import roles_of
from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import AuditEvent, DomainEvent
from salesline.enquiries import membership
from salesline.enquiries.access import is_member
from salesline.enquiries.models import Application, NetworkMember

UK_COOP = {
    "organisation_name": "Digital Commons Co-op",
    "country": "GB",
    "legal_form": "Worker co-operative",
    "email": "hello@commons.test",
    "message": "We build websites for charities.",
}


def _mails(to: str) -> list[dict]:
    return [
        event.payload
        for event in DomainEvent.objects.filter(kind=MAIL_REQUESTED).order_by("pk")
        if to in event.payload["to"]
    ]


def _apply(world, **changes):
    return membership.application_submit(network=world.network, data={**UK_COOP, **changes})


def test_an_eligible_application_opens_a_vote_with_the_deadline(world):
    before = timezone.now()
    application = _apply(world)
    assert application.status == "voting"
    assert application.reasons == []
    closes = application.voting_closes_at - before
    assert timedelta(days=14) <= closes < timedelta(days=14, minutes=1)
    assert AuditEvent.objects.filter(
        organisation=world.network.organisation, object_type="application", action="create"
    ).exists()
    assert _mails("hello@commons.test") == []


def test_an_ineligible_applicant_is_signposted_and_the_members_asked(world):
    accounts.user_create(
        actor=accounts.system_actor(world.webarch.org), email="boss@webarch.test", role=Role.ADMIN
    )
    application = _apply(world, country="FR", organisation_name="Scop Paris")
    assert application.status == "ineligible"
    assert any("GB" in reason for reason in application.reasons)
    assert application.voting_closes_at is None
    (reply,) = _mails("hello@commons.test")
    assert reply["send"] is True
    assert "International Co-operative Alliance" in " ".join(reply["body"].split())
    (question,) = _mails("boss@webarch.test")
    assert "local network" in question["subject"]
    assert "Scop Paris" in question["body"]


def test_a_company_is_not_a_cooperative(world):
    application = _apply(world, legal_form="Private limited company")
    assert application.status == "ineligible"
    assert "co-operative" in application.reasons[0]


def test_an_application_names_every_problem(world):
    with pytest.raises(ValidationFailed) as failed:
        membership.application_submit(
            network=world.network,
            data={"organisation_name": "", "country": "XX", "legal_form": "", "email": "nope"},
        )
    assert sorted(p.loc for p in failed.value.problems) == [
        ("country",),
        ("email",),
        ("legal_form",),
        ("organisation_name",),
    ]
    assert not Application.objects.exists()


def test_one_vote_per_member_and_only_members_vote(world):
    application = _apply(world)
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="yes")
    with pytest.raises(Conflict):
        membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="no")
    with pytest.raises(NotFound):
        membership.vote_cast(actor=world.outsider.actor, application_id=application.pk, vote="yes")
    assert application.votes.count() == 1


def test_a_vote_that_makes_the_outcome_certain_decides_early(world):
    # Three members, counted against the votes cast, more than half: two yes of three
    # is a majority whatever the third does.
    application = _apply(world)
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="yes")
    application.refresh_from_db()
    assert application.status == "voting"
    membership.vote_cast(actor=world.outlandish.actor, application_id=application.pk, vote="yes")
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.decided_at is not None
    with pytest.raises(Conflict):
        membership.vote_cast(actor=world.agile.actor, application_id=application.pk, vote="no")


def test_approval_creates_the_member_organisation_its_admin_and_the_onboarding_message(world):
    application = _apply(world)
    for member in (world.webarch, world.outlandish):
        membership.vote_cast(actor=member.actor, application_id=application.pk, vote="yes")
    application.refresh_from_db()
    organisation = application.organisation
    assert organisation is not None and organisation.name == "Digital Commons Co-op"
    assert organisation.template == "partnerships"
    assert is_member(world.network, organisation)
    assert NetworkMember.objects.get(
        network=world.network, organisation=organisation
    ).joined_by == ("vote")
    admin = user_by_email("hello@commons.test")
    assert roles_of(admin, organisation) == {"admin"}
    assert admin.has_usable_password()  # so the password reset flow reaches them
    (welcome,) = _mails("hello@commons.test")
    assert welcome["subject"] == "Welcome to CoTech"
    assert "/password/reset/" in welcome["body"]


def test_an_organisation_applying_for_itself_becomes_the_member(world):
    application = membership.application_submit(
        network=world.network,
        data={**UK_COOP, "organisation_name": world.outsider.org.name},
        actor=world.outsider.actor,
    )
    assert application.organisation == world.outsider.org
    for member in (world.webarch, world.outlandish):
        membership.vote_cast(actor=member.actor, application_id=application.pk, vote="yes")
    assert is_member(world.network, world.outsider.org)
    assert Organisation.objects.filter(name=UK_COOP["organisation_name"]).count() == 0


def test_a_member_cannot_apply_again(world):
    with pytest.raises(Conflict):
        membership.application_submit(
            network=world.network,
            data={**UK_COOP, "organisation_name": world.webarch.org.name},
            actor=world.webarch.actor,
        )


def test_the_deadline_decides_what_the_votes_left_open(world):
    application = _apply(world)
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="yes")
    membership.vote_cast(actor=world.outlandish.actor, application_id=application.pk, vote="no")
    application.refresh_from_db()
    assert application.status == "voting"  # 1-1 with Agile still to vote
    assert membership.applications_close_due() == 0
    with time_machine.travel(application.voting_closes_at + timedelta(seconds=1)):
        with pytest.raises(Conflict):  # too late to vote
            membership.vote_cast(actor=world.agile.actor, application_id=application.pk, vote="yes")
        assert membership.applications_close_due() == 1
        assert membership.applications_close_due() == 0  # once only
    application.refresh_from_db()
    assert application.status == "rejected"  # a tie is not a majority
    assert "1 yes, 1 no" in application.reasons[0]
    assert not NetworkMember.objects.filter(
        network=world.network, organisation__name=UK_COOP["organisation_name"]
    ).exists()


def test_the_deadline_approves_a_majority_of_votes_cast(world):
    application = _apply(world)
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="yes")
    with time_machine.travel(application.voting_closes_at + timedelta(hours=1)):
        assert membership.applications_close_due() == 1
    application.refresh_from_db()
    assert application.status == "approved"
    assert is_member(world.network, application.organisation)


def test_borderline_flag_with_facts(world):
    application = _apply(world)
    with pytest.raises(ValidationFailed):
        membership.application_flag_borderline(
            actor=world.coordinator.actor, application_id=application.pk, facts=""
        )
    flagged = membership.application_flag_borderline(
        actor=world.coordinator.actor,
        application_id=application.pk,
        facts="A co-operative since March; two of five staff are members.",
    )
    assert flagged.borderline and "two of five" in flagged.borderline_facts
    with pytest.raises(NotFound):
        membership.application_flag_borderline(
            actor=world.outsider.actor, application_id=application.pk, facts="x"
        )


def test_an_applicant_who_already_uses_salesline_keeps_their_password(world):
    # bob@webarch.test signs in with a password; applying for a new co-op must not change it.
    bob = world.webarch.user
    bob.set_password("an old secret phrase 42")
    bob.save(update_fields=["password"])
    application = _apply(world, email="bob@webarch.test")
    for member in (world.webarch, world.outlandish):
        membership.vote_cast(actor=member.actor, application_id=application.pk, vote="yes")
    bob.refresh_from_db()
    assert bob.check_password("an old secret phrase 42")
    application.refresh_from_db()
    assert roles_of(bob, application.organisation) == {"admin"}
    (welcome,) = _mails("bob@webarch.test")
    assert "/password/reset/" not in welcome["body"]
    assert "sign in as usual" in welcome["body"]


def test_an_organisation_applying_for_itself_is_told_to_sign_in(world):
    application = membership.application_submit(
        network=world.network,
        data={
            **UK_COOP,
            "organisation_name": world.outsider.org.name,
            "email": "dan@outsider.test",
        },
        actor=world.outsider.actor,
    )
    for member in (world.webarch, world.outlandish):
        membership.vote_cast(actor=member.actor, application_id=application.pk, vote="yes")
    (welcome,) = _mails("dan@outsider.test")
    assert welcome["subject"] == "Welcome to CoTech"
    assert "Sign in to Salesline as usual" in welcome["body"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_closing_at_once_decide_an_application_once(world):
    import threading

    from django.db import connection

    application = _apply(world)
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="yes")
    Application.objects.filter(pk=application.pk).update(
        voting_closes_at=timezone.now() - timedelta(minutes=1)
    )
    start = threading.Barrier(2)
    decided: list[int] = []

    def worker():
        try:
            start.wait()
            decided.append(membership.applications_close_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(decided) == [0, 1]
    application.refresh_from_db()
    assert application.status == "approved"
    assert NetworkMember.objects.filter(organisation=application.organisation).count() == 1
    assert len(_mails("hello@commons.test")) == 1


def test_an_organisation_being_voted_on_cannot_apply_again(world):
    _apply(world)
    with pytest.raises(Conflict):
        _apply(world, organisation_name="digital commons co-op")
    assert Application.objects.count() == 1
