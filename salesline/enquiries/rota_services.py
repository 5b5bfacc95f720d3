"""The duty rota ("chair"): periods added by the coordinator (no overlap, no gap), who is on
duty now and next, the outgoing chair's hand-over, the incoming chair's acknowledgement, and
the worker's daily reminders until both are done. docs/triage-and-rota.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from salesline.accounts.auth import user_by_email
from salesline.accounts.models import Organisation
from salesline.accounts.selectors import roles_of
from salesline.accounts.services import system_actor
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Problem,
    ValidationFailed,
)
from salesline.core.mail_requests import request_mail
from salesline.core.text import text_problem

from . import access, states
from .models import Enquiry, Network, RotaPeriod
from .network_rules import rules_for
from .rota import (
    Period,
    change_problems,
    day_after,
    default_end,
    next_on_duty,
    on_duty,
    placement_problems,
    removal_problems,
    window_problem,
)

HANDOVER_NOTES_MAX = 20_000


@dataclass(frozen=True)
class RotaNow:
    network: Network
    current: RotaPeriod | None
    next: RotaPeriod | None


# ------------------------------------------------------------------------- reads


def rota_periods(network: Network) -> QuerySet[RotaPeriod]:
    return network.rota.select_related(
        "organisation", "person", "handover_written_by", "acknowledged_by"
    ).order_by("starts_on")


def _as_period(row: RotaPeriod) -> Period:
    return Period(
        starts_on=row.starts_on, ends_on=row.ends_on, who=row.organisation.name, id=row.pk
    )


def rota_now(network: Network, day: date | None = None) -> RotaNow:
    day = day or timezone.localdate()
    rows = list(rota_periods(network))
    by_id = {row.pk: row for row in rows}
    periods = [_as_period(row) for row in rows]
    current = on_duty(periods, day)
    following = next_on_duty(periods, day)
    return RotaNow(
        network=network,
        current=by_id[current.id] if current and current.id else None,
        next=by_id[following.id] if following and following.id else None,
    )


def period_for(actor: Actor, period_id: int, *, lock: bool = False) -> RotaPeriod:
    queryset = RotaPeriod.objects.filter(network__in=access.member_networks(actor))
    if lock:
        queryset = queryset.select_for_update()
    period = queryset.select_related("network", "organisation", "person").filter(pk=period_id)
    found = period.first()
    if found is None:
        raise NotFound(f"No rota period {period_id}.")
    return found


def successor_of(period: RotaPeriod) -> RotaPeriod | None:
    following = day_after(period.ends_on)
    if following is None:
        return None
    return (
        RotaPeriod.objects.filter(network_id=period.network_id, starts_on=following)
        .select_related("organisation", "person")
        .first()
    )


def open_enquiries(network: Network) -> QuerySet[Enquiry]:
    return network.enquiries.filter(status__in=states.OPEN_STATUSES).order_by("received_at", "pk")


def date_problems(starts_on: date | None, ends_on: date | None) -> list[Problem]:
    """Dates outside the rota's window (years 2000 to 2100), each naming its field."""
    problems = []
    for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if day is not None and (reason := window_problem(day, field)):
            problems.append(Problem(loc=(field,), msg=reason))
    return problems


def is_user_of(actor: Actor, organisation_id: int) -> bool:
    return actor.user is not None and actor.organisation.pk == organisation_id


# ------------------------------------------------------------------------- writes


