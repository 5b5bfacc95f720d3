"""Demo calendars: each demo organisation gets a sales coordinator who runs its salespeople's
calendars (seed 004), its companies get addresses, towns and coordinates, the organisation a
geocoding table of those towns (Place rows), and each salesperson a week of appointments of
every kind, the business-development ones about open opportunities with their objectives.

`calendars_at_work(organisations)` is called once by the demo loader after the organisations
exist. Appointments go through the services, so every one obeys the calendar rules."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import Coordination, Membership, Organisation, Role
from salesline.core.errors import DomainError
from salesline.pipeline.models import Opportunity
from salesline.playbooks.task_services import task_create
from salesline.records.models import Company
from salesline.scheduling import appointment_services, capacity
from salesline.scheduling.models import Place, WorkingPattern

# The demo organisations' countries' time zones.
ZONES = {"NO": "Europe/Oslo", "US": "America/New_York", "GB": "Europe/London"}

# Real towns: (name, ISO country, latitude, longitude), by the demo's markets.
TOWNS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "GB": (
        ("London", 51.5074, -0.1278),
        ("Manchester", 53.4808, -2.2426),
        ("Leeds", 53.8008, -1.5491),
        ("Bristol", 51.4545, -2.5879),
        ("Glasgow", 55.8642, -4.2518),
        ("Edinburgh", 55.9533, -3.1883),
        ("Cardiff", 51.4816, -3.1791),
        ("Sheffield", 53.3811, -1.4701),
        ("Nottingham", 52.9548, -1.1581),
        ("Belfast", 54.5973, -5.9301),
        ("York", 53.9590, -1.0815),
        ("Brighton", 50.8225, -0.1372),
    ),
    "US": (
        ("Chicago", 41.8781, -87.6298),
        ("Atlanta", 33.7490, -84.3880),
        ("Boston", 42.3601, -71.0589),
        ("Seattle", 47.6062, -122.3321),
        ("Berkeley", 37.8715, -122.2730),
        ("Denver", 39.7392, -104.9903),
        ("Austin", 30.2672, -97.7431),
        ("Ann Arbor", 42.2808, -83.7430),
        ("Pittsburgh", 40.4406, -79.9959),
        ("Boulder", 40.0150, -105.2705),
        ("San Diego", 32.7157, -117.1611),
    ),
    "NO": (
        ("Oslo", 59.9139, 10.7522),
        ("Bergen", 60.3913, 5.3221),
        ("Trondheim", 63.4305, 10.3951),
        ("Stavanger", 58.9700, 5.7331),
        ("Tromsø", 69.6492, 18.9553),
        ("Drammen", 59.7439, 10.2045),
        ("Kristiansand", 58.1467, 7.9956),
    ),
    "DE": (
        ("Berlin", 52.5200, 13.4050),
        ("München", 48.1351, 11.5820),
        ("Köln", 50.9375, 6.9603),
        ("Hamburg", 53.5511, 9.9937),
        ("Leipzig", 51.3397, 12.3731),
        ("Stuttgart", 48.7758, 9.1829),
    ),
    "FR": (
        ("Paris", 48.8566, 2.3522),
        ("Lyon", 45.7640, 4.8357),
        ("Toulouse", 43.6047, 1.4442),
        ("Nantes", 47.2184, -1.5536),
        ("Lille", 50.6292, 3.0573),
        ("Bordeaux", 44.8378, -0.5792),
    ),
}
# The demo's markets (records' `market`) -> country code.
MARKETS = {
    "United Kingdom": "GB",
    "United States": "US",
    "Norway": "NO",
    "Germany": "DE",
    "France": "FR",
}
STREETS = ("High Street", "Station Road", "Main Street", "Market Place", "Church Lane", "Mill Road")
OBJECTIVES = (
    "Confirm the data volume and the retention period with the archive owner.",
    "Agree the pilot's scope and who signs off on it.",
    "Meet the budget holder and learn the buying process.",
    "Present the preservation plan and its price.",
    "Qualify: the need, the timing, the decision makers.",
)
OTHER_KINDS = (
    ("account_management", "Quarterly account review"),
    ("call", "Follow-up call"),
    ("check_in", "Check-in after delivery"),
    ("launch", "Launch of the new archive"),
    ("internal", "Pipeline review with the coordinator"),
)
COORDINATORS = (("Casey", "Morgan"), ("Robin", "Ellis"), ("Jordan", "Blake"))


def _town(rng: random.Random, company: Company) -> tuple[str, str, float, float]:
    country = MARKETS.get(company.market, "") or rng.choice(("GB", "US"))
    towns = TOWNS[country]
    named = [t for t in towns if t[0].lower() in company.name.lower()]
    name, lat, lon = named[0] if named else rng.choice(towns)
    return country, name, lat, lon


def _locate_companies(rng: random.Random, organisation: Organisation) -> None:
    """Addresses, towns, countries and coordinates for the companies; about one in five left
    without coordinates, so a meeting there is geocoded from the town."""
    companies = list(Company.objects.filter(organisation=organisation, deleted_at=None))
    for company in companies:
        country, town, lat, lon = _town(rng, company)
        company.address = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
        company.city = town
        company.country = country
        if rng.random() < 0.8:
            company.latitude = round(lat + rng.uniform(-0.03, 0.03), 5)
            company.longitude = round(lon + rng.uniform(-0.03, 0.03), 5)
    Company.objects.bulk_update(
        companies, ["address", "city", "country", "latitude", "longitude"], batch_size=500
    )


def _places(organisation: Organisation) -> None:
    Place.objects.bulk_create(
        [
            Place(
                organisation=organisation, name=name, country=country, latitude=lat, longitude=lon
            )
            for country, towns in TOWNS.items()
            for name, lat, lon in towns
        ],
        ignore_conflicts=True,
    )


def _coordinator(organisation: Organisation, index: int, salespeople: list[int]):
    """A new sales coordinator running every salesperson's calendar."""
    system = accounts.system_actor(organisation, "demo")
    first, last = COORDINATORS[index % len(COORDINATORS)]
    user = accounts.user_create(
        actor=system,
        email=f"{first.lower()}.{last.lower()}@{organisation.slug}.example",
        role=Role.SALES_COORDINATOR,
        full_name=f"{first} {last}",
    )
    Coordination.objects.filter(organisation=organisation, salesperson_id__in=salespeople).delete()
    Coordination.objects.bulk_create(
        [
            Coordination(organisation=organisation, coordinator=user, salesperson_id=pk)
            for pk in salespeople
        ]
    )
    # The coordinator's standing work: next week's meetings, planned and confirmed.
    task_create(
        actor=accounts.actor_for(user, organisation),
        title="Plan and confirm next week's business-development meetings",
        instructions="Run the meeting planner for each salesperson, review the itinerary, "
        "accept it and send the drafted invitations.",
        due_date=timezone.localdate() + dt.timedelta(days=3),
        assignee_id=user.pk,
    )
    return user


