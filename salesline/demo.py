"""Demo data: three organisations on the three built-in templates, with a year of history.

Everything comes from one seed (`random.Random` and per-locale Faker instances), so every load
writes the same names, values and stage paths; times are kept as offsets and placed before the
moment of loading. `build_plan` is pure generation (no queries); `load_demo` writes the plan.

This is a fixture loader, the one accepted exception to "writes go through services": records are
written with bulk_create for speed. It therefore does by hand what the services would do — set
`search_name` / `match_name` / `search_text`, fill minimum fields, tick checklists — and checks
every stage path with the same pure gate evaluator the services use before writing anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from faker import Faker

from salesline.accounts import services as accounts
from salesline.accounts.models import Organisation, Role, User
from salesline.core import audit
from salesline.core.errors import Conflict, NotFound
from salesline.core.models import AuditEvent
from salesline.demo_booking import booking_at_work
from salesline.demo_calendars import calendars_at_work
from salesline.demo_capacity import capacity_at_work
from salesline.demo_network import network_at_work
from salesline.demo_planner import plans_at_work
from salesline.demo_work import work_at_work
from salesline.pipeline.definition import pipelines_of
from salesline.pipeline.gates import MoveFacts, evaluate_move
from salesline.pipeline.models import ChecklistTick, Opportunity, Pipeline, Stage, StageChange
from salesline.playbooks.agreement_services import SIGNED_AGREEMENT
from salesline.playbooks.billing import default_end
from salesline.playbooks.models import Agreement
from salesline.process.definition import ProcessDefinitionSpec, template_text
from salesline.process.services import organisation_create, process_parse
from salesline.records.matching import company_match_name, last_word, name_block, search_key
from salesline.records.models import Company, Lead, Note, Person
from salesline.records.services import search_text_of

DEMO_EMAIL = "demo@salesline.test"
DEMO_PASSWORD = "salesline-demo"  # noqa: S105 - the published demo login, printed by `init --demo`
DEMO_ACTION = "demo.load"
DAY = 86_400  # seconds
# Companies and people were imported before the year of pipeline history begins.
IMPORTED_DAYS = (400, 540)


@dataclass(frozen=True)
class DemoSummary:
    organisations: tuple[str, ...]  # slugs
    companies: int
    people: int
    leads: int
    converted_leads: int
    opportunities: int
    stage_changes: int
    checklist_ticks: int
    notes: int
    login_email: str
    login_password: str
    token: str
    fingerprint: str


# ---------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Country:
    locale: str
    market: str
    business_unit: str
    tld: str
    phone: str  # '#' becomes a digit
    cities: tuple[str, ...]


COUNTRIES = {
    "no": Country(
        "no_NO", "Norway", "Nordics", "no", "+47 9## ## ###",
        ("Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Bodø", "Ålesund", "Drammen",
         "Kristiansand", "Lillehammer", "Hamar", "Fredrikstad"),
    ),
    "gb": Country(
        "en_GB", "United Kingdom", "UK & Ireland", "co.uk", "+44 20 7946 0###",
        ("London", "Manchester", "Leeds", "Bristol", "Glasgow", "Edinburgh", "Cardiff",
         "Sheffield", "Nottingham", "Belfast", "York", "Brighton"),
    ),
    "de": Country(
        "de_DE", "Germany", "DACH", "de", "+49 30 #######",
        ("Berlin", "München", "Köln", "Hamburg", "Düsseldorf", "Leipzig", "Dresden", "Stuttgart",
         "Nürnberg", "Münster", "Freiburg", "Würzburg"),
    ),
    "fr": Country(
        "fr_FR", "France", "France & Benelux", "fr", "+33 1 ## ## ## ##",
        ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Strasbourg", "Lille", "Bordeaux",
         "Rennes", "Montpellier", "Grenoble", "Besançon"),
    ),
    "us": Country(
        "en_US", "United States", "North America", "com", "+1 202 555 01##",
        ("Boston", "Seattle", "Berkeley", "Denver", "Austin", "Chicago", "Ann Arbor",
         "Pittsburgh", "Boulder", "San Diego"),
    ),
}  # fmt: skip

# (pattern, company sector, public?) per country; {city} and {last} are filled in.
type Patterns = dict[str, tuple[tuple[str, str, bool], ...]]

ARCHIVE_CLIENTS: Patterns = {
    "no": (
        ("{city} kommune", "Government", True),
        ("{city} byarkiv", "Culture & heritage", True),
        ("Universitetet i {city}", "Education", True),
        ("{city} tingrett", "Justice", True),
        ("{last} Film AS", "Media & entertainment", False),
        ("{city} Sparebank", "Banking & finance", False),
        ("Advokatfirmaet {last} AS", "Legal", False),
        ("{last} Energi ASA", "Energy", False),
    ),
    "gb": (
        ("{city} City Council", "Government", True),
        ("{city} Record Office", "Culture & heritage", True),
        ("University of {city}", "Education", True),
        ("{city} Teaching Hospitals NHS Trust", "Health", True),
        ("{last} Pictures Ltd", "Media & entertainment", False),
        ("{city} Building Society", "Banking & finance", False),
        ("{last} & {last2} Solicitors LLP", "Legal", False),
        ("{last} Engineering plc", "Industry", False),
    ),
    "de": (
        ("Stadtarchiv {city}", "Culture & heritage", True),
        ("Stadtverwaltung {city}", "Government", True),
        ("Universität {city}", "Education", True),
        ("Landgericht {city}", "Justice", True),
        ("{last} Filmproduktion GmbH", "Media & entertainment", False),
        ("Sparkasse {city}", "Banking & finance", False),
        ("{last} Versicherung AG", "Insurance", False),
        ("{last} Maschinenbau GmbH", "Industry", False),
    ),
    "fr": (
        ("Archives municipales de {city}", "Culture & heritage", True),
        ("Mairie de {city}", "Government", True),
        ("Université de {city}", "Education", True),
        ("Centre hospitalier de {city}", "Health", True),
        ("Productions {last} SAS", "Media & entertainment", False),
        ("Banque {last}", "Banking & finance", False),
        ("Cabinet {last} Avocats", "Legal", False),
        ("{last} Énergie SA", "Energy", False),
    ),
}

RESEARCH_PARTNERS: Patterns = {
    "us": (
        ("University of {city}", "Higher education", True),
        ("{city} Data Science Institute", "Research", False),
        ("{last} Earth Observatory", "Research", False),
        ("{city} Community College", "Higher education", True),
    ),
    "gb": (
        ("University of {city}", "Higher education", True),
        ("{city} Institute for Climate Research", "Research", True),
        ("{last} Open Science Trust", "Non-profit", False),
    ),
    "de": (
        ("Universität {city}", "Higher education", True),
        ("{last}-Institut für Geowissenschaften", "Research", True),
    ),
    "fr": (
        ("Université de {city}", "Higher education", True),
        ("Institut {last} de recherche", "Research", True),
    ),
    "no": (
        ("Universitetet i {city}", "Higher education", True),
        ("{city} klimaforskningssenter", "Research", True),
    ),
}

NETWORK_CLIENTS: Patterns = {
    "gb": (
        ("{city} Housing Co-operative", "Housing", False),
        ("{last} Foundation", "Charity", False),
        ("{city} Community Energy", "Energy", False),
        ("{city} City Council", "Local government", True),
        ("{city} Food Co-op", "Co-operative", False),
        ("Friends of {city} Museum", "Arts & culture", False),
        ("{city} Credit Union", "Finance", False),
        ("{last} Trust", "Charity", False),
    ),
    "fr": (("Coopérative {last}", "Co-operative", False),),
    "de": (("{last} Genossenschaft eG", "Co-operative", False),),
}


def _archive_opportunity(rng: random.Random, company: dict) -> tuple[str, str, Decimal]:
    """'<amount of data> - <content> - <service>', as the business-development gate asks."""
    unit, amounts, per_unit, floor = rng.choice(
        [
            ("GB", [50, 100, 200, 500, 800], 120, 10_000),
            ("TB", [1, 2, 3, 5, 8, 12, 20, 40, 75], 55_000, 20_000),
            ("PB", [1, 1.5, 2], 1_600_000, 0),
            ("pages", [10_000, 50_000, 250_000, 1_000_000, 5_000_000, 50_000_000], 0.1, 8_000),
            ("film reels", [120, 600, 2_500], 250, 5_000),
        ]
    )
    amount = rng.choice(amounts)
    volume = f"{amount:,} {unit}".replace(",", " ")
    public = company["sector"] in PUBLIC_ARCHIVE_SECTORS
    content = rng.choice(PUBLIC_CONTENT if public else PRIVATE_CONTENT)
    service = rng.choice(ARCHIVE_SERVICES)
    value = (amount * per_unit + floor) * rng.uniform(0.7, 1.3)
    return f"{volume} - {content} - {service}", volume, _money(value)


PUBLIC_ARCHIVE_SECTORS = {"Government", "Culture & heritage", "Education", "Justice", "Health"}
PUBLIC_CONTENT = (
    "Personnel records", "Legal documents", "Court records", "Land registry maps",
    "Church books", "Building permits", "Patient journals", "Council minutes", "Tax records",
    "Photo collection", "Newspaper archive", "Research data",
)  # fmt: skip
PRIVATE_CONTENT = (
    "Movie soundfiles in different languages", "Broadcast footage", "Master recordings",
    "Engineering drawings", "Loan agreements", "Seismic data", "Design archive",
    "Customer contracts", "Annual reports",
)  # fmt: skip
ARCHIVE_SERVICES = (
    "Preservation", "Digitization", "Digitization & preservation", "Online access",
    "Migration & preservation",
)  # fmt: skip


def _partnership_opportunity(rng: random.Random, company: dict) -> tuple[str, str, Decimal]:
    service, low, high = rng.choice(
        [
            ("Managed JupyterHub", 12_000, 40_000),
            ("BinderHub service", 8_000, 25_000),
            ("Research hub with GPUs", 40_000, 120_000),
            ("Dedicated cluster", 60_000, 180_000),
            (f"Education hub for {rng.choice(COURSES)}", 6_000, 20_000),
        ]
    )
    storage = f"{rng.choice([1, 2, 5, 10, 20])} TB" if rng.random() < 0.6 else ""
    return f"{company['name']} - {service}", storage, _money(rng.uniform(low, high))


COURSES = ("Intro to Data Science", "Climate Modelling 101", "Computational Physics", "Geo-AI")


def _network_opportunity(rng: random.Random, company: dict) -> tuple[str, str, Decimal]:
    project, low, high = rng.choice(
        [
            ("Website rebuild", 8_000, 40_000),
            ("Membership CRM", 15_000, 60_000),
            ("Data dashboard", 6_000, 30_000),
            ("Booking system", 10_000, 45_000),
            ("Accessibility audit", 3_000, 9_000),
            ("Digital strategy", 5_000, 20_000),
            ("Mobile app", 30_000, 120_000),
            ("Hosting & support", 4_000, 15_000),
        ]
    )
    return f"{company['name']} - {project}", "", _money(rng.uniform(low, high))


def _money(value: float) -> Decimal:
    # Estimates are given in round thousands.
    return Decimal(max(1_000, round(value / 1_000) * 1_000)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class OrgProfile:
    name: str
    template: str
    currency: str
    counts: dict[str, int]  # companies, people, leads, opportunities, notes
    countries: dict[str, int]  # country key -> weight
    patterns: Patterns
    stage_weights: dict[str, int]
    opportunity: Callable[[random.Random, dict], tuple[str, str, Decimal]]
    verticals: tuple[str, ...]
    titles: tuple[str, ...]
    sources: dict[str, tuple[str, ...]]  # lead source -> detail templates ({year}, {city})
    won_reasons: tuple[str, ...]
    lost_reasons: tuple[str, ...]
    # (note kind, template with {first}, {company}, {city}); meetings count in the reports
    notes: tuple[tuple[str, str], ...]
    use_cases: tuple[str, ...]
    business_cases: tuple[str, ...]
    staff_domain: str
    # Values for the person custom fields the template declares (key -> choices).
    person_custom: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Whether the sales method records buying influences (Miller Heiman) on people.
    buying_influences: bool = False


PROFILES = (
    OrgProfile(
        name="Piql Archive",
        template="business-development",
        currency="EUR",
        counts={"companies": 120, "people": 300, "leads": 600, "opportunities": 180, "notes": 150},
        countries={"no": 4, "gb": 2, "de": 2, "fr": 2},
        patterns=ARCHIVE_CLIENTS,
        stage_weights={
            "identify": 20,
            "qualify": 17,
            "develop": 14,
            "propose": 11,
            "negotiate": 8,
            "won": 17,
            "lost": 13,
        },
        opportunity=_archive_opportunity,
        verticals=(
            "Government & public archives",
            "Film & broadcast",
            "Cultural heritage",
            "Banking & finance",
            "Health",
            "Legal",
            "Energy",
        ),
        titles=(
            "Head of Archives",
            "Records Manager",
            "IT Director",
            "Chief Digital Officer",
            "Archivist",
            "Procurement Officer",
            "Head of Collections",
            "CFO",
            "Head of Media Asset Management",
        ),
        sources={
            "Trade show": ("Archiving Expo {year}, stand {n}", "Media Production Show {year}"),
            "Conference": (
                "iPRES {year}, participant list",
                "DLM Forum {year}, {city}",
                "ICA Congress {year}",
            ),
            "Website": ("Contact form: asked about film preservation", "Downloaded white paper"),
            "Webinar": ("Webinar 'Data that lasts 1000 years', {year}",),
            "LinkedIn": ("Replied to a post about migration-free preservation",),
            "Referral": ("Referred by a client in {city}",),
        },
        won_reasons=(
            "Signed a framework agreement",
            "Chosen for the migration-free preservation guarantee",
            "Won the public tender",
            "Pilot succeeded; full contract signed",
        ),
        lost_reasons=(
            "Budget cut for next year",
            "Chose a cloud-only competitor",
            "Project postponed indefinitely",
            "No answer after the proposal",
            "Lost the tender on price",
        ),
        notes=(
            (
                "call",
                "Called {first}: they are reviewing the budget for next year; "
                "follow up in two weeks.",
            ),
            (
                "meeting",
                "Met {first} at the archive in {city}; "
                "they store their masters on ageing LTO tapes.",
            ),
            ("email", "Sent the proposal and the preservation white paper to {first}."),
            ("note", "{company} wants a proof of concept with a sample of their collection."),
            ("note", "Procurement at {company} needs the offer in EUR, excluding VAT."),
        ),
        use_cases=(
            "Keep the records readable and authentic for decades without migrations.",
            "Offline master copy of the collection, safe from ransomware.",
            "Digitize fragile originals and give researchers online access.",
        ),
        business_cases=(
            "Lower total cost than re-migrating the collection every five years.",
            "No power or cooling needed for the long-term copy.",
            "Meets the legal retention period without recurring storage fees.",
        ),
        staff_domain="piql.salesline.test",
        person_custom={
            "buying_influence_concept": (
                "Wants a solution that outlives file formats",
                "Sees preservation as a compliance cost",
                "Champion of open, self-describing formats",
            )
        },
        buying_influences=True,
    ),
    OrgProfile(
        name="2i2c Partnerships",
        template="partnerships",
        currency="USD",
        counts={"companies": 40, "people": 100, "leads": 200, "opportunities": 60, "notes": 50},
        countries={"us": 4, "gb": 2, "de": 1, "fr": 1, "no": 1},
        patterns=RESEARCH_PARTNERS,
        stage_weights={"lead": 35, "prospect": 25, "partner": 25, "lost": 15},
        opportunity=_partnership_opportunity,
        verticals=(
            "Climate science",
            "Geoscience",
            "Bioinformatics",
            "Data science education",
            "Astronomy",
        ),
        titles=(
            "Professor of Earth Sciences",
            "Research Software Engineer",
            "Director of Research Computing",
            "Lecturer in Data Science",
            "Project Scientist",
            "Community Manager",
        ),
        sources={
            "Website": ("Contact form: interested in a hub for {course}",),
            "JupyterCon": ("JupyterCon {year}: met at the booth",),
            "AGU Fall Meeting": ("AGU Fall Meeting {year}, poster session",),
            "Referral": ("Referred by a partner community in {city}",),
            "Email": ("Wrote to partnerships@ about a research hub",),
        },
        won_reasons=(
            "Service agreement fully signed by all parties",
            "Executed close after DocuSign",
            "Renewed for another year",
        ),
        lost_reasons=(
            "Verbal close: no — no budget this year",
            "Chose to self-host JupyterHub",
            "Grant application unsuccessful",
            "Procurement could not contract with CS&S",
        ),
        notes=(
            (
                "email",
                "Sent 'Hail the Lead' with the service description and a Calendly link to {first}.",
            ),
            (
                "meeting",
                "First meeting with {first}: running notes shared; demo of the hub went well.",
            ),
            ("email", "Draft service agreement shared with {company}."),
            ("note", "{first} asked about the right to replicate the hub elsewhere."),
            ("note", "Launch meeting scheduled with {company}."),
        ),
        use_cases=(
            "Students start the course in a browser with every package installed.",
            "Researchers analyse cloud-hosted climate data next to where it is stored.",
        ),
        business_cases=(
            "Cheaper than running the hub with the community's own staff.",
            "Grant-funded for three years; the right to replicate keeps them free to leave.",
        ),
        staff_domain="2i2c.salesline.test",
    ),
    OrgProfile(
        name="CoTech Network",
        template="network-enquiries",
        currency="GBP",
        counts={"companies": 40, "people": 100, "leads": 200, "opportunities": 60, "notes": 50},
        countries={"gb": 8, "fr": 1, "de": 1},
        patterns=NETWORK_CLIENTS,
        stage_weights={"enquiry": 25, "qualified": 20, "referred": 15, "won": 20, "lost": 20},
        opportunity=_network_opportunity,
        verticals=("Web development", "Data", "Design", "Infrastructure", "Training"),
        titles=(
            "Operations Manager",
            "Chief Executive",
            "Digital Lead",
            "Communications Officer",
            "Trustee",
            "Project Coordinator",
        ),
        sources={
            "Website enquiry form": ("Enquiry via coops.tech: {project}",),
            "Email to the network": ("Wrote to the network list about {project}",),
            "Referral from a member": ("Referred by a member co-op in {city}",),
            "Co-op fair": ("Co-operatives Fair {year}, {city}",),
        },
        won_reasons=(
            "Joint bid accepted",
            "Member co-ops agreed the split and the client signed",
            "Client chose the network's proposal",
        ),
        lost_reasons=(
            "Budget below the network's minimum",
            "Timescale too short for the members available",
            "Brief out of scope for the network",
            "Client went with a single agency",
        ),
        notes=(
            ("note", "Rota duty: enquiry from {first} checked against the eligibility criteria."),
            ("note", "Handed over to two member co-ops; {first} is the client contact."),
            ("note", "{company} needs the work done before the end of the financial year."),
            ("call", "Call with {first}: the brief is clear, budget confirmed."),
        ),
        use_cases=(
            "Members book and pay online instead of by phone.",
            "Staff see the figures they report to funders on one page.",
        ),
        business_cases=(
            "Saves a day of administration a week.",
            "Needed for the next funding bid.",
        ),
        staff_domain="cotech.salesline.test",
    ),
)

CONTACT_TYPES = ("Customer", "Prospect", "Partner", "Reseller")
LIFE_CYCLES = ("Suspect", "Prospect", "Customer", "Former customer")
PUBLIC_SEGMENTS = ("National", "Regional", "Municipal")
PRIVATE_SEGMENTS = ("Enterprise", "Mid-market", "Small business")
BUYING_INFLUENCES = ("Economic buyer", "User buyer", "Technical buyer", "Coach")
RESPONSE_MODES = ("Growth", "Trouble", "Even keel", "Overconfident")
STATUS_REPORTS = (
    "Waiting for the client's budget decision.",
    "Technical questions answered.",
    "Legal review of the agreement in progress.",
    "Pilot running.",
)
PROJECTS = ("a new website", "a membership database", "an open data portal", "a booking app")


# ---------------------------------------------------------------- the plan


@dataclass
class OrgPlan:
    """One organisation's records as model field values. Keys starting with '_' are references
    by index into this plan, owners by role, and times as seconds before the load."""

    name: str
    template: str
    staff: list[dict] = field(default_factory=list)
    companies: list[dict] = field(default_factory=list)
    people: list[dict] = field(default_factory=list)
    opportunities: list[dict] = field(default_factory=list)
    leads: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)


@dataclass
class DemoPlan:
    seed: int
    organisations: list[OrgPlan]

    def fingerprint(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


class _Generator:
    def __init__(self, seed: int, profile: OrgProfile, spec: ProcessDefinitionSpec):
        # One Random per organisation so changing one profile does not reshuffle the others.
        self.rng = random.Random(f"{seed}:{profile.template}")  # noqa: S311 - not a secret
        self.profile, self.spec = profile, spec
        self.fakers = {}
        for key in profile.countries:
            # Faker's multi-locale proxy picks locales with the global `random`; one seeded
            # instance per locale keeps the output reproducible.
            faker = Faker(COUNTRIES[key].locale)
            faker.seed_instance(f"{seed}:{profile.template}:{key}")
            self.fakers[key] = faker
        self.plan = OrgPlan(profile.name, profile.template)

    # -- helpers

    def country(self) -> str:
        keys = list(self.profile.countries)
        return self.rng.choices(keys, weights=[self.profile.countries[k] for k in keys])[0]

    def phone(self, country: str) -> str:
        return "".join(
            str(self.rng.randrange(10)) if ch == "#" else ch for ch in COUNTRIES[country].phone
        )

    def person_name(self, country: str) -> tuple[str, str]:
        faker = self.fakers[country]
        return faker.first_name(), faker.last_name()

    def ago(self, low_days: float, high_days: float) -> int:
        return int(self.rng.uniform(low_days, high_days) * DAY)

    def owner(self) -> str:
        return self.rng.choices(
            [Role.SALESPERSON, Role.SALES_COORDINATOR, Role.ADMIN], weights=[6, 3, 1]
        )[0]

    # -- records

    def staff(self) -> None:
        self.plan.staff.append({"email": DEMO_EMAIL, "full_name": "Demo Admin", "role": "admin"})
        for role in (Role.SALESPERSON, Role.SALES_COORDINATOR):
            first, last = self.person_name(self.country())
            email = _mailbox(first, last, self.profile.staff_domain)
            self.plan.staff.append({"email": email, "full_name": f"{first} {last}", "role": role})

    def company_name(self, country: str) -> tuple[str, str, bool]:
        patterns = self.profile.patterns.get(country) or next(iter(self.profile.patterns.values()))
        pattern, sector, public = self.rng.choice(patterns)
        faker = self.fakers[country]
        name = pattern.format(
            city=self.rng.choice(COUNTRIES[country].cities),
            last=faker.last_name(),
            last2=faker.last_name(),
        )
        return name, sector, public

    def companies(self) -> None:
        seen: set[str] = set()
        while len(self.plan.companies) < self.profile.counts["companies"]:
            country = self.country()
            name, sector, public = self.company_name(country)
            key = company_match_name(name)
            if key in seen:
                continue
            seen.add(key)
            domain = f"{_slug(name)}.example"  # a reserved TLD: demo mail can reach no one
            self.plan.companies.append(
                {
                    "name": name,
                    "contact_type": self.rng.choice(CONTACT_TYPES),
                    "business_unit": COUNTRIES[country].business_unit,
                    "market": COUNTRIES[country].market,
                    "life_cycle": self.rng.choice(LIFE_CYCLES),
                    "sector": sector,
                    "segment": self.rng.choice(PUBLIC_SEGMENTS if public else PRIVATE_SEGMENTS),
                    "website": f"https://www.{domain}",
                    "email_domain": domain,
                    "_country": country,
                    "_public": public,
                    "_owner": self.owner(),
                    "_ago": self.ago(*IMPORTED_DAYS),
                }
            )

    def people(self) -> None:
        companies = self.plan.companies
        # Every company gets one contact first, so every opportunity can have a primary contact.
        indexes = list(range(len(companies))) + [
            self.rng.randrange(len(companies))
            for _ in range(self.profile.counts["people"] - len(companies))
        ]
        emails: set[str] = set()
        for company_index in indexes:
            company = companies[company_index]
            country = company["_country"]
            first, last = self.person_name(country)
            email = _mailbox(first, last, company["email_domain"])
            while email in emails:
                email = email.replace("@", f"{self.rng.randrange(10)}@", 1)
            emails.add(email)
            detailed = self.profile.buying_influences and self.rng.random() < 0.5
            self.plan.people.append(
                {
                    "name": f"{first} {last}",
                    "email": email,
                    "phone": self.phone(country),
                    "business_unit": company["business_unit"],
                    "title": self.rng.choice(self.profile.titles),
                    "buying_influence": self.rng.choice(BUYING_INFLUENCES) if detailed else "",
                    "response_mode": self.rng.choice(RESPONSE_MODES) if detailed else "",
                    "custom_fields": {
                        key: self.rng.choice(choices)
                        for key, choices in self.profile.person_custom.items()
                        if self.rng.random() < 0.3
                    },
                    "_company": company_index,
                    "_owner": company["_owner"],
                    "_ago": company["_ago"] - self.ago(0, 30),
                }
            )

    def opportunities(self) -> None:
        pipeline = pipelines_of(self.spec)[0]
        stages = {stage.key: stage for stage in pipeline.stages}
        open_keys = [s.key for s in pipeline.stages if s.kind == "open"]
        people_by_company: dict[int, list[int]] = {}
        for index, person in enumerate(self.plan.people):
            people_by_company.setdefault(person["_company"], []).append(index)
        targets = _allocate(self.profile.counts["opportunities"], self.profile.stage_weights)
        self.rng.shuffle(targets)
        for target in targets:
            kind = stages[target].kind
            if kind == "open":
                path = open_keys[: open_keys.index(target) + 1]
            elif kind == "won":
                path = [*open_keys, target]
            else:  # lost: from whichever open stage the deal had reached
                path = [*open_keys[: self.rng.randrange(len(open_keys)) + 1], target]
            company_index = self.rng.randrange(len(self.plan.companies))
            company = self.plan.companies[company_index]
            name, volume, value = self.profile.opportunity(self.rng, company)
            steps = self.steps(path)
            closed = kind != "open"
            reason = self.rng.choice(
                self.profile.won_reasons if kind == "won" else self.profile.lost_reasons
            )
            opportunity = {
                "name": name,
                "value": value,
                "currency": self.profile.currency,
                "data_volume": volume,
                "sector": "public" if company["_public"] else "private",
                "win_probability": stages[target].probability,
                "vertical": self.rng.choice(self.profile.verticals),
                "use_case": self.rng.choice(self.profile.use_cases),
                "business_case": self.rng.choice(self.profile.business_cases),
                "status_report": self.rng.choice(STATUS_REPORTS),
                "status": kind,
                "close_reason": reason if closed else "",
                "custom_fields": {
                    custom.key: self.rng.random() < 0.4
                    for custom in self.spec.custom_fields
                    if custom.record == "opportunity" and custom.type == "boolean"
                },
                "_company": company_index,
                "_person": self.rng.choice(people_by_company[company_index]),
                "_owner": company["_owner"],
                # Open deals close ahead, some soon and some late already (home's "Needs
                # attention" shows them); closed ones closed when they did.
                "_close_in_days": (-(steps[-1]["_ago"] // DAY) if closed else self.close_in()),
                "_steps": steps,
                "_ticks": [],
            }
            # The executed close is a signed agreement: the demo writes one where it is needed.
            opportunity["_signed"] = any(
                SIGNED_AGREEMENT in stages[step["to_stage"]].gate.require for step in steps
            )
            for step in steps:
                if stages[step["to_stage"]].kind != "open":
                    step["reason"] = reason
                for item in stages[step["to_stage"]].gate.checklist:
                    opportunity["_ticks"].append(
                        {"item": item.key, "stage": step["to_stage"], "_ago": step["_ago"]}
                    )
            self.leave_later_fields_blank(opportunity, pipeline.stages, set(path))
            _check_gates(self.spec, opportunity)
            self.plan.opportunities.append(opportunity)

    def close_in(self) -> int:
        """Days until an open deal's expected close: a sixth already late, a sixth within
        two weeks, the rest later this year or next."""
        chance = self.rng.random()
        if chance < 1 / 6:
            return self.rng.randint(-30, -1)
        if chance < 2 / 6:
            return self.rng.randint(0, 14)
        return self.rng.randint(15, 270)

    def steps(self, path: list[str]) -> list[dict]:
        """One stage change per stage entered, at increasing times within the past year."""
        start = self.ago(max(3, 12 * len(path)), 365)
        later = sorted((self.ago(0.05, start / DAY) for _ in path[1:]), reverse=True)
        agos = [start, *later]
        for index in range(1, len(agos)):
            agos[index] = min(agos[index], agos[index - 1] - 3_600)  # strictly after, by an hour
        return [
            {"from_stage": path[i - 1] if i else "", "to_stage": key, "reason": "", "_ago": ago}
            for i, (key, ago) in enumerate(zip(path, agos, strict=True))
        ]

    def leave_later_fields_blank(self, opportunity: dict, stages, entered: set[str]) -> None:
        """Fields only a stage not yet entered requires are often still empty, as in real life."""
        needed = {name for s in stages if s.key in entered for name in s.gate.require}
        later = {name for s in stages if s.key not in entered for name in s.gate.require}
        for name in sorted(later - needed):
            if name in opportunity and self.rng.random() < 0.5:
                opportunity[name] = None if name == "value" else ""

    def leads(self) -> None:
        profile = self.profile
        count = profile.counts["leads"]
        converted = self.rng.sample(range(len(self.plan.people)), k=count * 12 // 100)
        for person_index in converted:
            person = self.plan.people[person_index]
            company = self.plan.companies[person["_company"]]
            lead = self.lead_details(company["_country"])
            lead.update(
                name=person["name"],
                company_name=company["name"],
                email=person["email"],
                phone=person["phone"],
                business_unit=person["business_unit"],
                _owner=person["_owner"],
                # Converted when the person was created: the lead came a little before.
                _ago=person["_ago"] + self.ago(1, 60),
                _converted=person_index,
                _converted_ago=person["_ago"],
            )
            self.plan.leads.append(lead)
        while len(self.plan.leads) < count:
            if self.rng.random() < 0.6:
                company = self.rng.choice(self.plan.companies)
                country, company_name, domain = (
                    company["_country"],
                    company["name"],
                    company["email_domain"],
                )
            else:
                country = self.country()
                company_name = self.company_name(country)[0]
                domain = f"{_slug(company_name)}.example"
            first, last = self.person_name(country)
            lead = self.lead_details(country)
            lead.update(
                name=f"{first} {last}",
                company_name=company_name,
                email=_mailbox(first, last, domain),
                phone=self.phone(country) if self.rng.random() < 0.6 else "",
                business_unit=COUNTRIES[country].business_unit,
                _owner=self.owner(),
                _ago=self.ago(0.05, 365),
                _converted=None,
                _converted_ago=None,
            )
            self.plan.leads.append(lead)
        self.rng.shuffle(self.plan.leads)

    def lead_details(self, country: str) -> dict:
        source = self.rng.choice(list(self.profile.sources))
        details = self.rng.choice(self.profile.sources[source]).format(
            year=self.rng.choice([2025, 2026]),
            city=self.rng.choice(COUNTRIES[country].cities),
            n=self.rng.randint(1, 120),
            course=self.rng.choice(COURSES),
            project=self.rng.choice(PROJECTS),
        )
        return {"source": source, "details": details, "description": ""}

    def notes(self) -> None:
        plan = self.plan
        targets = [
            ("company", len(plan.companies)),
            ("person", len(plan.people)),
            ("opportunity", len(plan.opportunities)),
            ("lead", len(plan.leads)),
        ]
        for _ in range(self.profile.counts["notes"]):
            kind, size = self.rng.choice(targets)
            index = self.rng.randrange(size)
            if kind == "opportunity":
                record = plan.opportunities[index]
                person = plan.people[record["_person"]]
                created = record["_steps"][0]["_ago"]
            elif kind == "person":
                record = person = plan.people[index]
                created = min(record["_ago"], 365 * DAY)
            elif kind == "lead":
                record = person = plan.leads[index]
                created = record["_ago"]
            else:
                record = plan.companies[index]
                person = next(p for p in plan.people if p["_company"] == index)
                created = 365 * DAY
            company = (
                plan.companies[person["_company"]]["name"]
                if "_company" in person
                else person["company_name"]
            )
            note_kind, template = self.rng.choice(self.profile.notes)
            body = template.format(
                first=person["name"].split()[0],
                company=company,
                city=self.rng.choice(COUNTRIES[self.country()].cities),
            )
            plan.notes.append(
                {
                    "body": body,
                    "kind": note_kind,
                    "_target": kind,
                    "_index": index,
                    "_owner": record["_owner"],
                    "_ago": self.ago(0, created / DAY),
                }
            )

    def build(self) -> OrgPlan:
        self.staff()
        self.companies()
        self.people()
        self.opportunities()
        self.leads()
        self.notes()
        return self.plan


def _allocate(total: int, weights: dict[str, int]) -> list[str]:
    """`total` keys in proportion to `weights` (largest remainder), each key at least once."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    counts = {key: max(1, int(share)) for key, share in exact.items()}
    by_remainder = sorted(weights, key=lambda key: exact[key] - int(exact[key]), reverse=True)
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return [key for key, count in counts.items() for _ in range(count)]


