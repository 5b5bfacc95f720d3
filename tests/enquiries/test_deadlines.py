"""The first-response deadline and the worker's overdue flags."""

import datetime as dt

import pytest
from django.utils import timezone

from salesline.core.models import AuditEvent, DomainEvent
from salesline.core.tasks import _PERIODIC
from salesline.core.workdays import add_working_days
from salesline.enquiries import deadlines, intake
from salesline.enquiries.models import Enquiry, RotaPeriod


@pytest.fixture
def chair(world):
    today = timezone.localdate()
    return RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=60),
    )


def _receive(world, **data):
    values = {"name": "Jo Baker", "email": "jo@bakery.test", "message": "A website, please."}
    values.update(data)
    return intake.enquiry_receive(network=world.network, data=values, source="api")


def test_respond_by_is_two_working_days_from_receipt(world, chair):
    enquiry = _receive(world)
    today = timezone.localdate()
    assert enquiry.respond_by == add_working_days(today, 2, country="GB")
    assert enquiry.chair_org == world.webarch.org
    assert enquiry.chair_person == world.webarch.user


def _overdue_mail():
    return DomainEvent.objects.filter(kind="mail_requested", payload__subject__startswith="Overdue")


def test_overdue_enquiries_are_flagged_once_to_the_chair_and_coordinator(world, chair):
    late = _receive(world)
    replied = _receive(world, name="Replied")
    on_time = _receive(world, name="On time")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Enquiry.objects.filter(pk__in=[late.pk, replied.pk]).update(respond_by=yesterday)
    Enquiry.objects.filter(pk=replied.pk).update(status="replied")
    assert deadlines.flag_overdue_enquiries() == [late.reference]
    assert deadlines.flag_overdue_enquiries() == []  # once each
    late.refresh_from_db()
    assert late.overdue_flagged_at is not None
    on_time.refresh_from_db()
    assert on_time.overdue_flagged_at is None
    (event,) = _overdue_mail()
    assert event.payload["to"] == ["bob@webarch.test", "coord@agile.test"]
    assert late.reference in event.payload["subject"]
    assert yesterday.isoformat() in event.payload["subject"]
    assert event.organisation == world.network.organisation
    assert (
        AuditEvent.objects.filter(
            organisation=world.network.organisation,
            action="overdue_flagged",
            object_id=str(late.pk),
        ).count()
        == 1
    )


def test_two_workers_flag_an_enquiry_once(world, chair):
    late = _receive(world)
    Enquiry.objects.filter(pk=late.pk).update(respond_by=timezone.localdate() - dt.timedelta(2))
    # The second worker read the candidate before the first flagged it: its claim finds nothing.
    today = timezone.localdate()
    deadlines.flag_overdue_enquiries(today)
    claimed = deadlines._overdue(today).filter(pk=late.pk).update(overdue_flagged_at=timezone.now())
    assert claimed == 0
    assert _overdue_mail().count() == 1


def test_without_a_chair_the_coordinator_is_told(world):
    late = _receive(world)
    Enquiry.objects.filter(pk=late.pk).update(respond_by=timezone.localdate() - dt.timedelta(1))
    deadlines.flag_overdue_enquiries()
    (event,) = _overdue_mail()
    assert event.payload["to"] == ["coord@agile.test"]


def test_the_worker_runs_the_intake_and_the_deadlines():
    names = set(_PERIODIC)
    assert "enquiries.mail_intake" in names and "enquiries.overdue" in names
