"""The `network` section of the process definition: a network's rules and triage scripts
(rules.py holds what it builds). Pure: no Django.

    network:
      first_response_working_days: 2
      rota_period_months: 3
      holiday_country: GB
      acknowledgement: {subject: ..., body: ...}
      triage:
        - key: sales
          name: Sales enquiry
          guidance: |
            ...
          checklist: [{key: criteria, label: Budget, timescale, technology and brief asked}]
          questions: [What is your budget?]
          replies: [{key: decline, subject: ..., body: ...}]
          suggested_reply: decline
      sales: {value_per_staff: 1000, currency: GBP, decline_reply: decline}
      membership: {countries: [GB], legal_forms: [co-operative], vote_days: 14, ...}

See docs/process-definitions.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Annotated, Any

from salesline.process.definition import Checker, Section
from salesline.process.definition.checker import entries, or_list, strings
from salesline.process.definition.schema import Document, NoneIsEmpty

from .rules import (
    CATEGORIES,
    DEFAULT_RULES,
    REPLY_FIELDS,
    CannedReply,
    ChecklistItem,
    MembershipRules,
    NetworkRules,
    SalesCriteria,
    TriageCategory,
    reply_fields_named,
)

SECTION_KEY = "network"
SALES_ANSWERS = ("budget", "timescale", "technology", "brief")
COUNTED_AGAINST = ("cast", "members")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_WORKING_DAYS = 60
MAX_ROTA_MONTHS = 24
MAX_VOTE_DAYS = 365
SUBJECT_MAX = 255
BODY_MAX = 20_000


# --- YAML shape -------------------------------------------------------------------------------


class _MessageDoc(Document):
    subject: str
    body: str


class _ReplyDoc(Document):
    key: str
    subject: str
    body: str


class _ChecklistDoc(Document):
    key: str
    label: str


class _CategoryDoc(Document):
    key: str
    name: str
    guidance: str = ""
    checklist: Annotated[list[_ChecklistDoc], NoneIsEmpty] = []
    questions: Annotated[list[str], NoneIsEmpty] = []
    replies: Annotated[list[_ReplyDoc], NoneIsEmpty] = []
    suggested_reply: str = ""


class _SalesDoc(Document):
    required_answers: Annotated[list[str], NoneIsEmpty] = list(SalesCriteria().required_answers)
    value_per_staff: float | int = SalesCriteria().value_per_staff
    currency: str = SalesCriteria().currency
    decline_reply: str = SalesCriteria().decline_reply
    feasible_reply: str = SalesCriteria().feasible_reply


class _MembershipDoc(Document):
    countries: Annotated[list[str], NoneIsEmpty] = list(MembershipRules().countries)
    legal_forms: Annotated[list[str], NoneIsEmpty] = list(MembershipRules().legal_forms)
    vote_days: int = MembershipRules().vote_days
    majority: float | int = MembershipRules().majority
    counted_against: str = MembershipRules().counted_against
    ineligible_reply: str = MembershipRules().ineligible_reply
    ask_members_about_ineligible: bool = MembershipRules().ask_members_about_ineligible
    onboarding: _MessageDoc | None = None
    replies: Annotated[list[_ReplyDoc], NoneIsEmpty] = []


class _NetworkDoc(Document):
    first_response_working_days: int = DEFAULT_RULES.first_response_working_days
    rota_period_months: int = DEFAULT_RULES.rota_period_months
    holiday_country: str = DEFAULT_RULES.holiday_country
    acknowledgement: _MessageDoc | None = None
    triage: Annotated[list[_CategoryDoc], NoneIsEmpty] = []
    sales: _SalesDoc | None = None
    membership: _MembershipDoc | None = None


# --- checks -----------------------------------------------------------------------------------


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(checker: Checker, raw: dict, path: tuple, key: str, low: int, high: int) -> None:
    value = raw.get(key)
    if _whole(value) and not low <= value <= high:  # type: ignore[operator]
        checker.report((*path, key), f"must be between {low} and {high}")


def _check_fields(checker: Checker, raw: dict, path: tuple, key: str) -> None:
    """A reply's text may name only the fields in rules.REPLY_FIELDS."""
    text = raw.get(key)
    if not isinstance(text, str):
        return
    for name in reply_fields_named(text):
        if name not in REPLY_FIELDS:
            checker.report(
                (*path, key),
                f"unknown field '{{{{ {name} }}}}' (use {or_list(sorted(REPLY_FIELDS))})",
            )


