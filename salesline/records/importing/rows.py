"""Turning a chunk of raw rows into clean values and problems. Pure (no Django), so chunks can
be normalised in other processes while the main one matches and writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesline.core.customfields import CustomFieldDef, coerce_custom_value
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.process.definition.spec import Choice, allowed_values
from salesline.records import matching
from salesline.records.location import clean_coordinate, clean_country
from salesline.records.normalise import Normaliser

from .rowtypes import Card, OverlongRow, UnreadableRow

__all__ = ["CleanRow", "ColumnRule", "RowPlan", "UnreadableRow", "clean_rows"]

# How each target is cleaned (anything else is trimmed text).
# The constant naming the campaign every row of a file is credited to (its id, resolved from
# the id or name given when the import was created).
CAMPAIGN_CONSTANT = "campaign_id"
SPECIAL = {
    "email": "email",
    "phone": "phone",
    "website": "website",
    "linkedin": "website",
    "email_domain": "domain",
    "first_name": "first",
    "middle_name": "middle",
    "last_name": "last",
    "owner": "owner",
    "company": "company",
    "details": "details",
    "web_address": "web",
    "country": "country",
    "latitude": "coordinate",
    "longitude": "coordinate",
}
# Targets several columns may fill (mapping.REPEATABLE): the first useful value is taken and the
# others are kept in the details.
REPEATABLE = frozenset(
    {"email", "phone", "website", "linkedin", "company", "company_name", "title", "web_address"}
)
# Google Contacts puts several values in one cell: "ann@piql.com ::: ann@home.example".
MULTI_VALUE = re.compile(r"\s*:::\s*")
LINKEDIN_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*linkedin\.com(/|$)")


@dataclass(frozen=True)
class ColumnRule:
    index: int  # the column's position in the file
    target: str  # "email", "cf_budget", ...
    label: str
    how: str  # text | email | phone | website | domain | first | middle | last | owner | company
    # | custom | details | web
    max_length: int | None = None
    # The field's choice list: a cell names one by value or label, in any case.
    choices: tuple[Choice, ...] = ()
    custom: CustomFieldDef | None = None
    multiline: bool = False  # long text (tabs and line breaks kept)
    rank: int = 0  # among columns of one repeatable target, lower is tried first
    # How the value is introduced in the details ("Phone", "Title"; "" for a notes column).
    note: str = ""


@dataclass(frozen=True)
class RowPlan:
    """Everything a process needs to normalise rows of one import."""

    kind: str  # company | person | lead
    region: str | None
    rules: tuple[ColumnRule, ...]
    minimum: tuple[tuple[str, str], ...] = ()  # (target, label) the definition requires
    members: frozenset[str] = frozenset()  # e-mails and names an owner column may name
    keeps_extras: bool = False  # the kind has details, where second e-mails and phones go
    # Fields given one value for every row (no column maps to them): (rule, raw value).
    constants: tuple[tuple[ColumnRule, str], ...] = ()


@dataclass(slots=True)
class CleanRow:
    row: int
    values: dict = field(default_factory=dict)  # model attribute -> value
    custom: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (target, reason)
    raw: list[str] | None = None  # kept for rejected rows only
    search_name: str = ""
    search_last_word: str = ""  # matching.last_word
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


_LINE_BREAKS = re.compile(r"[\t\n]+")


def _one_line(text):
    """The normaliser's text, with a cell's line breaks and tabs (Alt+Enter in Excel) as one
    space: one-line fields take none (core.text)."""

    def clean(raw: str) -> str:
        value = text(raw)
        if value and not value.isprintable() and ("\n" in value or "\t" in value):
            value = _LINE_BREAKS.sub(" ", value)
        return value

    return clean


def _checked(text, *, max_length: int | None, multiline: bool):
    """`text`, then the one text rule (core.text): what the normaliser cannot clean (a lone
    surrogate, a bidirectional override in a name, too many characters) rejects the row."""

    def clean(raw: str) -> str:
        value = text(raw)
        if max_length and len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        reason = text_problem(value, max_length=max_length or LONG_TEXT_MAX, multiline=multiline)
        if reason:
            raise ValueError(reason)
        return value

    return clean


def _text_rule(text, rule: ColumnRule):
    checked = _checked(text, max_length=rule.max_length, multiline=rule.multiline)
    if not rule.choices:
        return checked
    # Folded value and label -> the value stored (the checker made them unambiguous).
    canonical = {c.label.casefold(): c.value for c in rule.choices}
    canonical |= {c.value.casefold(): c.value for c in rule.choices}
    allowed = allowed_values(rule.choices)

    def clean(raw: str) -> str:
        value = checked(raw)
        if not value:
            return value
        found = canonical.get(value.casefold())
        if found is None:
            raise ValueError(f"must be one of: {allowed}")
        return found

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


Clean = Callable[[str], Any]  # raw cell -> value; ValueError names what is wrong


@dataclass(frozen=True)
class Compiled:
    """A plan's rules ready to run: `single` columns fill one value each; each of `groups` is
    a repeatable target filled by its first useful value; `web` columns are web addresses;
    `details` columns are written into the details with what the other targets left over."""

    single: list[tuple[int, str, str, str, Clean]]  # index, key, target, label, fn
    groups: list[tuple[str, str, str, list[tuple[int, Clean, str]]]]  # key, target, label,
    # members (index, fn, note) in the order they are tried
    web: list[int]
    linkedin: Clean  # cleans a web address found to be a LinkedIn profile
    details: list[tuple[int, str]]  # index, note
    text: Callable[[str], str]
    constants: dict[str, Any] = field(default_factory=dict)  # key -> the value every row takes
    constant_problems: list[tuple[str, str]] = field(default_factory=list)  # (target, reason)


def _function(rule: ColumnRule, plan: RowPlan, normaliser: Normaliser) -> tuple[Clean, str]:
    """The function raw -> value of a rule, and where its value goes."""
    text = normaliser.text
    one_line = _one_line(text)
    how = rule.how
    if how in ("text", "details", "web"):
        return _text_rule(text if rule.multiline else one_line, rule), rule.target
    if how == "custom":
        return _custom_rule(one_line, rule.custom), "cf:" + rule.custom.key
    if how == "owner":
        return _owner_rule(text, plan.members), "owner"
    if how in ("first", "middle", "last", "company"):
        # A name's parts; the name's length is checked once it is joined.
        return _checked(one_line, max_length=None, multiline=False), {
            "first": "first_name",
            "middle": "middle_name",
            "last": "last_name",
        }.get(how, how)
    if how == "coordinate":
        target = rule.target

        def coordinate(raw: str):
            return clean_coordinate(target, one_line(raw))

        return coordinate, rule.target
    if how == "country":

        def country(raw: str) -> str:
            return clean_country(one_line(raw))

        return country, rule.target
    base = {
        "email": normaliser.email,
        "phone": normaliser.phone,
        "website": normaliser.website,
        "domain": normaliser.domain,
    }[how]
    return (base if not rule.max_length else _limited(base, rule.max_length)), rule.target


def compile_rules(plan: RowPlan) -> Compiled:
    normaliser = _normaliser(plan.region)
    single, web, details = [], [], []
    groups: dict[str, tuple[str, str, str, list]] = {}
    for rule in sorted(plan.rules, key=lambda r: (r.rank, r.index)):
        fn, key = _function(rule, plan, normaliser)
        if rule.how == "details":
            details.append((rule.index, rule.note))
        elif rule.how == "web":
            web.append(rule.index)
        elif rule.target in REPEATABLE:
            group = groups.setdefault(rule.target, (key, rule.target, rule.label, []))
            group[3].append((rule.index, fn, rule.note))
        else:
            single.append((rule.index, key, rule.target, rule.label, fn))
    details.sort(key=lambda item: (item[1] != "", item[0]))  # free text first, then "Title: x"
    linkedin = next(
        (r for r in plan.rules if r.target == "linkedin"), ColumnRule(-1, "linkedin", "", "")
    )
    # A constant is cleaned once, as a cell of its field would be, and given to every row.
    constants: dict[str, Any] = {}
    constant_problems: list[tuple[str, str]] = []
    for rule, raw in plan.constants:
        fn, key = _function(rule, plan, normaliser)
        try:
            constants[key] = fn(raw)
        except ValueError as exc:
            constant_problems.append((rule.target, f"{rule.label} {exc}"))
    return Compiled(
        single=sorted(single),
        groups=list(groups.values()),
        web=sorted(web),
        linkedin=_limited(normaliser.website, linkedin.max_length or 255),
        details=details,
        text=normaliser.text,
        constants=constants,
        constant_problems=constant_problems,
    )


def constant_problems(plan: RowPlan) -> list[tuple[str, str]]:
    """What is wrong with the plan's constants, (target, reason) each: checked before an
    import is created, as every row would be rejected for it."""
    return compile_rules(plan).constant_problems


def identity(plan: RowPlan, row: CleanRow) -> tuple[str, str]:
    """A row's name and e-mail for the report: the cleaned values, else (a rejected row) the
    cells of the columns mapped to them, as the file has them."""
    name = row.values.get("name") or ""
    email = row.values.get("email") or ""
    cells = row.raw
    if cells is not None and not (name and email):
        width = len(cells)

        def cell(index: int) -> str:
            return str(cells[index]).strip() if 0 <= index < width else ""

        rules = sorted(plan.rules, key=lambda r: (r.rank, r.index))
        if not name:
            whole = [cell(r.index) for r in rules if r.target == "name"]
            order = {"first_name": 0, "middle_name": 1, "last_name": 2}
            parts = sorted((r for r in rules if r.target in order), key=lambda r: order[r.target])
            name = next((w for w in whole if w), "") or " ".join(
                filter(None, (cell(r.index) for r in parts))
            )
        if not email:
            email = next(
                (value for r in rules if r.target == "email" and (value := cell(r.index))), ""
            )
    return name[:255], email[:255]


def _limited(base, max_length: int):
    def clean(raw: str) -> str:
        value = base(raw)
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value

    return clean


def _first_useful(cells: list[str], members, label: str, text, extras: list[str]):
    """The first value of a repeatable target's columns that cleans to something, or raises
    the first one's error when none does. Every other value is added to `extras` as
    "Note: value", once each."""
    width = len(cells)
    chosen = None
    error = None
    for index, fn, note in members:
        raw = cells[index] if index < width else ""
        if not raw:
            continue
        for piece in MULTI_VALUE.split(raw) if ":::" in raw else (raw,):
            try:
                value = fn(piece)
            except ValueError as exc:
                error = error or exc
                value = None
            if value and chosen is None:
                chosen = value
                continue
            kept = value or text(piece)
            line = f"{note}: {kept}" if note else kept
            if kept and kept != chosen and line not in extras:
                extras.append(line)
    if chosen is None and error is not None:
        raise ValueError(f"{label} {error}")
    return chosen or ""


def clean_rows(plan: RowPlan, rows: list[tuple[int, list[str]]]) -> list[CleanRow]:
    compiled = compile_rules(plan)
    kind, minimum = plan.kind, plan.minimum
    single, groups, web, details = compiled.single, compiled.groups, compiled.web, compiled.details
    keys = {key for _, key, *_ in single} | {key for key, *_ in groups}
    split_name = bool(keys & {"first_name", "middle_name", "last_name"})
    has_custom = any(key.startswith("cf:") for key in keys)
    keeps_extras = plan.keeps_extras
    text = compiled.text
    search_key, surname_key = matching.search_key, matching.surname_key
    search_text, last_word = matching.search_text, matching.last_word
    # A cell over the cell limit rejects its row only when the import reads its column.
    used_columns = frozenset(rule.index for rule in plan.rules)
    fixed = {k: v for k, v in compiled.constants.items() if not k.startswith("cf:")}
    fixed_custom = {
        k[3:]: v for k, v in compiled.constants.items() if k.startswith("cf:") and v is not None
    }
    fixed_problems = compiled.constant_problems
    out = []
    for number, cells in rows:
        clean = CleanRow(number)
        values = clean.values
        problems = clean.problems
        if isinstance(cells, UnreadableRow) and not (
            isinstance(cells, OverlongRow) and not cells.columns & used_columns
        ):
            problems.append(("row", cells.reason))
            clean.raw = list(cells)
            out.append(clean)
            continue
        if isinstance(cells, Card) and (reason := cells.wrong_kind(kind)):
            problems.append(("row", reason))
            clean.raw = list(cells)
            out.append(clean)
            continue
        width = len(cells)
        for index, key, target, label, fn in single:
            try:
                values[key] = fn(cells[index] if index < width else "")
            except ValueError as exc:
                problems.append((target, f"{label} {exc}"))
        extras: list[str] = []
        for key, target, label, members in groups:
            if len(members) == 1:
                raw = cells[members[0][0]] if members[0][0] < width else ""
                if ":::" not in raw:  # the common case: one column, one value
                    try:
                        values[key] = members[0][1](raw)
                    except ValueError as exc:
                        problems.append((target, f"{label} {exc}"))
                    continue
            try:
                values[key] = _first_useful(cells, members, label, text, extras)
            except ValueError as exc:
                problems.append((target, str(exc)))
        if web:
            _web_addresses(cells, web, compiled.linkedin, text, values, extras)
        if fixed:
            values.update(fixed)
        if details or extras:
            # No column fills the details when a constant does (import_create refuses both).
            parts = [values["details"]] if values.get("details") else []
            for index, note in details:
                value = text(cells[index]) if index < width else ""
                if value:
                    parts.append(f"{note}: {value}" if note else value)
            if keeps_extras:
                parts += extras
            if parts or details:
                joined = "\n".join(parts)
                # Each part was cleaned; together they may still be too long for the field.
                reason = text_problem(joined, max_length=LONG_TEXT_MAX, multiline=True)
                if reason:
                    problems.append(("details", f"Details {reason}"))
                values["details"] = joined
        if split_name:
            first = values.pop("first_name", "")
            middle = values.pop("middle_name", "")
            last = values.pop("last_name", "")
            if (first or middle or last) and not values.get("name"):
                values["name"] = " ".join(part for part in (first, middle, last) if part)
        if has_custom:
            for key in [k for k in values if k.startswith("cf:")]:
                value = values.pop(key)
                if value is not None:
                    clean.custom[key[3:]] = value
        if fixed_custom:
            clean.custom.update(fixed_custom)
        if fixed_problems:
            problems.extend(fixed_problems)
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
            clean.search_last_word = last_word(name)[:255]
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


def _web_addresses(cells, indexes, linkedin, text, values: dict, extras: list[str]) -> None:
    """Web addresses of a kind without a website: the first LinkedIn profile goes to LinkedIn
    (unless a LinkedIn column gave one), every other address to the details."""
    width = len(cells)
    for index in indexes:
        raw = cells[index] if index < width else ""
        for piece in MULTI_VALUE.split(raw) if ":::" in raw else (raw,):
            kept = text(piece)
            if not kept:
                continue
            try:
                url = linkedin(kept)
            except ValueError:
                url = ""
            if url and not values.get("linkedin") and LINKEDIN_HOSTS.match(url):
                values["linkedin"] = url
            elif (url or kept) != values.get("linkedin"):
                line = f"Website: {url or kept}"
                if line not in extras:
                    extras.append(line)


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
            row.search_last_word,
            row.search_text,
            row.company_key,
            row.surname,
        )
        for row in cleaned
    ]


def unpack(packed: tuple) -> list[CleanRow]:
    keys, items = packed
    out = []
    for (
        number,
        values,
        custom,
        problems,
        raw,
        search_name,
        last_word,
        text,
        company_key,
        surname,
    ) in items:
        row = CleanRow(number)
        row.values = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
        row.custom = custom or {}
        row.problems = problems or []
        row.raw = raw
        row.search_name = search_name
        row.search_last_word = last_word
        row.search_text = text
        row.company_key = company_key
        row.surname = surname
        out.append(row)
    return out
