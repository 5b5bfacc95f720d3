"""Demo booking pages and a calendar feed: each demo salesperson gets a public 30-minute
booking page, each organisation with two or more salespeople a team page (round robin, booked
as business development), and the demo login a private calendar feed of their calendar.

`booking_at_work(organisations)` is called once by the demo loader after the calendars exist;
it answers the path of the demo login's feed (its token is shown only here)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.text import slugify

from salesline.accounts import services as accounts
from salesline.accounts.models import Membership, Organisation, Role, User
from salesline.scheduling import booking, feeds
from salesline.scheduling.models import Appointment, BookingPage

DEMO_EMAIL = "demo@salesline.test"


def _free_slug(base: str) -> str:
    slug, n = base[:70].strip("-"), 2
    while BookingPage.objects.filter(slug=slug).exists():
        slug, n = f"{base[:66].strip('-')}-{n}", n + 1
    return slug


def booking_at_work(organisations: Sequence[Organisation]) -> str | None:
    """Booking pages for every demo organisation; the demo login's feed path (or None when the
    demo login is not a member of the first organisation)."""
    feed_path = None
    for organisation in organisations:
        actor = accounts.system_actor(organisation, "demo")
        with transaction.atomic():
            salespeople = list(
                User.objects.filter(
                    is_active=True,
                    memberships__organisation=organisation,
                    memberships__role=Role.SALESPERSON,
                )
                .distinct()
                .order_by("pk")
            )
            for person in salespeople:
                name = person.full_name or person.email.split("@")[0]
                booking.page_create(
                    actor,
                    owner_id=person.pk,
                    slug=_free_slug(slugify(f"{name} 30")),
                    title=f"30-minute call with {name}",
                    description=f"A short call with {name} of {organisation.name}: what you "
                    "need, and whether we can help.",
                    buffer_minutes=10,
                )
            if len(salespeople) >= 2:
                booking.page_create(
                    actor,
                    owner_id=salespeople[0].pk,
                    slug=_free_slug(slugify(f"{organisation.name} meet us")),
                    title=f"Meet {organisation.name}",
                    description="A first meeting with one of our salespeople about your project.",
                    duration_minutes=60,
                    buffer_minutes=15,
                    minimum_notice_hours=24,
                    kind=Appointment.Kind.BUSINESS_DEVELOPMENT,
                    team_ids=[p.pk for p in salespeople[1:]],
                )
    demo = User.objects.filter(email=DEMO_EMAIL).first()
    if organisations and demo is not None:
        first = organisations[0]
        if Membership.objects.filter(organisation=first, user=demo).exists():
            _, token = feeds.feed_create(
                accounts.system_actor(first, "demo"), owner_id=demo.pk, name="Demo phone"
            )
            feed_path = f"/calendar/feed/{token}.ics"
    return feed_path
