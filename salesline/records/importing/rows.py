"""Turning a chunk of raw rows into clean values and problems. Pure (no Django), so chunks can
be normalised in other processes while the main one matches and writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from salesline.core.customfields import CustomFieldDef, coerce_custom_value
from salesline.records import matching
from salesline.records.normalise import Normaliser

# How each target is cleaned (anything else is trimmed text).
SPECIAL = {
    "email": "email",
    "phone": "phone",
    "website": "website",
    "linkedin": "website",
    "email_domain": "domain",
    "first_name": "first",
    "last_name": "last",
    "owner": "owner",
    "company": "company",
}


@dataclass(frozen=True)
class ColumnRule:
    index: int  # the column's position in the file
    target: str  # "email", "cf_budget", ...
    label: str
    how: str  # text | email | phone | website | domain | first | last | owner | company | custom
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    custom: CustomFieldDef | None = None


@dataclass(frozen=True)
class RowPlan:
    """Everything a process needs to normalise rows of one import."""

    kind: str  # company | person | lead
    region: str | None
    rules: tuple[ColumnRule, ...]
    minimum: tuple[tuple[str, str], ...] = ()  # (target, label) the definition requires
    members: frozenset[str] = frozenset()  # e-mails an owner column may name


@dataclass
class CleanRow:
    row: int
    values: dict = field(default_factory=dict)  # model attribute -> value
    custom: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (target, reason)
    raw: list[str] | None = None  # kept for rejected rows only
    search_name: str = ""
    company_key: str = ""  # lead: normalised company name; person: company name to resolve


_normalisers: dict[str | None, Normaliser] = {}


def _normaliser(region: str | None) -> Normaliser:
    # One per process and region, so its caches of repeated values live across chunks.
    normaliser = _normalisers.get(region)
    if normaliser is None:
        normaliser = _normalisers[region] = Normaliser(region)
    return normaliser


_company_keys: dict[str, str] = {}


def company_key(name: str) -> str:
    """company_match_name, cached: a file names the same few companies again and again."""
    key = _company_keys.get(name)
    if key is None:
        if len(_company_keys) > 200_000:
            _company_keys.clear()
        key = _company_keys[name] = matching.company_match_name(name)[:200]
    return key


def clean_rows(plan: RowPlan, rows: list[tuple[int, list[str]]]) -> list[CleanRow]:
    normaliser = _normaliser(plan.region)
    text, email, phone = normaliser.text, normaliser.email, normaliser.phone
    cleaners = {"website": normaliser.website, "domain": normaliser.domain}
    custom_cache: dict[tuple[str, str], object] = {}
    out = []
    for number, cells in rows:
        clean = CleanRow(number)
        values = clean.values
        width = len(cells)
        first = last = ""
        for rule in plan.rules:
            raw = cells[rule.index] if rule.index < width else ""
            how = rule.how
            try:
                if how == "text":
                    value = text(raw)
                    if rule.max_length and len(value) > rule.max_length:
                        raise ValueError(f"is longer than {rule.max_length} characters")
                    if rule.choices and value and value not in rule.choices:
                        raise ValueError(f"must be one of: {', '.join(rule.choices)}")
                    values[rule.target] = value
                elif how == "email":
                    values["email"] = email(raw)
                elif how == "phone":
                    values["phone"] = phone(raw)
                elif how == "custom":
                    value = text(raw)
                    if value:
                        cache_key = (rule.target, value)
                        cleaned = custom_cache.get(cache_key)
                        if cleaned is None:
                            cleaned = custom_cache[cache_key] = coerce_custom_value(
                                rule.custom, value
                            )
                        clean.custom[rule.custom.key] = cleaned
                elif how == "first":
                    first = text(raw)
                elif how == "last":
                    last = text(raw)
                elif how == "owner":
                    owner = text(raw).lower()
                    if owner and owner not in plan.members:
                        raise ValueError(f"{owner} is not a member of the organisation")
                    values["owner"] = owner
                elif how == "company":
                    values["company"] = text(raw)
                else:
                    values[rule.target] = cleaners[how](raw)
                    if rule.max_length and len(values[rule.target]) > rule.max_length:
                        raise ValueError(f"is longer than {rule.max_length} characters")
            except ValueError as exc:
                clean.problems.append((rule.target, f"{rule.label} {exc}"))
        if (first or last) and not values.get("name"):
            values["name"] = f"{first} {last}".strip()
        name = values.get("name", "")
        if len(name) > 255:
            clean.problems.append(("name", "Name is longer than 255 characters"))
        for target, label in plan.minimum:
            present = (
                clean.custom.get(target[3:]) if target.startswith("cf_") else values.get(target)
            )
            if present in (None, "") and not any(p[0] == target for p in clean.problems):
                clean.problems.append((target, f"{label} is required"))
        if clean.problems:
            clean.raw = cells
        else:
            clean.search_name = matching.search_key(name)[:255]
            if plan.kind == "lead":
                clean.company_key = company_key(values.get("company_name", ""))
            elif plan.kind == "person":
                company = values.get("company", "")
                clean.company_key = company_key(company) if company else ""
            else:
                clean.company_key = company_key(name)
        out.append(clean)
    return out