def _week(rng: random.Random, organisation: Organisation, coordinator, salesperson_id: int) -> None:
    """This week's appointments (Monday to Friday) on a salesperson's calendar, made by the
    coordinator: two or three business-development meetings a day about open opportunities,
    and one meeting of another kind; the past ones with an outcome."""
    actor = accounts.actor_for(coordinator, organisation)
    opportunities = list(
        Opportunity.objects.filter(
            organisation=organisation,
            status=Opportunity.Status.OPEN,
            deleted_at=None,
            company__isnull=False,
        ).order_by("id")[:60]
    )
    if not opportunities:
        return
    rng.shuffle(opportunities)
    now = timezone.now()
    zone = capacity.zone_of(capacity.pattern_for(organisation, salesperson_id))
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    for offset in range(5):
        day = monday + dt.timedelta(days=offset)
        hours = sorted(rng.sample((9, 10, 11, 13, 14, 15), rng.randint(2, 3)))
        for hour in hours:
            opportunity = opportunities.pop() if opportunities else None
            if opportunity is None:
                break
            starts = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
            data = {
                "kind": "business_development",
                "owner_id": salesperson_id,
                "starts_at": starts,
                "ends_at": starts + dt.timedelta(minutes=rng.choice((45, 60))),
                "opportunity_id": opportunity.pk,
                "objective": rng.choice(OBJECTIVES),
                "title": f"Visit: {opportunity.name}"[:200],
            }
            if starts < now:
                data["outcome"] = rng.choice(
                    ("Next meeting agreed.", "Proposal requested.", "Not the right time yet.")
                )
            _create(actor, data)
        kind, title = OTHER_KINDS[offset % len(OTHER_KINDS)]
        starts = dt.datetime.combine(day, dt.time(16), tzinfo=zone)
        _create(
            actor,
            {
                "kind": kind,
                "owner_id": salesperson_id,
                "starts_at": starts,
                "ends_at": starts + dt.timedelta(minutes=30),
                "title": title,
                "location": {"address": "Video call"} if kind in ("call", "internal") else None,
            },
        )


def _create(actor, data: dict) -> None:
    # A rule said no (a full day): the demo leaves that slot free.
    with contextlib.suppress(DomainError):
        appointment_services.appointment_create(actor=actor, data=data)


def calendars_at_work(organisations: Sequence[Organisation], seed: int = 2026) -> None:
    """Coordinators, company locations, the geocoding table and a week of meetings for each
    demo organisation."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    for index, organisation in enumerate(organisations):
        with transaction.atomic():
            _places(organisation)
            _locate_companies(rng, organisation)
            salespeople = sorted(
                set(
                    Membership.objects.filter(
                        organisation=organisation,
                        role=Role.SALESPERSON,
                        user__is_active=True,
                    ).values_list("user_id", flat=True)
                )
            )
            if not salespeople:
                continue
            coordinator = _coordinator(organisation, index, salespeople)
            for salesperson_id in salespeople:
                # Each salesperson works in their organisation's time zone.
                WorkingPattern.objects.update_or_create(
                    organisation=organisation,
                    user_id=salesperson_id,
                    defaults={"time_zone": ZONES.get(organisation.country, "Europe/London")},
                )
                _week(rng, organisation, coordinator, salesperson_id)
