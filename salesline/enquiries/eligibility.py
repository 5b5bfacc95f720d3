"""Is a sales enquiry a feasible lead? Every criterion the network asks about (budget,
timescale, technology, brief) must be answered, and the budget must reach the minimum value of
the smallest member able to take the work: "minimum value is relative to the size of the
organisation". Pure: no Django; the services gather the members and record the verdict."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .rules import SalesCriteria

ANSWER_LABELS = {
    "budget": "budget",
    "timescale": "timescale",
    "technology": "technology",
    "brief": "brief",
}


@dataclass(frozen=True)
class AbleMember:
    """A member organisation able to take the work (it has one of the skills it needs)."""

    name: str
    min_project_value: Decimal | None = None
    staff_count: int | None = None


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    reasons: tuple[str, ...]
    budget: Decimal | None = None
    # The smallest minimum among the able members and whose it is (None: no member is able).
    minimum: Decimal | None = None
    minimum_member: str = ""


def member_minimum(member: AbleMember, criteria: SalesCriteria) -> Decimal:
    """A member's minimum project value: its own, else the value per staff × its staff, else 0."""
    if member.min_project_value is not None:
        return Decimal(member.min_project_value)
    if member.staff_count:
        return Decimal(str(criteria.value_per_staff)) * member.staff_count
    return Decimal(0)


#: The largest budget stored or compared (a lead's value, a member's minimum: 14 digits, 2 places).
BUDGET_MAX = Decimal("999999999999.99")

_THOUSANDS = re.compile(r"(?<=\d)[,\s_'](?=\d{3}(?!\d))")
_AMOUNT = re.compile(r"(-\s*)?(\d+(?:\.\d+)?)\s*(k|m|bn)?(?![a-z])")
_FACTORS = {"": 1, "k": 1000, "m": 1_000_000, "bn": 1_000_000_000}


def parse_budget(value: Any) -> Decimal | None:
    """A budget as an amount, the one reading used everywhere (triage and ranking): 12000,
    12000.5, "12,000", "£12k", "about 20k" (20000), "12k-15k" (a range: its lower bound, 12000),
    "1.5m". None when it is no amount: not a number, not finite, or negative ("-5")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
    elif isinstance(value, str):
        text = _THOUSANDS.sub("", value.strip().lower())
        match = _AMOUNT.search(text)
        if match is None or match[1] is not None or len(match[2]) > 60:
            return None
        amount = Decimal(match[2]) * _FACTORS[match[3] or ""]
    else:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount


def budget_too_big(value: Any) -> bool:
    """A budget that reads as an amount larger than can be stored (BUDGET_MAX)."""
    amount = parse_budget(value)
    return amount is not None and amount > BUDGET_MAX


def money(amount: Decimal | float | int | None, currency: str = "") -> str:
    """An amount for people, the one format used everywhere: "GBP 12,000", "GBP 12,000.50";
    without a currency just the figure; '' for none."""
    if amount is None:
        return ""
    amount = Decimal(str(amount))
    figure = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{currency} {figure}" if currency else figure


def _answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def assess_sales(
    answers: Mapping[str, Any],
    criteria: SalesCriteria,
    able_members: Sequence[AbleMember],
) -> Assessment:
    """The verdict on a sales enquiry, with one reason per criterion it fails (each naming the
    figures); eligible when there is none."""
    reasons: list[str] = []
    for key in criteria.required_answers:
        if not _answered(answers.get(key)):
            reasons.append(f"The {ANSWER_LABELS.get(key, key)} is not answered.")
    budget: Decimal | None = None
    raw_budget = answers.get("budget")
    if _answered(raw_budget):
        budget = parse_budget(raw_budget)
        if budget is None:
            reasons.append(f"The budget '{str(raw_budget)[:40]}' is not an amount of money.")
    minimum: Decimal | None = None
    minimum_member = ""
    if not able_members:
        skills = [str(skill) for skill in answers.get("skills") or ()]
        reasons.append(
            "No member organisation has any of the skills needed"
            + (f" ({', '.join(skills)})." if skills else ".")
        )
    else:
        minimum, minimum_member = min(
            ((member_minimum(member, criteria), member.name) for member in able_members),
            key=lambda pair: (pair[0], pair[1]),
        )
        if budget is not None and budget < minimum:
            reasons.append(
                f"The budget of {money(budget, criteria.currency)} is below "
                f"{money(minimum, criteria.currency)}, the minimum value of the smallest member "
                f"able to take it ({minimum_member})."
            )
    return Assessment(
        eligible=not reasons,
        reasons=tuple(reasons),
        budget=budget,
        minimum=minimum,
        minimum_member=minimum_member,
    )
