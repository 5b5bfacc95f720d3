"""The filters every measurement takes — a pipeline, a period and the opportunity list's own
filters — parsed once for the API, the pages and the command line.

`pipeline` (default: the definition's first), `from` and `to` (dates, YYYY-MM-DD; default the
last 90 days up to today, UTC) and any filter of the opportunity list (`owner_id`, `sector`,
`vertical`, `source`, `cf_<key>`, `value__gte`, …: records.filters.parse_list_query with the
opportunity kind). Every bad parameter is reported at once (422), naming it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.core.errors import ProblemList, ValidationFailed
from salesline.pipeline.definition import PipelineSpec, pipelines_of
from salesline.process.selectors import definition_for
from salesline.records.fields import KINDS
from salesline.records.filters import ListQuery, parse_list_query
from salesline.records.selectors import record_queryset
from salesline.records.services import custom_field_defs

from .flow import Period, StageDef, period_of

DEFAULT_DAYS = 90
# The list's paging and ordering mean nothing for a measurement: naming one is an error.
LIST_ONLY = ("ordering", "limit", "offset", "cursor", "deleted")
# Dates whose day after is still a date (the period ends at the end of `to`).
LATEST = dt.date.max - dt.timedelta(days=1)


@dataclass(frozen=True, eq=False)
class MetricFilters:
    actor: Actor
    pipeline: PipelineSpec
    date_from: dt.date
    date_to: dt.date
    # The opportunity list's filters as given (for links and cache keys), and as parsed; None
    # when none is given: then every opportunity counts.
    record_params: dict[str, str] = field(default_factory=dict)
    query: ListQuery | None = None

    @property
    def pipeline_key(self) -> str:
        return self.pipeline.key

    @property
    def period(self) -> Period:
        return period_of(self.date_from, self.date_to)

    @property
    def stages(self) -> tuple[StageDef, ...]:
        return stage_defs(self.pipeline)

    @property
    def key(self) -> str:
        """What tells two filters apart, for a cache key (the organisation is not in it)."""
        record = "&".join(f"{k}={v}" for k, v in sorted(self.record_params.items()))
        return f"{self.pipeline.key}|{self.date_from}|{self.date_to}|{record}"

    def params(self) -> dict[str, str]:
        """The query parameters that give these filters again."""
        return {
            "pipeline": self.pipeline.key,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            **self.record_params,
        }

    def opportunity_ids(self) -> np.ndarray | None:
        """The ids of the live opportunities the record filters match, ascending (int64); None
        when no record filter is given (the whole history counts)."""
        if self.query is None:
            return None
        ids = (
            record_queryset(actor=self.actor, kind="opportunity", query=self.query)
            .order_by("id")
            .values_list("id", flat=True)
        )
        return np.fromiter(ids.iterator(chunk_size=20_000), dtype=np.int64)


def stage_defs(pipeline: PipelineSpec) -> tuple[StageDef, ...]:
    return tuple(
        StageDef(
            key=stage.key,
            name=stage.name,
            kind=stage.kind,
            probability=stage.probability,
            stalled_days=stage.stalled_days,
        )
        for stage in pipeline.stages
    )


def _last(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return "" if value is None else str(value)


def _date(problems: ProblemList, name: str, raw: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        problems.add(("query", name), f"'{name}' must be a date (YYYY-MM-DD), not '{raw}'.")
        return None
    if day > LATEST:
        problems.add(("query", name), f"'{name}' must be before {LATEST.isoformat()}.")
        return None
    return day


def pipeline_named(actor: Actor, key: str | None) -> PipelineSpec:
    """The pipeline of the definition in force with this key (the first when None); a 422
    naming `pipeline` and the keys there are otherwise."""
    pipelines = pipelines_of(definition_for(actor.organisation))
    if not pipelines:
        raise ValidationFailed(
            "The organisation has no pipeline.",
            problems=_problems("pipeline", "There is no pipeline: load a process definition."),
        )
    if key is None:
        return pipelines[0]
    for pipeline in pipelines:
        if pipeline.key == key:
            return pipeline
    known = ", ".join(p.key for p in pipelines)
    raise ValidationFailed(
        "The query is not valid.",
        problems=_problems("pipeline", f"Unknown pipeline '{key}'. Pipelines: {known}."),
    )


def _problems(name: str, message: str):
    problems = ProblemList()
    problems.add(("query", name), message)
    return problems.problems


def parse_metric_filters(
    actor: Actor, params: Mapping[str, Any], *, handled: Iterable[str] = ()
) -> MetricFilters:
    """Parse the filters of a measurement. `handled` names parameters the caller reads itself
    (a forecast's `trials`, say): they are skipped here."""
    skipped = set(handled)
    problems = ProblemList()
    values = {name: _last(value) for name, value in params.items() if name not in skipped}
    pipeline = None
    try:
        pipeline = pipeline_named(actor, values.pop("pipeline", "").strip() or None)
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    today = timezone.localdate()
    raw_from = values.pop("from", "").strip()
    raw_to = values.pop("to", "").strip()
    date_to = _date(problems, "to", raw_to) if raw_to else today
    date_from = (
        _date(problems, "from", raw_from)
        if raw_from
        else (date_to - dt.timedelta(days=DEFAULT_DAYS - 1) if date_to else None)
    )
    if date_from and date_to and date_from > date_to:
        problems.add(
            ("query", "from"),
            f"'from' ({date_from.isoformat()}) must not be after 'to' ({date_to.isoformat()}).",
        )
    for name in LIST_ONLY:
        if name in values:
            values.pop(name)
            problems.add(("query", name), f"Unknown filter '{name}'.", type="unknown_filter")
    query = None
    if values:
        try:
            query = parse_list_query(
                KINDS["opportunity"], values, lambda: custom_field_defs(actor, "opportunity")
            )
        except ValidationFailed as exc:
            problems.problems.extend(exc.problems)
    problems.raise_if_any("The query is not valid.")
    assert pipeline is not None and date_from is not None and date_to is not None  # noqa: S101
    return MetricFilters(
        actor=actor,
        pipeline=pipeline,
        date_from=date_from,
        date_to=date_to,
        record_params=values,
        query=query,
    )