def _check_message(checker: Checker, raw: object, path: tuple) -> None:
    if not isinstance(raw, dict):
        return
    checker.not_blank(raw, path, "subject", SUBJECT_MAX)
    _check_fields(checker, raw, path, "subject")
    _check_fields(checker, raw, path, "body")
    body = raw.get("body")
    if isinstance(body, str) and len(body) > BODY_MAX:
        checker.report((*path, "body"), f"must be at most {BODY_MAX} characters")


def _check_replies(checker: Checker, container: dict, path: tuple) -> set[str]:
    keys: set[str] = set()
    for index, reply in entries(container, "replies"):
        reply_path = (*path, "replies", index)
        key = checker.slug(reply, reply_path, "reply")
        if key is not None:
            if key in keys:
                checker.report((*reply_path, "key"), f"duplicate reply key '{key}'")
            keys.add(key)
        _check_message(checker, reply, reply_path)
    return keys


def _check_reply_key(
    checker: Checker, raw: dict, path: tuple, key: str, known: set[str], where: str
) -> None:
    value = raw.get(key)
    if isinstance(value, str) and value and value not in known:
        choices = f" (use {or_list(sorted(known))})" if known else ""
        checker.report((*path, key), f"no reply '{value}' in {where}{choices}")


def _check_country(checker: Checker, value: object, path: tuple) -> None:
    if value == "UK":
        checker.report(path, "'UK' is not an ISO country code: the United Kingdom is GB")
    elif isinstance(value, str) and not _COUNTRY.fullmatch(value):
        checker.report(path, f"'{value}' is not a two-letter ISO country code such as GB")


