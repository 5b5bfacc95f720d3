"""How a membership vote is decided, and who may apply at all. Pure: no Django.

The members vote yes or no, one vote per member organisation. An application is approved when
the yes votes are more than `majority` of the base (`counted_against`): "members" — every
member organisation, whether it voted or not; "cast" — the votes cast by the deadline. At the
deadline the count decides. Before it, the outcome is decided early only when it is already
certain: whatever the members who have not voted yet do (vote yes, vote no, or not vote), the
deadline would give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Literal

Outcome = Literal["approved", "rejected", "undecided"]
COUNTED_AGAINST = ("cast", "members")


def _share(majority: float) -> Fraction:
    # Exact arithmetic: a majority written 0.6667 or 2/3 is two thirds, and 2 of 3 votes is
    # then not *more* than two thirds (a float's rounding would say it is).
    return Fraction(str(majority)).limit_denominator(1000)


def _final(yes: int, no: int, members: int, share: Fraction, counted_against: str) -> Outcome:
    base = members if counted_against == "members" else yes + no
    return "approved" if yes > share * base else "rejected"


def decide(
    yes: int,
    no: int,
    members: int,
    majority: float,
    counted_against: str,
    closed: bool,
) -> Outcome:
    """The outcome of a vote with `yes` and `no` votes among `members` member organisations.

    `closed`: the deadline has passed — approved or rejected by the count. While open: approved
    or rejected only when no votes still to come can change the answer, else "undecided".
    Whether approval is certain is linear in the votes still to come, so checking the corners
    (nobody else votes, all vote yes, all vote no) covers every way they may vote."""
    if counted_against not in COUNTED_AGAINST:
        raise ValueError(f"counted_against must be one of {COUNTED_AGAINST}: {counted_against!r}")
    if yes < 0 or no < 0:
        raise ValueError("vote counts cannot be negative")
    members = max(members, yes + no)
    share = _share(majority)
    if closed:
        return _final(yes, no, members, share, counted_against)
    remaining = members - yes - no
    corners = {
        _final(yes, no, members, share, counted_against),
        _final(yes + remaining, no, members, share, counted_against),
        _final(yes, no + remaining, members, share, counted_against),
    }
    return corners.pop() if len(corners) == 1 else "undecided"


def _legal_form_key(text: str) -> str:
    letters = re.sub(r"[^a-z]", "", (text or "").lower())
    return letters.replace("cooperative", "coop")


def eligibility_reasons(
    *,
    country: str,
    legal_form: str,
    countries: Iterable[str],
    legal_forms: Iterable[str],
) -> list[str]:
    """Why an applicant cannot join (empty: it may). `countries` are ISO codes (empty: any);
    a legal form matches when it names one of `legal_forms`, ignoring case, spaces and hyphens,
    and "co-op" counts as "co-operative" ("Worker co-op" is a co-operative)."""
    reasons: list[str] = []
    allowed_countries = [code.upper() for code in countries]
    if allowed_countries and (country or "").upper() not in allowed_countries:
        reasons.append(
            f"The network takes members in {', '.join(allowed_countries)} only; "
            f"the applicant is in {(country or '?').upper()}."
        )
    allowed_forms = [form for form in legal_forms if _legal_form_key(form)]
    form_key = _legal_form_key(legal_form)
    if allowed_forms and not any(_legal_form_key(form) in form_key for form in allowed_forms):
        reasons.append(
            f"The network takes {' or '.join(allowed_forms)} members only; "
            f"the applicant is a {legal_form or 'body of unknown form'}."
        )
    return reasons
