"""The dashboard's charts as Vega-Lite specs, built from the data series. Pure: no Django.

One function per chart: data rows in, a `Chart` out. A `Chart` carries everything a reader
gets, from the same rows: the Vega-Lite spec (drawn by vega-embed in the page and turned into
SVG by vl-convert for the PDF report), a text alternative (a sentence or two a screen reader
reads and a page without JavaScript shows), and the table (columns and rows) the page shows
under the picture and the CSV download writes. A chart with no data has `spec` None: the
page says so instead of drawing empty axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from salesline.core.charts import (  # noqa: F401 - Chart and figure_text are read from here too
    PALETTE,
    Chart,
    figure_text,
)
from salesline.core.charts import vega_spec as _spec


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "not known"
    return f"{value:,.{digits}f}"


def _stage_scale(stage_names: Sequence[str]) -> dict[str, Any]:
    return {
        "domain": list(stage_names),
        "range": [PALETTE[index % len(PALETTE)] for index in range(len(stage_names))],
    }


# ---------------------------------------------------------------- funnel


def funnel_chart(rows: Sequence[tuple[str, int]], stage_names: Mapping[str, str]) -> Chart:
    """rows: (stage key, opportunities that reached it) in board order."""
    table = [(stage_names.get(key, key), count) for key, count in rows]
    columns = ("stage", "opportunities")
    title = "Funnel"
    if not any(count for _, count in table):
        return Chart("funnel", title, "No opportunity entered a stage in this period.", columns)
    first = table[0][1]
    steps = "; ".join(
        f"{name} {count:,}"
        + (f" ({count / first:.0%} of the first stage)" if first and index else "")
        for index, (name, count) in enumerate(table)
    )
    description = f"Funnel: opportunities that reached each stage in the period. {steps}."
    order = [name for name, _ in table]
    spec = _spec(
        description,
        [{"stage": name, "opportunities": count} for name, count in table],
        mark={"type": "bar", "color": PALETTE[0]},
        encoding={
            "y": {"field": "stage", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "opportunities", "type": "quantitative", "title": "Opportunities"},
        },
    )
    return Chart("funnel", title, description, columns, table, spec)


# ---------------------------------------------------------------- cumulative flow


def cumulative_flow_chart(
    rows: Sequence[tuple[str, str, int]], stage_names: Mapping[str, str], step: str
) -> Chart:
    """rows: (date, stage key, opportunities in the stage then), stages in board order."""
    table = [(day, stage_names.get(key, key), count) for day, key, count in rows]
    columns = ("date", "stage", "opportunities")
    title = "Cumulative flow"
    if not any(count for _, _, count in table):
        return Chart(
            "cumulative-flow", title, "No opportunity was in this pipeline in the period.", columns
        )
    order = list(dict.fromkeys(name for _, name, _ in table))
    last_day = table[-1][0]
    at_end = [f"{name} {count:,}" for day, name, count in table if day == last_day]
    first_day = table[0][0]
    description = (
        f"Cumulative flow per {step} from {first_day} to {last_day}: opportunities in each "
        f"stage, stacked in stage order. On {last_day}: {'; '.join(at_end)}."
    )
    spec = _spec(
        description,
        [
            {"date": day, "stage": name, "opportunities": count, "order": order.index(name)}
            for day, name, count in table
        ],
        mark={"type": "area"},
        encoding={
            "x": {
                "field": "date",
                "type": "temporal",
                "timeUnit": "utcyearmonthdate",
                "title": None,
                "axis": {"format": "%d %b %Y"},
            },
            "y": {
                "field": "opportunities",
                "type": "quantitative",
                "stack": "zero",
                "title": "Opportunities",
            },
            "color": {
                "field": "stage",
                "type": "nominal",
                "title": "Stage",
                "scale": _stage_scale(order),
                "sort": order,
            },
            # Later stages at the bottom, as the diagram is read: work flows downwards.
            "order": {"field": "order", "type": "quantitative", "sort": "descending"},
        },
    )
    return Chart("cumulative-flow", title, description, columns, table, spec)


# ---------------------------------------------------------------- time in stage


def time_in_stage_chart(
    rows: Sequence[tuple[str, str, int]], stage_names: Mapping[str, str]
) -> Chart:
    """rows: (stage key, duration band, stays that ended in the period)."""
    table = [(stage_names.get(key, key), band, count) for key, band, count in rows]
    columns = ("stage", "days in stage", "stays")
    title = "Time in stage"
    if not any(count for _, _, count in table):
        return Chart(
            "time-in-stage", title, "No stay in an open stage ended in this period.", columns
        )
    order = list(dict.fromkeys(name for name, _, _ in table))
    bands = list(dict.fromkeys(band for _, band, _ in table))
    commonest = []
    for name in order:
        counts = [(count, band) for stage, band, count in table if stage == name]
        total = sum(count for count, _ in counts)
        if total:
            count, band = max(counts, key=lambda item: item[0])
            commonest.append(f"{name}: {total:,} stays, most {band} ({count:,})")
    description = (
        "Time in stage: stays that ended in the period, by how long they lasted. "
        + "; ".join(commonest)
        + "."
    )
    spec = _spec(
        description,
        [{"stage": name, "band": band, "stays": count} for name, band, count in table],
        mark={"type": "bar"},
        encoding={
            "x": {"field": "band", "type": "ordinal", "sort": bands, "title": "Days in stage"},
            "xOffset": {"field": "stage", "type": "nominal", "sort": order},
            "y": {"field": "stays", "type": "quantitative", "title": "Stays"},
            "color": {
                "field": "stage",
                "type": "nominal",
                "title": "Stage",
                "scale": _stage_scale(order),
                "sort": order,
            },
        },
    )
    return Chart("time-in-stage", title, description, columns, table, spec)


# ---------------------------------------------------------------- forecast fan


def forecast_chart(periods: Sequence[Mapping[str, Any]], *, trials: int | None = None) -> Chart:
    """periods: the forecast's rows {period, weighted, p10, p50, p90, count_p50}."""
    columns = ("period", "weighted", "p10", "p50", "p90", "count_p50")
    table = [tuple(period.get(column) for column in columns) for period in periods]
    title = "Forecast"
    if not table:
        return Chart("forecast", title, "There are no open opportunities to forecast.", columns)
    lines = "; ".join(
        f"{period}: P50 {_number(p50)} (P10 {_number(p10)} to P90 {_number(p90)})"
        for period, _, p10, p50, p90, _ in table
    )
    simulated = f" from {trials:,} simulated futures" if trials else ""
    description = (
        f"Forecast of won value per month{simulated}: the band runs from P10 to P90, the line "
        f"is P50, the dashed line the weighted pipeline. {lines}."
    )
    data = [
        {"period": row[0], "weighted": row[1], "p10": row[2], "p50": row[3], "p90": row[4]}
        for row in table
    ]
    x = {"field": "period", "type": "ordinal", "title": None, "sort": None}
    spec = _spec(
        description,
        data,
        encoding={"x": x},
        layer=[
            {
                "mark": {"type": "area", "color": PALETTE[4], "opacity": 0.45},
                "encoding": {
                    "y": {"field": "p10", "type": "quantitative", "title": "Won value"},
                    "y2": {"field": "p90"},
                },
            },
            {
                "mark": {"type": "line", "color": PALETTE[0], "point": True},
                "encoding": {"y": {"field": "p50", "type": "quantitative"}},
            },
            {
                "mark": {"type": "line", "color": PALETTE[5], "strokeDash": [6, 4]},
                "encoding": {"y": {"field": "weighted", "type": "quantitative"}},
            },
        ],
    )
    return Chart("forecast", title, description, columns, table, spec)