def check_network(checker: Checker, network: object) -> None:
    if not isinstance(network, dict):
        return  # pydantic reports the wrong type
    path: tuple = (SECTION_KEY,)
    _check_range(checker, network, path, "first_response_working_days", 1, MAX_WORKING_DAYS)
    _check_range(checker, network, path, "rota_period_months", 1, MAX_ROTA_MONTHS)
    country = network.get("holiday_country")
    if isinstance(country, str) and country:
        _check_country(checker, country, (*path, "holiday_country"))
    _check_message(checker, network.get("acknowledgement"), (*path, "acknowledgement"))

    seen: set[str] = set()
    sales_replies: set[str] | None = None
    for index, category in entries(network, "triage"):
        category_path = (*path, "triage", index)
        key = category.get("key")
        if isinstance(key, str):
            if key not in CATEGORIES:
                checker.report(
                    (*category_path, "key"),
                    f"unknown category '{key}' (use {or_list(list(CATEGORIES))})",
                )
            elif key in seen:
                checker.report((*category_path, "key"), f"duplicate category '{key}'")
            seen.add(key)
        checker.not_blank(category, category_path, "name")
        checklist_keys: set[str] = set()
        for item_index, item in entries(category, "checklist"):
            item_path = (*category_path, "checklist", item_index)
            item_key = checker.slug(item, item_path, "checklist item")
            if item_key is not None:
                if item_key in checklist_keys:
                    checker.report((*item_path, "key"), f"duplicate checklist key '{item_key}'")
                checklist_keys.add(item_key)
            checker.not_blank(item, item_path, "label")
        for question_index, question in strings(category, "questions"):
            if not question.strip():
                checker.report((*category_path, "questions", question_index), "must not be blank")
        replies = _check_replies(checker, category, category_path)
        _check_reply_key(
            checker, category, category_path, "suggested_reply", replies, f"category '{key}'"
        )
        if key == "sales":
            sales_replies = replies

    sales = network.get("sales")
    if isinstance(sales, dict):
        sales_path = (*path, "sales")
        for index, answer in strings(sales, "required_answers"):
            if answer not in SALES_ANSWERS:
                checker.report(
                    (*sales_path, "required_answers", index),
                    f"unknown answer '{answer}' (use {or_list(list(SALES_ANSWERS))})",
                )
        value = sales.get("value_per_staff")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            checker.report((*sales_path, "value_per_staff"), "must not be negative")
        currency = sales.get("currency")
        if isinstance(currency, str) and not _CURRENCY.fullmatch(currency):
            checker.report((*sales_path, "currency"), "must be a three-letter code such as GBP")
        for reply_key in ("decline_reply", "feasible_reply"):
            if sales_replies is None:
                value = sales.get(reply_key)
                if isinstance(value, str) and value:
                    checker.report(
                        (*sales_path, reply_key),
                        f"no reply '{value}': the triage has no 'sales' category",
                    )
            else:
                _check_reply_key(
                    checker, sales, sales_path, reply_key, sales_replies, "category 'sales'"
                )

    membership = network.get("membership")
    if isinstance(membership, dict):
        membership_path = (*path, "membership")
        for index, country in strings(membership, "countries"):
            _check_country(checker, country, (*membership_path, "countries", index))
        _check_range(checker, membership, membership_path, "vote_days", 1, MAX_VOTE_DAYS)
        majority = membership.get("majority")
        if (
            isinstance(majority, int | float)
            and not isinstance(majority, bool)
            and not (0 <= majority < 1)
        ):
            checker.report(
                (*membership_path, "majority"),
                "must be at least 0 and below 1 (0.5: more than half)",
            )
        counted = membership.get("counted_against")
        if isinstance(counted, str) and counted not in COUNTED_AGAINST:
            checker.report(
                (*membership_path, "counted_against"),
                f"unknown '{counted}' (use {or_list(list(COUNTED_AGAINST))})",
            )
        _check_message(checker, membership.get("onboarding"), (*membership_path, "onboarding"))
        replies = _check_replies(checker, membership, membership_path)
        _check_reply_key(
            checker, membership, membership_path, "ineligible_reply", replies, "membership"
        )


# --- build, JSON and YAML -----------------------------------------------------------------------


def _reply(doc: _ReplyDoc) -> CannedReply:
    return CannedReply(key=doc.key, subject=doc.subject.strip(), body=doc.body)


def build_network(document: _NetworkDoc) -> NetworkRules:
    sales = document.sales or _SalesDoc()
    membership = document.membership or _MembershipDoc()
    defaults = MembershipRules()
    return NetworkRules(
        first_response_working_days=document.first_response_working_days,
        rota_period_months=document.rota_period_months,
        holiday_country=document.holiday_country,
        acknowledgement_subject=(
            document.acknowledgement.subject.strip()
            if document.acknowledgement
            else DEFAULT_RULES.acknowledgement_subject
        ),
        acknowledgement_body=(
            document.acknowledgement.body
            if document.acknowledgement
            else DEFAULT_RULES.acknowledgement_body
        ),
        triage=tuple(
            TriageCategory(
                key=category.key,
                name=category.name.strip(),
                guidance=category.guidance,
                checklist=tuple(
                    ChecklistItem(key=item.key, label=item.label.strip())
                    for item in category.checklist
                ),
                questions=tuple(question.strip() for question in category.questions),
                replies=tuple(_reply(reply) for reply in category.replies),
                suggested_reply=category.suggested_reply,
            )
            for category in document.triage
        ),
        sales=SalesCriteria(
            required_answers=tuple(sales.required_answers),
            value_per_staff=float(sales.value_per_staff),
            currency=sales.currency,
            decline_reply=sales.decline_reply,
            feasible_reply=sales.feasible_reply,
        ),
        membership=MembershipRules(
            countries=tuple(membership.countries),
            legal_forms=tuple(membership.legal_forms),
            vote_days=membership.vote_days,
            majority=float(membership.majority),
            counted_against=membership.counted_against,
            ineligible_reply=membership.ineligible_reply,
            ask_members_about_ineligible=membership.ask_members_about_ineligible,
            onboarding_subject=(
                membership.onboarding.subject.strip()
                if membership.onboarding
                else defaults.onboarding_subject
            ),
            onboarding_body=(
                membership.onboarding.body if membership.onboarding else defaults.onboarding_body
            ),
            replies=tuple(_reply(reply) for reply in membership.replies),
        ),
    )


