"""Appointments: the business-development rule, the calendar rules (working hours, overlaps,
capacity per day and week across time zones and daylight-saving changes), location, who may
write, isolation, audit and events."""

import datetime as dt

import pytest

from salesline.core.errors import NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent, DomainEvent
from salesline.scheduling import appointment_services as services
from salesline.scheduling.models import Appointment

from .conftest import pattern

pytestmark = pytest.mark.django_db


def call(actor, starts, ends, **extra):
    return services.appointment_create(
        actor=actor, data={"kind": "call", "starts_at": starts, "ends_at": ends, **extra}
    )


def bd(actor, opportunity, starts, ends, **extra):
    return services.appointment_create(
        actor=actor,
        data={
            "kind": "business_development",
            "starts_at": starts,
            "ends_at": ends,
            "opportunity_id": opportunity.pk,
            "objective": "Agree the pilot's scope",
            **extra,
        },
    )


def problems_of(exc_info) -> dict:
    return {p.loc[0]: p for p in exc_info.value.problems}


def test_business_development_needs_opportunity_and_objective_each_named(actor):
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_create(
            actor=actor,
            data={
                "kind": "business_development",
                "starts_at": "2027-03-01T10:00:00+00:00",
                "ends_at": "2027-03-01T11:00:00+00:00",
            },
        )
    problems = problems_of(exc)
    assert set(problems) == {"opportunity_id", "objective"}
    assert not Appointment.objects.exists()


def test_business_development_with_both_is_saved_with_uid_and_audit(actor, opportunity):
    appointment = bd(actor, opportunity, "2027-03-01T10:00:00+00:00", "2027-03-01T11:00:00Z")
    assert appointment.uid.endswith("@salesline") and len(appointment.uid) > 36
    assert appointment.owner_id == actor.user.pk
    assert appointment.sequence == 0 and appointment.version == 1
    assert AuditEvent.objects.filter(
        action="create", object_type="appointment", object_id=str(appointment.pk)
    ).exists()
    event = DomainEvent.objects.get(kind="appointment_created")
    assert event.payload["appointment_id"] == appointment.pk


def test_objective_removed_later_is_refused(actor, opportunity):
    appointment = bd(actor, opportunity, "2027-03-01T10:00:00+00:00", "2027-03-01T11:00:00Z")
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_update(
            actor=actor, appointment_id=appointment.pk, data={"objective": ""}
        )
    assert set(problems_of(exc)) == {"objective"}


def test_naive_datetime_is_refused_naming_the_field(actor):
    with pytest.raises(ValidationFailed) as exc:
        call(actor, "2027-03-01T10:00:00", "2027-03-01T11:00:00+00:00")
    problems = problems_of(exc)
    assert set(problems) == {"starts_at"}
    assert problems["starts_at"].type == "naive_datetime"


def test_working_hours_in_the_owners_zone(actor, org, user):
    pattern(org, user, time_zone="America/New_York")
    # 09:00 in New York is 14:00 UTC in winter: accepted; 08:00 local (13:00 UTC) is not.
    call(actor, "2027-03-01T14:00:00+00:00", "2027-03-01T15:00:00+00:00")
    with pytest.raises(ValidationFailed) as exc:
        call(actor, "2027-03-01T13:00:00+00:00", "2027-03-01T13:30:00+00:00")
    assert problems_of(exc)["starts_at"].type == "working_hours"
    with pytest.raises(ValidationFailed) as exc:  # a Saturday
        call(actor, "2027-03-06T15:00:00+00:00", "2027-03-06T16:00:00+00:00")
    assert "not a working day" in problems_of(exc)["starts_at"].msg


def test_overlap_is_refused_and_touching_is_fine(actor):
    call(actor, "2027-03-01T10:00:00+00:00", "2027-03-01T11:00:00+00:00")
    call(actor, "2027-03-01T11:00:00+00:00", "2027-03-01T11:30:00+00:00")
    with pytest.raises(ValidationFailed) as exc:
        call(actor, "2027-03-01T10:30:00+00:00", "2027-03-01T11:15:00+00:00")
    assert problems_of(exc)["starts_at"].type == "overlap"


