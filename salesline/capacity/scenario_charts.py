"""The scenario comparison's charts, from a simulation's answer (simulation.simulate): each a
`core.charts.Chart` with its Vega-Lite spec, its text alternative and its table, drawn the way
the reports dashboard draws analytics' charts. Pure: no Django.

- utilisation: per role, one bar per scenario with its 95 % interval;
- throughput: meetings and won deals a week per scenario, with their intervals;
- weekly meetings: the meetings held week by week, one line per scenario;
- weekly queues: the requests waiting week by week, one line per scenario and role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesline.core.charts import PALETTE, Chart, vega_spec

from .resourcing import ROLE_LABELS
from .simulation import SIMULATED_ROLES


def _percent(value: float) -> float:
    return round(100 * value, 1)


def _scale(names: list[str]) -> dict[str, Any]:
    return {"domain": names, "range": list(PALETTE[: len(names)] or PALETTE[:1])}


def utilisation_chart(answer: Mapping[str, Any]) -> Chart:
    rows = []
    for scenario in answer["scenarios"]:
        for role in SIMULATED_ROLES:
            figure = scenario["utilisation"].get(role)
            if figure:
                rows.append(
                    (
                        scenario["name"],
                        ROLE_LABELS[role],
                        _percent(figure["mean"]),
                        _percent(figure["low"]),
                        _percent(figure["high"]),
                    )
                )
    names = [scenario["name"] for scenario in answer["scenarios"]]
    busiest = max(rows, key=lambda row: row[2], default=None)
    description = (
        "Utilisation per role and scenario, with 95 % intervals over the replications. "
        + (
            f"Busiest: {busiest[1].lower()} in '{busiest[0]}' at {busiest[2]:g} %."
            if busiest
            else "No role was simulated."
        )
    )
    data = [
        {"scenario": s, "role": r, "mean": m, "low": lo, "high": hi} for s, r, m, lo, hi in rows
    ]
    x = {"field": "role", "type": "nominal", "title": None, "sort": None}
    spec = (
        vega_spec(
            description,
            data,
            encoding={
                "x": x,
                "xOffset": {"field": "scenario", "sort": names},
                "color": {
                    "field": "scenario",
                    "type": "nominal",
                    "title": "Scenario",
                    "scale": _scale(names),
                    "sort": names,
                },
            },
            layer=[
                {
                    "mark": "bar",
                    "encoding": {
                        "y": {
                            "field": "mean",
                            "type": "quantitative",
                            "title": "Utilisation (%)",
                            "scale": {"domain": [0, 100]},
                        }
                    },
                },
                {
                    "mark": {"type": "rule", "color": "#333333"},
                    "encoding": {
                        "y": {"field": "low", "type": "quantitative"},
                        "y2": {"field": "high"},
                    },
                },
            ],
        )
        if rows
        else None
    )
    return Chart(
        key="utilisation",
        title="Utilisation per role",
        description=description,
        columns=("scenario", "role", "utilisation %", "low %", "high %"),
        rows=rows,
        spec=spec,
    )


def throughput_chart(answer: Mapping[str, Any]) -> Chart:
    rows = []
    for scenario in answer["scenarios"]:
        for key, label in (("meetings_per_week", "Meetings"), ("won_per_week", "Won deals")):
            figure = scenario[key]
            rows.append(
                (
                    scenario["name"],
                    label,
                    round(figure["mean"], 2),
                    round(figure["low"], 2),
                    round(figure["high"], 2),
                )
            )
    names = [scenario["name"] for scenario in answer["scenarios"]]
    description = (
        "Meetings held and deals won a week per scenario, with 95 % intervals: "
        + "; ".join(f"'{s}' {m:g} {label.lower()}" for s, label, m, _, _ in rows)
    )
    data = [
        {"scenario": s, "measure": label, "mean": m, "low": lo, "high": hi}
        for s, label, m, lo, hi in rows
    ]
    spec = vega_spec(
        description,
        data,
        encoding={
            "x": {"field": "measure", "type": "nominal", "title": None, "sort": None},
            "xOffset": {"field": "scenario", "sort": names},
            "color": {
                "field": "scenario",
                "type": "nominal",
                "title": "Scenario",
                "scale": _scale(names),
                "sort": names,
            },
        },
        layer=[
            {
                "mark": "bar",
                "encoding": {"y": {"field": "mean", "type": "quantitative", "title": "A week"}},
            },
            {
                "mark": {"type": "rule", "color": "#333333"},
                "encoding": {
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                },
            },
        ],
    )
    return Chart(
        key="throughput",
        title="Meetings and won deals a week",
        description=description,
        columns=("scenario", "measure", "a week", "low", "high"),
        rows=rows,
        spec=spec,
    )


def _line_chart(key: str, title: str, axis: str, series: list[tuple[str, list[float]]]) -> Chart:
    rows = [(name, week + 1, value) for name, values in series for week, value in enumerate(values)]
    names = [name for name, _ in series]
    peaks = "; ".join(f"'{name}' up to {max(values, default=0):g}" for name, values in series)
    description = f"{title}, week by week (means over the replications): {peaks}."
    data = [{"series": name, "week": week, "value": value} for name, week, value in rows]
    spec = (
        vega_spec(
            description,
            data,
            mark={"type": "line", "interpolate": "step-after"},
            encoding={
                "x": {"field": "week", "type": "quantitative", "title": "Week"},
                "y": {"field": "value", "type": "quantitative", "title": axis},
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "title": None,
                    "sort": names,
                    "scale": {"range": list(PALETTE)},
                },
            },
        )
        if rows
        else None
    )
    return Chart(
        key=key,
        title=title,
        description=description,
        columns=("series", "week", axis.lower()),
        rows=rows,
        spec=spec,
    )


def scenario_charts(answer: Mapping[str, Any]) -> list[Chart]:
    """Every chart of the comparison, in the page's order."""
    meetings = [
        (scenario["name"], scenario["weekly"]["meetings"]) for scenario in answer["scenarios"]
    ]
    queues = [
        (f"{scenario['name']}: {ROLE_LABELS[role].lower()}", figures["queue"])
        for scenario in answer["scenarios"]
        for role, figures in scenario["weekly"]["roles"].items()
        if any(figures["queue"])
    ]
    return [
        utilisation_chart(answer),
        throughput_chart(answer),
        _line_chart("weekly_meetings", "Meetings held", "Meetings", meetings),
        _line_chart("weekly_queues", "Requests waiting", "Requests waiting", queues),
    ]
