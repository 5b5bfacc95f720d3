"""A campaign's figures from its counts and its money in one currency. Pure: no Django.

Money stays Decimal (exact, to the cent); the return is a fraction. A figure that cannot be
computed (a cost per lead with no lead, a return with no cost) is None, never a division error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass
class CampaignTally:
    """What one campaign (or the unattributed rest) gathered in a period: counts, and money by
    currency (cost = the campaign's own cost plus the time and expenses logged against its
    leads and opportunities; won = the value of its deals won)."""

    leads: int = 0
    opportunities: int = 0
    won: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)
    won_value: dict[str, Decimal] = field(default_factory=dict)

    def add_cost(self, currency: str, amount: Decimal | int | None) -> None:
        if amount:
            self.cost[currency] = self.cost.get(currency, ZERO) + Decimal(str(amount))

    def add_won_value(self, currency: str, amount: Decimal | int | None) -> None:
        if amount:
            self.won_value[currency] = self.won_value.get(currency, ZERO) + Decimal(str(amount))

    def currencies(self, fallback: str) -> list[str]:
        """The currencies its money is in, sorted; `fallback` alone when it has none."""
        return sorted(set(self.cost) | set(self.won_value)) or [fallback]


def per(amount: Decimal, count: int) -> Decimal | None:
    """`amount` ÷ `count` to the cent, or None when there is nothing to divide by."""
    if not count:
        return None
    return (amount / count).quantize(CENT, rounding=ROUND_HALF_UP)


def campaign_return(won_value: Decimal, cost: Decimal) -> float | None:
    """(won value − cost) ÷ cost, to four places; None without a cost."""
    if not cost:
        return None
    return round(float((won_value - cost) / cost), 4)


def figure_rows(tally: CampaignTally, fallback_currency: str) -> list[dict[str, Any]]:
    """One row per currency of the tally's money: the counts (the same in each), cost, won
    value, cost per lead, per opportunity and per won deal, and the return."""
    rows = []
    for currency in tally.currencies(fallback_currency):
        cost = tally.cost.get(currency, ZERO).quantize(CENT)
        won_value = tally.won_value.get(currency, ZERO).quantize(CENT)
        rows.append(
            {
                "currency": currency,
                "cost": cost,
                "leads": tally.leads,
                "opportunities": tally.opportunities,
                "won": tally.won,
                "won_value": won_value,
                "cost_per_lead": per(cost, tally.leads),
                "cost_per_opportunity": per(cost, tally.opportunities),
                "cost_per_won": per(cost, tally.won),
                "return": campaign_return(won_value, cost),
            }
        )
    return rows


def combined(tallies: Iterable[CampaignTally]) -> CampaignTally:
    """Every tally added together (the report's totals): counts summed, money per currency."""
    total = CampaignTally()
    for tally in tallies:
        total.leads += tally.leads
        total.opportunities += tally.opportunities
        total.won += tally.won
        for currency, amount in tally.cost.items():
            total.add_cost(currency, amount)
        for currency, amount in tally.won_value.items():
            total.add_won_value(currency, amount)
    return total
