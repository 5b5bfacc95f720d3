"""Background work of the analytics app."""

from salesline.accounts.models import Organisation
from salesline.accounts.services import system_actor
from salesline.core.tasks import durable_task

from .quality_services import quality_rerate


@durable_task(max_attempts=3)
def quality_rerate_run(organisation_id: int) -> None:
    """Rate every opportunity of an organisation again, after its quality section changed.
    Safe to run again: a rating is overwritten, never added twice."""
    organisation = Organisation.objects.get(pk=organisation_id)
    quality_rerate(actor=system_actor(organisation, label="worker"))