def _ascii(text: str) -> str:
    """'Ødegård' -> 'odegard': e-mail addresses and domains stay ASCII."""
    text = text.casefold()
    for letter, plain in {"ø": "o", "æ": "ae", "ß": "ss", "œ": "oe", "ł": "l", "đ": "d"}.items():
        text = text.replace(letter, plain)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum() or ch == "-").strip("-")


def _slug(text: str) -> str:
    return "-".join(filter(None, map(_ascii, text.replace("&", " ").split())))


def _mailbox(first: str, last: str, domain: str) -> str:
    return f"{_ascii(first) or 'contact'}.{_ascii(last) or 'contact'}@{domain}"


def _signed_agreements(organisation, plan, opportunities, at) -> None:
    """The agreement of each opportunity whose executed close the plan made: signed when it
    entered the stage that requires it, for a year, billed annually in advance (the invoicing
    schedule, run at the end of the load, issues each one's invoice: one PDF apiece keeps the
    load quick; the partnership signed through the services is billed monthly)."""
    agreements = []
    for plan_row, opportunity in zip(plan.opportunities, opportunities, strict=True):
        if not plan_row.get("_signed"):
            continue
        signed_at = at(plan_row["_steps"][-1]["_ago"])  # the close is the last step
        start = timezone.localdate(signed_at)
        agreements.append(
            Agreement(
                organisation=organisation,
                opportunity=opportunity,
                status=Agreement.Status.SIGNED,
                start_date=start,
                end_date=default_end(start),
                value=opportunity.value if opportunity.value is not None else Decimal("12000"),
                currency=opportunity.currency,
                billing_frequency=Agreement.Billing.ANNUALLY,
                signed_on=start,
                created_at=signed_at,
                updated_at=signed_at,
            )
        )
    Agreement.objects.bulk_create(agreements)


