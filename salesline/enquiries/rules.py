"""A network's rules as plain data: first-response deadline, rota length, who may join and how
the members' vote is counted, and the triage scripts per category. They come from the
`network` section of the network organisation's process definition (definition.py registers
it; the `network-enquiries` template ships the seed's guidance notes), so they are edited as
configuration. Pure: no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CATEGORIES = (
    "joining",
    "setting_up",
    "jobs",
    "research",
    "speaking",
    "promotion",
    "sales",
    "other",
)

#: The fields a canned reply may name, as {{ field }} (anything else is refused on load).
REPLY_FIELDS = {
    "name": "the enquirer's name",
    "organisation_name": "the enquirer's organisation",
    "reference": "the enquiry's reference",
    "network": "the network's name",
    "chair_org": "the name of the member organisation on duty",
    "chair_person": "the name of the person on duty",
    "respond_by": "the first-response deadline (YYYY-MM-DD)",
}


@dataclass(frozen=True)
class CannedReply:
    key: str
    subject: str
    body: str


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str


@dataclass(frozen=True)
class TriageCategory:
    key: str  # one of CATEGORIES
    name: str
    guidance: str  # Markdown
    checklist: tuple[ChecklistItem, ...] = ()
    questions: tuple[str, ...] = ()
    replies: tuple[CannedReply, ...] = ()
    # The reply suggested when the category is chosen (a key of `replies`), if any.
    suggested_reply: str = ""

    def reply(self, key: str) -> CannedReply | None:
        return next((reply for reply in self.replies if reply.key == key), None)


@dataclass(frozen=True)
class SalesCriteria:
    """How a sales enquiry is judged feasible: every answer present, and a budget at least the
    minimum value of the smallest member able to take it (its own minimum project value, else
    `value_per_staff` × its staff)."""

    required_answers: tuple[str, ...] = ("budget", "timescale", "technology", "brief")
    value_per_staff: float = 1000.0
    currency: str = "GBP"
    # The reply drafted when not feasible, and the one suggested when feasible.
    decline_reply: str = "decline"
    feasible_reply: str = ""


@dataclass(frozen=True)
class MembershipRules:
    countries: tuple[str, ...] = ("GB",)  # ISO codes an applicant must be in; () = any
    legal_forms: tuple[str, ...] = ("co-operative",)  # () = any; compared ignoring case
    vote_days: int = 14
    # An application is approved when yes votes are more than `majority` of `counted_against`
    # ("cast": the votes cast by the deadline; "members": every member organisation).
    majority: float = 0.5
    counted_against: str = "cast"
    # The reply to an ineligible applicant (e.g. the signpost to the international alliance).
    ineligible_reply: str = "signpost"
    # Ask the members whether they know a local network for an ineligible applicant.
    ask_members_about_ineligible: bool = True
    onboarding_subject: str = "Welcome to {{ network }}"
    onboarding_body: str = ""
    replies: tuple[CannedReply, ...] = ()


@dataclass(frozen=True)
class NetworkRules:
    first_response_working_days: int = 2
    rota_period_months: int = 3
    # Whose public holidays are not working days ("" = none).
    holiday_country: str = "GB"
    acknowledgement_subject: str = "We have your enquiry {{ reference }}"
    acknowledgement_body: str = (
        "Dear {{ name }},\n\nThank you for contacting {{ network }}. Your reference is "
        "{{ reference }}; {{ chair_org }} is handling enquiries this quarter and will reply by "
        "{{ respond_by }}.\n"
    )
    triage: tuple[TriageCategory, ...] = ()
    sales: SalesCriteria = field(default_factory=SalesCriteria)
    membership: MembershipRules = field(default_factory=MembershipRules)

    def category(self, key: str) -> TriageCategory | None:
        return next((category for category in self.triage if category.key == key), None)


DEFAULT_RULES = NetworkRules()


_FIELD = re.compile(r"{{\s*([a-z_]+)\s*}}")


def reply_fields_named(text: str) -> list[str]:
    """The {{ field }} names a reply uses, in order (unknown ones are refused on load)."""
    return [match.group(1) for match in _FIELD.finditer(text or "")]


def render_reply(text: str, values: dict[str, str]) -> str:
    """Fill {{ field }} with `values` (plain text: a reply is sent as text, never as HTML);
    a field without a value becomes ''."""
    return _FIELD.sub(lambda match: str(values.get(match.group(1), "")), text or "")
