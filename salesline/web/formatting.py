"""How pages show values: one way everywhere (home, the board, lists, record pages, the
timeline, imports, settings), in the active locale's formats — its thousands and decimal
separators, its date format (`DATE_FORMAT`) and date-and-time format (`DATETIME_FORMAT`).

The template filters of the same names (templatetags/show.py) call these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format, number_format


def number(value: int | float | Decimal | None, decimal_pos: int | None = None) -> str:
    """A count or amount with the locale's separators: "12,345", "1,234.50"."""
    if value is None:
        return ""
    return number_format(value, decimal_pos, force_grouping=True)


def money(amount: Decimal | None, currency: str | None) -> str:
    """An amount with the locale's separators and its currency: "85,000 EUR", "12.50 NOK";
    cents only when there are some."""
    if amount is None:
        return ""
    whole = amount == amount.to_integral_value()
    shown = number(amount, 0 if whole else 2)
    return f"{shown} {currency}" if currency else shown


def money_totals(totals: dict[str, Decimal]) -> str:
    """Sums in several currencies, never added together: "85,000 EUR · 12,000 NOK"."""
    return " · ".join(money(amount, currency) for currency, amount in sorted(totals.items()))


def day(value: dt.date | dt.datetime | None) -> str:
    """A date (or the local day of a moment) in the locale's date format: "6 Dec 2025"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return date_format(value, "DATE_FORMAT")


def moment(value: dt.datetime | None) -> str:
    """A moment in local time, in the locale's date-and-time format: "6 Dec 2025, 14:05"."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "DATETIME_FORMAT")


def yes_no(value: bool | None) -> str:
    """A yes/no value as words, never "true"/"false"; unknown stays empty."""
    if value is None:
        return ""
    return "Yes" if value else "No"


def shown(value: object, type_: str = "") -> str:
    """A field's value as pages show it, by its type when known (a custom date is stored as
    ISO text): dates in the locale's format, numbers with its separators, yes/no in words."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, dt.datetime):
        return moment(value)
    if isinstance(value, dt.date):
        return day(value)
    if type_ == "date" and isinstance(value, str):
        try:
            return day(dt.date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, int | float | Decimal):
        return number(value)
    return str(value)