def rota_period_create(
    *,
    actor: Actor,
    network_slug: str | None,
    org_slug: str,
    person_email: str,
    starts_on: date,
    ends_on: date | None = None,
) -> RotaPeriod:
    """Put a member organisation and one of its people on duty (the coordinator only). The
    network row is locked while the placement is checked, so two requests at once cannot both
    pass; an overlap or a gap is refused (422) naming the periods concerned."""
    network = access.network_for(actor=actor, slug=network_slug, prefer_coordinated=True)
    access.require_coordinator(network, actor, "change the rota")
    problems: list[Problem] = []
    organisation = Organisation.objects.filter(slug=str(org_slug)).first()
    if organisation is None or not access.is_member(network, organisation):
        problems.append(
            Problem(loc=("org",), msg=f"'{str(org_slug)[:80]}' is not a member of {network.name}.")
        )
        organisation = None
    person = user_by_email((person_email or "").strip().lower())
    if organisation is not None and (person is None or not roles_of(person, organisation)):
        problems.append(
            Problem(
                loc=("person",),
                msg=f"'{str(person_email)[:120]}' is not a user of {organisation.name}.",
            )
        )
    problems.extend(date_problems(starts_on, ends_on))
    if ends_on is None and not problems:
        ends_on = default_end(starts_on, rules_for(network).rota_period_months)
        if reason := window_problem(ends_on, "ends_on"):
            problems.append(Problem(loc=("starts_on",), msg=f"{reason} Give an earlier start."))
    if problems or organisation is None or person is None or ends_on is None:
        raise ValidationFailed("The rota period was not added.", problems)
    with transaction.atomic():
        Network.objects.select_for_update().filter(pk=network.pk).first()
        existing = [_as_period(row) for row in rota_periods(network)]
        clashes = placement_problems(
            Period(starts_on=starts_on, ends_on=ends_on, who=organisation.name), existing
        )
        if clashes:
            loc = ("starts_on",) if "gap after" in clashes[0] else ("ends_on",)
            raise ValidationFailed(
                "The rota period was not added.",
                [Problem(loc=loc, msg=message) for message in clashes],
            )
        try:
            with transaction.atomic():
                period = RotaPeriod.objects.create(
                    network=network,
                    organisation=organisation,
                    person=person,
                    starts_on=starts_on,
                    ends_on=ends_on,
                )
        except IntegrityError as exc:  # a period starting that day, added meanwhile
            raise ValidationFailed(
                "The rota period was not added.",
                [Problem(loc=("starts_on",), msg="A period already starts on that day.")],
            ) from exc
        audit.record(
            actor=access.network_actor(network, actor),
            action="create",
            obj=period,
            changes={
                "organisation": [None, organisation.slug],
                "person": [None, person.email],
                "starts_on": [None, starts_on.isoformat()],
                "ends_on": [None, ends_on.isoformat()],
            },
        )
    return period


