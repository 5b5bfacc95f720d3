"""Every way an enquiry arrives (the public form, the mailbox, the API) ends in
`enquiry_receive`: one reference, the chair on duty, the first-response deadline, the
acknowledgement asked for through the one mail path, all in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from salesline.accounts.services import country_problem, system_actor
from salesline.core import audit, events
from salesline.core.errors import Problem, ValidationFailed
from salesline.core.mail_requests import request_mail
from salesline.core.text import text_problem
from salesline.core.workdays import add_working_days

from .access import chair_period_on
from .models import Enquiry, EnquiryAttachment, EnquirySource, Network, RotaPeriod
from .network_rules import rules_for
from .rules import DEFAULT_RULES, NetworkRules, render_reply

ENQUIRY_RECEIVED = "enquiry_received"

#: Size limits of what an enquirer types (the public form's and the API's).
LIMITS = {"name": 200, "email": 254, "organisation_name": 200, "message": 20_000, "subject": 255}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class IncomingAttachment:
    file_name: str
    content_type: str
    content: bytes


def enquiry_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of an enquirer's fields at once (name, e-mail, organisation, country,
    message); the form and the API show them by field."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    problems: list[Problem] = []
    for field, limit in LIMITS.items():
        value = data.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(loc=(field,), msg=f"{field} must be text."))
            continue
        if reason := text_problem(value, max_length=limit, multiline=field == "message"):
            problems.append(Problem(loc=(field,), msg=f"{_label(field)} {reason}."))
    email = str(data.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(
                Problem(loc=("email",), msg=f"'{email[:80]}' is not an e-mail address.")
            )
    country = str(data.get("country") or "").strip().upper()
    if country and (problem := country_problem(country)) is not None:
        problems.append(problem)
    if not str(data.get("message") or "").strip() and not str(data.get("subject") or "").strip():
        problems.append(Problem(loc=("message",), msg="Message is required."))
    if not email and not str(data.get("name") or "").strip():
        problems.append(Problem(loc=("email",), msg="An e-mail address or a name is required."))
    return problems


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def _next_reference(network: Network, today: date) -> str:
    Network.objects.filter(pk=network.pk).update(enquiry_counter=F("enquiry_counter") + 1)
    counter = Network.objects.values_list("enquiry_counter", flat=True).get(pk=network.pk)
    return _reference(network, today, counter)


def _reference(network: Network, today: date, counter: int) -> str:
    prefix = network.slug.upper().replace("-", "")[:12] or "ENQ"
    return f"{prefix}-{today.year}-{counter:05d}"


class IntakeBatch:
    """Many enquiries of one network recorded in ONE transaction (the mailbox's fetch, each
    message in its own savepoint). What they share is read once per batch instead of once per
    enquiry: the network's rules, the chair on duty and the deadline (per day, in case the batch
    runs over midnight), the system actor; and the reference counter is read once with its row
    locked (SELECT ... FOR UPDATE; SQLite's IMMEDIATE transaction already excludes every other
    writer), counted in memory and written back by `finish()`, which the caller runs before it
    commits. The lock is held until the commit, so no other intake can take a number between.

    A message whose savepoint is rolled back gives its number back: take `mark()` before the
    savepoint and `restore(mark)` after a failure (the lock too may have been taken, and
    released, inside that savepoint)."""

    def __init__(self, network: Network, *, actor_label: str) -> None:
        self.network = network
        self.actor = system_actor(network.organisation, actor_label)
        self._day: date | None = None
        self.rules: NetworkRules = DEFAULT_RULES
        self.period: RotaPeriod | None = None
        self.respond_by: date | None = None
        self._counter: int | None = None
        self._stored: int | None = None

    def for_day(self, today: date) -> None:
        if self._day != today:
            self.rules = rules_for(self.network)
            self.period = chair_period_on(self.network, today)
            self.respond_by = respond_by_for(self.rules, today)
            self._day = today

    def next_reference(self, today: date) -> str:
        if self._counter is None:
            self._counter = self._stored = (
                Network.objects.select_for_update()
                .values_list("enquiry_counter", flat=True)
                .get(pk=self.network.pk)
            )
        self._counter += 1
        return _reference(self.network, today, self._counter)

    def mark(self) -> tuple[int | None, int | None]:
        return (self._counter, self._stored)

    def restore(self, mark: tuple[int | None, int | None]) -> None:
        self._counter, self._stored = mark

    def finish(self) -> None:
        """Write the counter back (inside the batch's transaction, before its commit)."""
        if self._counter is not None and self._counter != self._stored:
            Network.objects.filter(pk=self.network.pk).update(enquiry_counter=self._counter)
            self._stored = self._counter


def reply_values(network: Network, enquiry: Enquiry) -> dict[str, str]:
    chair_person = enquiry.chair_person
    return {
        "name": enquiry.name or enquiry.email,
        "organisation_name": enquiry.organisation_name,
        "reference": enquiry.reference,
        "network": network.name,
        "chair_org": enquiry.chair_org.name if enquiry.chair_org else network.name,
        "chair_person": (chair_person.full_name or chair_person.email) if chair_person else "",
        "respond_by": enquiry.respond_by.isoformat(),
    }


def respond_by_for(rules: NetworkRules, received: date) -> date:
    return add_working_days(
        received, rules.first_response_working_days, country=rules.holiday_country
    )


def enquiry_receive(
    *,
    network: Network,
    data: Mapping[str, Any],
    source: str,
    actor_label: str = "",
    message_id: str = "",
    attachments: Sequence[IncomingAttachment] = (),
    acknowledge: bool = True,
    batch: IntakeBatch | None = None,
) -> Enquiry:
    """Record one enquiry (validated: ValidationFailed names every bad field and nothing is
    written), route it to the chair on duty, set its deadline and ask for the acknowledgement.
    `batch`: one of many recorded in the caller's transaction (see IntakeBatch)."""
    if source not in EnquirySource.values:
        raise ValueError(source)
    if batch is not None and batch.network.pk != network.pk:
        raise ValueError("the batch is another network's")
    problems = enquiry_problems(data)
    if problems:
        raise ValidationFailed("The enquiry was not recorded.", problems)
    now = timezone.now()
    today = timezone.localdate(now)
    if batch is not None:
        batch.for_day(today)
        rules = batch.rules
        actor = batch.actor
    else:
        rules = rules_for(network)
        actor = system_actor(network.organisation, actor_label or source)
    with transaction.atomic():
        if batch is not None:
            period = batch.period
            reference = batch.next_reference(today)
            respond_by = batch.respond_by or respond_by_for(rules, today)
        else:
            period = chair_period_on(network, today)
            reference = _next_reference(network, today)
            respond_by = respond_by_for(rules, today)
        enquiry = Enquiry(
            network=network,
            reference=reference,
            name=str(data.get("name") or "").strip(),
            email=str(data.get("email") or "").strip().lower(),
            organisation_name=str(data.get("organisation_name") or "").strip(),
            country=str(data.get("country") or "").strip().upper(),
            message=str(data.get("message") or "").strip(),
            subject=str(data.get("subject") or "").strip(),
            category=str(data.get("category") or "").strip(),
            source=source,
            chair_org=period.organisation if period else None,
            chair_person=period.person if period else None,
            received_at=now,
            respond_by=respond_by,
            message_id=message_id[:998],
        )
        enquiry.save(force_insert=True)
        for attachment in attachments:
            stored = EnquiryAttachment(
                enquiry=enquiry,
                file_name=attachment.file_name[:255],
                content_type=attachment.content_type[:255],
                size=len(attachment.content),
            )
            stored.file.save(
                attachment.file_name[:100] or "attachment",
                ContentFile(attachment.content),
                save=False,
            )
            stored.save(force_insert=True)
        audit.record(
            actor=actor,
            action="create",
            obj=enquiry,
            changes={
                "reference": [None, enquiry.reference],
                "source": [None, source],
                "chair_org": [None, enquiry.chair_org.slug if enquiry.chair_org else None],
                "respond_by": [None, enquiry.respond_by.isoformat()],
            },
        )
        events.emit(
            actor=actor, kind=ENQUIRY_RECEIVED, obj=enquiry, payload={"network": network.slug}
        )
        if acknowledge and enquiry.email:
            values = reply_values(network, enquiry)
            request_mail(
                actor=actor,
                to=[enquiry.email],
                subject=render_reply(rules.acknowledgement_subject, values),
                body=render_reply(rules.acknowledgement_body, values),
                about=enquiry,
            )
    return enquiry
