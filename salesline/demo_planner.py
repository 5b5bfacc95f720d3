"""Demo data for the meeting planner: each demo salesperson gets a base, meeting requests for
their open opportunities across real towns of a region (their companies located there), and one
accepted plan: next week's meetings on their calendar, the invitations drafted. What is left
open is there to plan the week after from the Planner page.

Called once by salesline.demo after the organisations are loaded."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import Membership, Organisation, Role
from salesline.pipeline.models import Opportunity
from salesline.records.models import Company
from salesline.scheduling import planner
from salesline.scheduling.models import Place

# Towns within a day's drive of the first (the base), per organisation country.
REGIONS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "NO": (
        ("Oslo", 59.9139, 10.7522),
        ("Drammen", 59.7439, 10.2045),
        ("Lillestrøm", 59.9560, 11.0492),
        ("Moss", 59.4340, 10.6577),
        ("Fredrikstad", 59.2181, 10.9298),
        ("Hamar", 60.7945, 11.0680),
        ("Hønefoss", 60.1681, 10.2567),
        ("Tønsberg", 59.2676, 10.4076),
        ("Sarpsborg", 59.2839, 11.1096),
        ("Kongsberg", 59.6686, 9.6502),
    ),
    "GB": (
        ("London", 51.5074, -0.1278),
        ("Reading", 51.4543, -0.9781),
        ("Oxford", 51.7520, -1.2577),
        ("Cambridge", 52.2053, 0.1218),
        ("Luton", 51.8787, -0.4200),
        ("Guildford", 51.2362, -0.5704),
        ("Chelmsford", 51.7356, 0.4685),
        ("Maidstone", 51.2704, 0.5227),
        ("Milton Keynes", 52.0406, -0.7594),
        ("Brighton", 50.8225, -0.1372),
    ),
    "US": (
        ("Chicago", 41.8781, -87.6298),
        ("Evanston", 42.0451, -87.6877),
        ("Naperville", 41.7508, -88.1535),
        ("Aurora", 41.7606, -88.3201),
        ("Joliet", 41.5250, -88.0817),
        ("Waukegan", 42.3636, -87.8448),
        ("Elgin", 42.0354, -88.2826),
        ("Gary", 41.5934, -87.3464),
        ("Schaumburg", 42.0334, -88.0834),
        ("Rockford", 42.2711, -89.0940),
    ),
}
REQUESTS_PER_SALESPERSON = 14
STREETS = ("Storgata", "High Street", "Main Street", "Market Square")
OBJECTIVES = (
    "Present the preservation offer and agree the pilot's scope.",
    "Walk through the proposal with the archive's head and the IT lead.",
    "Understand the volumes and formats; agree the next step.",
    "Meet the budget holder before the tender.",
)


def _region(organisation: Organisation) -> tuple[str, tuple[tuple[str, float, float], ...]]:
    country = (organisation.country or organisation.phone_region or "").upper()
    return (country, REGIONS[country]) if country in REGIONS else ("GB", REGIONS["GB"])


def _next_monday() -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 - today.weekday())


def plans_at_work(organisations: list[Organisation]) -> None:
    """Meeting requests across real towns and one accepted week per demo salesperson."""
    for organisation in organisations:
        rng = random.Random(f"planner-{organisation.slug}")  # noqa: S311 - demo data
        country, towns = _region(organisation)
        for name, lat, lon in towns:
            Place.objects.get_or_create(
                organisation=organisation,
                name=name,
                country=country,
                defaults={"latitude": lat, "longitude": lon},
            )
        actor = accounts.system_actor(organisation, "demo")
        salespeople = (
            Membership.objects.filter(
                organisation=organisation, role=Role.SALESPERSON, user__is_active=True
            )
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
        for owner_id in salespeople:
            base_name, base_lat, base_lon = towns[0]
            planner.base_set(
                actor=actor,
                owner_id=owner_id,
                data={"location": {"address": base_name, "lat": base_lat, "lon": base_lon}},
            )
            opportunities = list(
                Opportunity.objects.filter(
                    organisation=organisation,
                    owner_id=owner_id,
                    status=Opportunity.Status.OPEN,
                    deleted_at=None,
                )
                .select_related("company")
                .order_by("id")[:REQUESTS_PER_SALESPERSON]
            )
            for opportunity in opportunities:
                town, lat, lon = rng.choice(towns[1:])
                company = opportunity.company
                if company is not None and company.latitude is None:
                    Company.objects.filter(pk=company.pk).update(
                        address=f"{rng.randint(1, 80)} {rng.choice(STREETS)}",
                        city=town,
                        country=country,
                        latitude=lat + rng.uniform(-0.02, 0.02),
                        longitude=lon + rng.uniform(-0.03, 0.03),
                    )
                location = None
                if company is None:
                    location = {"address": town, "lat": lat, "lon": lon}
                windows = []
                if rng.random() < 0.25:  # some clients say when they can
                    windows = [{"weekday": rng.randint(1, 5), "start": "09:00", "end": "13:00"}]
                data: dict = {
                    "opportunity_id": opportunity.pk,
                    "owner_id": owner_id,
                    "objective": rng.choice(OBJECTIVES),
                    "priority": rng.randint(1, 5),
                    "duration_minutes": rng.choice((45, 60, 60, 90)),
                    "windows": windows,
                }
                if location is not None:
                    data["location"] = location
                planner.request_create(actor=actor, data=data)
            if not opportunities:
                continue
            plan = planner.plan_create(
                actor=actor,
                data={"owner_id": owner_id, "start": _next_monday(), "days": 5},
                time_limit=1.0,
            )
            if plan.meetings.exists():
                planner.plan_accept(actor=actor, plan_id=plan.pk)