def network_to_dict(rules: NetworkRules) -> dict[str, Any]:
    data = asdict(rules)
    # Tuples become lists so the JSON stored with each definition version reads back the same.
    return _lists(data)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def _replies_from(items: Any) -> tuple[CannedReply, ...]:
    return tuple(CannedReply(**item) for item in items or ())


def network_from_dict(data: Mapping[str, Any]) -> NetworkRules:
    sales = data.get("sales") or {}
    membership = data.get("membership") or {}
    return NetworkRules(
        first_response_working_days=data["first_response_working_days"],
        rota_period_months=data["rota_period_months"],
        holiday_country=data["holiday_country"],
        acknowledgement_subject=data["acknowledgement_subject"],
        acknowledgement_body=data["acknowledgement_body"],
        triage=tuple(
            TriageCategory(
                key=item["key"],
                name=item["name"],
                guidance=item.get("guidance", ""),
                checklist=tuple(ChecklistItem(**entry) for entry in item.get("checklist", ())),
                questions=tuple(item.get("questions", ())),
                replies=_replies_from(item.get("replies")),
                suggested_reply=item.get("suggested_reply", ""),
            )
            for item in data.get("triage", ())
        ),
        sales=SalesCriteria(
            **{
                **sales,
                "required_answers": tuple(
                    sales.get("required_answers", SalesCriteria().required_answers)
                ),
            }
        ),
        membership=MembershipRules(
            **{
                **membership,
                "countries": tuple(membership.get("countries", MembershipRules().countries)),
                "legal_forms": tuple(membership.get("legal_forms", MembershipRules().legal_forms)),
                "replies": _replies_from(membership.get("replies")),
            }
        ),
    )


_DEFAULT_DICT = network_to_dict(DEFAULT_RULES)


def dump_network(full: dict[str, Any]) -> dict[str, Any] | None:
    """The YAML of the section (the shape the file is written in); nothing when default."""
    if full == _DEFAULT_DICT:
        return None
    membership = dict(full["membership"])
    onboarding = {
        "subject": membership.pop("onboarding_subject"),
        "body": membership.pop("onboarding_body"),
    }
    return {
        "first_response_working_days": full["first_response_working_days"],
        "rota_period_months": full["rota_period_months"],
        "holiday_country": full["holiday_country"],
        "acknowledgement": {
            "subject": full["acknowledgement_subject"],
            "body": full["acknowledgement_body"],
        },
        "triage": full["triage"],
        "sales": full["sales"],
        "membership": {**membership, "onboarding": onboarding},
    }


NETWORK_SECTION = Section(
    key=SECTION_KEY,
    schema=_NetworkDoc,
    default=lambda: DEFAULT_RULES,
    check=check_network,
    build=build_network,
    to_dict=network_to_dict,
    from_dict=network_from_dict,
    dump=dump_network,
)


def register() -> None:
    """Register the section with the process definition loader."""
    from salesline.process.definition import register_section

    register_section(NETWORK_SECTION)