def test_daily_capacity(actor, org, user, opportunity):
    pattern(org, user, business_development_per_day=2)
    bd(actor, opportunity, "2027-03-01T09:00:00+00:00", "2027-03-01T10:00:00+00:00")
    bd(actor, opportunity, "2027-03-01T10:00:00+00:00", "2027-03-01T11:00:00+00:00")
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-01T12:00:00+00:00", "2027-03-01T13:00:00+00:00")
    problem = problems_of(exc)["starts_at"]
    assert problem.type == "capacity_per_day"
    assert "Daily capacity" in problem.msg
    # Other kinds do not count, and the next day is free again.
    call(actor, "2027-03-01T12:00:00+00:00", "2027-03-01T13:00:00+00:00")
    bd(actor, opportunity, "2027-03-02T09:00:00+00:00", "2027-03-02T10:00:00+00:00")


def test_default_capacity_four_a_day(actor, opportunity):
    for hour in (9, 10, 11, 12):
        bd(actor, opportunity, f"2027-03-01T{hour:02}:00:00Z", f"2027-03-01T{hour:02}:45:00Z")
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-01T14:00:00Z", "2027-03-01T15:00:00Z")
    assert problems_of(exc)["starts_at"].type == "capacity_per_day"


def test_weekly_capacity(actor, org, user, opportunity):
    pattern(org, user, business_development_per_week=3)
    for day in (1, 2, 3):
        bd(actor, opportunity, f"2027-03-0{day}T09:00:00Z", f"2027-03-0{day}T10:00:00Z")
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-05T09:00:00Z", "2027-03-05T10:00:00Z")
    assert problems_of(exc)["starts_at"].type == "capacity_per_week"
    bd(actor, opportunity, "2027-03-08T09:00:00Z", "2027-03-08T10:00:00Z")  # next week


def test_local_days_count_not_utc_days(actor, org, user, opportunity):
    """Tokyo: Tuesday 09:00 local is Monday 00:00 UTC, the same UTC day as Monday 16:00 local
    (07:00 UTC). They are different local days, so a limit of one a day takes both."""
    pattern(org, user, time_zone="Asia/Tokyo", business_development_per_day=1)
    bd(actor, opportunity, "2027-03-01T16:00:00+09:00", "2027-03-01T17:00:00+09:00")
    bd(actor, opportunity, "2027-03-02T09:00:00+09:00", "2027-03-02T10:00:00+09:00")
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-02T00:00:00+00:00", "2027-03-02T01:00:00+00:00")
    assert problems_of(exc)["starts_at"].type == "capacity_per_day"


def test_local_weeks_count_not_utc_weeks(actor, org, user, opportunity):
    """Los Angeles: Sunday 20:00 local is Monday 04:00 UTC, so in UTC it would be in the next
    week; locally it is the week before."""
    pattern(
        org,
        user,
        time_zone="America/Los_Angeles",
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        day_starts=dt.time(9),
        day_ends=dt.time(21),
        business_development_per_week=1,
    )
    bd(actor, opportunity, "2027-02-28T20:00:00-08:00", "2027-02-28T20:30:00-08:00")  # Sunday
    bd(actor, opportunity, "2027-03-01T09:00:00-08:00", "2027-03-01T10:00:00-08:00")  # Monday
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-02T09:00:00-08:00", "2027-03-02T10:00:00-08:00")
    assert problems_of(exc)["starts_at"].type == "capacity_per_week"