def _facts(opportunity: dict, ticked: frozenset[str], today: date) -> MoveFacts:
    """The facts the services would gather for this planned opportunity."""
    close = opportunity["_close_in_days"]
    fields: dict[str, Any] = {
        key: value for key, value in opportunity.items() if not key.startswith("_")
    }
    fields.update(
        company_id=opportunity["_company"] + 1,
        primary_contact_id=opportunity["_person"] + 1,
        expected_close_date=today + timedelta(days=close) if close is not None else None,
        owner_id=1,
        **opportunity["custom_fields"],
    )
    if opportunity.get("_signed"):
        fields[SIGNED_AGREEMENT] = True
    return MoveFacts(fields=fields, ticked=ticked, reason=opportunity["close_reason"])


def _check_gates(spec: ProcessDefinitionSpec, opportunity: dict) -> None:
    """Every step of the planned history must pass the gates the services would evaluate."""
    stages = pipelines_of(spec)[0].stages
    ticked = frozenset(tick["item"] for tick in opportunity["_ticks"])
    facts = _facts(opportunity, ticked, timezone.now().date())
    for step in opportunity["_steps"]:
        unmet = evaluate_move(stages, step["from_stage"] or None, step["to_stage"], facts)
        if unmet:
            raise AssertionError(f"demo bug: {opportunity['name']}: {unmet[0].message}")


