"""Answering a pre-qualification questionnaire (PQQ) from the skills directory. Pure: no Django.

Each question is matched to a topic by its words (company details, turnover and accounts,
policies — equality, health and safety, data protection, environment, quality, modern
slavery, ... —, insurance, case studies and experience, skills, rates, capacity); the answer is
written from the chosen members' facts, and what the directory does not hold is listed as
missing, per member.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Topics, tried in order: the first whose words the question contains.
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("insurance", ("insurance", "indemnity", "liability cover", "insured")),
    ("accounts", ("turnover", "accounts", "financial", "revenue", "balance sheet", "audited")),
    (
        "policy",
        (
            "policy",
            "policies",
            "procedure",
            "equality",
            "diversity",
            "health and safety",
            "health & safety",
            "data protection",
            "gdpr",
            "environment",
            "sustainab",
            "modern slavery",
            "safeguarding",
            "quality",
            "iso ",
            "security",
            "accessibility",
        ),
    ),
    (
        "case_studies",
        ("case stud", "experience", "previous", "reference", "similar", "track record"),
    ),
    ("skills", ("skill", "expertise", "technolog", "competenc", "capabilit", "qualification")),
    ("rates", ("rate", "price", "pricing", "cost", "fee", "charge")),
    ("capacity", ("capacity", "availab", "start", "resourc", "staff", "team size", "deliver")),
    (
        "company",
        ("company", "registered", "registration", "address", "legal", "name", "contact", "about"),
    ),
)

#: The words that name each kind of policy (a policy question is answered by the members whose
#: policies text names the same kind).
POLICY_KINDS: dict[str, tuple[str, ...]] = {
    "equality": ("equality", "diversity", "equal opportunit"),
    "health and safety": ("health and safety", "health & safety"),
    "data protection": ("data protection", "gdpr", "privacy"),
    "environment": ("environment", "sustainab", "carbon"),
    "modern slavery": ("modern slavery",),
    "safeguarding": ("safeguarding",),
    "quality": ("quality", "iso 9001"),
    "information security": ("security", "iso 27001", "cyber essentials"),
    "accessibility": ("accessibility", "wcag"),
}


@dataclass(frozen=True)
class CaseStudyFacts:
    title: str
    client: str
    summary: str
    skills: tuple[str, ...] = ()
    value: str = ""
    year: int | None = None


@dataclass(frozen=True)
class MemberPack:
    """What the directory holds of one member, for a bid."""

    slug: str
    name: str
    lead: bool = False
    summary: str = ""
    website: str = ""
    staff_count: int | None = None
    day_rate: str = ""
    rates: str = ""
    policies: str = ""
    # False while the member has not confirmed taking part: no accounts in the pack.
    confirmed: bool = True
    accounts: str = ""
    annual_turnover: str = ""
    available_from: str = ""
    project_values: str = ""
    skills: tuple[tuple[str, int], ...] = ()  # (skill name, level)
    case_studies: tuple[CaseStudyFacts, ...] = ()
    documents: tuple[tuple[str, str], ...] = ()  # (kind, title)


@dataclass(frozen=True)
class PqqAnswer:
    question: str
    topic: str  # a key of TOPICS, or "" when no topic matched
    answer: str
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def answered(self) -> bool:
        return bool(self.answer) and not self.missing


def topic_of(question: str) -> str:
    text = " " + re.sub(r"\s+", " ", question.lower()) + " "
    for topic, words in TOPICS:
        if _mentions(text, words):
            return topic
    return ""


def answer_questions(questions: Sequence[str], members: Sequence[MemberPack]) -> list[PqqAnswer]:
    return [answer_question(question, members) for question in questions]


def answer_question(question: str, members: Sequence[MemberPack]) -> PqqAnswer:
    topic = topic_of(question)
    answerer = _ANSWERERS.get(topic)
    if answerer is None:
        return PqqAnswer(question, "", "", ("Not answered from the directory: no matching facts.",))
    lines, missing = answerer(question, members)
    return PqqAnswer(question, topic, "\n".join(lines), tuple(missing))


def _company(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        role = " (lead member)" if m.lead else ""
        facts = [f"{m.name}{role}"]
        if m.website:
            facts.append(m.website)
        if m.staff_count is not None:
            facts.append(f"{m.staff_count} staff")
        lines.append(", ".join(facts) + (f": {_first_line(m.summary)}" if m.summary else ""))
        if not m.summary:
            missing.append(f"{m.name}: no summary in the directory.")
    return lines, missing


def _accounts(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        documents = [title for kind, title in m.documents if kind == "accounts"]
        facts = []
        if m.annual_turnover:
            facts.append(f"annual turnover {m.annual_turnover}")
        if m.accounts:
            facts.append(_first_line(m.accounts))
        if documents:
            facts.append("accounts attached: " + ", ".join(documents))
        if facts:
            lines.append(f"{m.name}: " + "; ".join(facts))
        else:
            missing.append(f"{m.name}: no turnover or accounts in the directory.")
    return lines, missing


def _policy(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    text = question.lower()
    kinds = [kind for kind, words in POLICY_KINDS.items() if _mentions(text, words)]
    lines, missing = [], []
    for m in members:
        held = (m.policies or "").lower()
        titles = [title for kind, title in m.documents if kind == "policy"]
        documents_text = " ".join(titles).lower()
        if kinds:
            for kind in kinds:
                words = POLICY_KINDS[kind]
                found = [t for t in titles if _mentions(t.lower(), words)]
                if _mentions(held, words) or found:
                    detail = f" (attached: {', '.join(found)})" if found else ""
                    lines.append(f"{m.name}: {kind} policy in place{detail}.")
                else:
                    missing.append(f"{m.name}: no {kind} policy in the directory.")
        elif held or documents_text:
            attached = f" Attached: {', '.join(titles)}." if titles else ""
            lines.append(f"{m.name}: {_first_line(m.policies)}{attached}".strip())
        else:
            missing.append(f"{m.name}: no policies in the directory.")
    return lines, missing


def _insurance(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        texts = " ".join([m.policies, *(title for _, title in m.documents)])
        sentence = _sentence_with(texts, ("insurance", "indemnity", "liability"))
        if sentence:
            lines.append(f"{m.name}: {sentence}")
        else:
            missing.append(f"{m.name}: no insurance details in the directory.")
    return lines, missing


def _case_studies(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        if not m.case_studies:
            missing.append(f"{m.name}: no case studies in the directory.")
        for study in m.case_studies:
            year = f", {study.year}" if study.year else ""
            value = f", {study.value}" if study.value else ""
            lines.append(f"{m.name}: {study.title} for {study.client}{year}{value}.")
    return lines, missing


def _skills(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        if m.skills:
            shown = ", ".join(f"{name} ({level}/5)" for name, level in m.skills)
            lines.append(f"{m.name}: {shown}.")
        else:
            missing.append(f"{m.name}: no skills in the directory.")
    return lines, missing


def _rates(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        facts = []
        if m.day_rate:
            facts.append(f"day rate {m.day_rate}")
        if m.rates:
            facts.append(_first_line(m.rates))
        if facts:
            lines.append(f"{m.name}: " + "; ".join(facts) + ".")
        else:
            missing.append(f"{m.name}: no rates in the directory.")
    return lines, missing


def _capacity(question: str, members: Sequence[MemberPack]) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for m in members:
        facts = []
        if m.available_from:
            facts.append(f"available from {m.available_from}")
        if m.project_values:
            facts.append(f"projects of {m.project_values}")
        if m.staff_count is not None:
            facts.append(f"{m.staff_count} staff")
        if facts:
            lines.append(f"{m.name}: " + ", ".join(facts) + ".")
        else:
            missing.append(f"{m.name}: no capacity in the directory.")
    return lines, missing


_ANSWERERS = {
    "company": _company,
    "accounts": _accounts,
    "policy": _policy,
    "insurance": _insurance,
    "case_studies": _case_studies,
    "skills": _skills,
    "rates": _rates,
    "capacity": _capacity,
}


def _mentions(text: str, words: Sequence[str]) -> bool:
    """Whether `text` has one of `words` starting a word ("quality" is not in "equality")."""
    return any(re.search(r"(?<![a-z0-9])" + re.escape(word), text) for word in words)


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _sentence_with(text: str, words: Sequence[str]) -> str:
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text or ""):
        if any(word in sentence.lower() for word in words):
            return sentence.strip()[:500]
    return ""