def test_daylight_saving_spring_forward_london(actor, org, user, opportunity):
    """Clocks go forward on Sunday 28 March 2027: Monday 09:00 in London is 08:00 UTC, and is
    accepted; 08:30 local (07:30 UTC) is before working hours."""
    pattern(org, user, weekdays=[1, 2, 3, 4, 5, 6, 7], business_development_per_week=1)
    bd(actor, opportunity, "2027-03-28T16:00:00+01:00", "2027-03-28T17:00:00+01:00")  # Sunday
    monday = bd(actor, opportunity, "2027-03-29T08:00:00Z", "2027-03-29T09:00:00Z")
    assert monday.starts_at == dt.datetime(2027, 3, 29, 8, tzinfo=dt.UTC)
    with pytest.raises(ValidationFailed) as exc:
        call(actor, "2027-03-29T07:30:00Z", "2027-03-29T08:00:00Z")
    assert problems_of(exc)["starts_at"].type == "working_hours"
    # The week boundary is local midnight: Sunday 28th's meeting was in the week before, and
    # Monday's fills this week.
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-03-30T09:00:00+01:00", "2027-03-30T10:00:00+01:00")
    assert problems_of(exc)["starts_at"].type == "capacity_per_week"


def test_daylight_saving_fall_back_london(actor, org, user, opportunity):
    """Clocks go back on Sunday 31 October 2027: 16:30 UTC on Friday 29th is 17:30 BST (after
    hours), on Monday 1 November 16:30 UTC is 16:30 GMT (within hours)."""
    pattern(org, user, business_development_per_day=1)
    with pytest.raises(ValidationFailed):
        call(actor, "2027-10-29T16:30:00Z", "2027-10-29T16:45:00Z")
    call(actor, "2027-11-01T16:30:00Z", "2027-11-01T16:45:00Z")
    # Local day boundaries: 23:30 UTC on Sunday 31st is Sunday locally (GMT); a meeting at 09:00
    # GMT Monday counts for Monday only.
    bd(actor, opportunity, "2027-11-01T09:00:00Z", "2027-11-01T10:00:00Z")
    with pytest.raises(ValidationFailed) as exc:
        bd(actor, opportunity, "2027-11-01T10:00:00+00:00", "2027-11-01T11:00:00+00:00")
    assert problems_of(exc)["starts_at"].type == "capacity_per_day"