def build_plan(seed: int = 2026) -> DemoPlan:
    """Generate every record of the demo, without touching the database."""
    organisations = []
    for profile in PROFILES:
        spec = process_parse(template_text(profile.template))
        organisations.append(_Generator(seed, profile, spec).build())
    return DemoPlan(seed=seed, organisations=organisations)


# ---------------------------------------------------------------- loading


def demo_loaded() -> bool:
    return AuditEvent.objects.filter(action=DEMO_ACTION).exists()


def demo_token() -> str:
    """A new API token for the demo login in the first demo organisation."""
    event = AuditEvent.objects.filter(action=DEMO_ACTION).order_by("id").first()
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if event is None or user is None:
        raise NotFound("The demo data is not loaded: run `salesline init --demo`.")
    actor = accounts.system_actor(event.organisation, "demo")
    return accounts.token_create(actor=actor, user=user, name="demo")[1]


def load_demo(seed: int = 2026) -> DemoSummary:
    """Create the three demo organisations; refused (Conflict) when the demo is already loaded."""
    if demo_loaded():
        raise Conflict("The demo data is already loaded.")
    plan = build_plan(seed)
    now = timezone.now()
    totals: dict[str, int] = {}
    with transaction.atomic():
        organisations = []
        for org_plan in plan.organisations:
            organisation = organisation_create(
                name=org_plan.name, template=org_plan.template, label="demo"
            )
            # Set as an admin would on the settings page: holidays, meeting link, From address.
            country, booking_url, from_email = ORGANISATION_SETTINGS[org_plan.name]
            Organisation.objects.filter(pk=organisation.pk).update(
                country=country, booking_url=booking_url, from_email=from_email
            )
            organisation.refresh_from_db()
            counts = _write(organisation, org_plan, now)
            audit.record(
                actor=accounts.system_actor(organisation, "demo"),
                action=DEMO_ACTION,
                obj=organisation,
                changes={key: [0, count] for key, count in counts.items()} | {"seed": [None, seed]},
            )
            for key, count in counts.items():
                totals[key] = totals.get(key, 0) + count
            organisations.append(organisation)
        user = User.objects.get(email=DEMO_EMAIL)
        _, token = accounts.token_create(
            actor=accounts.system_actor(organisations[0], "demo"), user=user, name="demo"
        )
    demo_import(organisations[0], user, seed)
    campaigns_at_work(organisations[0])
    playbooks_at_work(organisations)
    calendars_at_work(organisations)
    plans_at_work(organisations)
    booking_at_work(organisations)
    work_at_work(organisations)
    capacity_at_work(organisations)
    network = network_at_work(organisations)
    # The people the division of labour added get their work too, and the worker sends what
    # the plans and bookings asked for (drafts and confirmations).
    today = timezone.localdate()
    members = (
        [member.organisation for member in network.members.select_related("organisation")]
        if network is not None
        else []
    )
    for organisation in [*organisations, *members]:
        _everyone_has_a_task(organisation, today)
    _run_worker()
    rate_quality(organisations)
    past_forecasts(organisations, seed)
    return DemoSummary(
        organisations=tuple(o.slug for o in organisations),
        login_email=DEMO_EMAIL,
        login_password=DEMO_PASSWORD,
        token=token,
        fingerprint=plan.fingerprint(),
        **totals,
    )


