"""Reads of the quality rating, scoped to the actor's organisation: one opportunity's rating
(the record page), the distribution of ratings (the dashboard's chart, the quality report) and
the lowest-rated open opportunities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Count, QuerySet
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.pipeline.models import ChecklistTick, Opportunity
from salesline.process.selectors import definition_for
from salesline.records.filters import ListQuery
from salesline.records.models import Note
from salesline.records.selectors import record_queryset

from .models import QualityRating
from .quality import BANDS, Reason, unmet_texts
from .quality_definition import quality_of
from .quality_services import rate_one

DECILES = tuple(f"{low}-{low + 9 if low < 90 else 100}" for low in range(0, 100, 10))


class QualityFilters(Protocol):
    """What the distribution is filtered by: analytics.filters.MetricFilters has it (a
    pipeline, and the opportunity list's filters as a parsed query, or None)."""

    @property
    def pipeline_key(self) -> str | None: ...

    @property
    def query(self) -> ListQuery | None: ...


@dataclass(frozen=True)
class ListFilters:
    """The quality report's own filters: the opportunity list's (pipeline included)."""

    query: ListQuery | None
    pipeline_key: str | None = None


@dataclass(frozen=True)
class ShownRating:
    score: int
    band: str
    reasons: tuple[dict[str, Any], ...]
    stored: bool  # False: computed for this page, the worker has not rated it yet


def quality_rating_for(*, actor: Actor, opportunity: Opportunity) -> ShownRating:
    """The opportunity's rating as stored, or computed now when the worker has not stored one
    yet (a new opportunity): the record page always shows one. `opportunity` was read through
    the actor's selectors."""
    stored = QualityRating.objects.filter(
        organisation=actor.organisation, opportunity_id=opportunity.pk
    ).first()
    if stored is not None:
        return ShownRating(stored.score, stored.band, tuple(stored.reasons), stored=True)
    spec = definition_for(actor.organisation)
    last_note = (
        Note.objects.filter(opportunity_id=opportunity.pk, deleted_at=None)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    ticked = frozenset(
        ChecklistTick.objects.filter(opportunity_id=opportunity.pk).values_list("item", flat=True)
    )
    rating = rate_one(
        quality_of(spec),
        spec,
        opportunity,
        ticked=ticked,
        last_note=last_note,
        now=timezone.now(),
    )
    reasons = tuple(Reason.as_dict(reason) for reason in rating.reasons)
    return ShownRating(rating.score, rating.band, reasons, stored=False)


def _open_opportunities(actor: Actor, filters: QualityFilters) -> QuerySet:
    if filters.query is not None:
        rows = record_queryset(actor=actor, kind="opportunity", query=filters.query)
    else:
        rows = Opportunity.objects.filter(organisation=actor.organisation, deleted_at=None)
    if filters.pipeline_key:
        rows = rows.filter(pipeline__key=filters.pipeline_key)
    return rows.filter(status=Opportunity.Status.OPEN)


def _ratings(actor: Actor, filters: QualityFilters, *, checked: bool = True) -> QuerySet:
    """The ratings of the open opportunities the filters match, read from the open ratings'
    index. `checked`: the opportunity's own status and deletion decide too, so a copy the
    worker has not caught up with leaves a row out for a moment, never shows a closed one (a
    lookup per row: for a page of rows). Unchecked, counts trust the copy: a deal closed a
    moment ago may be counted until its event is handled (10,000 fewer lookups)."""
    ratings = QualityRating.objects.filter(organisation=actor.organisation, is_open=True)
    if checked:
        ratings = ratings.filter(
            opportunity__status=Opportunity.Status.OPEN, opportunity__deleted_at=None
        )
    if filters.query is not None or filters.pipeline_key:
        ids = _open_opportunities(actor, filters).order_by().values("id")
        ratings = ratings.filter(opportunity_id__in=ids)
    return ratings


def quality_distribution(*, actor: Actor, filters: QualityFilters) -> dict[str, Any]:
    """How the open opportunities the filters match are rated: counts per band (good, fair,
    poor) and per score decile (0-9, ..., 90-100), and how many are not rated yet.

    {"bands": [{"band": "good", "label": "Good", "count": n}, ...fair, poor],
     "deciles": [{"range": "0-9", "count": n}, ..., {"range": "90-100", ...}],
     "rated": n, "unrated": n, "mean": score or None}"""
    # One pass over the ratings, counted per (score, band): at most 101 × 3 rows, from which
    # the bands, the deciles and the mean follow.
    counted = (
        _ratings(actor, filters, checked=False)
        .order_by()
        .values("score", "band")
        .annotate(n=Count("id"))
        .values_list("score", "band", "n")
    )
    bands = dict.fromkeys(BANDS, 0)
    deciles = dict.fromkeys(DECILES, 0)
    total = 0
    for score, band, count in counted:
        bands[band] += count
        deciles[DECILES[min(score // 10, 9)]] += count
        total += score * count
    rated = sum(bands.values())
    mean = round(total / rated, 1) if rated else None
    total_open = _open_opportunities(actor, filters).count()
    return {
        "bands": [
            {"band": band, "label": QualityRating.Band(band).label, "count": count}
            for band, count in bands.items()
        ],
        "deciles": [{"range": name, "count": count} for name, count in deciles.items()],
        "rated": rated,
        "unrated": max(total_open - rated, 0),
        "mean": mean,
    }


def quality_lowest(*, actor: Actor, filters: QualityFilters, limit: int = 20) -> list[dict]:
    """The lowest-rated open opportunities the filters match, lowest first, with their unmet
    reasons: where a manager's help is needed first."""
    rows = (
        _ratings(actor, filters)
        .order_by("score", "opportunity_id")
        .values(
            "score",
            "band",
            "reasons",
            "opportunity_id",
            "opportunity__name",
            "opportunity__stage__name",
            "opportunity__owner__full_name",
            "opportunity__owner__email",
        )[:limit]
    )
    return [
        {
            "id": row["opportunity_id"],
            "name": row["opportunity__name"],
            "stage": row["opportunity__stage__name"],
            "owner": row["opportunity__owner__full_name"] or row["opportunity__owner__email"] or "",
            "score": row["score"],
            "band": row["band"],
            "unmet": unmet_texts(row["reasons"]),
        }
        for row in rows
    ]
