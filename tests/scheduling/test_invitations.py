"""Invitations: an appointment's e-mails carry it as an ICS file, through the one mail path
(the event seam, the playbooks' messages, the worker, a real SMTP server on loopback)."""

import datetime as dt
import uuid

import pytest
from icalendar import Calendar

from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery
from salesline.playbooks.models import Message
from salesline.scheduling import ics, invitations
from salesline.scheduling.models import Appointment
from tests.playbooks.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


def _appointment(org, user, **extra) -> Appointment:
    values = {
        "organisation": org,
        "owner": user,
        "kind": Appointment.Kind.CALL,
        "title": "Archive walkthrough",
        "starts_at": dt.datetime(2027, 3, 2, 10, 0, tzinfo=dt.UTC),
        "ends_at": dt.datetime(2027, 3, 2, 10, 30, tzinfo=dt.UTC),
        "address": "1 High Street, Leeds",
        "latitude": 53.8,
        "longitude": -1.55,
        "attendees": [{"name": "Ola Nordmann", "email": "ola@acme.no"}],
        "objective": "Agree the pilot's scope",
        "uid": f"{uuid.uuid4()}@salesline",
    }
    values.update(extra)
    return Appointment.objects.create(**values)


def _events(text: str):
    return list(Calendar.from_ical(text).walk("VEVENT"))


def test_the_ics_of_an_appointment_parses_back_with_its_times_and_people(org, user):
    appointment = _appointment(org, user)
    (event,) = _events(ics.calendar_text([appointment], method="REQUEST"))
    assert str(event["uid"]) == appointment.uid
    assert event.decoded("dtstart") == appointment.starts_at
    assert event.decoded("dtend") == appointment.ends_at
    assert str(event["summary"]) == "Archive walkthrough"
    assert str(event["location"]) == "1 High Street, Leeds"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == f"mailto:{user.email}"
    attendees = event["attendee"]
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a) for a in attendees] == ["mailto:ola@acme.no"]
    assert str(attendees[0].params["cn"]) == "Ola Nordmann"
    assert "Objective: Agree the pilot's scope" in str(event["description"])
    # The other side's copy keeps the objective to the salesperson.
    (theirs,) = _events(ics.calendar_text([appointment], private=False))
    assert "description" not in theirs


def test_a_cancelled_appointment_is_cancelled_in_the_calendar_file(org, user):
    appointment = _appointment(org, user, sequence=2)
    appointment.cancelled_at = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    calendar = Calendar.from_ical(ics.calendar_text([appointment], method="CANCEL"))
    assert str(calendar["method"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["status"]), int(event["sequence"])) == ("CANCELLED", 2)


def test_both_sides_get_a_confirmation_with_the_invitation_attached(actor, org, user, smtp):
    org.from_email = "meetings@piql.test"
    org.save()
    appointment = _appointment(org, user)
    invitations.invite(actor, appointment, send=True)
    run_pending_tasks()  # the event's handler drafts and queues; the delivery sends
    run_pending_tasks()
    received = {tuple(item.rcpt_tos): item.message for item in smtp.accepted}
    assert set(received) == {("ola@acme.no",), (user.email,)}
    for to, mail in received.items():
        assert mail["Subject"].startswith("Invitation: Archive walkthrough, Tuesday 02 March 2027")
        (attachment,) = mail.iter_attachments()
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_param("method") == "REQUEST"
        assert attachment.get_filename() == "invitation.ics"
        (event,) = _events(attachment.get_content())
        assert str(event["uid"]) == appointment.uid
        private = "description" in event
        assert private == (to == (user.email,))
    body = received[("ola@acme.no",)].get_body(preferencelist=("plain",)).get_content()
    assert "When: Tuesday 02 March 2027, 10:00–10:30 (Europe/London)" in body
    assert "Objective" not in body
    assert Message.objects.filter(organisation=org, status="sent").count() == 2


def test_a_plans_invitations_wait_as_drafts_and_the_worker_sends_nothing(actor, org, user, smtp):
    appointment = _appointment(org, user)
    invitations.invite(actor, appointment, send=False)
    run_pending_tasks()
    run_pending_tasks()
    assert smtp.accepted == []
    drafts = Message.objects.filter(organisation=org, status="draft")
    assert sorted(m.to[0] for m in drafts) == sorted(["ola@acme.no", user.email])
    assert all(m.inline_attachments[0]["file_name"] == "invitation.ics" for m in drafts)


