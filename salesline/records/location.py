"""Where a company is: its country code and coordinates, cleaned by one rule for the forms, the
API and the import."""

from __future__ import annotations

from typing import Any

import phonenumbers

# Two-letter ISO 3166 codes: the regions the phone library knows, less its non-ISO ones
# (Ascension, Tristan da Cunha), plus the few without a numbering plan of their own.
ISO_COUNTRIES = (frozenset(phonenumbers.SUPPORTED_REGIONS) - {"AC", "TA", "XK"}) | frozenset(
    {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
)
COORDINATE_RANGES = {"latitude": 90.0, "longitude": 180.0}


def clean_coordinate(name: str, value: Any) -> float | None:
    """A latitude (-90..90) or longitude (-180..180) in decimal degrees; ValueError else."""
    if value in (None, ""):
        return None
    limit = COORDINATE_RANGES.get(name, 180.0)
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        raise ValueError(f"must be a number of degrees from -{limit:g} to {limit:g}") from None
    if not -limit <= number <= limit:  # also refuses NaN
        raise ValueError(f"must be a number of degrees from -{limit:g} to {limit:g}")
    return number


def clean_country(value: str) -> str:
    """A two-letter ISO 3166 country code (any case), upper-cased; ValueError else."""
    code = value.strip().upper()
    if not code:
        return ""
    if code not in ISO_COUNTRIES:
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise ValueError(f"must be a two-letter ISO country code such as GB or US{hint}")
    return code