# ---------------------------------------------------------------- velocity trend


def velocity_chart(rows: Sequence[tuple[Any, ...]]) -> Chart:
    """rows: (week's end, open, win rate, average won value, average cycle days, velocity)."""
    columns = (
        "week ending",
        "open opportunities",
        "win rate",
        "average won value",
        "average cycle days",
        "sales velocity",
    )
    table = [tuple(row) for row in rows]
    title = "Sales velocity"
    known = [row for row in table if row[5] is not None]
    if not known:
        return Chart(
            "velocity",
            title,
            "Sales velocity cannot be computed: no opportunity was won in the weeks shown.",
            columns,
            table,
        )
    first, last = known[0], known[-1]
    description = (
        f"Weekly sales velocity (value per day): {_number(first[5])} in the week ending "
        f"{first[0]}, {_number(last[5])} in the week ending {last[0]}; highest "
        f"{_number(max(row[5] for row in known))}."
    )
    spec = _spec(
        description,
        [{"week": row[0], "velocity": row[5]} for row in known],
        mark={"type": "line", "point": True, "color": PALETTE[2]},
        encoding={
            "x": {
                "field": "week",
                "type": "temporal",
                "timeUnit": "utcyearmonthdate",
                "title": "Week ending",
                "axis": {"format": "%d %b"},
            },
            "y": {"field": "velocity", "type": "quantitative", "title": "Value per day"},
        },
    )
    return Chart("velocity", title, description, columns, table, spec)


# ---------------------------------------------------------------- quality


def quality_chart(bands: Sequence[tuple[str, int]]) -> Chart:
    """bands: (band label, open opportunities rated in it), in the order to draw."""
    columns = ("band", "opportunities")
    table = [(band, count) for band, count in bands]
    title = "Opportunity quality"
    total = sum(count for _, count in table)
    if not total:
        return Chart("quality", title, "No opportunity has a quality rating yet.", columns, table)
    description = "Opportunity quality: " + "; ".join(
        f"{band} {count:,} ({count / total:.0%})" for band, count in table
    )
    order = [band for band, _ in table]
    spec = _spec(
        description + ".",
        [{"band": band, "opportunities": count} for band, count in table],
        mark={"type": "bar"},
        encoding={
            "x": {"field": "band", "type": "ordinal", "sort": order, "title": "Quality"},
            "y": {"field": "opportunities", "type": "quantitative", "title": "Opportunities"},
            "color": {
                "field": "band",
                "type": "nominal",
                "legend": None,
                "scale": _stage_scale(order),
            },
        },
    )
    return Chart("quality", title, description + ".", columns, table, spec)


# ---------------------------------------------------------------- campaigns (a table)


CAMPAIGN_COLUMNS = (
    "campaign",
    "currency",
    "cost",
    "leads",
    "opportunities",
    "won",
    "won value",
    "cost per lead",
    "cost per opportunity",
    "cost per won deal",
    "return",
)


def campaign_table(rows: Sequence[tuple[Any, ...]]) -> Chart:
    """rows: one per campaign and currency in CAMPAIGN_COLUMNS order (money is never added
    across currencies). A table, no picture: the numbers are read, not compared by eye."""
    table = [tuple(row) for row in rows]
    title = "Campaigns"
    if not table:
        return Chart("campaigns", title, "No campaign has costs or leads yet.", CAMPAIGN_COLUMNS)
    # A return is a ratio within one currency, so returns compare across currencies.
    returns = [row for row in table if row[10] is not None]
    best = max(returns, key=lambda row: row[10], default=None)
    names = {row[0] for row in table}
    description = f"{len(names):,} campaign{'s' if len(names) != 1 else ''}." + (
        f" Best return: {best[0]} ({best[10]:.0%})." if best is not None else ""
    )
    return Chart("campaigns", title, description, CAMPAIGN_COLUMNS, table)
