"""Stand-in for the flow helper's `analytics.filters.parse_metric_filters` until it lands on
main (then this file goes): pipeline, from, to and the opportunity list's filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList, ValidationFailed
from salesline.pipeline.models import Pipeline
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.selectors import record_queryset

OWN = frozenset({"pipeline", "from", "to"})
DEFAULT_DAYS = 90


@dataclass
class MetricFilters:
    actor: Actor
    pipeline: Pipeline
    date_from: date
    date_to: date
    lookups: dict[str, Any] = field(default_factory=dict)
    query: Any = None

    def opportunity_ids(self) -> np.ndarray | None:
        if not self.lookups:
            return None
        ids = record_queryset(actor=self.actor, kind="opportunity", query=self.query).values_list(
            "pk", flat=True
        )
        return np.fromiter(ids.order_by(), dtype=np.int64)


def _date(problems: ProblemList, params: Mapping[str, Any], name: str, default: date) -> date:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.add(("query", name), f"'{name}' must be a date (YYYY-MM-DD).")
        return default


def parse_metric_filters(actor: Actor, params: Mapping[str, Any]) -> MetricFilters:
    problems = ProblemList()
    today = timezone.now().date()
    date_to = _date(problems, params, "to", today)
    date_from = _date(problems, params, "from", date_to - timedelta(days=DEFAULT_DAYS))
    if date_from > date_to:
        problems.add(("query", "from"), "'from' must not be after 'to'.")
    rest = {name: value for name, value in params.items() if name not in OWN}
    query = None
    try:
        query = parse_list_query(KINDS["opportunity"], rest, lambda: [])
    except ValidationFailed as error:
        problems.problems.extend(error.problems)
    problems.raise_if_any("The metrics query is not valid.")
    pipelines = Pipeline.objects.filter(organisation=actor.organisation)
    key = str(params.get("pipeline") or "").strip()
    pipeline = pipelines.filter(key=key).first() if key else pipelines.first()
    if pipeline is None:
        raise NotFound(f"No pipeline '{key}'." if key else "This organisation has no pipeline.")
    return MetricFilters(
        actor=actor,
        pipeline=pipeline,
        date_from=date_from,
        date_to=date_to,
        lookups=query.lookups if query else {},
        query=query,
    )
