"""The first-response deadline: `intake.enquiry_receive` sets `respond_by` (the network's rule,
2 working days by default); the worker flags each enquiry still unanswered after it, once, to
the chair on duty and the network coordinator."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from salesline.accounts.services import system_actor
from salesline.core import audit
from salesline.core.mail_requests import request_mail

from . import states
from .access import chair_period_on
from .models import Enquiry

#: Statuses still waiting for a first response.
#: Enquiries flagged per call (the next call takes the rest).
BATCH = 500


def _overdue(today: dt.date):
    return Enquiry.objects.filter(states.overdue_q(today), overdue_flagged_at__isnull=True)


def flag_overdue_enquiries(today: dt.date | None = None) -> list[str]:
    """Flag every enquiry past its deadline and still waiting, once each: a conditional UPDATE
    claims it (two workers never flag one twice), then the chair person and the coordinator
    are asked to be told through the one mail path, in the same transaction. The references
    flagged."""
    today = today or timezone.localdate()
    flagged: list[str] = []
    for pk in list(
        _overdue(today).order_by("respond_by", "pk").values_list("pk", flat=True)[:BATCH]
    ):
        with transaction.atomic():
            now = timezone.now()
            if _overdue(today).filter(pk=pk).update(overdue_flagged_at=now) != 1:
                continue
            enquiry = Enquiry.objects.select_related(
                "network__organisation", "network__coordinator", "chair_person", "chair_org"
            ).get(pk=pk)
            _tell(enquiry, today)
            flagged.append(enquiry.reference)
    return flagged


def _tell(enquiry: Enquiry, today: dt.date) -> None:
    network = enquiry.network
    chair_person = enquiry.chair_person
    if chair_person is None:
        period = chair_period_on(network, today)
        chair_person = period.person if period else None
    recipients: list[str] = []
    for person in (chair_person, network.coordinator):
        if person is not None and person.email and person.email not in recipients:
            recipients.append(person.email)
    actor = system_actor(network.organisation, "deadlines")
    days_late = (today - enquiry.respond_by).days
    if recipients:
        who = enquiry.name or enquiry.email or "an enquirer"
        request_mail(
            actor=actor,
            to=recipients,
            subject=f"Overdue: enquiry {enquiry.reference} was due by {enquiry.respond_by}",
            body=(
                f"Enquiry {enquiry.reference} from {who}"
                f"{' (' + enquiry.organisation_name + ')' if enquiry.organisation_name else ''} "
                f"to {network.name} was due a first response by "
                f"{enquiry.respond_by.isoformat()} ({days_late} day{'s' if days_late != 1 else ''}"
                f" ago) and is still {enquiry.get_status_display().lower()}.\n\n"
                "Please reply to the enquirer, or triage it, as soon as you can.\n"
            ),
            about=enquiry,
        )
    audit.record(
        actor=actor,
        action="overdue_flagged",
        obj=enquiry,
        changes={
            "overdue_flagged_at": [None, enquiry.overdue_flagged_at.isoformat()]
            if enquiry.overdue_flagged_at
            else [None, None],
            "respond_by": [enquiry.respond_by.isoformat(), enquiry.respond_by.isoformat()],
            "told": [None, recipients],
        },
    )
