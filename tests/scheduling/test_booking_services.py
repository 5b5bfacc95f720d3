"""Booking a slot: the appointment, the lead it is about, the audit and event, and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent, DomainEvent
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records.models import Lead
from salesline.scheduling import booking
from salesline.scheduling.models import Appointment, Booking

from .booking_fixtures import MONDAY, NOW, appointment, at, make_page

pytestmark = pytest.mark.django_db


def locs(error) -> set:
    return {p.loc for p in error.value.problems}


def test_booking_puts_the_meeting_on_the_calendar_and_captures_a_lead(org, user):
    page = make_page(org, user, title="Intro call")
    done = booking.book(
        page,
        starts_at=at(MONDAY, 10).isoformat(),
        name="Kari Hansen",
        email="Kari@Acme.no",
        now=NOW,
    )
    meeting = done.appointment
    assert done.reference.startswith("BK-") and len(done.reference) == 11
    assert (meeting.owner_id, meeting.kind, meeting.source) == (user.pk, "call", "booking")
    assert (meeting.starts_at, meeting.ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))
    assert meeting.title == "Intro call with Kari Hansen"
    assert meeting.attendees[0] == {"name": "Kari Hansen", "email": "kari@acme.no"}
    lead = Lead.objects.get(pk=meeting.lead_id)
    assert (lead.name, lead.email, lead.source, lead.owner_id) == (
        "Kari Hansen",
        "kari@acme.no",
        "Booking page",
        user.pk,
    )
    event = AuditEvent.objects.get(object_type="appointment", object_id=str(meeting.pk))
    assert event.actor_label == "booking page" and event.actor_id is None
    assert event.changes["reference"] == [None, done.reference]
    # Announced like any new appointment, so the apps that react to appointments see it.
    created = DomainEvent.objects.get(kind="appointment_created")
    assert created.payload["appointment_id"] == meeting.pk
    assert created.payload["lead_id"] == lead.pk
    # The slot is gone.
    assert at(MONDAY, 10) not in [s.starts_at for s in booking.free_slots(page, MONDAY, now=NOW)]


def test_a_known_lead_or_a_persons_open_opportunity_is_linked_not_duplicated(
    org, user, actor, lead, person
):
    page = make_page(org, user)
    first = booking.book(
        page, starts_at=at(MONDAY, 9).isoformat(), name="K", email="KARI@acme.no", now=NOW
    )
    assert first.appointment.lead_id == lead.pk
    opportunity = opportunity_create(
        actor=actor, data={"name": "Archive project", "primary_contact_id": person.pk}
    )
    second = booking.book(
        page, starts_at=at(MONDAY, 9, 30).isoformat(), name="Ola", email=person.email, now=NOW
    )
    assert (second.appointment.opportunity_id, second.appointment.lead_id) == (
        opportunity.pk,
        None,
    )
    assert Lead.objects.filter(organisation=org).count() == 1
    Lead.objects.filter(pk=lead.pk).update(converted_opportunity=opportunity)
    third = booking.book(
        page, starts_at=at(MONDAY, 10).isoformat(), name="K", email=lead.email, now=NOW
    )
    assert (third.appointment.lead_id, third.appointment.opportunity_id) == (
        lead.pk,
        opportunity.pk,
    )


def test_a_taken_slot_answers_conflict_and_books_nothing(org, user):
    page = make_page(org, user, buffer_minutes=10)
    booking.book(page, starts_at=at(MONDAY, 10).isoformat(), name="A", email="a@a.test", now=NOW)
    with pytest.raises(Conflict) as taken:
        booking.book(
            page, starts_at=at(MONDAY, 10).isoformat(), name="B", email="b@b.test", now=NOW
        )
    assert locs(taken) == {("starts_at",)}
    with pytest.raises(Conflict):  # inside the buffer after the first
        booking.book(
            page, starts_at=at(MONDAY, 10, 30).isoformat(), name="B", email="b@b.test", now=NOW
        )
    assert Appointment.objects.count() == 1
    assert not Lead.objects.filter(email="b@b.test").exists()  # rolled back with the refusal


def test_an_appointment_entered_elsewhere_takes_the_slot(org, user):
    page = make_page(org, user)
    appointment(org, user, at(MONDAY, 11), minutes=15)
    with pytest.raises(Conflict):
        booking.book(
            page, starts_at=at(MONDAY, 11).isoformat(), name="B", email="b@b.test", now=NOW
        )


def test_bad_fields_are_named_together(org, user):
    page = make_page(org, user)
    with pytest.raises(ValidationFailed) as bad:
        booking.book(page, starts_at="tomorrow", name=" ", email="not-an-address", now=NOW)
    assert locs(bad) == {("starts_at",), ("name",), ("email",)}
    for start in (
        at(MONDAY, 9, 10).isoformat(),  # off the grid
        at(MONDAY, 17).isoformat(),  # after hours
        "2027-01-04T10:00:00",  # no offset
        at(dt.date(2027, 1, 9), 10).isoformat(),  # Saturday
        at(MONDAY + dt.timedelta(days=30), 10).isoformat(),  # beyond the horizon
        at(dt.date(2026, 12, 28), 10).isoformat(),  # the past
    ):
        with pytest.raises(ValidationFailed) as bad:
            booking.book(page, starts_at=start, name="A", email="a@a.test", now=NOW)
        assert locs(bad) == {("starts_at",)}, start
    assert not Appointment.objects.exists()


def test_a_business_development_page_refuses_past_the_daily_cap(org, user, person, opportunity):
    from .booking_fixtures import pattern

    Opportunity.objects.filter(pk=opportunity.pk).update(primary_contact=person)
    pattern(org, user, business_development_per_day=1)
    page = make_page(org, user, kind="business_development")
    appointment(org, user, at(MONDAY, 9), kind="business_development", objective="x")
    with pytest.raises(Conflict):
        booking.book(
            page, starts_at=at(MONDAY, 14).isoformat(), name="Ola", email=person.email, now=NOW
        )


def test_a_business_development_page_books_a_prospect_a_meeting_and_a_stranger_a_call(
    org, user, person, opportunity
):
    Opportunity.objects.filter(pk=opportunity.pk).update(primary_contact=person)
    page = make_page(org, user, kind="business_development", description="Scope the pilot")
    prospect = booking.book(
        page, starts_at=at(MONDAY, 9).isoformat(), name="Ola", email=person.email, now=NOW
    ).appointment
    assert (prospect.kind, prospect.opportunity_id) == ("business_development", opportunity.pk)
    assert prospect.objective == "Scope the pilot"
    # No opportunity to meet about: a first call, taking no business-development capacity.
    stranger = booking.book(
        page, starts_at=at(MONDAY, 14).isoformat(), name="Kim", email="kim@new.test", now=NOW
    ).appointment
    assert (stranger.kind, stranger.opportunity_id, stranger.objective) == ("call", None, "")
    assert stranger.lead is not None and stranger.lead.email == "kim@new.test"


def test_a_team_page_round_robins_and_refuses_when_all_are_taken(org, user, admin_user):
    page = make_page(org, user, team=[admin_user])
    hosts = [
        booking.book(
            page, starts_at=at(MONDAY, 9).isoformat(), name=who, email=f"{who}@x.test", now=NOW
        ).appointment.owner_id
        for who in "ab"
    ]
    assert hosts == [min(user.pk, admin_user.pk), max(user.pk, admin_user.pk)]
    with pytest.raises(Conflict):
        booking.book(page, starts_at=at(MONDAY, 9).isoformat(), name="c", email="c@x.test", now=NOW)
    # The next slot goes to whoever has fewer bookings from the page (a tie: the lower id).
    later = booking.book(
        page, starts_at=at(MONDAY, 10).isoformat(), name="d", email="d@x.test", now=NOW
    )
    assert later.appointment.owner_id == min(user.pk, admin_user.pk)
    again = booking.book(
        page, starts_at=at(MONDAY, 10).isoformat(), name="e", email="e@x.test", now=NOW
    )
    assert again.appointment.owner_id == max(user.pk, admin_user.pk)


def test_a_deactivated_or_unknown_page_is_not_public(org, user):
    make_page(org, user, slug="gone", active=False)
    for slug in ("gone", "never"):
        with pytest.raises(NotFound):
            booking.public_page(slug)


def test_pages_are_made_by_the_owner_their_coordinator_or_an_admin(
    org, user, actor, admin_actor, admin_user
):
    from salesline.accounts import services as accounts

    mine = booking.page_create(actor, slug="ann-30")
    assert (mine.owner_id, mine.duration_minutes, mine.kind) == (user.pk, 30, "call")
    with pytest.raises(PermissionDenied):
        booking.page_create(actor, owner_id=admin_user.pk, slug="boss")
    booking.page_create(admin_actor, owner_id=user.pk, slug="ann-60", duration_minutes=60)
    coordinator = accounts.user_create(
        email="cora@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    accounts.coordination_set(
        actor=admin_actor, coordinator_id=coordinator.pk, salesperson_ids=[user.pk]
    )
    cora = accounts.actor_for(coordinator, org)
    booking.page_create(cora, owner_id=user.pk, slug="ann-by-cora")
    assert {p.slug for p in booking.page_list(cora)} == {"ann-30", "ann-60", "ann-by-cora"}
    with pytest.raises(ValidationFailed) as bad:
        booking.page_create(
            actor, slug="Ann 30!", duration_minutes=0, buffer_minutes=-1, kind="party"
        )
    assert locs(bad) == {("slug",), ("duration_minutes",), ("buffer_minutes",), ("kind",)}
    with pytest.raises(ValidationFailed) as taken:
        booking.page_create(actor, slug="ann-30")
    assert [p.type for p in taken.value.problems] == ["taken"]


def test_pages_are_edited_and_deactivated_with_an_audit(org, user, actor, other_actor):
    page = booking.page_create(actor, slug="ann-30")
    booking.page_update(actor, page.pk, {"active": False, "buffer_minutes": 10})
    page.refresh_from_db()
    assert (page.active, page.buffer_minutes, page.version) == (False, 10, 2)
    event = AuditEvent.objects.get(object_type="bookingpage", action="update")
    assert event.changes == {"active": [True, False], "buffer_minutes": [0, 10]}
    with pytest.raises(NotFound):
        booking.page_update(other_actor, page.pk, {"active": True})
    assert Booking.objects.count() == 0


def test_both_sides_are_asked_a_confirmation_with_the_meeting_attached(org, user):
    from icalendar import Calendar

    from salesline.core.mail_requests import MAIL_REQUESTED
    from salesline.core.models import DomainEvent

    page = make_page(org, user, title="Intro call")
    done = booking.book(
        page, starts_at=at(MONDAY, 10).isoformat(), name="Kari", email="kari@acme.no", now=NOW
    )
    requests = {
        tuple(e.payload["to"]): e.payload for e in DomainEvent.objects.filter(kind=MAIL_REQUESTED)
    }
    assert set(requests) == {("kari@acme.no",), (user.email,)}
    for payload in requests.values():
        assert payload["send"] is True and payload["lead_id"] == done.appointment.lead_id
        (attachment,) = payload["attachments"]
        (event,) = Calendar.from_ical(attachment["text"]).walk("VEVENT")
        assert str(event["uid"]) == done.appointment.uid
        assert event.decoded("dtstart") == at(MONDAY, 10)


def test_a_refused_booking_asks_for_no_mail(org, user):
    from salesline.core.models import DomainEvent

    page = make_page(org, user)
    appointment(org, user, at(MONDAY, 10))
    with pytest.raises(Conflict):
        booking.book(
            page, starts_at=at(MONDAY, 10).isoformat(), name="K", email="k@x.test", now=NOW
        )
    assert not DomainEvent.objects.filter(kind="mail_requested").exists()


def test_a_day_with_its_booked_meetings_full_offers_no_more_slots(org, user):
    page = make_page(org, user, max_per_day=2)
    for hour, who in ((9, "a"), (11, "b")):
        booking.book(
            page, starts_at=at(MONDAY, hour).isoformat(), name=who, email=f"{who}@x.test", now=NOW
        )
    assert booking.free_slots(page, MONDAY, now=NOW) == []
    assert booking.free_slots(page, MONDAY + dt.timedelta(days=1), now=NOW)
    with pytest.raises(Conflict):
        booking.book(
            page, starts_at=at(MONDAY, 14).isoformat(), name="c", email="c@x.test", now=NOW
        )
    # A cancelled booking gives its place back; no limit (0) leaves only the calendar's rules.
    Appointment.objects.filter(starts_at=at(MONDAY, 9)).update(cancelled_at=NOW)
    assert booking.free_slots(page, MONDAY, now=NOW)
    unlimited = make_page(org, user, max_per_day=0)
    booking.book(page, starts_at=at(MONDAY, 14).isoformat(), name="c", email="c@x.test", now=NOW)
    assert booking.free_slots(unlimited, MONDAY, now=NOW)
