"""The agreements' part of the playbooks app's wiring: the `signed_agreement` fact a stage gate
may require, the schedules (invoicing, renewal tickler) and the worker's periodic run."""

from __future__ import annotations

from typing import Any

from salesline.pipeline.facts import OpportunityFact, register_fact

from .agreement_services import SIGNED_AGREEMENT

SIGNED_AGREEMENT_FACT = OpportunityFact(
    key=SIGNED_AGREEMENT,
    label="Signed service agreement",
    provider=lambda opportunity: has_signed_agreement(opportunity),
    message=(
        "The service agreement must be signed before the opportunity becomes {stage} "
        "(sign it on the Agreement panel)."
    ),
)


def has_signed_agreement(opportunity: Any) -> bool:
    from .models import Agreement

    if opportunity.pk is None:  # being created: it has no agreement yet
        return False
    return Agreement.objects.filter(
        opportunity_id=opportunity.pk, status=Agreement.Status.SIGNED
    ).exists()


def run_due_schedules() -> None:
    """The workers' periodic callback: every schedule due today."""
    from .schedules import schedules_run

    schedules_run()


def register() -> None:
    from salesline.core.tasks import register_periodic

    from . import agreement_schedules

    register_fact(SIGNED_AGREEMENT_FACT)
    agreement_schedules.register()
    register_periodic("schedules", run_due_schedules)
