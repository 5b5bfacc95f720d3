"""Calendar pages: the week, the person picker, the form (the business-development rule and
capacity shown beside their inputs), cancel with confirmation and restore, record panels,
and Settings → Members coordination."""

import pytest
from django.test import Client
from django.urls import reverse

from salesline.scheduling import appointment_services as services
from salesline.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def page(user):
    return signed_in(user)


def make(actor, starts="2027-03-01T10:00:00Z", ends="2027-03-01T11:00:00Z", **extra):
    return services.appointment_create(
        actor=actor, data={"kind": "call", "starts_at": starts, "ends_at": ends, **extra}
    )


def test_week_shows_the_appointments_in_local_time(page, actor, opportunity):
    services.appointment_create(
        actor=actor,
        data={
            "kind": "business_development",
            "starts_at": "2027-03-01T10:00:00Z",
            "ends_at": "2027-03-01T11:00:00Z",
            "opportunity_id": opportunity.pk,
            "objective": "Qualify",
            "title": "Archive pilot",
        },
    )
    html = page.get("/calendar/?week=2027-03-03").content.decode()
    assert "Archive pilot" in html and "10:00–11:00" in html
    assert "1 of 20 business-development meetings this week" in html
    assert "week=2027-02-22" in html and "week=2027-03-08" in html  # previous / next
    empty = page.get("/calendar/?week=2027-03-10").content.decode()
    assert "Archive pilot" not in empty and "Free: add an appointment" in empty


def test_person_picker_only_offers_coordinated_calendars(
    coordinating, user, salesperson2, org, actor
):
    make(actor, title="Ann's call")
    client = signed_in(coordinating)
    html = client.get(f"/calendar/?person={user.pk}&week=2027-03-01").content.decode()
    assert "Ann&#x27;s call" in html or "Ann's call" in html
    assert f'value="{salesperson2.pk}"' not in html
    assert client.get(f"/calendar/?person={salesperson2.pk}").status_code == 404


def test_form_refuses_business_development_without_opportunity_and_objective(page, user):
    response = page.post(
        "/calendar/appointments/new/",
        {
            "owner_id": str(user.pk),
            "kind": "business_development",
            "day": "2027-03-01",
            "start": "10:00",
            "end": "11:00",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "must be linked to an opportunity" in html
    assert "must state its business-development objective" in html
    assert not Appointment.objects.exists()


def test_form_creates_in_the_owners_zone_and_edits(page, user, org):
    from .conftest import pattern

    pattern(org, user, time_zone="America/Chicago")
    response = page.post(
        "/calendar/appointments/new/",
        {
            "owner_id": str(user.pk),
            "kind": "call",
            "title": "Intro call",
            "day": "2027-03-01",
            "start": "09:00",
            "end": "09:30",
            "attendees": "Pat Doe <pat@example.org>\nlee@example.org",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    assert appointment.starts_at.isoformat() == "2027-03-01T15:00:00+00:00"
    assert appointment.attendees == [
        {"name": "Pat Doe", "email": "pat@example.org"},
        {"name": "", "email": "lee@example.org"},
    ]
    detail = page.get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "09:00–09:30" in detail and "America/Chicago" in detail
    edit = page.get(f"/calendar/appointments/{appointment.pk}/edit/")
    assert edit.status_code == 200 and 'value="09:00"' in edit.content.decode()
    moved = page.post(
        f"/calendar/appointments/{appointment.pk}/edit/",
        {
            "owner_id": str(user.pk),
            "kind": "call",
            "title": "Intro call",
            "day": "2027-03-01",
            "start": "07:00",
            "end": "07:30",
            "version": str(appointment.version),
        },
    )
    assert moved.status_code == 422
    assert "Outside working hours" in moved.content.decode()


def test_cancel_asks_first_then_restore(page, actor):
    appointment = make(actor)
    confirm = page.get(f"/calendar/appointments/{appointment.pk}/cancel/")
    assert confirm.status_code == 200 and "Yes, cancel it" in confirm.content.decode()
    assert Appointment.objects.get().cancelled_at is None
    page.post(f"/calendar/appointments/{appointment.pk}/cancel/")
    assert Appointment.objects.get().cancelled_at is not None
    detail = page.get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "Restore" in detail
    page.post(f"/calendar/appointments/{appointment.pk}/restore/")
    assert Appointment.objects.get().cancelled_at is None


def test_other_organisation_and_others_calendar(page, actor, other_actor, salesperson2, org):
    from salesline.accounts.services import actor_for

    foreign = make(other_actor)
    assert page.get(f"/calendar/appointments/{foreign.pk}/").status_code == 404
    theirs = make(actor_for(salesperson2, org))
    assert page.get(f"/calendar/appointments/{theirs.pk}/edit/").status_code == 403
    assert page.post(f"/calendar/appointments/{theirs.pk}/cancel/").status_code == 403


def test_opportunity_page_lists_its_appointments(page, actor, opportunity):
    services.appointment_create(
        actor=actor,
        data={
            "kind": "business_development",
            "starts_at": "2027-03-01T10:00:00Z",
            "ends_at": "2027-03-01T11:00:00Z",
            "opportunity_id": opportunity.pk,
            "objective": "Qualify",
            "title": "Scoping visit",
        },
    )
    html = page.get(
        reverse("web:record-detail", args=["opportunities", opportunity.pk])
    ).content.decode()
    assert "Appointments" in html and "Scoping visit" in html


def test_settings_members_coordination(admin_user, coordinator, user, salesperson2):
    client = signed_in(admin_user)
    listed = client.get("/settings/members/").content.decode()
    assert f"/settings/members/{coordinator.pk}/coordinates/" in listed
    response = client.post(
        f"/settings/members/{coordinator.pk}/coordinates/", {"salesperson_ids": [str(user.pk)]}
    )
    assert response.status_code == 302
    listed = client.get("/settings/members/").content.decode()
    assert "Coordinated by Cora Ordinator" in listed
    assert (
        signed_in(user).get(f"/settings/members/{coordinator.pk}/coordinates/").status_code == 403
    )
