"""Which column of a file goes into which field: guessed from the headers, overridable, saved per
organisation for the next file of the same shape."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from salesline.core.customfields import CustomFieldDef
from salesline.core.errors import Problem
from salesline.records.fields import KINDS
from salesline.records.matching import fold

# Targets besides the kind's own fields: a name split in columns, a person's company by name,
# the owner by e-mail, and a web address that goes to LinkedIn or the details.
FIRST_NAME, MIDDLE_NAME, LAST_NAME = "first_name", "middle_name", "last_name"
COMPANY, OWNER, WEB = "company", "owner", "web_address"
CUSTOM_PREFIX = "cf_"
NAME_PARTS = (FIRST_NAME, MIDDLE_NAME, LAST_NAME)

# Header spellings met in real files (normalised: accents, case, spaces and punctuation removed),
# the exports of address books and CRMs included (docs/imports.md lists them).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("fullname", "contactname", "contact", "personname", "leadname", "navn", "nom"),
    FIRST_NAME: ("firstname", "givenname", "forename", "fornavn", "prenom", "vorname"),
    MIDDLE_NAME: ("middlename", "additionalname", "secondname"),
    LAST_NAME: ("lastname", "surname", "familyname", "etternavn", "nachname"),
    "email": (
        "email",
        "emailaddress",
        "mail",
        "epost",
        "epostadresse",
        "courriel",
        "emailid",
        "emailvalue",  # Google: "E-mail 1 - Value"
        "emailaddresses",
    ),
    "phone": (
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "telefon",
        "telefonnummer",
        "mobil",
        "phonevalue",  # Google: "Phone 1 - Value"
    ),
    "company_name": (
        "company",
        "companyname",
        "organisation",
        "organization",
        "organisationname",
        "organizationname",  # Google: "Organization 1 - Name"
        "companyaccount",  # Salesforce leads: "Company / Account"
        "employer",
        "firma",
        "bedrift",
        "accountname",
    ),
    "website": (
        "website",
        "web",
        "url",
        "homepage",
        "site",
        "www",
        "webaddress",
        "webpage",  # Outlook
        "websitevalue",  # Google: "Website 1 - Value"
        "websiteurl",  # HubSpot
    ),
    "email_domain": ("emaildomain", "domain", "maildomain"),
    "source": ("source", "leadsource", "origin", "event", "channel", "kilde"),
    "business_unit": ("businessunit", "bu", "unit", "division"),
    "title": (
        "title",
        "jobtitle",
        "position",
        "role",
        "stilling",
        "organizationtitle",  # Google: "Organization 1 - Title"
        "organisationtitle",
    ),
    "linkedin": ("linkedin", "linkedinurl", "linkedinprofile", "linkedinpage"),
    "details": ("details", "notes", "note", "comment", "comments"),
    "address": ("address", "addressformatted", "postaladdress", "mailingaddress"),
    "city": ("city", "town", "billingcity"),
    "country": ("country", "countrycode", "billingcountry"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "life_cycle": ("lifecycle", "lifecyclestage"),
    OWNER: ("owner", "owneremail", "accountowner", "assignedto", "salesperson", "leadowner"),
}
# Spellings that name a field only when no column of the file names it better: Outlook's
# "Title" is Mr or Ms beside its "Job Title"; Outlook's "Account" is not the employer.
WEAK = {
    "title": ("title", "occupation", "profession"),
    "company_name": ("account", "associatedcompany"),
}
COMPANY_NAME_SYNONYMS = (
    "name",
    "company",
    "companyname",
    "organisation",
    "organization",
    "accountname",
)
# Targets several columns may fill: the first useful value is taken, the others are kept in the
# details (exports number them: "E-mail 1 - Value", "E-mail 2 - Value"; "Business Phone",
# "Mobile Phone"). Every other target takes one column.
REPEATABLE = frozenset(
    {"email", "phone", "website", "linkedin", WEB, "details", COMPANY, "company_name", "title"}
)
# How a value kept in the details is introduced ("Phone: +4791234567").
EXTRA_LABELS = {
    "email": "E-mail",
    "phone": "Phone",
    COMPANY: "Company",
    "company_name": "Company",
    "title": "Title",
    "website": "Website",
    WEB: "Website",
    "linkedin": "LinkedIn",
    "address": "Address",
}
# Exports name a column after its record ("Person - Email - Work" in Pipedrive); those words,
# qualifiers ("Business Phone", "Email - Home") and numbers ("E-mail 2 Address") are looked
# through for these targets only: an owner or a choice must be named plainly.
_LOOK_THROUGH = frozenset(
    {"name", *NAME_PARTS, "email", "phone", "company_name", "website", "title", "linkedin"}
    | {"details"}  # what a kind keeps there: a lead's "Organization 1 - Title", an address
)
_RECORD_PREFIXES = ("person", "contact", "lead")
_QUALIFIERS = (
    "primary",
    "work",
    "business",
    "office",
    "mobile",
    "cell",
    "company",
    "main",
    "home",
    "personal",
    "private",
    "other",
    "additional",
    "secondary",
    "car",
)
# Which of several e-mail or phone columns is tried first (lower first; ties in file order).
_PREFERENCE = (
    (("primary", "pref"), -1),
    (("work", "business", "office"), 0),
    (("mobile", "cell"), 1),
    (("main", "company"), 2),
    (("home", "personal", "private"), 3),
    (("other", "additional", "secondary", "car"), 4),
)

_NOT_ALNUM = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def normalise_header(header: str) -> str:
    """'E-mail address ' -> 'emailaddress'."""
    return _NOT_ALNUM.sub("", fold(header or ""))


def shape_signature(kind: str, header: list[str]) -> str:
    """Two files have the same shape when their normalised headers are the same, in order."""
    text = json.dumps([kind, [normalise_header(h) for h in header]])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Target:
    key: str  # "email", "first_name", "cf_budget"
    label: str


def targets(kind: str, custom_fields: list[CustomFieldDef]) -> dict[str, Target]:
    """Every field a column of a `kind` file can be mapped to, by key."""
    kind_def = KINDS[kind]
    out: dict[str, Target] = {}
    for name, field in kind_def.fields.items():
        if name == "owner_id":
            out[OWNER] = Target(OWNER, "Owner (e-mail or full name of a member)")
        elif field.type != "reference":
            out[name] = Target(name, field.label)
    if kind in ("person", "lead"):
        out[FIRST_NAME] = Target(FIRST_NAME, "First name")
        out[MIDDLE_NAME] = Target(MIDDLE_NAME, "Middle name")
        out[LAST_NAME] = Target(LAST_NAME, "Last name")
    if kind == "person":
        out[COMPANY] = Target(COMPANY, "Company (by name)")
    if "website" not in out and "linkedin" in out:
        out[WEB] = Target(WEB, "Web address (a LinkedIn profile to LinkedIn, others to details)")
    for custom in custom_fields:
        out[CUSTOM_PREFIX + custom.key] = Target(CUSTOM_PREFIX + custom.key, custom.label)
    return out


def _target_in_kind(kind: str, concept: str, available: dict[str, Target]) -> str | None:
    """The target a concept of the synonyms table is for a kind: a person's company is named,
    a web address goes where the kind keeps one, and what the kind has no field for (a lead's
    title, an address) is kept in the details when it has them."""
    if concept == "company_name" and kind == "person":
        concept = COMPANY
    elif concept == "website" and "website" not in available:
        concept = WEB
    if concept in available:
        return concept
    if concept in ("title", "address") and "details" in available:
        return "details"
    return None


Spelling = tuple[str, bool, str]  # target key, strong, what it names ("title" of a lead's details)


def _spellings(kind: str, available: dict[str, Target]) -> dict[str, Spelling]:
    """normalised header -> spelling. A target's own key and label always count; the first
    claim wins, so the kind's own fields beat synonyms. A weak spelling names what it names
    only when no strong one does in the same file."""
    weak = {word for words in WEAK.values() for word in words}
    spellings: dict[str, Spelling] = {}
    for key, target in available.items():
        for text in (key, target.label, key.removeprefix(CUSTOM_PREFIX)):
            word = normalise_header(text)
            spellings.setdefault(word, (key, word not in weak, _concept_of(key)))
    if kind == "company":
        for text in COMPANY_NAME_SYNONYMS:
            spellings.setdefault(text, ("name", True, "name"))
    for concept, words in SYNONYMS.items():
        target = _target_in_kind(kind, concept, available)
        if target:
            for word in words:
                spellings.setdefault(word, (target, word not in weak, concept))
    for concept, words in WEAK.items():
        target = _target_in_kind(kind, concept, available)
        if target:
            for word in words:
                spellings.setdefault(word, (target, False, concept))
    return spellings


def _strip_qualifiers(word: str) -> str:
    changed = True
    while changed:
        changed = False
        for qualifier in _QUALIFIERS:
            if word.startswith(qualifier) and len(word) > len(qualifier):
                word, changed = word[len(qualifier) :], True
            if word.endswith(qualifier) and len(word) > len(qualifier):
                word, changed = word[: -len(qualifier)], True
    return word


def _recognise(column: str, spellings: dict[str, Spelling]) -> Spelling | None:
    """The target a column's header names, plainly or, for contact details, through a record
    prefix, a number or a qualifier ("Person - Email - Work", "E-mail 2 Address")."""
    word = normalise_header(column)
    found = spellings.get(word)
    if found:
        return found
    word = _without_record(word)
    for variant in (word, _DIGITS.sub("", word), _strip_qualifiers(_DIGITS.sub("", word))):
        found = spellings.get(variant)
        if found and _concept_of(found[0]) in _LOOK_THROUGH:
            return found
    return None


def _without_record(word: str) -> str:
    """'personemailwork' -> 'emailwork' (Pipedrive names columns after their record)."""
    for prefix in _RECORD_PREFIXES:
        if word.startswith(prefix):
            return word[len(prefix) :]
    return word


def _concept_of(target: str) -> str:
    return {COMPANY: "company_name", WEB: "website"}.get(target, target)


def preference(column: str) -> int:
    """Where a column comes among several for one e-mail or phone: the primary one first, then
    work, mobile, the company's switchboard, home and other (ties keep the file's order)."""
    word = normalise_header(column)
    for words, rank in _PREFERENCE:
        if any(w in word for w in words):
            return rank
    return 0


def detail_label(column: str, *, alone: bool = False) -> str:
    """How a column's value is introduced in the details: not at all for a notes column (or
    the only column of free text mapped there), by what it is when recognised ("Title: CEO"),
    else by the column's header."""
    word = normalise_header(column)
    if word in SYNONYMS["details"] or _without_record(word) in SYNONYMS["details"]:
        return ""
    word = _strip_qualifiers(_DIGITS.sub("", _without_record(word)))
    for concept in ("title", "address", "website"):
        if word in SYNONYMS[concept] or word in WEAK.get(concept, ()):
            return EXTRA_LABELS[concept]
    return "" if alone else column.strip()


