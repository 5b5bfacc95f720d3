"""Ranking member organisations for a lead (docs/network-directory.md). Pure: no Django.

A candidate's score is the sum of points, skills first by weight:
- each skill the lead needs: 2 points per level the member holds it at (up to 10), and a
  reason naming the level, or a reason naming what it lacks;
- each word of the brief or technology that names a skill (its key or a word of its name):
  1 point plus 0.2 per level when the member holds that skill, and 1 point when one of its
  case studies shows it;
- capacity: 2 points when it is free by the lead's start (available from no later than the
  timescale), minus 2 when it is not; 2 points when the budget is within its minimum and
  maximum project value, minus 2 when outside;
- past outcomes: 1 point per referral won, 0.5 per referral accepted (still open, or lost),
  minus 0.5 per referral declined (at most 2 either way): won > accepted > declined.
Candidates come best first; equal scores by organisation slug.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .eligibility import money

SKILL_POINTS_PER_LEVEL = 2.0
WORD_POINTS = 1.0
WORD_POINTS_PER_LEVEL = 0.2
CASE_STUDY_WORD_POINTS = 1.0
CAPACITY_POINTS = 2.0
OUTCOME_POINTS = 0.5
WON_POINTS = 1.0
OUTCOME_CAP = 2.0

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.]*[a-z0-9+#]|[a-z0-9]")
#: Words too common to say anything about a skill.
_COMMON = (
    "a an and are as at be by for from has have in into is it its of on or our the their to "
    "we with will would you your need needs want new site web work project build using use "
    "development developer services service"
)
STOPWORDS = frozenset(_COMMON.split())


def words_of(text: str) -> frozenset[str]:
    """The lower-case words of a text, without the common ones (a key like `data-science`
    gives `data` and `science`, and itself)."""
    lowered = (text or "").lower()
    found = set(_WORD.findall(lowered.replace("-", " ").replace("_", " ")))
    found.update(token for token in re.split(r"\s+", lowered) if "-" in token)
    return frozenset(word for word in found if word not in STOPWORDS)


@dataclass(frozen=True)
class SkillInfo:
    key: str
    name: str


@dataclass(frozen=True)
class LeadFacts:
    """What a lead needs: skill keys (triage's `skills`), the words of its brief and technology,
    its budget and the date the work must start by (from its timescale), if known."""

    skills: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    budget: Decimal | None = None
    starts_by: date | None = None


@dataclass(frozen=True)
class MemberFacts:
    org: str  # slug
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)  # skill key -> level 1..5
    case_study_skills: frozenset[str] = frozenset()
    available_from: date | None = None
    min_project_value: Decimal | None = None
    max_project_value: Decimal | None = None
    accepted: int = 0  # referrals accepted and not (yet) won: open, or lost
    declined: int = 0
    won: int = 0  # referrals accepted whose opportunity was won


@dataclass(frozen=True)
class Candidate:
    org: str
    score: float
    reasons: tuple[str, ...]


def skills_named_by(words: frozenset[str], taxonomy: Iterable[SkillInfo]) -> dict[str, str]:
    """The skills (key -> the word that named it) whose key or name a word of the lead names."""
    named: dict[str, str] = {}
    for skill in taxonomy:
        if skill.key in words:
            named[skill.key] = skill.key
            continue
        hits = words & words_of(skill.name)
        if hits:
            named[skill.key] = sorted(hits)[0]
    return named


def rank(
    lead: LeadFacts,
    members: Sequence[MemberFacts],
    taxonomy: Iterable[SkillInfo] = (),
) -> list[Candidate]:
    """Every member with its score and reasons in words, best first. The reasons' words are
    made once per lead (a member's differ only by level), so a thousand members take a few
    milliseconds."""
    context = _Context(lead, {skill.key: skill.name for skill in taxonomy})
    candidates = [context.candidate(member) for member in members]
    candidates.sort(key=lambda c: (-c.score, c.org))
    return candidates


class _Context:
    """What every candidate of one lead shares: the needed skills' reasons by level, the skills
    the brief names, the budget in words."""

    def __init__(self, lead: LeadFacts, names: Mapping[str, str]) -> None:
        self.lead = lead
        needed = tuple(dict.fromkeys(lead.skills))
        self.needed = needed
        self.has = {
            key: [""] + [f"Has {names.get(key, key)} at level {n} of 5." for n in range(1, 6)]
            for key in needed
        }
        self.lacks = {key: f"Lacks {names.get(key, key)}, which the lead needs." for key in needed}
        named = skills_named_by(lead.words, (SkillInfo(k, n) for k, n in names.items()))
        # The skills the brief names that the needed keys do not already count.
        self.by_word = sorted(key for key in named if key not in set(needed))
        self.by_word_set = frozenset(self.by_word)
        self.word_reason = {
            key: [""]
            + [
                f"The brief mentions '{named[key]}': has {names.get(key, key)} at level {n}."
                for n in range(1, 6)
            ]
            for key in self.by_word
        }
        self.shown_reason = {
            key: f"A case study shows {names.get(key, key)}." for key in self.by_word
        }
        self.budget_text = money(lead.budget)
        self.starts_by_text = lead.starts_by.isoformat() if lead.starts_by else ""
        self._money: dict[Decimal, str] = {}

    def money(self, value: Decimal) -> str:
        text = self._money.get(value)
        if text is None:
            text = self._money[value] = money(value)
        return text

    def candidate(self, member: MemberFacts) -> Candidate:
        lead = self.lead
        score = 0.0
        reasons: list[str] = []
        held = member.skills
        for key in self.needed:
            level = held.get(key)
            if level:
                score += SKILL_POINTS_PER_LEVEL * level
                reasons.append(self.has[key][level])
            else:
                reasons.append(self.lacks[key])
        if self.by_word:
            hits = self.by_word_set.intersection(held)
            for key in sorted(hits) if len(hits) > 1 else hits:
                level = held[key]
                score += WORD_POINTS + WORD_POINTS_PER_LEVEL * level
                reasons.append(self.word_reason[key][level])
            if member.case_study_skills:
                for key in sorted(self.by_word_set & member.case_study_skills):
                    score += CASE_STUDY_WORD_POINTS
                    reasons.append(self.shown_reason[key])
        available = member.available_from
        if lead.starts_by is not None and available is not None:
            if available <= lead.starts_by:
                score += CAPACITY_POINTS
                reasons.append(f"Available from {available.isoformat()}, in time.")
            else:
                score -= CAPACITY_POINTS
                reasons.append(
                    f"Not available until {available.isoformat()}, after {self.starts_by_text}."
                )
        budget = lead.budget
        if budget is not None:
            low, high = member.min_project_value, member.max_project_value
            if low is not None and budget < low:
                score -= CAPACITY_POINTS
                reasons.append(
                    f"Budget {self.budget_text} is below its minimum project {self.money(low)}."
                )
            elif high is not None and budget > high:
                score -= CAPACITY_POINTS
                reasons.append(
                    f"Budget {self.budget_text} is above its maximum project {self.money(high)}."
                )
            elif low is not None or high is not None:
                score += CAPACITY_POINTS
                reasons.append(f"Budget {self.budget_text} is within the size of project it takes.")
        if member.won or member.accepted or member.declined:
            outcome = WON_POINTS * member.won + OUTCOME_POINTS * (member.accepted - member.declined)
            score += max(-OUTCOME_CAP, min(OUTCOME_CAP, outcome))
            reasons.append(
                f"Past referrals: {member.won} won, {member.accepted} accepted, "
                f"{member.declined} declined."
            )
        # Rounded to hundredths without round(), which is slow for floats with digits.
        cents = int(score * 100 + (0.5 if score >= 0 else -0.5))
        return Candidate(org=member.org, score=cents / 100, reasons=tuple(reasons))


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_SPAN = re.compile(r"\b(\d{1,3})\s*(day|week|month|year)s?\b")
_NOW = re.compile(r"\b(asap|immediately|urgent|now|straight away)\b")
_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def starts_by_of(timescale: str, today: date) -> date | None:
    """The date a timescale asks work to start by: a date written in it (YYYY-MM-DD), `N
    days/weeks/months/years` from today, `asap`/`now` as today; None when it says none."""
    text = (timescale or "").lower()
    if match := _ISO_DATE.search(text):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    if match := _SPAN.search(text):
        return today + timedelta(days=int(match[1]) * _DAYS[match[2]])
    if _NOW.search(text):
        return today
    return None