def test_the_same_request_handled_twice_makes_one_message(actor, org, user):
    from salesline.core import events

    appointment = _appointment(org, user, attendees=[])
    (event,) = invitations.invite(actor, appointment, send=False)
    events.dispatch(event.pk)
    events.dispatch(event.pk)
    assert Message.objects.filter(organisation=org).count() == 1


def _calendar_files(org) -> list:
    return [
        Calendar.from_ical(message.inline_attachments[0]["text"])
        for message in Message.objects.filter(organisation=org).order_by("id")
    ]


def test_the_api_sends_invitations_on_notify_and_moves_and_cancels_them(api, org, user):
    slot = {"starts_at": "2027-03-02T10:00:00+00:00", "ends_at": "2027-03-02T11:00:00+00:00"}
    quiet = api.post("/appointments", {"kind": "call", **slot})
    assert quiet.status_code == 201
    assert api.delete(f"/appointments/{quiet.json()['id']}").status_code == 200
    run_pending_tasks()
    assert not Message.objects.filter(organisation=org).exists()  # nobody asked to notify

    created = api.post(
        "/appointments",
        {
            "kind": "call",
            **slot,
            "attendees": [{"name": "Ola", "email": "ola@acme.no"}],
            "notify": True,
        },
    )
    assert created.status_code == 201, created.json()
    appointment_id = created.json()["id"]
    run_pending_tasks()
    first = _calendar_files(org)
    assert len(first) == 2  # the attendee's and the owner's
    assert {str(c["method"]) for c in first} == {"REQUEST"}

    # Notes alone tell nobody; a new time does, with the same UID and a higher SEQUENCE.
    api.patch(f"/appointments/{appointment_id}", {"notes": "Bring the samples", "notify": True})
    run_pending_tasks()
    assert len(_calendar_files(org)) == 2
    api.patch(
        f"/appointments/{appointment_id}",
        {
            "starts_at": "2027-03-02T14:00:00+00:00",
            "ends_at": "2027-03-02T15:00:00+00:00",
            "notify": True,
        },
    )
    run_pending_tasks()
    moved = _calendar_files(org)[2:]
    assert len(moved) == 2
    (event,) = moved[0].walk("VEVENT")
    assert str(event["uid"]) == created.json()["uid"]
    assert event.decoded("dtstart") == dt.datetime(2027, 3, 2, 14, 0, tzinfo=dt.UTC)
    assert int(event["sequence"]) > 0

    assert api.delete(f"/appointments/{appointment_id}?notify=true").status_code == 200
    run_pending_tasks()
    cancelled = _calendar_files(org)[4:]
    assert [str(c["method"]) for c in cancelled] == ["CANCEL", "CANCEL"]
    assert all(str(next(iter(c.walk("VEVENT")))["status"]) == "CANCELLED" for c in cancelled)


def test_a_drafted_invitation_names_its_calendar_file_on_the_page_and_in_the_api(
    actor, api, org, user
):
    from django.test import Client

    appointment = _appointment(org, user)
    invitations.invite(actor, appointment, send=False)
    run_pending_tasks()
    message = Message.objects.filter(organisation=org).order_by("id").first()
    assert api.get(f"/messages/{message.pk}").json()["attachments"] == ["invitation.ics"]
    client = Client()
    client.force_login(user)
    page = client.get(f"/messages/{message.pk}/")
    assert page.status_code == 200 and "invitation.ics" in page.content.decode()
    # An internal meeting's invitation is about no record: its pages lead back to the calendar.
    internal = _appointment(org, user, attendees=[], kind=Appointment.Kind.INTERNAL)
    invitations.invite(actor, internal, send=False)
    run_pending_tasks()
    own = Message.objects.filter(organisation=org).order_by("id").last()
    assert (own.opportunity_id, own.lead_id) == (None, None)
    for path in (f"/messages/{own.pk}/", f"/messages/{own.pk}/send"):
        shown = client.get(path)
        assert shown.status_code == 200 and 'href="/calendar/"' in shown.content.decode()
