"""Calendars: each person's working pattern (the capacity rules), appointments, the places
used to geocode addresses."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkingPattern(models.Model):
    """A person's calendar rules in one organisation (seed 004: salespeople do up to four
    business-development meetings a day, twenty a week). Absent: the defaults below. Its row is
    also what every write to the person's calendar locks, so two writes cannot both take the
    last free hour or the last meeting of the day."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    time_zone = models.CharField(max_length=64, default="Europe/London")
    day_starts = models.TimeField(default=dt.time(9, 0))
    day_ends = models.TimeField(default=dt.time(17, 0))
    # ISO weekdays worked, Monday 1 ... Sunday 7.
    weekdays = models.JSONField(default=list)  # empty: Monday to Friday
    business_development_per_day = models.PositiveSmallIntegerField(default=4)
    business_development_per_week = models.PositiveSmallIntegerField(default=20)
    # Where the person's days start and end, for the meeting planner (blank: days start at the
    # first meeting and end at the last), and how fast they travel between meetings.
    base_address = models.CharField(max_length=500, blank=True)
    base_latitude = models.FloatField(null=True, blank=True)
    base_longitude = models.FloatField(null=True, blank=True)
    travel_speed_kmh = models.PositiveSmallIntegerField(default=50)
    travel_overhead_minutes = models.PositiveSmallIntegerField(default=10)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="working_pattern_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone})"

    @property
    def working_weekdays(self) -> frozenset[int]:
        return frozenset(self.weekdays or (1, 2, 3, 4, 5))


class Appointment(models.Model):
    """A meeting on one person's calendar (its owner)."""

    class Kind(models.TextChoices):
        BUSINESS_DEVELOPMENT = "business_development", "Business development"
        ACCOUNT_MANAGEMENT = "account_management", "Account management"
        CALL = "call", "Call"
        LAUNCH = "launch", "Launch"
        CHECK_IN = "check_in", "Check-in"
        INTERNAL = "internal", "Internal"

    class Source(models.TextChoices):
        MANUAL = "manual"
        PLAN = "plan"
        BOOKING = "booking"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appointments"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What a business-development meeting is for: required for that kind.
    objective = models.TextField(blank=True)
    address = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    attendees = models.JSONField(default=list, blank=True)  # [{"name": ..., "email": ...}]
    outcome = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    # Stable across moves, so a calendar client updates the event instead of adding another.
    uid = models.CharField(max_length=80, unique=True)
    sequence = models.PositiveIntegerField(default=0)  # iCalendar SEQUENCE: bumped on each change
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "owner", "starts_at"]),
            models.Index(fields=["organisation", "opportunity"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class Place(models.Model):
    """The geocoding table: a town's coordinates, looked up by name (and country) when an
    address has none entered. Configurable per organisation; the demo loads some."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, blank=True)
    latitude = models.FloatField()
    longitude = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name", "country"], name="place_name")
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.country}" if self.country else self.name


class MeetingRequest(models.Model):
    """An opportunity that needs a business-development meeting: what the meeting planner
    places on its owner's calendar."""

    class Status(models.TextChoices):
        OPEN = "open"
        PLANNED = "planned"
        CANCELLED = "cancelled"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    priority = models.PositiveSmallIntegerField(default=3)  # 1 (low) ... 5 (high)
    deadline = models.DateField(null=True, blank=True)
    # [{"date": "YYYY-MM-DD" | "weekday": 1..7, "start": "HH:MM", "end": "HH:MM"}] in the
    # owner's zone; empty: any working time.
    windows = models.JSONField(default=list, blank=True)
    address = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    objective = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["organisation", "owner", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=5),
                name="meeting_request_priority_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5), name="meeting_request_duration"
            ),
        ]

    def __str__(self) -> str:
        return f"Meeting request {self.pk} ({self.status})"


class Plan(models.Model):
    """A proposal of meetings for one salesperson's days, from the meeting planner; accepted,
    its meetings go on the calendar."""

    class Status(models.TextChoices):
        PROPOSED = "proposed"
        ACCEPTED = "accepted"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    days = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    total_travel_minutes = models.PositiveIntegerField(default=0)
    naive_travel_minutes = models.PositiveIntegerField(default=0)
    naive_meetings = models.PositiveIntegerField(default=0)
    unplanned = models.JSONField(
        default=list, blank=True
    )  # [{"request_id", "opportunity_id", "reason"}]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["organisation", "owner", "-created_at"])]

    def __str__(self) -> str:
        return f"Plan {self.pk} from {self.start} ({self.days} days)"


class PlanMeeting(models.Model):
    """One proposed meeting of a plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="meetings")
    request = models.ForeignKey(MeetingRequest, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    travel_minutes_before = models.PositiveIntegerField(default=0)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "request"], name="plan_meeting_once")
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} (request {self.request_id})"


class BookingPage(models.Model):
    """A public page (/book/<slug>) where anyone picks a free slot on a person's calendar, or
    on a team's: with `team` members the booking goes to whichever of the owner and the team
    is free, the one with the fewest bookings from this page first (round robin)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    buffer_minutes = models.PositiveSmallIntegerField(default=0)
    days_ahead = models.PositiveSmallIntegerField(default=14)
    minimum_notice_hours = models.PositiveSmallIntegerField(default=2)
    # What a booked meeting is: a call by default; business development counts against the
    # owner's daily and weekly business-development capacity.
    kind = models.CharField(
        max_length=24, choices=Appointment.Kind.choices, default=Appointment.Kind.CALL
    )
    # The daily capacity for meetings booked by visitors: at most this many booked meetings a
    # day on a host's calendar (0: no limit beyond the calendar's own rules).
    max_per_day = models.PositiveSmallIntegerField(default=4)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["organisation", "owner"])]

    def __str__(self) -> str:
        return self.title or self.slug


class Booking(models.Model):
    """One meeting booked through a page: who booked it and the reference they were given."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="bookings")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="booking"
    )
    reference = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["page", "created_at"])]

    def __str__(self) -> str:
        return self.reference


class CalendarFeed(models.Model):
    """A private iCalendar feed of one person's appointments. The URL carries a token of which
    only the SHA-256 is stored (like an API token); revoking it makes the URL answer 404."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "owner"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.owner})"


class TravelTime(models.Model):
    """The travel-time matrix: minutes from one place to another, door to door, entered by the
    organisation. Symmetric unless both directions are given. The planner uses it when both
    ends of a journey are known places (the place within 2 km of the coordinates)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    from_place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    to_place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    minutes = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "from_place", "to_place"], name="travel_time_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_place=models.F("to_place")),
                name="travel_time_between_two_places",
            ),
            models.CheckConstraint(
                condition=models.Q(minutes__lte=1440), name="travel_time_at_most_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_place_id} → {self.to_place_id}: {self.minutes} min"
