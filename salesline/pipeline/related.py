"""The opportunities shown on a company's and a person's page (records knows no opportunity)."""

from __future__ import annotations

from salesline.records.selectors import register_related_group

from .models import Opportunity


def register() -> None:
    register_related_group(
        kind="company",
        position=20,
        title="Opportunities",
        related_kind="opportunity",
        rows=lambda scope, obj: (
            Opportunity.objects.filter(**scope, company=obj)
            .select_related("stage")
            .order_by("-created_at", "-id")
        ),
    )
    register_related_group(
        kind="person",
        position=10,
        title="Opportunities (primary contact)",
        related_kind="opportunity",
        rows=lambda scope, obj: (
            Opportunity.objects.filter(**scope, primary_contact=obj)
            .select_related("stage")
            .order_by("-created_at", "-id")
        ),
    )
