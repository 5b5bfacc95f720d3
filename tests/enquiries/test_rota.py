"""The duty rota: periods (coordinator only, no overlap, no gap), routing of new enquiries to
the chair on duty, the hand-over and its acknowledgement, the worker's reminders."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import AuditEvent, DomainEvent
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import RotaPeriod
from salesline.enquiries.rota_services import rota_send_reminders


def _post(member, org, person, starts_on, ends_on=None):
    body = {"org": org.slug, "person": person.email, "starts_on": starts_on.isoformat()}
    if ends_on is not None:
        body["ends_on"] = ends_on.isoformat()
    return member.api.post("/rota", body)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def two_periods(world, today):
    """Webarchitects on duty now, Outlandish next."""
    current = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=5),
    )
    following = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today + timedelta(days=6),
        ends_on=today + timedelta(days=96),
    )
    return current, following


def _enquiry(world, **data):
    return enquiry_receive(
        network=world.network,
        data={"name": "Zoe", "email": "zoe@client.test", "message": "Hello", **data},
        source="api",
    )


def test_the_coordinator_adds_quarters_by_default(world):
    response = _post(world.coordinator, world.webarch.org, world.webarch.user, date(2027, 1, 1))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["org"], body["person"]) == (world.webarch.org.slug, "bob@webarch.test")
    assert (body["starts_on"], body["ends_on"]) == ("2027-01-01", "2027-03-31")
    second = _post(world.coordinator, world.outlandish.org, world.outlandish.user, date(2027, 4, 1))
    assert second.status_code == 201
    assert second.json()["ends_on"] == "2027-06-30"
    listed = world.webarch.api.get("/rota").json()
    assert [p["starts_on"] for p in listed] == ["2027-01-01", "2027-04-01"]
    assert (
        AuditEvent.objects.filter(
            organisation=world.network.organisation, object_type="rotaperiod", action="create"
        ).count()
        == 2
    )


def test_an_overlap_is_422_naming_the_clashing_period(world):
    _post(world.coordinator, world.webarch.org, world.webarch.user, date(2027, 1, 1))
    response = _post(
        world.coordinator, world.outlandish.org, world.outlandish.user, date(2027, 3, 1)
    )
    assert response.status_code == 422
    assert "It overlaps the period 2027-01-01 to 2027-03-31 (Webarchitects)." in [
        problem["msg"] for problem in response.json()["detail"]
    ]
    assert RotaPeriod.objects.count() == 1


def test_a_gap_is_422_too(world):
    _post(world.coordinator, world.webarch.org, world.webarch.user, date(2027, 1, 1))
    response = _post(
        world.coordinator, world.outlandish.org, world.outlandish.user, date(2027, 4, 2)
    )
    assert response.status_code == 422
    assert "must start on 2027-04-01" in response.content.decode()
    before = _post(
        world.coordinator,
        world.outlandish.org,
        world.outlandish.user,
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert before.status_code == 201


def test_only_the_coordinator_changes_the_rota(world):
    assert (
        _post(world.webarch, world.webarch.org, world.webarch.user, date(2027, 1, 1)).status_code
        == 403
    )
    assert (
        _post(world.outsider, world.webarch.org, world.webarch.user, date(2027, 1, 1)).status_code
        == 404
    )
    assert world.outsider.api.get("/rota").status_code == 404
    assert world.outsider.api.get("/rota/current").status_code == 404


def test_the_person_must_be_a_user_of_a_member_org(world):
    response = _post(world.coordinator, world.webarch.org, world.outlandish.user, date(2027, 1, 1))
    assert response.status_code == 422
    assert "not a user of Webarchitects" in response.content.decode()
    response = _post(world.coordinator, world.outsider.org, world.outsider.user, date(2027, 1, 1))
    assert response.status_code == 422


def test_current_and_next(world, two_periods):
    current, following = two_periods
    body = world.agile.api.get("/rota/current").json()
    assert body["current"]["id"] == current.pk
    assert body["next"]["id"] == following.pk
    assert body["next"]["org"] == world.outlandish.org.slug


def test_new_enquiries_route_to_the_chair_on_duty(world, two_periods):
    enquiry = _enquiry(world)
    assert enquiry.chair_org == world.webarch.org
    assert enquiry.chair_person == world.webarch.user


def test_the_outgoing_chair_writes_the_hand_over_with_open_enquiries(world, two_periods):
    current, following = two_periods
    open_one = _enquiry(world)
    closed = _enquiry(world)
    closed.status = "closed"
    closed.save(update_fields=["status"])
    path = f"/rota/{current.pk}/handover"
    assert world.outlandish.api.post(path, {"notes": "x"}).status_code == 403
    assert world.outsider.api.post(path, {"notes": "x"}).status_code == 404
    assert world.outlandish.api.post(f"/rota/{current.pk}/acknowledge").status_code == 409
    response = world.webarch.api.post(path, {"notes": "Promised Zoe a call on Friday."})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["reference"] for item in body["handover_open_enquiries"]] == [open_one.reference]
    assert body["handover_notes"] == "Promised Zoe a call on Friday."
    # The coordinator may write it too; blank notes are refused.
    assert world.coordinator.api.post(path, {"notes": "  "}).status_code == 422
    assert world.coordinator.api.post(path, {"notes": "Also: the tender."}).status_code == 200


def test_only_the_incoming_chair_acknowledges(world, two_periods):
    current, following = two_periods
    world.webarch.api.post(f"/rota/{current.pk}/handover", {"notes": "All yours."})
    path = f"/rota/{current.pk}/acknowledge"
    assert world.webarch.api.post(path).status_code == 403
    assert world.coordinator.api.post(path).status_code == 403
    assert world.outsider.api.post(path).status_code == 404
    response = world.outlandish.api.post(path)
    assert response.status_code == 200
    assert response.json()["acknowledged_at"]
    assert world.outlandish.api.post(path).status_code == 200
    # Acknowledged: it can no longer change.
    assert (
        world.webarch.api.post(f"/rota/{current.pk}/handover", {"notes": "Late edit"}).status_code
        == 409
    )
    # The last period has no successor to acknowledge it.
    assert world.outlandish.api.post(f"/rota/{following.pk}/acknowledge").status_code == 403


def _reminders(world):
    return [
        event.payload
        for event in DomainEvent.objects.filter(
            organisation=world.network.organisation, kind=MAIL_REQUESTED
        ).order_by("pk")
        if "hand-over" in event.payload["subject"]
    ]


def test_the_incoming_chair_is_reminded_once_a_day_until_they_acknowledge(
    world, two_periods, today
):
    current, _ = two_periods
    assert rota_send_reminders(today) == 0
    world.webarch.api.post(f"/rota/{current.pk}/handover", {"notes": "All yours."})
    assert rota_send_reminders(today) == 1
    assert rota_send_reminders(today) == 0  # once a day, however many workers
    assert _reminders(world)[0]["to"] == ["cat@outlandish.test"]
    assert rota_send_reminders(today + timedelta(days=1)) == 1
    world.outlandish.api.post(f"/rota/{current.pk}/acknowledge")
    assert rota_send_reminders(today + timedelta(days=2)) == 0
    assert len(_reminders(world)) == 2


def test_the_outgoing_chair_is_reminded_when_the_period_ended_without_a_hand_over(
    world, two_periods, today
):
    current, _ = two_periods
    after_end = current.ends_on + timedelta(days=1)
    assert rota_send_reminders(current.ends_on) == 0
    assert rota_send_reminders(after_end) == 1
    assert _reminders(world)[-1]["to"] == ["bob@webarch.test"]
    assert "write the chair's hand-over" in _reminders(world)[-1]["subject"]
    assert rota_send_reminders(after_end) == 0
    world.webarch.api.post(f"/rota/{current.pk}/handover", {"notes": "Sorry, late."})
    current.refresh_from_db()
    # Now the incoming chair is the one reminded.
    assert rota_send_reminders(after_end + timedelta(days=1)) == 1
    assert _reminders(world)[-1]["to"] == ["cat@outlandish.test"]


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_periods_posted_at_once_cannot_both_pass(world):
    """The network row is locked while a placement is checked: of two first periods that
    overlap, posted at the same moment, exactly one is added."""
    import threading

    from django.db import connection

    from salesline.core.errors import ValidationFailed
    from salesline.enquiries.rota_services import rota_period_create

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def post(member, starts_on):
        try:
            barrier.wait(timeout=10)
            rota_period_create(
                actor=world.coordinator.actor,
                network_slug="cotech",
                org_slug=member.org.slug,
                person_email=member.user.email,
                starts_on=starts_on,
            )
            outcomes.append("added")
        except ValidationFailed:
            outcomes.append("refused")
        except Exception as exc:  # SQLite: the other writer holds the lock ("database is locked")
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=(world.webarch, date(2027, 1, 1))),
        threading.Thread(target=post, args=(world.outlandish, date(2027, 2, 1))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("added") == 1, outcomes
    assert RotaPeriod.objects.count() == 1
