"""How pages show values: one way everywhere (the board, lists, record pages)."""

from __future__ import annotations

from decimal import Decimal


def money(amount: Decimal | None, currency: str | None) -> str:
    """An amount with thousands separators and its currency: "85,000 EUR", "12.50 NOK"; cents
    only when there are some."""
    if amount is None:
        return ""
    whole = amount == amount.to_integral_value()
    shown = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"{shown} {currency}" if currency else shown