def guess(kind: str, header: list[str], custom_fields: list[CustomFieldDef]) -> dict[str, str]:
    """{column header: target key} for the columns we recognise. A repeatable target takes
    every column naming it strongly (or, without one, weakly); any other target one column."""
    available = targets(kind, custom_fields)
    spellings = _spellings(kind, available)
    found = [(column, _recognise(column, spellings)) for column in header if column]
    strong = {(hit[0], hit[2]) for _, hit in found if hit and hit[1]}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column, hit in found:
        if not hit or column in mapping:
            continue
        target, is_strong, concept = hit
        if not is_strong and (target, concept) in strong:
            continue
        if target in used and target not in REPEATABLE:
            continue
        mapping[column] = target
        used.add(target)
    return mapping


def resolve(
    kind: str,
    header: list[str],
    custom_fields: list[CustomFieldDef],
    explicit: Mapping[str, str | None] | None,
    saved: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[Problem]]:
    """The mapping to use: explicit choices over the saved mapping over guesses. A column mapped
    to None or '' is ignored. Problems name the column or target at fault."""
    available = targets(kind, custom_fields)
    problems: list[Problem] = []
    mapping = dict(saved) if saved else guess(kind, header, custom_fields)
    mapping = {column: target for column, target in mapping.items() if column in header}
    for column, target in (explicit or {}).items():
        if not isinstance(column, str) or (target is not None and not isinstance(target, str)):
            problems.append(Problem(loc=("mapping",), msg="The mapping must map text to text."))
            continue
        if column not in header:
            problems.append(
                Problem(
                    loc=("mapping", column),
                    msg=f"The file has no column '{column}' (its columns: {', '.join(header)}).",
                )
            )
            continue
        if not target:
            mapping.pop(column, None)
            continue
        key = target.removeprefix("custom_fields.")
        key = CUSTOM_PREFIX + key if f"{CUSTOM_PREFIX}{key}" in available else key
        if key not in available:
            problems.append(
                Problem(
                    loc=("mapping", column),
                    msg=f"Column '{column}' is mapped to '{target}', which is not a field of "
                    f"{KINDS[kind].plural} (fields: {', '.join(sorted(available))}).",
                )
            )
            continue
        # An explicit choice takes the target from any guessed column, unless several may
        # share it.
        for other, other_target in list(mapping.items()):
            if key in REPEATABLE:
                break
            if other_target == key and other != column and other not in (explicit or {}):
                del mapping[other]
        mapping[column] = key
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if target in seen and target not in REPEATABLE:
            problems.append(
                Problem(
                    loc=("mapping", column),
                    msg=f"Columns '{seen[target]}' and '{column}' are both mapped to "
                    f"'{target}'; map one of them elsewhere or to nothing.",
                )
            )
        seen[target] = column
    has_name = "name" in seen or any(part in seen for part in NAME_PARTS)
    if not problems and not has_name:
        problems.append(
            Problem(
                loc=("mapping",),
                msg='No column holds the name. Map one (e.g. {"Full name": "name"}); '
                f"the file's columns are: {', '.join(header)}.",
                type="missing",
            )
        )
    return mapping, problems