def rota_period_update(
    *,
    actor: Actor,
    period_id: int,
    person_email: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> RotaPeriod:
    """Change a period's person (a user of its organisation) or its dates (the coordinator
    only). The dates follow the same rules as adding one: inside the rota's window, no
    overlap, and no gap anywhere in the rota afterwards (so only the rota's first start or last
    end moves alone). A period whose hand-over was acknowledged keeps its dates."""
    problems = date_problems(starts_on, ends_on)
    with transaction.atomic():
        period = period_for(actor, period_id)
        network = period.network
        access.require_coordinator(network, actor, "change the rota")
        Network.objects.select_for_update().filter(pk=network.pk).first()
        period = RotaPeriod.objects.select_related("network", "organisation", "person").get(
            pk=period.pk
        )
        person = period.person
        if person_email is not None:
            found = user_by_email((person_email or "").strip().lower())
            if found is None or not roles_of(found, period.organisation):
                problems.append(
                    Problem(
                        loc=("person",),
                        msg=f"'{str(person_email)[:120]}' is not a user of "
                        f"{period.organisation.name}.",
                    )
                )
            else:
                person = found
        new_start = starts_on or period.starts_on
        new_end = ends_on or period.ends_on
        dates_change = (new_start, new_end) != (period.starts_on, period.ends_on)
        if problems:
            raise ValidationFailed("The rota period was not changed.", problems)
        if dates_change and period.acknowledged_at is not None:
            raise Conflict("The hand-over of this period was acknowledged: its dates stay.")
        if dates_change:
            existing = [_as_period(row) for row in rota_periods(network)]
            clashes = change_problems(
                Period(
                    starts_on=new_start,
                    ends_on=new_end,
                    who=period.organisation.name,
                    id=period.pk,
                ),
                existing,
            )
            if clashes:
                loc = (
                    ("starts_on",) if starts_on and new_start != period.starts_on else ("ends_on",)
                )
                raise ValidationFailed(
                    "The rota period was not changed.",
                    [Problem(loc=loc, msg=message) for message in clashes],
                )
        changes: dict[str, list[Any]] = {}
        if person.pk != period.person_id:
            changes["person"] = [period.person.email, person.email]
        if new_start != period.starts_on:
            changes["starts_on"] = [period.starts_on.isoformat(), new_start.isoformat()]
        if new_end != period.ends_on:
            changes["ends_on"] = [period.ends_on.isoformat(), new_end.isoformat()]
        if not changes:
            return period
        period.person, period.starts_on, period.ends_on = person, new_start, new_end
        try:
            with transaction.atomic():
                period.save(update_fields=["person", "starts_on", "ends_on"])
        except IntegrityError as exc:
            raise ValidationFailed(
                "The rota period was not changed.",
                [Problem(loc=("starts_on",), msg="A period already starts on that day.")],
            ) from exc
        audit.record(
            actor=access.network_actor(network, actor), action="update", obj=period, changes=changes
        )
    return period


def rota_period_delete(*, actor: Actor, period_id: int, today: date | None = None) -> None:
    """Remove a period (the coordinator only): one that has not started yet, or the last one;
    never one between two others (that would leave a gap)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        period = period_for(actor, period_id)
        network = period.network
        access.require_coordinator(network, actor, "change the rota")
        Network.objects.select_for_update().filter(pk=network.pk).first()
        existing = [_as_period(row) for row in rota_periods(network)]
        mine = next((p for p in existing if p.id == period.pk), None)
        if mine is None:  # removed meanwhile
            raise NotFound(f"No rota period {period_id}.")
        if reasons := removal_problems(mine, existing, today):
            raise Conflict(" ".join(reasons))
        audit.record(
            actor=access.network_actor(network, actor),
            action="delete",
            obj=period,
            changes={
                "organisation": [period.organisation.slug, None],
                "person": [period.person.email, None],
                "starts_on": [period.starts_on.isoformat(), None],
                "ends_on": [period.ends_on.isoformat(), None],
            },
        )
        RotaPeriod.objects.filter(pk=period.pk).delete()


def rota_handover_write(*, actor: Actor, period_id: int, notes: str) -> RotaPeriod:
    """The outgoing chair (a user of the period's organisation) or the coordinator writes the
    hand-over: the network's open enquiries are listed automatically; commitments and anything
    borderline go in the notes. It may be rewritten until the incoming chair acknowledges it."""
    notes = (notes or "").strip()
    if reason := text_problem(notes, max_length=HANDOVER_NOTES_MAX, multiline=True):
        raise ValidationFailed(
            "The hand-over was not saved.", [Problem(("notes",), f"Notes {reason}.")]
        )
    if not notes:
        raise ValidationFailed(
            "The hand-over was not saved.", [Problem(("notes",), "Notes are required.")]
        )
    with transaction.atomic():
        period = period_for(actor, period_id, lock=True)
        network = period.network
        if not (is_user_of(actor, period.organisation_id) or access.is_coordinator(network, actor)):
            raise PermissionDenied(
                "Only the outgoing chair or the network coordinator may write the hand-over."
            )
        if period.acknowledged_at is not None:
            raise Conflict("The hand-over has been acknowledged already; it cannot change.")
        listed = [
            {
                "reference": enquiry.reference,
                "status": enquiry.status,
                "category": enquiry.category,
                "respond_by": enquiry.respond_by.isoformat(),
            }
            for enquiry in open_enquiries(network)
        ]
        before = period.handover_notes
        period.handover_notes = notes
        period.handover_open_enquiries = listed
        period.handover_written_at = timezone.now()
        period.handover_written_by = actor.user
        period.save(
            update_fields=[
                "handover_notes",
                "handover_open_enquiries",
                "handover_written_at",
                "handover_written_by",
            ]
        )
        audit.record(
            actor=access.network_actor(network, actor),
            action="handover",
            obj=period,
            changes={
                "handover_notes": [before or None, notes],
                "open_enquiries": [None, [item["reference"] for item in listed]],
            },
        )
    return period


def rota_acknowledge(*, actor: Actor, period_id: int) -> RotaPeriod:
    """The incoming chair (a user of the next period's organisation) acknowledges the
    hand-over once it is written; acknowledging again changes nothing."""
    with transaction.atomic():
        period = period_for(actor, period_id, lock=True)
        network = period.network
        incoming = successor_of(period)
        if incoming is None or not is_user_of(actor, incoming.organisation_id):
            raise PermissionDenied("Only the incoming chair may acknowledge the hand-over.")
        if period.handover_written_at is None:
            raise Conflict("The hand-over has not been written yet.")
        if period.acknowledged_at is not None:
            return period
        period.acknowledged_at = timezone.now()
        period.acknowledged_by = actor.user
        period.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit.record(
            actor=access.network_actor(network, actor),
            action="handover_acknowledged",
            obj=period,
            changes={"acknowledged_by": [None, actor.label]},
        )
    return period


# ------------------------------------------------------------------------- reminders


def _claim_reminder(period: RotaPeriod, today: date) -> bool:
    """At most one reminder per period per day, however many workers run: a conditional
    UPDATE whose row count says whether this worker won the day."""
    return (
        RotaPeriod.objects.filter(pk=period.pk)
        .filter(Q(last_reminded_on__isnull=True) | Q(last_reminded_on__lt=today))
        .update(last_reminded_on=today)
        == 1
    )


def rota_send_reminders(today: date | None = None) -> int:
    """Remind the incoming chair while a written hand-over waits for acknowledgement, and the
    outgoing chair when their period has ended without one. Returns the reminders asked for."""
    today = today or timezone.localdate()
    sent = 0
    waiting = RotaPeriod.objects.filter(
        handover_written_at__isnull=False, acknowledged_at__isnull=True
    ).select_related("network", "network__organisation")
    for period in waiting:
        incoming = successor_of(period)
        # A former member cannot reach the rota to acknowledge: nobody is reminded (the
        # hand-over stays on the rota page for the chairs that follow).
        if incoming is None or not access.is_member(period.network, incoming.organisation):
            continue
        with transaction.atomic():
            if not _claim_reminder(period, today):
                continue
            network = period.network
            request_mail(
                actor=system_actor(network.organisation, "rota reminders"),
                to=[incoming.person.email],
                subject=f"{network.name}: please acknowledge the chair's hand-over",
                body=(
                    f"Dear {incoming.person.full_name or incoming.person.email},\n\n"
                    f"{period.organisation.name} has written the hand-over for the duty period "
                    f"{period.starts_on.isoformat()} to {period.ends_on.isoformat()}. "
                    f"{incoming.organisation.name} is on duty from "
                    f"{incoming.starts_on.isoformat()}: please read it and acknowledge it on "
                    f"the rota page of {network.name}.\n\n"
                    f"Open enquiries handed over: {len(period.handover_open_enquiries)}.\n"
                ),
                about=period,
            )
            sent += 1
    # The most recently ended period of each network, if its hand-over is still unwritten.
    ended = (
        RotaPeriod.objects.filter(ends_on__lt=today, handover_written_at__isnull=True)
        .select_related(
            "network", "network__organisation", "network__coordinator", "organisation", "person"
        )
        .order_by("network_id", "-ends_on")
    )
    seen: set[int] = set()
    for period in ended:
        if period.network_id in seen:
            continue
        seen.add(period.network_id)
        network = period.network
        # A chair whose organisation has left can no longer write it: the coordinator does.
        writer = (
            period.person if access.is_member(network, period.organisation) else network.coordinator
        )
        if writer is None:
            continue
        with transaction.atomic():
            if not _claim_reminder(period, today):
                continue
            request_mail(
                actor=system_actor(network.organisation, "rota reminders"),
                to=[writer.email],
                subject=f"{network.name}: please write the chair's hand-over",
                body=(
                    f"Dear {writer.full_name or writer.email},\n\n"
                    f"The duty period of {period.organisation.name} ended on "
                    f"{period.ends_on.isoformat()}. Please write the hand-over for the next "
                    f"chair on the rota page of {network.name}: the open enquiries are listed "
                    "for you; add the commitments made and anything borderline.\n"
                ),
                about=period,
            )
            sent += 1
    return sent
