"""Private calendar feeds: an iCalendar URL per person that a calendar client subscribes to.

The URL carries a random token; only its SHA-256 is stored (as for API tokens), so the URL is
shown once, when the feed is created. Revoking the feed makes the URL answer 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Membership
from salesline.accounts.selectors import may_manage_calendar
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList
from salesline.core.text import text_problem

from . import ics
from .models import Appointment, CalendarFeed

FEED_PREFIX = "cf_"
# How far back the feed reaches; everything ahead is in it.
FEED_PAST_DAYS = 90
TOUCH_INTERVAL_SECONDS = 300


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_create(
    actor: Actor, *, owner_id: int | None = None, name: str = ""
) -> tuple[CalendarFeed, str]:
    """A new feed of `owner_id`'s calendar (the actor's own when not given) and its token, which
    is not kept: the owner, their coordinator or an admin may create one."""
    problems = ProblemList()
    if owner_id is None and actor.user is not None:
        owner_id = actor.user.pk
    if (
        owner_id is None
        or not Membership.objects.filter(organisation=actor.organisation, user_id=owner_id).exists()
    ):
        problems.add(
            ("owner_id",), f"Owner {owner_id} is not a member of {actor.organisation.name}."
        )
    name = (name or "").strip()
    if reason := text_problem(name, max_length=100):
        problems.add(("name",), f"Name {reason}.")
    problems.raise_if_any("The calendar feed was not created.")
    if owner_id is None:  # reported above; for the type checker
        raise NotFound("No owner.")
    if not may_manage_calendar(actor, owner_id):
        raise PermissionDenied(
            "Only the owner, their sales coordinator or an admin may create a feed of this "
            "calendar."
        )
    prefix = secrets.token_hex(4)
    plain = f"{FEED_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        feed = CalendarFeed.objects.create(
            organisation=actor.organisation,
            owner_id=owner_id,
            name=name,
            prefix=prefix,
            token_hash=_hash(plain),
            created_by=actor.user,
        )
        audit.record(
            actor=actor,
            action="create",
            obj=feed,
            changes={"owner_id": [None, owner_id], "prefix": [None, prefix]},
        )
    return feed, plain


def feed_list(actor: Actor) -> list[CalendarFeed]:
    """The feeds of calendars the actor manages, newest first."""
    feeds = CalendarFeed.objects.filter(organisation=actor.organisation).select_related("owner")
    return [
        f for f in feeds.order_by("-created_at", "-pk") if may_manage_calendar(actor, f.owner_id)
    ]


def feed_get_for(actor: Actor, feed_id: int) -> CalendarFeed:
    feed = (
        CalendarFeed.objects.filter(organisation=actor.organisation, pk=feed_id)
        .select_related("owner")
        .first()
    )
    if feed is None or not may_manage_calendar(actor, feed.owner_id):
        raise NotFound(f"No calendar feed with id {feed_id}.")
    return feed


def feed_revoke(actor: Actor, feed_id: int) -> CalendarFeed:
    with transaction.atomic():
        feed = feed_get_for(actor, feed_id)
        feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
        if feed.revoked_at is None:
            feed.revoked_at = timezone.now()
            feed.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="revoke", obj=feed)
    return feed


def feed_by_token(token: str) -> CalendarFeed:
    """The live feed a URL's token opens; NotFound for an unknown or revoked one (or one whose
    owner has left the organisation)."""
    if not token or not token.startswith(FEED_PREFIX) or len(token) > 200:
        raise NotFound("No such calendar feed.")
    feed = (
        CalendarFeed.objects.filter(token_hash=_hash(token), revoked_at__isnull=True)
        .select_related("organisation", "owner")
        .first()
    )
    if (
        feed is None
        or not feed.owner.is_active
        or not Membership.objects.filter(
            organisation=feed.organisation, user_id=feed.owner_id
        ).exists()
    ):
        raise NotFound("No such calendar feed.")
    now = timezone.now()
    if (
        feed.last_used_at is None
        or (now - feed.last_used_at).total_seconds() > TOUCH_INTERVAL_SECONDS
    ):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed


def feed_appointments(feed: CalendarFeed) -> list[Appointment]:
    """The owner's appointments that are not cancelled, from FEED_PAST_DAYS ago on."""
    since = timezone.now() - dt.timedelta(days=FEED_PAST_DAYS)
    return list(
        Appointment.objects.filter(
            organisation=feed.organisation,
            owner_id=feed.owner_id,
            cancelled_at__isnull=True,
            ends_at__gte=since,
        ).order_by("starts_at", "pk")
    )


def feed_text(feed: CalendarFeed) -> str:
    """The feed's iCalendar: one VEVENT per appointment (ics.py, the invitations' builder)."""
    owner = feed.owner.full_name or feed.owner.email
    return ics.calendar_text(feed_appointments(feed), name=f"{owner} (Salesline)")
