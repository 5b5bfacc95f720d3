"""What every chart of Salesline is made of, whoever draws it (analytics' dashboard, capacity's
scenario comparison): a `Chart` carries everything a reader gets, from the same rows — the
Vega-Lite spec (drawn by vega-embed in the page and turned into SVG by vl-convert for PDFs), a
text alternative (what a screen reader reads and a page without JavaScript shows), and the table
(columns and rows) shown under the picture and written by a CSV download. A chart with no data
has `spec` None: the page says so instead of drawing empty axes. Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = 560
HEIGHT = 260
# Colours distinguishable with common colour-vision deficiencies (Okabe–Ito), in stage order.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
# No actions menu, no tooltips plug-in: both inject styles the page's CSP forbids.
BASE_CONFIG: dict[str, Any] = {
    "font": "DejaVu Sans, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12},
    "legend": {"labelFontSize": 11, "titleFontSize": 12},
}


@dataclass(frozen=True)
class Chart:
    key: str  # the URL name of its CSV: /api/v1/metrics/dashboard/<key>.csv
    title: str
    description: str  # the text alternative
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    spec: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The chart's data for the API: its rows as objects keyed by column."""
        return {
            "title": self.title,
            "description": self.description,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
        }


def vega_spec(description: str, data: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": data},
        "config": BASE_CONFIG,
        **body,
    }


def figure_text(value: Any) -> str:
    """A figure as the tables show it: counts with thousands separators, amounts to the
    unit, fractions (rates, shares) to three places, a dash for one that cannot be computed."""
    if value is None:
        return "—"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3f}"
    return str(value)
