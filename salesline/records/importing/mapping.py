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

# Targets besides the kind's own fields: a name split in two columns, a person's company by
# name, and the owner by e-mail.
FIRST_NAME, LAST_NAME, COMPANY, OWNER = "first_name", "last_name", "company", "owner"
CUSTOM_PREFIX = "cf_"

# Header spellings met in real files (normalised: accents, case, spaces and punctuation removed).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("fullname", "contactname", "contact", "personname", "leadname", "navn", "nom"),
    FIRST_NAME: ("firstname", "givenname", "forename", "fornavn", "prenom", "vorname"),
    LAST_NAME: ("lastname", "surname", "familyname", "etternavn", "nachname"),
    "email": ("email", "emailaddress", "mail", "epost", "epostadresse", "courriel", "emailid"),
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
    ),
    "company_name": (
        "company",
        "companyname",
        "organisation",
        "organization",
        "employer",
        "firma",
        "bedrift",
        "account",
        "accountname",
    ),
    "website": ("website", "web", "url", "homepage", "site", "www", "webaddress"),
    "email_domain": ("emaildomain", "domain", "maildomain"),
    "source": ("source", "leadsource", "origin", "event", "channel", "kilde"),
    "business_unit": ("businessunit", "bu", "unit", "division"),
    "title": ("title", "jobtitle", "position", "role", "stilling"),
    "linkedin": ("linkedin", "linkedinurl", "linkedinprofile"),
    "details": ("details", "notes", "note", "comment", "comments"),
    "life_cycle": ("lifecycle", "lifecyclestage"),
    OWNER: ("owner", "owneremail", "accountowner", "assignedto", "salesperson", "leadowner"),
}
COMPANY_NAME_SYNONYMS = (
    "name",
    "company",
    "companyname",
    "organisation",
    "organization",
    "accountname",
)

_NOT_ALNUM = re.compile(r"[\W_]+")


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
            out[OWNER] = Target(OWNER, "Owner (e-mail of a member)")
        elif field.type != "reference":
            out[name] = Target(name, field.label)
    if kind in ("person", "lead"):
        out[FIRST_NAME] = Target(FIRST_NAME, "First name")
        out[LAST_NAME] = Target(LAST_NAME, "Last name")
    if kind == "person":
        out[COMPANY] = Target(COMPANY, "Company (by name)")
    for custom in custom_fields:
        out[CUSTOM_PREFIX + custom.key] = Target(CUSTOM_PREFIX + custom.key, custom.label)
    return out


def _spellings(kind: str, available: dict[str, Target]) -> dict[str, str]:
    """normalised header -> target key. A target's own key and label always count; the first
    claim wins, so the kind's own fields beat synonyms."""
    spellings: dict[str, str] = {}
    for key, target in available.items():
        for text in (key, target.label, key.removeprefix(CUSTOM_PREFIX)):
            spellings.setdefault(normalise_header(text), key)
    if kind == "company":
        for text in COMPANY_NAME_SYNONYMS:
            spellings.setdefault(text, "name")
    for key, words in SYNONYMS.items():
        target = COMPANY if (key == "company_name" and kind == "person") else key
        if target in available:
            for word in words:
                spellings.setdefault(word, target)
    return spellings


def guess(kind: str, header: list[str], custom_fields: list[CustomFieldDef]) -> dict[str, str]:
    """{column header: target key} for the columns we recognise; each target used once."""
    available = targets(kind, custom_fields)
    spellings = _spellings(kind, available)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in header:
        target = spellings.get(normalise_header(column))
        if column and target and target not in used and column not in mapping:
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
        # An explicit choice takes the target from any guessed column.
        for other, other_target in list(mapping.items()):
            if other_target == key and other != column and other not in (explicit or {}):
                del mapping[other]
        mapping[column] = key
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if target in seen:
            problems.append(
                Problem(
                    loc=("mapping", column),
                    msg=f"Columns '{seen[target]}' and '{column}' are both mapped to "
                    f"'{target}'; map one of them elsewhere or to nothing.",
                )
            )
        seen[target] = column
    has_name = "name" in seen or FIRST_NAME in seen or LAST_NAME in seen
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
