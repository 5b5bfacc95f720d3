"""Ranking one lead against 1,000 member organisations with 50 skills each (target <= 50 ms).

Four figures, timed separately: the pure ranking (`enquiries.ranking.rank`, facts already in
memory), the selector that loads those facts from the database
(`enquiries.referrals.member_facts`: six queries whatever the number of members), and the
whole `enquiries.referrals.candidates_for` as the API calls it (the enquiry, the coordinator's
rights, the facts, the ranking) end to end, cold (the cache emptied before each run) and warm
(the network's facts in the process's own copy), and from Django's cache only (as another
process finds them). The network
is built once (members, a taxonomy of 200 skills, 50 skills each, profiles, case studies and
past referrals) and reused on later runs.

    python -m bench.bench_referrals --database-url URL [--members 1000] [--skills 50]
        [--repeats 30] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bench.api_lists import setup_django

NETWORK_NAME = "Bench Referrals"
TAXONOMY_SIZE = 200
WORDS = [
    "drupal", "wordpress", "python", "django", "rails", "react", "vue", "hosting", "linux",
    "kubernetes", "ux", "research", "accessibility", "data", "science", "maps", "gis",
    "mobile", "android", "ios", "security", "audit", "training", "ecommerce", "payments",
]  # fmt: skip


def skill_keys() -> list[tuple[str, str]]:
    keys = []
    for n in range(TAXONOMY_SIZE):
        word = WORDS[n % len(WORDS)]
        keys.append((f"{word}-{n}", f"{word.capitalize()} {n}"))
    return keys


def ensure_network(members: int, skills_each: int):
    from django.db import transaction
    from django.utils import timezone

    from salesline.accounts.models import Organisation
    from salesline.enquiries.models import (
        CaseStudy,
        MemberProfile,
        MemberSkill,
        Network,
        NetworkMember,
        Referral,
        Skill,
    )
    from salesline.enquiries.network_services import network_create
    from salesline.process.services import organisation_create

    network = Network.objects.filter(name=NETWORK_NAME).first()
    if network is not None and network.members.count() >= members:
        return network
    rng = random.Random(7)
    with transaction.atomic():
        home = organisation_create(name="Bench Referrals Home", template="partnerships")
        network = network_create(
            name=NETWORK_NAME, coordinator_email="bench-coord@referrals.test", org_slug=home.slug
        )
        orgs = Organisation.objects.bulk_create(
            Organisation(name=f"Bench member {n}", slug=f"bench-ref-{network.pk}-{n}")
            for n in range(members - 1)
        )
        NetworkMember.objects.bulk_create(
            NetworkMember(network=network, organisation=o) for o in orgs
        )
        taxonomy = Skill.objects.bulk_create(
            Skill(network=network, key=key, name=name) for key, name in skill_keys()
        )
        everyone = [home, *orgs]
        MemberSkill.objects.bulk_create(
            (
                MemberSkill(network=network, organisation=o, skill=skill, level=rng.randint(1, 5))
                for o in everyone
                for skill in rng.sample(taxonomy, skills_each)
            ),
            batch_size=5000,
        )
        today = timezone.localdate()
        MemberProfile.objects.bulk_create(
            MemberProfile(
                network=network,
                organisation=o,
                available_from=today + timedelta(days=rng.randint(0, 180)),
                min_project_value=Decimal(rng.choice([0, 5000, 10000, 25000])),
                max_project_value=Decimal(rng.choice([50000, 100000, 500000])),
            )
            for o in everyone
        )
        studies = CaseStudy.objects.bulk_create(
            CaseStudy(network=network, organisation=o, title="Study", client="C", summary="S")
            for o in everyone
        )
        CaseStudy.skills.through.objects.bulk_create(
            CaseStudy.skills.through(casestudy_id=s.pk, skill_id=rng.choice(taxonomy).pk)
            for s in studies
        )
        from salesline.enquiries.intake import enquiry_receive

        enquiry = enquiry_receive(
            network=network,
            data={"name": "Bench", "email": "bench@client.test", "message": "Bench lead"},
            source="api",
            acknowledge=False,
        )
        Referral.objects.bulk_create(
            Referral(
                network=network,
                enquiry=enquiry,
                organisation=o,
                status=rng.choice(["accepted", "declined", "offered"]),
            )
            for o in rng.sample(everyone, min(300, len(everyone)))
        )
    return network


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.utils import timezone

    from salesline.enquiries.models import Enquiry
    from salesline.enquiries.ranking import rank
    from salesline.enquiries.referrals import lead_facts, member_facts

    started = time.perf_counter()
    network = ensure_network(args.members, args.skills)
    built = time.perf_counter() - started
    keys = [key for key, _ in skill_keys()]
    lead = Enquiry(
        network=network,
        received_at=timezone.now(),
        answers={
            "skills": keys[:5],
            "brief": "A Django site with maps, accessibility and security audit",
            "technology": "python react kubernetes",
            "budget": "£40,000",
            "timescale": "2 months",
        },
    )
    facts = lead_facts(lead)
    selector_ms, rank_ms = [], []
    for _ in range(max(3, args.repeats // 5)):
        t0 = time.perf_counter()
        members, taxonomy = member_facts(network)
        selector_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ranked = rank(facts, members, taxonomy)
        rank_ms.append((time.perf_counter() - t0) * 1000)
    from django.core.cache import cache

    from salesline.accounts.services import actor_for
    from salesline.enquiries.referrals import candidates_for, forget_local_facts

    enquiry = Enquiry.objects.filter(network=network).order_by("pk").first()
    if enquiry is None:
        raise SystemExit("The bench network has no enquiry.")
    Enquiry.objects.filter(pk=enquiry.pk).update(answers=lead.answers)
    actor = actor_for(network.coordinator, network.coordinator_home)
    cold_ms, shared_ms, warm_ms = [], [], []
    for _ in range(max(3, args.repeats // 5)):
        cache.clear()
        forget_local_facts()
        t0 = time.perf_counter()
        candidates_for(actor=actor, enquiry_id=enquiry.pk)
        cold_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(max(3, args.repeats // 5)):
        forget_local_facts()  # another process: the facts in Django's cache, not in its own
        t0 = time.perf_counter()
        candidates_for(actor=actor, enquiry_id=enquiry.pk)
        shared_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        end_to_end = candidates_for(actor=actor, enquiry_id=enquiry.pk)
        warm_ms.append((time.perf_counter() - t0) * 1000)
    if len(end_to_end) != len(members):
        raise SystemExit("candidates_for did not rank every member.")
    result = {
        "members": len(members),
        "skills_per_member": args.skills,
        "taxonomy": len(taxonomy),
        "setup_seconds": round(built, 2),
        "rank_ms_median": round(statistics.median(rank_ms), 2),
        "rank_ms_min": round(min(rank_ms), 2),
        "selector_ms_median": round(statistics.median(selector_ms), 1),
        "selector_ms_min": round(min(selector_ms), 1),
        "end_to_end_cold_ms_median": round(statistics.median(cold_ms), 1),
        "end_to_end_cold_ms_min": round(min(cold_ms), 1),
        "end_to_end_shared_cache_ms_median": round(statistics.median(shared_ms), 1),
        "end_to_end_shared_cache_ms_min": round(min(shared_ms), 1),
        "end_to_end_warm_ms_median": round(statistics.median(warm_ms), 1),
        "end_to_end_warm_ms_min": round(min(warm_ms), 1),
        "best": {"org": ranked[0].org, "score": ranked[0].score},
    }
    print(
        f"ranking {result['members']} members x {args.skills} skills: pure ranking "
        f"{result['rank_ms_median']} ms median ({result['rank_ms_min']} min); loading the facts "
        f"{result['selector_ms_median']} ms median ({result['selector_ms_min']} min); "
        f"candidates_for end to end: cold {result['end_to_end_cold_ms_median']} ms median "
        f"({result['end_to_end_cold_ms_min']} min), from Django's cache "
        f"{result['end_to_end_shared_cache_ms_median']} ms median "
        f"({result['end_to_end_shared_cache_ms_min']} min), warm {result['end_to_end_warm_ms_median']} "
        f"ms median ({result['end_to_end_warm_ms_min']} min)"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
