"""The pure ranking: skills first, then capacity, then past outcomes, with reasons."""

from datetime import date
from decimal import Decimal

from salesline.enquiries.eligibility import parse_budget
from salesline.enquiries.ranking import (
    LeadFacts,
    MemberFacts,
    SkillInfo,
    rank,
    starts_by_of,
    words_of,
)

TAXONOMY = [
    SkillInfo("drupal", "Drupal"),
    SkillInfo("hosting", "Web hosting"),
    SkillInfo("ux", "UX"),
]


def test_skills_then_capacity_then_outcomes():
    lead = LeadFacts(
        skills=("drupal",),
        words=words_of("Drupal site, needs hosting"),
        budget=Decimal(20000),
        starts_by=date(2026, 3, 1),
    )
    members = [
        MemberFacts("novice", skills={"drupal": 1}),
        MemberFacts("expert", skills={"drupal": 5}),
        MemberFacts("expert-busy", skills={"drupal": 5}, available_from=date(2026, 6, 1)),
        MemberFacts("expert-host", skills={"drupal": 5, "hosting": 3}),
        MemberFacts("expert-declines", skills={"drupal": 5}, declined=3),
        MemberFacts("nothing"),
        MemberFacts("too-big", skills={"drupal": 5}, min_project_value=Decimal(50000)),
    ]
    ranked = rank(lead, members, TAXONOMY)
    assert [c.org for c in ranked] == [
        "expert-host",
        "expert",
        "expert-declines",
        "expert-busy",
        "too-big",
        "novice",
        "nothing",
    ]
    best = ranked[0]
    assert best.reasons == (
        "Has Drupal at level 5 of 5.",
        "The brief mentions 'hosting': has Web hosting at level 3.",
    )
    by_org = {c.org: c for c in ranked}
    assert by_org["nothing"].reasons == ("Lacks Drupal, which the lead needs.",)
    assert by_org["expert-busy"].reasons[-1] == "Not available until 2026-06-01, after 2026-03-01."
    assert "below its minimum project" in by_org["too-big"].reasons[-1]
    assert by_org["expert-declines"].reasons[-1] == "Past referrals: 0 won, 0 accepted, 3 declined."
    assert by_org["expert"].score == 10.0
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)


def test_case_study_skills_count_for_the_words_of_the_brief():
    lead = LeadFacts(words=words_of("ux research"))
    ranked = rank(
        lead,
        [MemberFacts("a"), MemberFacts("b", case_study_skills=frozenset({"ux"}))],
        TAXONOMY,
    )
    assert [c.org for c in ranked] == ["b", "a"]
    assert ranked[0].reasons == ("A case study shows UX.",)


def test_timescale_and_budget_parsing():
    today = date(2026, 1, 1)
    assert starts_by_of("3 months", today) == date(2026, 4, 1)
    assert starts_by_of("start by 2026-02-01 please", today) == date(2026, 2, 1)
    assert starts_by_of("ASAP", today) == today
    assert starts_by_of("sometime", today) is None
    assert parse_budget("£20,000") == Decimal(20000)
    assert parse_budget("20k") == Decimal(20000)
    assert parse_budget(15000) == Decimal(15000)
    assert parse_budget("none") is None
    assert parse_budget(None) is None


def test_past_outcomes_weigh_won_over_accepted_over_declined():
    lead = LeadFacts(skills=("drupal",))
    ranked = rank(
        lead,
        [
            MemberFacts("declined", skills={"drupal": 3}, declined=1),
            MemberFacts("accepted", skills={"drupal": 3}, accepted=1),
            MemberFacts("won", skills={"drupal": 3}, won=1),
            MemberFacts("none", skills={"drupal": 3}),
        ],
        TAXONOMY,
    )
    assert [c.org for c in ranked] == ["won", "accepted", "none", "declined"]
    assert ranked[0].reasons[-1] == "Past referrals: 1 won, 0 accepted, 0 declined."
