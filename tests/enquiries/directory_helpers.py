"""Shared set-up for the directory, referral and bid tests: a small taxonomy, members' skills
and profiles, and a lead (an enquiry triaged feasible)."""

from salesline.enquiries import directory
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Enquiry, EnquiryStatus
from salesline.enquiries.triage_services import _lead_for

SKILLS = [
    ("drupal", "Drupal"),
    ("python", "Python"),
    ("hosting", "Web hosting"),
    ("ux", "User experience design"),
    ("data-science", "Data science"),
]


def put(api, path, body):
    return api.request("put", path, body)


def taxonomy(world):
    for key, name in SKILLS:
        directory.skill_create(
            actor=world.coordinator.actor, network=world.network, key=key, name=name
        )


def skills(world, member, levels):
    directory.member_skills_replace(
        actor=world.coordinator.actor,
        network=world.network,
        org_slug=member.org.slug,
        skills=[{"skill": key, "level": level} for key, level in levels.items()],
    )


def lead(world, answers=None, status=EnquiryStatus.LEAD):
    enquiry = enquiry_receive(
        network=world.network,
        data={
            "name": "Erin Client",
            "email": "erin@client.test",
            "organisation_name": "Client Trust",
            "message": "We need a new Drupal site.",
        },
        source="api",
    )
    answers = answers or {
        "budget": 30000,
        "timescale": "3 months",
        "technology": "Drupal",
        "brief": "A new Drupal site with good hosting",
        "skills": ["drupal"],
    }
    # A lead has its record in the network's pipeline (referrals need one).
    record = (
        _lead_for(world.network, world.coordinator.actor, enquiry, answers)
        if status == EnquiryStatus.LEAD
        else None
    )
    Enquiry.objects.filter(pk=enquiry.pk).update(
        status=status, category="sales", answers=answers, lead=record
    )
    return Enquiry.objects.get(pk=enquiry.pk)
