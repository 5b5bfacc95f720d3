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


@dataclass(slots=True)
class CleanRow:
    row: int
    values: dict = field(default_factory=dict)  # model attribute -> value
    custom: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (target, reason)
    raw: list[str] | None = None  # kept for rejected rows only
    search_name: str = ""
    search_text: str = ""  # matching.search_text, computed here, beside the main process
    company_key: str = ""  # lead: normalised company name; person: company name to resolve
    surname: str = ""  # matching.surname_key of the name, for the duplicate block


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


def _text_rule(text, rule: ColumnRule):
    max_length, choices = rule.max_length, rule.choices

    def clean(raw: str) -> str:
        value = text(raw)
        if max_length and len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        if choices and value and value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return clean


def _owner_rule(text, members: frozenset[str]):
    def clean(raw: str) -> str:
        owner = text(raw).lower()
        if owner and owner not in members:
            raise ValueError(f"{owner} is not a member of the organisation")
        return owner

    return clean


def _custom_rule(text, definition: CustomFieldDef):
    cache: dict[str, object] = {}  # custom values repeat (choices, yes/no)

    def clean(raw: str):
        value = text(raw)
        if not value:
            return None
        cleaned = cache.get(value)
        if cleaned is None:
            cleaned = coerce_custom_value(definition, value)
            if len(cache) < 10_000:
                cache[value] = cleaned
        return cleaned

    return clean


def compile_rules(plan: RowPlan) -> list[tuple[int, str, str, object]]:
    """(column index, where the value goes, the target, a function raw -> value) per rule."""
    normaliser = _normaliser(plan.region)
    text = normaliser.text
    compiled = []
    for rule in plan.rules:
        how = rule.how
        if how == "text":
            fn, key = _text_rule(text, rule), rule.target
        elif how == "custom":
            fn, key = _custom_rule(text, rule.custom), "cf:" + rule.custom.key
        elif how == "owner":
            fn, key = _owner_rule(text, plan.members), "owner"
        elif how in ("first", "last", "company"):
            fn, key = text, {"first": "first_name", "last": "last_name"}.get(how, how)
        else:
            base = {
                "email": normaliser.email,
                "phone": normaliser.phone,
                "website": normaliser.website,
                "domain": normaliser.domain,
            }[how]
            fn = base if not rule.max_length else _limited(base, rule.max_length)
            key = rule.target
        compiled.append((rule.index, key, rule.target, rule.label, fn))
    return compiled


def _limited(base, max_length: int):
    def clean(raw: str) -> str:
        value = base(raw)
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value

    return clean


def clean_rows(plan: RowPlan, rows: list[tuple[int, list[str]]]) -> list[CleanRow]:
    compiled = compile_rules(plan)
    kind, minimum = plan.kind, plan.minimum
    split_name = any(key in ("first_name", "last_name") for _, key, *_ in compiled)
    has_custom = any(key.startswith("cf:") for _, key, *_ in compiled)
    search_key, surname_key = matching.search_key, matching.surname_key
    search_text = matching.search_text
    out = []
    for number, cells in rows:
        clean = CleanRow(number)
        values = clean.values
        problems = clean.problems
        width = len(cells)
        for index, key, target, label, fn in compiled:
            try:
                values[key] = fn(cells[index] if index < width else "")
            except ValueError as exc:
                problems.append((target, f"{label} {exc}"))
        if split_name:
            first, last = values.pop("first_name", ""), values.pop("last_name", "")
            if (first or last) and not values.get("name"):
                values["name"] = f"{first} {last}".strip()
        if has_custom:
            for key in [k for k in values if k.startswith("cf:")]:
                value = values.pop(key)
                if value is not None:
                    clean.custom[key[3:]] = value
        name = values.get("name", "")
        if len(name) > 255:
            problems.append(("name", "Name is longer than 255 characters"))
        for target, label in minimum:
            present = (
                clean.custom.get(target[3:]) if target.startswith("cf_") else values.get(target)
            )
            if present in (None, "") and not any(p[0] == target for p in problems):
                problems.append((target, f"{label} is required"))
        if problems:
            clean.raw = cells
        else:
            clean.search_name = search_key(name)[:255]
            get = values.get
            clean.search_text = search_text(
                name,
                email=get("email", ""),
                company_name=get("company_name", ""),
                phone=get("phone", ""),
                domain=get("email_domain", ""),
            )
            if kind != "company":
                clean.surname = surname_key(name)
            if kind == "lead":
                clean.company_key = company_key(values.get("company_name", ""))
            elif kind == "person":
                company = values.get("company", "")
                clean.company_key = company_key(company) if company else ""
            else:
                clean.company_key = company_key(name)
        out.append(clean)
    return out


def clean_rows_packed(plan: RowPlan, rows: list[tuple[int, list[str]]]) -> tuple:
    """clean_rows for another process: plain tuples pickle in a third of the time of objects,
    and the main process, which unpickles every row, is the import's bottleneck."""
    cleaned = clean_rows(plan, rows)
    keys = sorted({key for row in cleaned for key in row.values})
    return keys, [
        (
            row.row,
            tuple(row.values.get(key) for key in keys),
            row.custom or None,
            row.problems or None,
            row.raw,
            row.search_name,
            row.search_text,
            row.company_key,
            row.surname,
        )
        for row in cleaned
    ]


def unpack(packed: tuple) -> list[CleanRow]:
    keys, items = packed
    out = []
    for number, values, custom, problems, raw, search_name, text, company_key, surname in items:
        row = CleanRow(number)
        row.values = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
        row.custom = custom or {}
        row.problems = problems or []
        row.raw = raw
        row.search_name = search_name
        row.search_text = text
        row.company_key = company_key
        row.surname = surname
        out.append(row)
    return out