# name -> (country, booking link, From address): the settings an admin sets first.
ORGANISATION_SETTINGS = {
    "Piql Archive": (
        "NO",
        "https://piql.salesline.test/book-a-meeting",
        "sales@piql.salesline.test",
    ),
    "2i2c Partnerships": (
        "US",
        "https://2i2c.salesline.test/book-a-call",
        "partnerships@2i2c.salesline.test",
    ),
    "CoTech Network": ("GB", "https://cotech.salesline.test/meet", "hello@cotech.salesline.test"),
}

DEMO_IMPORT_NAME = "Archiving Expo 2026 - visitors.csv"


def demo_import(organisation: Organisation, user: User, seed: int) -> None:
    """A visitor list from a fair, imported as a user would: mostly new leads, two already known,
    one address mistyped, one name close to another at the same company — so the demo shows a
    real import report (and its undo)."""
    import csv
    import io
    import tempfile
    from pathlib import Path

    from salesline.records.importing import services as imports

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    faker = Faker(["en_GB", "no_NO", "de_DE"])
    faker.seed_instance(seed)
    known = list(
        Lead.objects.filter(organisation=organisation)
        .order_by("id")
        .values_list("name", "email", "company_name")[:2]
    )
    header = [
        "First name",
        "Last name",
        "E-mail",
        "Phone",
        "Company",
        "Business unit",
        "Comments",
        "Source",
    ]
    rows = []
    for _ in range(24):
        first, last = faker.first_name(), faker.last_name()
        company = faker.company()
        domain = _slug(company)[:20].strip("-") or "example"
        rows.append(
            [
                first,
                last,
                _mailbox(first, last, f"{domain}.no"),
                f"+47 9{rng.randrange(10**6, 10**7)}",
                company,
                rng.choice(["Nordics", "DACH", "uk & ireland"]),
                "Visited the stand",
            ]
        )
    rows[5][2] = rows[5][2].replace("@", " at ")  # a mistyped address: rejected, row 7
    # Row 26 is a near-namesake of row 2 at the same company; rows 27-28 are leads we know.
    near = rows[0][0][:-1] if len(rows[0][0]) > 3 else rows[0][0] + "a"
    rows.append(
        [
            near,
            rows[0][1],
            "",
            "",
            rows[0][4],
            rows[0][5],
            "Colleague of the first visitor",
        ]
    )
    rows[-1][2] = _mailbox(rows[-1][0], rows[-1][1], "colleague.no")
    for name, email, company in known:
        first, _, last = name.partition(" ")
        rows.append([first, last, email.upper(), "", company, "Nordics", "Came back this year"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(row + ["Archiving Expo 2026"] for row in rows)
    actor = accounts.actor_for(user, organisation)
    _demo_campaigns(actor)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / DEMO_IMPORT_NAME
        path.write_text(buffer.getvalue(), encoding="utf-8")
        job = imports.import_create(
            actor=actor,
            kind="leads",
            file=path,
            file_name=DEMO_IMPORT_NAME,
            region="NO",
            mapping={"Comments": "details"},
            # The whole file is credited to the fair (first touch).
            constants={"campaign": "Archiving Expo 2026"},
        )
    imports.import_execute(actor=actor, import_id=job.pk, workers=1)


def _with_words(record):
    """What the services would set for word search (bulk_create bypasses them)."""
    record.search_text = search_text_of(record)
    record.search_last_word = last_word(record.name)[:255]
    return record


def _fields(record: dict) -> dict:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _write(organisation: Organisation, plan: OrgPlan, now) -> dict[str, int]:
    def at(ago: int):
        return now - timedelta(seconds=ago)

    staff = {}
    actor = accounts.system_actor(organisation, "demo")
    for member in plan.staff:
        # Only the demo login gets a password: hashing one costs about a second.
        # The demo login is one user in the three organisations: hashed once, not thrice.
        is_login = (
            member["email"] == DEMO_EMAIL and not User.objects.filter(email=DEMO_EMAIL).exists()
        )
        staff[member["role"]] = accounts.user_create(
            actor=actor,
            email=member["email"],
            role=member["role"],
            password=DEMO_PASSWORD if is_login else None,
            full_name=member["full_name"],
        )
    org = {"organisation": organisation}

    def stamps(record: dict) -> dict:
        return {
            "owner": staff[record["_owner"]],
            "created_at": at(record["_ago"]),
            "updated_at": at(record["_ago"]),
        }

    companies = Company.objects.bulk_create(
        _with_words(
            Company(
                **org,
                **_fields(c),
                **stamps(c),
                search_name=search_key(c["name"])[:255],
                match_name=company_match_name(c["name"])[:255],
            )
        )
        for c in plan.companies
    )
    people = Person.objects.bulk_create(
        _with_words(
            Person(
                **org,
                **_fields(p),
                **stamps(p),
                company=companies[p["_company"]],
                search_name=search_key(p["name"])[:255],
                dedupe_key=name_block(p["name"], str(companies[p["_company"]].pk)),
            )
        )
        for p in plan.people
    )

    pipeline = Pipeline.objects.get(organisation=organisation, key=plan.template)
    stages = {stage.key: stage for stage in Stage.objects.filter(pipeline=pipeline)}
    today = now.date()
    opportunities = []
    for o in plan.opportunities:
        last = at(o["_steps"][-1]["_ago"])
        opportunities.append(
            _with_words(
                Opportunity(
                    **org,
                    **_fields(o),
                    owner=staff[o["_owner"]],
                    search_name=search_key(o["name"])[:255],
                    company=companies[o["_company"]],
                    primary_contact=people[o["_person"]],
                    pipeline=pipeline,
                    stage=stages[o["_steps"][-1]["to_stage"]],
                    expected_close_date=today + timedelta(days=o["_close_in_days"]),
                    created_at=at(o["_steps"][0]["_ago"]),
                    updated_at=last,
                    stage_entered_at=last,
                    closed_at=last if o["status"] != "open" else None,
                )
            )
        )
    opportunities = Opportunity.objects.bulk_create(opportunities)
    changes, ticks = [], []
    for plan_row, opportunity in zip(plan.opportunities, opportunities, strict=True):
        owner = staff[plan_row["_owner"]]
        who = {
            "organisation": organisation,
            "opportunity": opportunity,
            "actor": owner,
            "actor_label": owner.email,
        }
        changes += [
            StageChange(
                **who,
                **_fields(s),
                # The columns the services write with every move, so the flow metrics read the
                # demo's history as they read a real one.
                opportunity_ref=opportunity.pk,
                pipeline=pipeline,
                to_pipeline_key=pipeline.key,
                to_stage_kind=stages[s["to_stage"]].kind,
                from_pipeline=pipeline if s["from_stage"] else None,
                from_pipeline_key=pipeline.key if s["from_stage"] else "",
                from_stage_kind=stages[s["from_stage"]].kind if s["from_stage"] else "",
                at=at(s["_ago"]),
            )
            for s in plan_row["_steps"]
        ]
        ticks += [ChecklistTick(**who, **_fields(t), at=at(t["_ago"])) for t in plan_row["_ticks"]]
    StageChange.objects.bulk_create(changes)
    ChecklistTick.objects.bulk_create(ticks)
    _signed_agreements(organisation, plan, opportunities, at)

    # A converted lead points at the deal its person is the primary contact of, if any.
    deal_of = {}
    for plan_row, opportunity in zip(plan.opportunities, opportunities, strict=True):
        deal_of.setdefault(plan_row["_person"], opportunity)
    leads = []
    for lead in plan.leads:
        converted = lead["_converted"]
        person = people[converted] if converted is not None else None
        leads.append(
            _with_words(
                Lead(
                    **org,
                    **_fields(lead),
                    **stamps(lead),
                    search_name=search_key(lead["name"])[:255],
                    dedupe_key=name_block(
                        lead["name"], company_match_name(lead.get("company_name", ""))[:200]
                    ),
                    converted_at=at(lead["_converted_ago"]) if person else None,
                    converted_person=person,
                    converted_company=person.company if person else None,
                    converted_opportunity=deal_of.get(converted) if person else None,
                )
            )
        )
    leads = Lead.objects.bulk_create(leads)

    targets = {"company": companies, "person": people, "opportunity": opportunities, "lead": leads}
    notes = Note.objects.bulk_create(
        Note(
            **org,
            body=n["body"],
            kind=n["kind"],
            author=staff[n["_owner"]],
            created_at=at(n["_ago"]),
            updated_at=at(n["_ago"]),
            **{n["_target"]: targets[n["_target"]][n["_index"]]},
        )
        for n in plan.notes
    )
    return {
        "companies": len(companies),
        "people": len(people),
        "leads": len(leads),
        "converted_leads": sum(1 for lead in leads if lead.converted_at),
        "opportunities": len(opportunities),
        "stage_changes": len(changes),
        "checklist_ticks": len(ticks),
        "notes": len(notes),
    }


# ---------------------------------------------------------------- playbooks at work
#
# The records above were written in bulk, so no event fired: the playbooks have not run for
# them. The demo then works a few deals the way a team would — through the services, with the
# worker's work run in-process — so what the playbooks leave (runs on the timelines, tasks in
# lists and queues, drafted and sent messages, documents, a signed agreement and its invoices)
# is what the real engine makes, not rows written by hand.

# The demo has no mail server: the messages sent during the load are delivered to Django's
# in-memory outbox, which marks them sent as a real delivery would and prints nothing. Mail
# sent later (`make demo` serves with the worker) goes where the settings say: the console,
# unless SMTP_HOST names a server.
IN_MEMORY_MAIL = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# The partnership signed through the services is signed today, its term backdated to have
# started this many days ago (billed monthly: its first two invoices are due).
START_DAYS_AGO = 35

# (service, value) of the partnerships the demo works, in order: two leads, one prospect,
# one partner.
PARTNERSHIP_DEALS = (
    ("Managed JupyterHub", Decimal("24000.00")),
    ("BinderHub service", Decimal("15000.00")),
    ("Research hub with GPUs", Decimal("68000.00")),
    ("Education hub for Geo-AI", Decimal("18000.00")),
)
# Archive deals: (name, data volume, value, use case, business case).
ARCHIVE_DEALS = (
    (
        "40 TB - Broadcast footage - Digitization & preservation",
        "40 TB",
        Decimal("2240000.00"),
        "Keep decades of broadcast footage readable without migrating it every five years.",
        "Migration costs of the current LTO library exceed the preservation fee in year three.",
    ),
    (
        "250 000 pages - Council minutes - Online access",
        "250 000 pages",
        Decimal("33000.00"),
        "Give citizens online access to council minutes back to 1900.",
        "Replaces three archive reading-room days a week.",
    ),
)


def _run_worker() -> None:
    """What `salesline worker` would do now: the playbooks the events started, the messages
    queued (into the in-memory outbox, see IN_MEMORY_MAIL)."""
    from django.core import mail
    from django.test.utils import override_settings

    from salesline.core.tasks import run_pending_tasks
    from salesline.playbooks.delivery import close_mail_connection

    had_outbox = hasattr(mail, "outbox")  # a test's: left as it is

    # The worker logs each job it runs; `init --demo` prints only its summary.
    job_logs = [logging.getLogger(name) for name in ("django.tasks", "django_tasks_db")]
    levels = [log.level for log in job_logs]
    for log in job_logs:
        log.setLevel(logging.WARNING)
    try:
        with override_settings(MAILERS=IN_MEMORY_MAIL):
            for _ in range(10):  # a job may queue another (a run's event, a send's delivery)
                if not run_pending_tasks():
                    break
            close_mail_connection()
    finally:
        for log, level in zip(job_logs, levels, strict=True):
            log.setLevel(level)
    if not had_outbox and hasattr(mail, "outbox"):
        del mail.outbox


def rate_quality(organisations: list[Organisation]) -> None:
    """Every demo opportunity's quality rating, as the worker keeps them (the demo writes its
    history in bulk, past the events that would rate each one)."""
    from salesline.analytics.quality_services import quality_rerate

    for organisation in organisations:
        quality_rerate(actor=accounts.system_actor(organisation, "demo"))


#: Past months the demo's forecast accuracy table judges: snapshots are backfilled weekly from the
#: week before the first of them began.
ACCURACY_MONTHS = 4


def past_forecasts(organisations: list[Organisation], seed: int) -> None:
    """The weekly forecast snapshots of the last months, as the worker would have taken them
    had it been running while the demo's history happened: each computed from the history as
    it stood that week (forecast_snapshot_backfill), so the forecast page's accuracy table
    sets real forecasts against what closed."""
    from salesline.analytics.forecast_services import forecast_snapshot_backfill, week_start
    from salesline.process.selectors import definition_for

    now = timezone.now()
    year, month = divmod(now.year * 12 + now.month - 1 - ACCURACY_MONTHS, 12)
    first_judged = datetime(year, month + 1, 1, tzinfo=UTC)
    # Back to the week holding the day before that month: its Monday is before the month.
    weeks = (week_start(now) - week_start(first_judged - timedelta(days=1))).days // 7
    for organisation in organisations:
        actor = accounts.system_actor(organisation, "demo")
        for pipeline in pipelines_of(definition_for(organisation)):
            forecast_snapshot_backfill(
                actor=actor, pipeline_key=pipeline.key, weeks=weeks, seed=seed, now=now
            )


def _members(organisation: Organisation) -> dict[str, User]:
    """role -> the demo's member with that role."""
    from salesline.accounts.models import Membership

    rows = Membership.objects.filter(organisation=organisation).select_related("user")
    return {row.role: row.user for row in rows.order_by("id")}


def _contacts(organisation: Organisation, count: int) -> list[Person]:
    """The first `count` people with an address, at different companies with no deal yet."""
    busy = set(
        Opportunity.objects.filter(organisation=organisation).values_list("company_id", flat=True)
    )
    chosen: list[Person] = []
    for person in (
        Person.objects.filter(organisation=organisation, company__isnull=False)
        .exclude(email="")
        .select_related("company")
        .order_by("id")
    ):
        if person.company_id in busy:
            continue
        busy.add(person.company_id)
        chosen.append(person)
        if len(chosen) == count:
            break
    return chosen


def _task(opportunity: Opportunity, step: str):
    from salesline.playbooks.models import Task

    return Task.objects.get(opportunity=opportunity, step=step, status=Task.Status.OPEN)


def _done(actor, task, *, due: date | None = None) -> None:
    """Complete a task; with `due`, it was due then (before today: done late)."""
    from salesline.playbooks.task_services import task_update

    if due is not None:
        task_update(actor=actor, task_id=task.pk, data={"due_date": due})
    task_update(actor=actor, task_id=task.pk, data={"status": "done"})


def _draft(opportunity: Opportunity, template: str):
    from salesline.playbooks.models import Message

    return Message.objects.get(opportunity=opportunity, template=template, status="draft")


def _partnerships_at_work(organisation: Organisation, today: date) -> None:
    from salesline.pipeline import services as pipeline
    from salesline.playbooks import agreement_services as agreements
    from salesline.playbooks import message_services as messages
    from salesline.playbooks import task_services as tasks
    from salesline.playbooks.message_template_services import message_template_update
    from salesline.playbooks.models import MessageTemplate, Task

    members = _members(organisation)
    admin = accounts.actor_for(members[Role.ADMIN], organisation)
    sales = accounts.actor_for(members[Role.SALESPERSON], organisation)
    coordinator = accounts.actor_for(members[Role.SALES_COORDINATOR], organisation)
    # The shared address: the templates ship with an example one, the admin puts theirs in.
    for template in MessageTemplate.objects.filter(
        organisation=organisation, from_email__endswith="@example.org"
    ).order_by("id"):
        message_template_update(
            actor=admin, template_id=template.pk, data={"from_email": organisation.from_email}
        )

    deals = []
    for (service, value), contact, actor in zip(
        PARTNERSHIP_DEALS,
        _contacts(organisation, len(PARTNERSHIP_DEALS)),
        (admin, sales, admin, sales),
        strict=True,
    ):
        data = {
            "name": f"{contact.company.name} - {service}",
            "company_id": contact.company_id,
            "primary_contact_id": contact.pk,
            "value": value,
            "currency": "USD",
            "expected_close_date": today + timedelta(days=45),
            "stage": "lead",
        }
        deals.append(pipeline.opportunity_create(actor=actor, data=data))
    _run_worker()  # Hail the lead, Prep for first meeting: drafts, documents, tasks
    hailed, _waiting, partner, prospect = deals  # the second lead keeps its drafts

    # A lead hailed on time; its meeting prep is overdue.
    messages.message_send(actor=admin, message_id=_draft(hailed, "hail-the-lead").pk)
    _done(admin, _task(hailed, "send-hail"))
    prep = _task(hailed, "prep")
    tasks.task_update(actor=admin, task_id=prep.pk, data={"due_date": today - timedelta(days=3)})

    # Verbal close "yes": the prospects get their agreement drafts, contracts and addenda.
    for deal, actor in ((partner, admin), (prospect, sales)):
        for template in ("hail-the-lead", "running-notes-invitation"):
            messages.message_send(actor=actor, message_id=_draft(deal, template).pk)
        _done(actor, _task(deal, "send-hail"))
        _done(
            actor, _task(deal, "prep"), due=today - timedelta(days=2) if deal == partner else None
        )
        _done(actor, _task(deal, "meet"))
        pipeline.opportunity_move(
            actor=actor, opportunity_id=deal.pk, stage="prospect", checks=["verbal_close_yes"]
        )
    _run_worker()
    agreements.agreement_share(actor=sales, agreement_id=prospect_agreement(prospect).pk)
    messages.message_send(actor=sales, message_id=_draft(prospect, "service-agreement-review").pk)

    # The partner signs today (the executed close), for a term that started START_DAYS_AGO.
    start = today - timedelta(days=START_DAYS_AGO)
    agreement = prospect_agreement(partner)
    agreement = agreements.agreement_update(
        actor=admin,
        agreement_id=agreement.pk,
        data={"start_date": start, "end_date": default_end(start), "status": "shared"},
    )
    messages.message_send(actor=admin, message_id=_draft(partner, "service-agreement-review").pk)
    agreements.agreement_mark_ready(actor=admin, agreement_id=agreement.pk)
    for step in ("share", "negotiate"):
        _done(admin, _task(partner, step))
    agreements.agreement_sign(actor=admin, agreement_id=agreement.pk, signed_on=today)
    _run_worker()  # Launch meeting: its draft, and a task in the project leaders' queue

    # The partner has been served since the term started: the launch meeting is held the day
    # the paper is signed. Its task is taken from the project leaders' queue (by the admin when
    # the organisation has no project leader) and marked done, and the worker runs "After the
    # launch meeting": the first satisfaction check-in, for the owner.
    leader = accounts.actor_for(
        members.get(Role.PROJECT_LEADER) or members[Role.ADMIN], organisation
    )
    launch_meeting = _task(partner, "launch-meeting")
    tasks.task_claim(actor=leader, task_id=launch_meeting.pk)
    _done(leader, launch_meeting)
    _run_worker()

    # The coordinator's queue: one task taken, one waiting.
    for title, deal in (
        ("Check {name}'s billing contact and purchase order number", partner),
        ("Send {name} the launch meeting's notes and the contacts on both sides", partner),
    ):
        tasks.task_create(
            actor=admin,
            title=title.format(name=deal.company.name),
            queue=Role.SALES_COORDINATOR,
            opportunity_id=deal.pk,
            due_date=today + timedelta(days=2),
        )
    first = (
        Task.objects.filter(organisation=organisation, queue=Role.SALES_COORDINATOR)
        .order_by("id")
        .first()
    )
    assert first is not None  # noqa: S101 - created just above
    tasks.task_claim(actor=coordinator, task_id=first.pk)


def prospect_agreement(opportunity: Opportunity) -> Agreement:
    """The live agreement the Send draft contract playbook made for the opportunity."""
    return Agreement.objects.exclude(status=Agreement.Status.ENDED).get(opportunity=opportunity)


def _archive_at_work(organisation: Organisation, today: date) -> None:
    from salesline.pipeline import services as pipeline

    members = _members(organisation)
    admin = accounts.actor_for(members[Role.ADMIN], organisation)
    deals = []
    for (name, volume, value, use_case, business_case), contact in zip(
        ARCHIVE_DEALS, _contacts(organisation, len(ARCHIVE_DEALS)), strict=True
    ):
        data = {
            "name": name,
            "company_id": contact.company_id,
            "primary_contact_id": contact.pk,
            "value": value,
            "currency": "EUR",
            "data_volume": volume,
            "sector": "private" if "footage" in name else "public",
            "use_case": use_case,
            "expected_close_date": today + timedelta(days=60),
            "stage": "qualify",
        }
        deals.append(pipeline.opportunity_create(actor=admin, data=data))
        deals[-1]._business_case = business_case  # type: ignore[attr-defined]
    _run_worker()  # Qualify: verify the use-case, write the business case
    qualified = deals[-1]
    _done(admin, _task(qualified, "verify-use-case"))
    _done(admin, _task(qualified, "business-case"))
    pipeline.opportunity_move(
        actor=admin,
        opportunity_id=qualified.pk,
        stage="develop",
        checks=["use_case_verified"],
        fields={"business_case": qualified._business_case},  # type: ignore[attr-defined]
    )
    _run_worker()  # Develop: the quote, a task to send the proposal


def _old_invoices_sent(organisation: Organisation, today: date) -> None:
    """The partners signed months ago had their invoices sent: only this week's
    (and those of the partner signed today) wait in the customer service queue."""
    from salesline.playbooks.models import Task
    from salesline.playbooks.task_services import task_update

    actor = accounts.system_actor(organisation, "demo")
    annual = Agreement.objects.filter(
        organisation=organisation, billing_frequency=Agreement.Billing.ANNUALLY
    ).values("opportunity_id")
    for task in Task.objects.filter(
        organisation=organisation,
        opportunity_id__in=annual,
        step__startswith="send-invoice-",
        status=Task.Status.OPEN,
        due_date__lt=today - timedelta(days=7),
    ).order_by("id"):
        task_update(actor=actor, task_id=task.pk, data={"status": "done"})


def _everyone_has_a_task(organisation: Organisation, today: date) -> None:
    """A member with no open task gets one — on their oldest open deal, or their queue when
    they own none: every demo user's "My tasks" and home page show something."""
    from salesline.accounts.models import Membership
    from salesline.playbooks import task_services as tasks
    from salesline.playbooks.models import Task

    admin = accounts.actor_for(_members(organisation)[Role.ADMIN], organisation)
    members = User.objects.filter(memberships__organisation=organisation).distinct().order_by("id")
    for user in members:
        if Task.objects.filter(organisation=organisation, assignee=user, status="open").exists():
            continue
        deal = (
            Opportunity.objects.filter(organisation=organisation, owner=user, status="open")
            .select_related("primary_contact")
            .order_by("id")
            .first()
        )
        if deal is None:
            role = (
                Membership.objects.filter(organisation=organisation, user=user)
                .order_by("id")
                .values_list("role", flat=True)
                .first()
            )
            label = dict(Role.choices).get(role or "", "team")
            tasks.task_create(
                actor=admin,
                title=f"Go through the {label.lower()} queue and take the oldest item",
                instructions="Claim the oldest open item, or escalate it with the reason.",
                assignee_id=user.pk,
                due_date=today + timedelta(days=1),
            )
            continue
        contact = deal.primary_contact.name if deal.primary_contact else "the client"
        tasks.task_create(
            actor=admin,
            title=f"Call {contact} about the next step",
            instructions="Agree the next step and a date; note it on the opportunity.",
            assignee_id=user.pk,
            opportunity_id=deal.pk,
            due_date=today + timedelta(days=1),
        )


def playbooks_at_work(organisations: list[Organisation]) -> None:
    """Work some deals through the services and run the worker's jobs and today's schedules."""
    from django.test.utils import override_settings

    from salesline.playbooks.schedules import schedules_run

    today = timezone.localdate()
    by_template = {organisation.template: organisation for organisation in organisations}
    _partnerships_at_work(by_template["partnerships"], today)
    _archive_at_work(by_template["business-development"], today)
    with override_settings(MAILERS=IN_MEMORY_MAIL):
        schedules_run(today=today)  # invoices, check-ins, close dates reached
    _run_worker()
    _old_invoices_sent(by_template["partnerships"], today)
    for organisation in organisations:
        _everyone_has_a_task(organisation, today)


# (name, kind, days before today it started, days it ran, cost in EUR, description)
DEMO_CAMPAIGNS = (
    ("Archiving Expo 2026", "trade_show", 45, 3, "18500", "Stand 12, two staff, Oslo."),
    ("Preservation webinar", "webinar", 120, 1, "1200", "Long-term preservation of film."),
    ("Partner referrals", "partner", 300, 365, "0", "Leads passed on by resellers."),
)


def _demo_campaigns(actor) -> None:
    """The archive company's campaigns, as a marketing coordinator would add them."""
    from salesline.records import campaign_services

    today = timezone.localdate()
    for name, kind, ago, days, cost, description in DEMO_CAMPAIGNS:
        campaign_services.campaign_create(
            actor=actor,
            data={
                "name": name,
                "kind": kind,
                "starts_on": today - timedelta(days=ago),
                "ends_on": today - timedelta(days=ago - days + 1),
                "cost": cost,
                "currency": "EUR",
                "description": description,
            },
        )


def campaigns_at_work(organisation: Organisation) -> None:
    """Credit some of the archive company's leads and opportunities to its campaigns (first
    touch, as a conversion would), and log the time and travel spent on a few deals."""
    from salesline.analytics import cost_services
    from salesline.records.models import Campaign

    members = _members(organisation)
    admin = accounts.actor_for(members[Role.ADMIN], organisation)
    cost_services.cost_settings_update(actor=admin, data={"hourly_rate": "85", "currency": "EUR"})
    campaigns = {c.name: c for c in Campaign.objects.filter(organisation=organisation)}
    webinar, partners = campaigns["Preservation webinar"], campaigns["Partner referrals"]
    leads = Lead.objects.filter(organisation=organisation, campaign__isnull=True).order_by("id")
    lead_ids = list(leads.values_list("id", flat=True))
    Lead.objects.filter(pk__in=lead_ids[::5]).update(campaign=webinar, source="Webinar")
    Lead.objects.filter(pk__in=lead_ids[2::7]).update(campaign=partners, source="Partner")
    deals = list(
        Opportunity.objects.filter(organisation=organisation)
        .order_by("id")
        .values_list("id", flat=True)
    )
    Opportunity.objects.filter(pk__in=deals[::6]).update(campaign=webinar, source="Webinar")
    Opportunity.objects.filter(pk__in=deals[3::8]).update(campaign=partners, source="Partner")
    today = timezone.localdate()
    for index, deal in enumerate(deals[::6][:6]):
        cost_services.cost_entry_create(
            actor=admin,
            data={
                "kind": "time",
                "minutes": 90 + 30 * index,
                "opportunity_id": deal,
                "date": today - timedelta(days=10 + index),
                "description": "Discovery call and follow-up",
            },
        )
        cost_services.cost_entry_create(
            actor=admin,
            data={
                "kind": "expense",
                "amount": str(180 + 45 * index),
                "opportunity_id": deal,
                "date": today - timedelta(days=8 + index),
                "description": "Travel to the customer's archive",
            },
        )
