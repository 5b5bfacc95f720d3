"""The coordinator's figures: enquiries, response times against the deadline, referrals,
members' activity, applications and votes."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from salesline.core.errors import NotFound, PermissionDenied
from salesline.enquiries import membership
from salesline.enquiries.coordinator import network_report, network_summary
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Enquiry, Referral, RotaPeriod

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _enquiry(world, category, status, **fields):
    enquiry = enquiry_receive(
        network=world.network,
        data={"name": "Eve", "email": "eve@example.test", "message": "Hello"},
        source="api",
    )
    Enquiry.objects.filter(pk=enquiry.pk).update(category=category, status=status, **fields)
    return Enquiry.objects.get(pk=enquiry.pk)


@time_machine.travel(MONDAY, tick=False)
def test_the_report_counts_what_happened(world):
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 3, 31),
    )
    answered_fast = _enquiry(world, "sales", "lead", first_response_at=MONDAY + timedelta(hours=3))
    _enquiry(world, "sales", "replied", first_response_at=MONDAY + timedelta(days=5))
    _enquiry(world, "jobs", "new")
    overdue = _enquiry(world, "research", "new", respond_by=date(2026, 2, 27))
    Referral.objects.create(
        network=world.network,
        enquiry=answered_fast,
        organisation=world.outlandish.org,
        status="accepted",
        decided_at=MONDAY,
    )
    Referral.objects.create(
        network=world.network,
        enquiry=answered_fast,
        organisation=world.agile.org,
        status="declined",
        reason="Too busy",
    )
    application = membership.application_submit(
        network=world.network,
        data={
            "organisation_name": "New Co-op",
            "country": "GB",
            "legal_form": "co-operative",
            "email": "new@coop.test",
        },
    )
    membership.vote_cast(actor=world.webarch.actor, application_id=application.pk, vote="no")

    report = network_report(actor=world.coordinator.actor, network=world.network)

    enquiries = report["enquiries"]
    assert enquiries["total"] == 4
    assert enquiries["by_category"]["sales"] == 2 and enquiries["by_category"]["jobs"] == 1
    assert enquiries["by_status"]["new"] == 2
    times = report["response_times"]
    assert times["answered"] == 2
    assert times["median_hours_to_first_response"] == pytest.approx((3 + 120) / 2)
    # Received Monday: 2 working days -> due Wednesday; 3 hours is on time, 5 days is late.
    assert times["answered_on_time"] == 1 and times["share_answered_on_time"] == 0.5
    assert times["overdue_now"] == 1 and times["overdue_references"] == [overdue.reference]
    per_member = {row["org"]: row for row in report["referrals"]["per_member"]}
    assert per_member[world.outlandish.org.slug]["accepted"] == 1
    assert per_member[world.agile.org.slug]["declined"] == 1
    activity = {row["org"]: row for row in report["members"]}
    assert activity[world.webarch.org.slug]["enquiries_chaired"] == 4
    assert activity[world.webarch.org.slug]["votes_cast"] == 1
    assert activity[world.outlandish.org.slug]["referrals_taken"] == 1
    assert activity[world.agile.org.slug]["last_activity"] is None
    (open_vote,) = report["applications"]["open_votes"]
    assert (open_vote["yes"], open_vote["no"], open_vote["not_voted"]) == (0, 1, 2)
    assert report["applications"]["by_status"]["voting"] == 1

    summary = network_summary(actor=world.webarch.actor, network=world.network)
    assert summary.chair["org"] == world.webarch.org.slug
    # Open: new, triaged, replied and lead (docs/networks.md); overdue: awaiting a reply, late.
    assert summary.open_enquiries == 4 and summary.overdue_enquiries == 1
    assert summary.open_applications == 1 and not summary.is_coordinator


def test_only_the_coordinator_gets_the_report(world):
    with pytest.raises(PermissionDenied):
        network_report(actor=world.webarch.actor, network=world.network)
    from salesline.enquiries.access import network_get_for

    with pytest.raises(NotFound):
        network_get_for(actor=world.outsider.actor, slug=world.network.slug)
