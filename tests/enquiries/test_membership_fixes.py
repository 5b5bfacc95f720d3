"""Applications: the tallies are frozen at the decision (the new member does not count as "not
voted"), and the applicant organisation reads its own application (status and reasons, not who
voted how)."""

from salesline.enquiries import membership
from salesline.enquiries.models import Application

UK_COOP = {
    "organisation_name": "Digital Commons Co-op",
    "country": "GB",
    "legal_form": "Worker co-operative",
    "email": "hello@commons.test",
    "message": "We build websites for charities.",
}


def _vote(world, application, *members, vote="yes"):
    for member in members:
        membership.vote_cast(actor=member.actor, application_id=application.pk, vote=vote)


def test_the_tally_is_frozen_at_the_decision(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    _vote(world, application, world.webarch, world.outlandish)
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.members_at_decision == 3
    # The network has four members now; the tally still reads 2 yes of 3, one not voted.
    body = world.webarch.api.get(f"/applications/{application.pk}").json()
    assert body["tallies"] == {"yes": 2, "no": 0, "members": 3, "not_voted": 1}
    listed = world.agile.api.get("/networks/cotech/applications").json()
    (row,) = [item for item in listed if item["id"] == application.pk]
    assert row["tallies"]["not_voted"] == 1
    assert membership.tally(Application.objects.get(pk=application.pk)).members == 3
    assert "2 yes, 0 no of 3 members" in body["reasons"][0]


def test_a_voting_application_counts_the_members_of_now(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    _vote(world, application, world.webarch)
    application.refresh_from_db()
    assert application.members_at_decision is None
    body = world.webarch.api.get(f"/applications/{application.pk}").json()
    assert body["tallies"]["members"] == 3 and body["tallies"]["not_voted"] == 2


def test_the_applicant_organisation_reads_its_own_application_without_the_votes(world):
    application = membership.application_submit(
        network=world.network,
        data={**UK_COOP, "organisation_name": world.outsider.org.name},
        actor=world.outsider.actor,
    )
    assert application.organisation == world.outsider.org
    _vote(world, application, world.webarch, vote="no")
    membership.application_flag_borderline(
        actor=world.coordinator.actor, application_id=application.pk, facts="Members only"
    )
    response = world.outsider.api.get(f"/applications/{application.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "voting"
    assert body["tallies"] is None and body["votes"] == [] and body["my_vote"] is None
    assert body["borderline_facts"] == ""
    assert "webarch" not in response.content.decode().lower()
    # Rejected: the applicant sees the outcome and the reasons.
    _vote(world, application, world.outlandish, vote="no")  # certain now: decided early
    body = world.outsider.api.get(f"/applications/{application.pk}").json()
    assert body["status"] == "rejected"
    assert body["reasons"] and "Rejected by the members' vote" in body["reasons"][0]
    assert body["tallies"] is None and body["votes"] == []
    # Members still see who voted how.
    member_view = world.webarch.api.get(f"/applications/{application.pk}").json()
    assert {vote["org"] for vote in member_view["votes"]} == {
        world.webarch.org.slug,
        world.outlandish.org.slug,
    }


def test_another_organisation_gets_404_for_an_application(world):
    mine = membership.application_submit(
        network=world.network,
        data={**UK_COOP, "organisation_name": world.outsider.org.name},
        actor=world.outsider.actor,
    )
    named_by_text = membership.application_submit(
        network=world.network, data={**UK_COOP, "organisation_name": "Someone Else"}
    )
    assert world.outsider.api.get(f"/applications/{named_by_text.pk}").status_code == 404
    # An application naming no organisation is read by members only.
    assert named_by_text.organisation is None
    from tests.enquiries.conftest import _member

    stranger = _member("Stranger Co", "sam@stranger.test")
    assert stranger.api.get(f"/applications/{mine.pk}").status_code == 404
    # The applicant still cannot vote.
    assert (
        world.outsider.api.post(f"/applications/{mine.pk}/votes", {"vote": "yes"}).status_code
        == 404
    )
