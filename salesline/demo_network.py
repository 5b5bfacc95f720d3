"""Demo data for networks (seed 000): the demo's "CoTech Network" organisation keeps the books of
a network of five member co-operatives — a quarterly duty rota with a hand-over, a skills
directory with case studies, enquiries of every category (from the form, the mailbox and the
API), a feasible sales lead referred to two members (one accepted, one declined), a joint bid
with its questionnaire, applications to join (one put to the vote, one signposted), and the
coordinator's co-operative's time on the sales lead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.db.models import F
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import Organisation, Role, User
from salesline.analytics import cost_services
from salesline.enquiries import bids, directory, membership, referrals
from salesline.enquiries.deadlines import flag_overdue_enquiries
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Enquiry, Network
from salesline.enquiries.network_services import member_add, network_create
from salesline.enquiries.rota_services import (
    rota_acknowledge,
    rota_handover_write,
    rota_period_create,
)
from salesline.enquiries.triage_services import enquiry_reply, enquiry_triage
from salesline.process.services import organisation_create

BOOKS = "CoTech Network"
DEMO_EMAIL = "demo@salesline.test"

# name, people (e-mail local part, full name), staff, min project value, summary, skills
MEMBERS = (
    (
        "Brightwork Co-op",
        [("rosa", "Rosa Achterberg"), ("tom", "Tom Kilby")],
        12,
        8000,
        "Web applications for charities and housing associations, from discovery to support.",
        {"django": 5, "python": 5, "ux-design": 3, "accessibility": 4, "user-research": 3},
    ),
    (
        "Hedgerow Digital",
        [("ifeoma", "Ifeoma Okafor"), ("gus", "Gus Pennington")],
        6,
        4000,
        "Design-led websites and brand work for co-operatives and community businesses.",
        {"ux-design": 5, "wordpress": 4, "accessibility": 3, "user-research": 4},
    ),
    (
        "Northern Loom Tech",
        [("maya", "Maya Lindqvist"), ("joe", "Joe Barraclough")],
        20,
        20000,
        "Data platforms and infrastructure for public-sector and energy clients.",
        {"data-engineering": 5, "python": 4, "devops": 5, "security": 4, "hosting": 4},
    ),
    (
        "Kiln Data Co-operative",
        [("priya", "Priya Natarajan")],
        4,
        3000,
        "Data analysis, dashboards and training for small organisations.",
        {"data-engineering": 3, "training": 5, "python": 3},
    ),
    (
        "Tidewater Web Co-op",
        [("ollie", "Ollie Marsh"), ("sian", "Sian Pryce")],
        9,
        6000,
        "Hosting, e-mail and Nextcloud for co-operatives, on renewable energy.",
        {"hosting": 5, "devops": 4, "security": 3, "wordpress": 3},
    ),
)

SKILLS = (
    ("python", "Python", None),
    ("django", "Django", "python"),
    ("data-engineering", "Data engineering", None),
    ("devops", "DevOps", None),
    ("hosting", "Hosting", "devops"),
    ("security", "Security", None),
    ("ux-design", "UX design", None),
    ("user-research", "User research", "ux-design"),
    ("accessibility", "Accessibility", "ux-design"),
    ("wordpress", "WordPress", None),
    ("training", "Training", None),
)


# name, category, source, organisation, country, message, days ago
ENQUIRIES = (
    (
        "Aled Hughes",
        "joining",
        "form",
        "Cardiff Code Co-operative",
        "GB",
        "We're a worker co-op of six developers in Cardiff. Can we join the network, and who "
        "decides?",
        9,
    ),
    (
        "Freja Madsen",
        "joining",
        "email",
        "Kode Kooperativet",
        "DK",
        "We are a digital co-operative in Copenhagen. Could we join your network?",
        8,
    ),
    (
        "Sam Oduya",
        "setting_up",
        "form",
        "",
        "GB",
        "Three of us want to set up our new web agency as a co-op. Where do we start?",
        6,
    ),
    (
        "Hannah Price",
        "jobs",
        "email",
        "",
        "GB",
        "I left my job in a bank's tech team and want to put my skills to better use. Are there "
        "jobs at your members?",
        5,
    ),
    (
        "Dr Imran Shah",
        "research",
        "api",
        "University of Leeds",
        "GB",
        "I am doing a PhD on platform co-operatives and would like placements with members.",
        1,
    ),
    (
        "Lucia Romano",
        "speaking",
        "form",
        "OpenConf Europe",
        "IT",
        "Could someone give a talk about the network at our software conference in Bologna in "
        "May? Travel is paid.",
        4,
    ),
    (
        "Mark Ellison",
        "promotion",
        "email",
        "Shiny Platform Ltd",
        "GB",
        "We have built an amazing platform your members will love. How can we tell them all?",
        3,
    ),
    (
        "Grace Adeyemi",
        "sales",
        "form",
        "Riverside Housing Association",
        "GB",
        "We need a new tenant portal: accessible, built on open source, live by next summer.",
        7,
    ),
    (
        "Tom Whitfield",
        "sales",
        "email",
        "Corner Cafe",
        "GB",
        "Could someone make us a website with online ordering? We have about two thousand pounds.",
        6,
    ),
    (
        "Nadia Karim",
        "sales",
        "api",
        "Greener Energy Co-operative",
        "GB",
        "We are looking for help with a data platform for our smart meters.",
        5,
    ),
    (
        "Pat Doyle",
        "other",
        "form",
        "",
        "IE",
        "Do you have a logo pack I can use in an article about tech co-ops?",
        0,
    ),
)

SALES_ANSWERS = {
    "Riverside Housing Association": {
        "budget": 45000,
        "timescale": "live by July 2027",
        "technology": "Django, accessible front end",
        "brief": "A tenant portal: repairs, rent statements, messages; WCAG 2.2 AA.",
        "skills": ["django", "accessibility", "ux-design"],
    },
    "Corner Cafe": {
        "budget": 2000,
        "timescale": "next month",
        "technology": "WordPress",
        "brief": "A website with online ordering.",
        "skills": ["wordpress"],
    },
}

BID_QUESTIONS = (
    "Provide your organisation's registered name, address and company number.",
    "Provide your last two years of audited accounts and annual turnover.",
    "Do you hold employer's liability and professional indemnity insurance?",
    "Describe your equality and diversity policy.",
    "Describe your data protection (GDPR) policy and procedures.",
    "Give three case studies of similar work in the last three years.",
    "What are your day rates?",
)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _members(demo_user: User) -> list[tuple[Organisation, list[User]]]:
    members = []
    for index, (name, people, *_rest) in enumerate(MEMBERS):
        organisation = organisation_create(name=name, template="partnerships", label="demo")
        Organisation.objects.filter(pk=organisation.pk).update(country="GB", phone_region="GB")
        organisation.refresh_from_db()
        system = accounts.system_actor(organisation, "demo")
        domain = name.split()[0].lower() + ".coop.test"
        users = [
            accounts.user_create(
                actor=system, email=f"{local}@{domain}", role=Role.ADMIN, full_name=full_name
            )
            for local, full_name in people
        ]
        if index == 0:
            # The demo's login is the network coordinator, acting from the first co-op.
            accounts.user_create(actor=system, email=demo_user.email, role=Role.ADMIN)
        members.append((organisation, users))
    return members


def _directory(network: Network, coordinator, members) -> None:
    for key, name, parent in SKILLS:
        directory.skill_create(
            actor=coordinator, network=network, key=key, name=name, parent_key=parent
        )
    today = timezone.localdate()
    for (organisation, _users), (name, _people, staff, minimum, summary, skills) in zip(
        members, MEMBERS, strict=True
    ):
        directory.member_skills_replace(
            actor=coordinator,
            network=network,
            org_slug=organisation.slug,
            skills=[{"skill": key, "level": level} for key, level in skills.items()],
        )
        directory.profile_update(
            actor=coordinator,
            network=network,
            org_slug=organisation.slug,
            data={
                "summary": summary,
                "website": f"https://{name.split()[0].lower()}.coop.test",
                "staff_count": staff,
                "day_rate": 450 + 10 * staff,
                "currency": "GBP",
                "rates": f"Day rate GBP {450 + 10 * staff}; discounts for co-operatives.",
                "policies": "Equality and diversity policy; data protection (GDPR) policy; "
                "health and safety policy; environmental policy. Employer's liability and "
                "professional indemnity insurance held.",
                "accounts": f"Turnover about GBP {staff * 65_000:,} last year; profitable for "
                "three years; accounts filed with the FCA.",
                "annual_turnover": staff * 65_000,
                "available_from": (today + timedelta(days=14 * staff % 90)).isoformat(),
                "min_project_value": minimum,
                "max_project_value": minimum * 25,
            },
        )
        first_skills = list(skills)[:3]
        directory.case_study_create(
            actor=coordinator,
            network=network,
            org_slug=organisation.slug,
            data={
                "title": f"{summary.split(',')[0].split(' for ')[0]} for a community client",
                "client": f"{name.split()[0]} Community Trust",
                "summary": f"{summary} Delivered on time and budget; still supported.",
                "skills": first_skills,
                "value": minimum * 6,
                "currency": "GBP",
                "year": today.year - 1,
            },
        )


def _rota(network: Network, coordinator, members) -> None:
    today = timezone.localdate()
    this_quarter = _quarter_start(today)
    last_quarter = _add_months(this_quarter, -3)
    next_quarter = _add_months(this_quarter, 3)
    plan = (
        (last_quarter, members[1]),  # Hedgerow Digital, last quarter
        (this_quarter, members[2]),  # Northern Loom Tech, on duty now
        (next_quarter, members[0]),  # Brightwork (the demo's co-op) is next
    )
    periods = []
    for starts_on, (organisation, users) in plan:
        periods.append(
            rota_period_create(
                actor=coordinator,
                network_slug=network.slug,
                org_slug=organisation.slug,
                person_email=users[0].email,
                starts_on=starts_on,
            )
        )
    outgoing_org, outgoing_users = members[1]
    incoming_org, incoming_users = members[2]
    rota_handover_write(
        actor=accounts.actor_for(outgoing_users[0], outgoing_org),
        period_id=periods[0].pk,
        notes="Open: the Riverside tenant portal enquiry is promising — they want a call before "
        "Christmas. Promised the Cardiff co-op an answer on joining after the members' vote. "
        "Borderline: a social enterprise (CIC, not a co-op) asked to join; facts posted for "
        "members.",
    )
    rota_acknowledge(
        actor=accounts.actor_for(incoming_users[0], incoming_org), period_id=periods[0].pk
    )


def _enquiries(network: Network) -> dict[str, Enquiry]:
    received = {}
    now = timezone.now()
    for name, _category, source, organisation_name, country, message, days_ago in ENQUIRIES:
        local = name.split()[-1].lower()
        enquiry = enquiry_receive(
            network=network,
            data={
                "name": name,
                "email": f"{local}@{(organisation_name or 'example').split()[0].lower()}.test",
                "organisation_name": organisation_name,
                "country": country,
                "message": message,
            },
            source=source,
            actor_label="demo",
        )
        if days_ago:
            # History: the demo's enquiries arrived over the last fortnight.
            at = now - timedelta(days=days_ago, hours=days_ago * 2)
            Enquiry.objects.filter(pk=enquiry.pk).update(
                received_at=at,
                created_at=at,
                respond_by=F("respond_by") - timedelta(days=days_ago),
            )
        received[name] = enquiry
    return received


def _triage(network: Network, coordinator, received: dict[str, Enquiry]) -> None:
    untouched = {"Dr Imran Shah", "Pat Doyle", "Nadia Karim"}
    replies = {
        "Aled Hughes": "welcome",
        "Sam Oduya": "welcome_new_coop",
        "Hannah Price": "forum_invite",
        "Lucia Romano": "details_please",
    }
    for name, category, *_rest in ENQUIRIES:
        if name in untouched:
            continue
        enquiry = received[name]
        answers = SALES_ANSWERS.get(enquiry.organisation_name, {})
        enquiry_triage(actor=coordinator, enquiry_id=enquiry.pk, category=category, answers=answers)
        if name in replies:
            enquiry_reply(actor=coordinator, enquiry_id=enquiry.pk, template=replies[name])
        elif name == "Freja Madsen":
            enquiry_reply(actor=coordinator, enquiry_id=enquiry.pk, template="signpost", send=False)
    # History: the chairs answered within hours of each enquiry arriving (one a day late).
    answered = [received[name].pk for name in replies]
    Enquiry.objects.filter(pk__in=answered).update(
        first_response_at=F("received_at") + timedelta(hours=5)
    )
    Enquiry.objects.filter(pk=received["Lucia Romano"].pk).update(
        first_response_at=F("received_at") + timedelta(days=3)
    )


def _referrals(network: Network, coordinator, members, received) -> None:
    lead = received["Grace Adeyemi"]
    made = referrals.referrals_create(
        actor=coordinator,
        enquiry_id=lead.pk,
        org_slugs=[members[0][0].slug, members[1][0].slug],
    )
    by_org = {referral.organisation_id: referral for referral in made}
    brightwork, brightwork_users = members[0]
    hedgerow, hedgerow_users = members[1]
    referrals.referral_accept(
        actor=accounts.actor_for(brightwork_users[0], brightwork),
        referral_id=by_org[brightwork.pk].pk,
    )
    referrals.referral_decline(
        actor=accounts.actor_for(hedgerow_users[0], hedgerow),
        referral_id=by_org[hedgerow.pk].pk,
        reason="No capacity for a project this size until April.",
    )


def _bid(network: Network, coordinator, members, received) -> None:
    """The coordinator's home confirms as it creates the bid; the second member confirms; the
    third has not yet (its accounts are left out of the pack until it does)."""
    bid = bids.bid_create(
        actor=coordinator,
        data={
            "network": network.slug,
            "members": [members[0][0].slug, members[1][0].slug, members[2][0].slug],
            "lead_member": members[0][0].slug,
            "title": "Riverside Housing: digital services framework",
            "tender": "A four-year framework for the association's tenant portal, website and "
            "data platform; lots for build, hosting and support.",
            "deadline": (timezone.localdate() + timedelta(days=24)).isoformat(),
            "enquiry_id": received["Grace Adeyemi"].pk,
            "questions": list(BID_QUESTIONS),
        },
    )
    second, second_users = members[1]
    bids.bid_confirm(actor=accounts.actor_for(second_users[0], second), bid_id=bid.pk)


def _applications(network: Network, members) -> None:
    voting = membership.application_submit(
        network=network,
        data={
            "organisation_name": "Leeds Digital Workers Co-operative",
            "country": "GB",
            "legal_form": "co-operative",
            "email": "hello@leedsdigital.coop.test",
            "message": "Eight of us build websites for charities in Yorkshire; we would love to "
            "join and share work.",
        },
        source="form",
    )
    for organisation, users in members[1:3]:
        membership.vote_cast(
            actor=accounts.actor_for(users[0], organisation), application_id=voting.pk, vote="yes"
        )
    membership.application_submit(
        network=network,
        data={
            "organisation_name": "Kode Kooperativet",
            "country": "DK",
            "legal_form": "co-operative",
            "email": "hej@kode.coop.test",
            "message": "We are a digital co-operative in Copenhagen.",
        },
        source="api",
    )


def _duty_time(coordinator, received) -> None:
    """The coordinator's co-operative logs the time scoping the feasible sales lead cost it
    (its own books: "Time and expenses" on the enquiry's page, "Network enquiries" in its
    campaign report)."""
    enquiry = Enquiry.objects.get(pk=received["Grace Adeyemi"].pk)  # its back-dated arrival
    cost_services.cost_entry_create(
        actor=coordinator,
        data={
            "kind": "time",
            "minutes": 75,
            "hourly_rate": "55",
            "enquiry_id": enquiry.pk,
            "date": timezone.localdate(enquiry.received_at).isoformat(),
            "description": "Scoping call and the referral write-up",
        },
    )


def network_at_work(organisations: Sequence[Organisation]) -> Network | None:
    """Build the demo network around the demo's "CoTech Network" organisation (its books)."""
    books = next((o for o in organisations if o.name == BOOKS), None)
    demo_user = User.objects.filter(email=DEMO_EMAIL).first()
    if books is None or demo_user is None:
        return None
    members = _members(demo_user)
    first = members[0][0]
    network = network_create(
        name="CoTech", coordinator_email=DEMO_EMAIL, org_slug=first.slug, books=books, label="demo"
    )
    for organisation, _users in members[1:]:
        member_add(
            actor=accounts.system_actor(books, "demo"), network=network, organisation=organisation
        )
    coordinator = accounts.actor_for(demo_user, first)
    _directory(network, coordinator, members)
    _rota(network, coordinator, members)
    received = _enquiries(network)
    _triage(network, coordinator, received)
    _referrals(network, coordinator, members, received)
    _bid(network, coordinator, members, received)
    _applications(network, members)
    _duty_time(coordinator, received)
    flag_overdue_enquiries()
    return network