def test_move_checks_rules_and_bumps_sequence(actor):
    first = call(actor, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    second = call(actor, "2027-03-01T12:00:00Z", "2027-03-01T13:00:00Z")
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_update(
            actor=actor,
            appointment_id=second.pk,
            data={"starts_at": "2027-03-01T10:30:00Z", "ends_at": "2027-03-01T11:30:00Z"},
        )
    assert problems_of(exc)["starts_at"].type == "overlap"
    moved = services.appointment_update(
        actor=actor,
        appointment_id=second.pk,
        data={"starts_at": "2027-03-01T14:00:00Z", "ends_at": "2027-03-01T15:00:00Z"},
    )
    assert (moved.sequence, moved.version, moved.uid) == (1, 2, second.uid)
    assert DomainEvent.objects.filter(kind="appointment_moved").count() == 1
    # Moving an appointment onto its own old time is not an overlap with itself.
    services.appointment_update(
        actor=actor, appointment_id=first.pk, data={"ends_at": "2027-03-01T11:30:00Z"}
    )


def test_cancel_frees_the_time_and_restore_undoes_it(actor):
    appointment = call(actor, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    cancelled = services.appointment_cancel(actor=actor, appointment_id=appointment.pk)
    assert cancelled.cancelled_at is not None and cancelled.sequence == 1
    assert DomainEvent.objects.filter(kind="appointment_cancelled").count() == 1
    other = call(actor, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_restore(actor=actor, appointment_id=appointment.pk)
    assert problems_of(exc)["starts_at"].type == "overlap"
    services.appointment_cancel(actor=actor, appointment_id=other.pk)
    restored = services.appointment_restore(actor=actor, appointment_id=appointment.pk)
    assert restored.cancelled_at is None and restored.sequence == 2
    assert AuditEvent.objects.filter(action="restore").count() == 1


def test_coordinator_manages_coordinated_calendar_only(
    coordinator_actor, user, salesperson2, opportunity
):
    appointment = services.appointment_create(
        actor=coordinator_actor,
        data={
            "kind": "call",
            "owner_id": user.pk,
            "starts_at": "2027-03-01T10:00:00Z",
            "ends_at": "2027-03-01T11:00:00Z",
        },
    )
    assert appointment.owner_id == user.pk
    services.appointment_update(
        actor=coordinator_actor,
        appointment_id=appointment.pk,
        data={"starts_at": "2027-03-01T12:00:00Z", "ends_at": "2027-03-01T13:00:00Z"},
    )
    with pytest.raises(PermissionDenied):
        services.appointment_create(
            actor=coordinator_actor,
            data={
                "kind": "call",
                "owner_id": salesperson2.pk,
                "starts_at": "2027-03-01T10:00:00Z",
                "ends_at": "2027-03-01T11:00:00Z",
            },
        )
    with pytest.raises(PermissionDenied):  # nor move one there
        services.appointment_update(
            actor=coordinator_actor,
            appointment_id=appointment.pk,
            data={"owner_id": salesperson2.pk},
        )


def test_salesperson_cannot_touch_anothers_calendar(actor, salesperson2, org):
    from salesline.accounts.services import actor_for

    theirs = call(actor_for(salesperson2, org), "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    with pytest.raises(PermissionDenied):
        services.appointment_cancel(actor=actor, appointment_id=theirs.pk)
    with pytest.raises(PermissionDenied):
        call(actor, "2027-03-01T12:00:00Z", "2027-03-01T13:00:00Z", owner_id=salesperson2.pk)


def test_admin_manages_any_calendar(admin_actor, user):
    appointment = call(
        admin_actor, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z", owner_id=user.pk
    )
    assert appointment.owner_id == user.pk


def test_other_organisation_is_not_found(actor, other_actor, other_user):
    appointment = call(actor, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    with pytest.raises(NotFound):
        services.appointment_update(
            actor=other_actor, appointment_id=appointment.pk, data={"notes": "x"}
        )
    with pytest.raises(NotFound):
        services.appointment_cancel(actor=other_actor, appointment_id=appointment.pk)
    with pytest.raises(NotFound):  # an owner from another organisation
        call(actor, "2027-03-01T12:00:00Z", "2027-03-01T13:00:00Z", owner_id=other_user.pk)


def test_location_defaults_to_the_opportunitys_company_geocoded(actor, located_opportunity):
    appointment = bd(actor, located_opportunity, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")
    assert appointment.address == "1 Wacker Dr, Chicago"
    assert (appointment.latitude, appointment.longitude) == (41.8781, -87.6298)


def test_location_address_is_geocoded_and_entered_coordinates_win(actor, places):
    geocoded = call(
        actor,
        "2027-03-01T10:00:00Z",
        "2027-03-01T11:00:00Z",
        location={"address": "191 Peachtree St, ATLANTA GA 30303"},
    )
    assert (geocoded.latitude, geocoded.longitude) == (33.749, -84.388)
    entered = call(
        actor,
        "2027-03-01T12:00:00Z",
        "2027-03-01T13:00:00Z",
        location={"address": "Atlanta", "lat": 33.0, "lon": -84.0},
    )
    assert (entered.latitude, entered.longitude) == (33.0, -84.0)
    unknown = call(
        actor,
        "2027-03-01T14:00:00Z",
        "2027-03-01T15:00:00Z",
        location={"address": "Nowhere Town"},
    )
    assert unknown.latitude is None and unknown.address == "Nowhere Town"


def test_bad_location_and_kind_named(actor):
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_create(
            actor=actor,
            data={
                "kind": "lunch",
                "starts_at": "2027-03-01T10:00:00Z",
                "ends_at": "2027-03-01T09:00:00Z",
                "location": {"address": "x", "lat": 91, "lon": 0},
            },
        )
    locs = {p.loc for p in exc.value.problems}
    assert ("kind",) in locs and ("location", "lat") in locs
