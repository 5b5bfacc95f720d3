"""Writes of agreements: an opportunity's service agreement from draft to signed and ended.

Signing is the executed close: in one transaction the agreement becomes signed and the
opportunity moves, through `opportunity_move`, into the stage of its pipeline whose gate
requires the signed agreement (`partner` in the partnerships template). A move refused for any
other reason signs nothing. See docs/agreements.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, ProblemList, ValidationFailed
from salesline.pipeline import services as pipeline_services
from salesline.pipeline.definition import pipeline_of
from salesline.pipeline.models import Opportunity, Stage
from salesline.process.selectors import definition_in_force
from salesline.records.services import check_version

from .models import Agreement

Status = Agreement.Status

#: The fact a gate's `require` names for the executed close (registered in wiring.py).
SIGNED_AGREEMENT = "signed_agreement"

#: The terms: what a signed agreement can no longer change.
TERMS = (
    "start_date",
    "end_date",
    "value",
    "currency",
    "billing_frequency",
    "renewal_notice_days",
)
EDITABLE = (*TERMS, "status")
#: Accepted in an edit so a client can send back what it read; an edit never changes them
#: (signing sets `signed_on`; an agreement stays with its opportunity).
READ_BACK = ("signed_on", "opportunity_id")
RENEWAL_NOTICE_MAX = 730  # days: two years' notice is the longest anyone gives
VALUE_MAX = Decimal("99999999999999.99")  # the column's 16 digits, 2 after the point

# Where an agreement may go from each status by an edit; `signed` only by signing (it moves the
# opportunity), `ended` only from signed. Skipping forward (a draft signed as it is) is allowed.
_ORDER = (Status.DRAFT, Status.SHARED, Status.READY_TO_SIGN, Status.SIGNED, Status.ENDED)
_BEFORE_SIGNING = frozenset({Status.DRAFT, Status.SHARED, Status.READY_TO_SIGN})


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------- parsing


def _parse_date(value: Any, name: str, problems: ProblemList) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add((name,), f"{_LABELS[name]} must be a date (YYYY-MM-DD).")
    return None


def _parse_value(value: Any, problems: ProblemList) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        problems.add(("value",), "Value must be a number.")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(("value",), "Value must be a number.")
        return None
    if not number.is_finite():
        problems.add(("value",), "Value must be a number.")
    elif number < 0:
        problems.add(("value",), "Value cannot be negative.")
    elif number > VALUE_MAX:
        problems.add(("value",), f"Value must be at most {VALUE_MAX}.")
    elif number != number.quantize(Decimal("0.01")):
        problems.add(("value",), "Value has at most two decimal places.")
    else:
        return number.quantize(Decimal("0.01"))
    return None


def _parse_currency(value: Any, problems: ProblemList) -> str | None:
    if isinstance(value, str) and len(value.strip()) == 3 and value.strip().isascii():
        text = value.strip()
        if text.isalpha():
            return text.upper()
    problems.add(("currency",), "Currency must be a three-letter ISO code such as EUR.")
    return None


def _parse_frequency(value: Any, problems: ProblemList) -> str | None:
    if value in Agreement.Billing.values:
        return str(value)
    problems.add(
        ("billing_frequency",),
        f"Billing frequency must be one of: {', '.join(Agreement.Billing.values)}.",
    )
    return None


def _parse_notice(value: Any, problems: ProblemList) -> int | None:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= RENEWAL_NOTICE_MAX:
        return value
    problems.add(
        ("renewal_notice_days",),
        f"Renewal notice must be a whole number of days from 0 to {RENEWAL_NOTICE_MAX}.",
    )
    return None


_LABELS = {
    "start_date": "Start date",
    "end_date": "End date",
    "signed_on": "Signed on",
}


def _parsed_terms(data: Mapping[str, Any], problems: ProblemList) -> dict[str, Any]:
    """The terms `data` gives, parsed; each bad one reported. Unknown keys are reported too."""
    for key in data:
        if key not in EDITABLE and key not in READ_BACK:
            problems.add((key,), f"Unknown field '{key}'.")
    parsed: dict[str, Any] = {}
    if "start_date" in data:
        parsed["start_date"] = _parse_date(data["start_date"], "start_date", problems)
    if "end_date" in data:
        parsed["end_date"] = _parse_date(data["end_date"], "end_date", problems)
    if "value" in data:
        parsed["value"] = _parse_value(data["value"], problems)
    if "currency" in data:
        parsed["currency"] = _parse_currency(data["currency"], problems)
    if "billing_frequency" in data:
        parsed["billing_frequency"] = _parse_frequency(data["billing_frequency"], problems)
    if "renewal_notice_days" in data:
        parsed["renewal_notice_days"] = _parse_notice(data["renewal_notice_days"], problems)
    return parsed


def _check_dates(start: date | None, end: date | None, problems: ProblemList) -> None:
    if start is not None and end is not None and end < start:
        problems.add(("end_date",), "End date cannot be before the start date.")


def _signed_on_changed(
    agreement: Agreement | None, data: Mapping[str, Any], problems: ProblemList
) -> bool:
    """`signed_on` in a create or an edit. The date the agreement has (null before signing)
    changes nothing: a client may send back what it read. Another date on an agreement not yet
    signed is refused (422), pointing to signing: signing moves the opportunity (the executed
    close), which an edit must not do as a side effect. True when it would change a signed
    agreement's date (null included), which the caller refuses like any signed term (409)."""
    if "signed_on" not in data:
        return False
    errors = len(problems.problems)
    signed_on = _parse_date(data["signed_on"], "signed_on", problems)
    if len(problems.problems) > errors:
        return False
    current = agreement.signed_on if agreement is not None else None
    if signed_on == current:
        return False
    if current is not None:
        return True
    where = (
        f"POST /api/v1/agreements/{agreement.pk}/sign"
        if agreement is not None
        else "POST /api/v1/agreements/{id}/sign once it is drafted"
    )
    problems.add(
        ("signed_on",),
        f"Signed on is set by signing the agreement ({where}, or Sign on the Agreement panel), "
        "which also moves the opportunity; an edit cannot set it.",
    )
    return False


def _check_status_change(current: str, wanted: Any, problems: ProblemList) -> str | None:
    """The new status of an edit, or None (reported) when the edit cannot make it."""
    if wanted not in Status.values:
        problems.add(("status",), f"Status must be one of: {', '.join(Status.values)}.")
        return None
    if wanted == current:
        return str(wanted)
    if wanted == Status.SIGNED:
        problems.add(
            ("status",),
            "An agreement is signed by signing it (with the date it was signed), which also "
            "moves the opportunity; an edit cannot sign it.",
        )
        return None
    if wanted == Status.ENDED and current != Status.SIGNED:
        problems.add(("status",), "Only a signed agreement can end.")
        return None
    if wanted in _BEFORE_SIGNING and _ORDER.index(wanted) < _ORDER.index(current):
        problems.add(
            ("status",),
            f"An agreement goes from draft to shared to ready to sign: it cannot go back from "
            f"{Status(current).label.lower()} to {Status(wanted).label.lower()}.",
        )
        return None
    return str(wanted)


# ---------------------------------------------------------------- reads the writes need


def _opportunity(actor: Actor, opportunity_id: Any, problems: ProblemList) -> Opportunity | None:
    if isinstance(opportunity_id, bool) or not isinstance(opportunity_id, int):
        problems.add(("opportunity_id",), "Opportunity must be the id of an opportunity.")
        return None
    opportunity = (
        Opportunity.objects.select_for_update()
        .filter(organisation=actor.organisation, pk=opportunity_id, deleted_at=None)
        .first()
    )
    if opportunity is None:
        problems.add(("opportunity_id",), f"No opportunity with id {opportunity_id}.")
    return opportunity


def _locked(actor: Actor, agreement_id: Any) -> Agreement:
    agreement = (
        Agreement.objects.select_for_update()
        .filter(
            organisation=actor.organisation, pk=agreement_id, opportunity__deleted_at__isnull=True
        )
        .first()
    )
    if agreement is None:
        raise NotFound(f"No agreement with id {agreement_id}.")
    return agreement


def _save(agreement: Agreement, fields: list[str]) -> None:
    agreement.version += 1
    agreement.updated_at = timezone.now()
    agreement.save(update_fields=[*fields, "version", "updated_at"])


# ---------------------------------------------------------------- services


def agreement_create(
    *, actor: Actor, opportunity_id: int, data: Mapping[str, Any] | None = None
) -> Agreement:
    """A new agreement for the opportunity (a draft unless `data` says shared or ready to sign).
    An opportunity has one agreement at a time: another one that has not ended is a conflict."""
    data = dict(data or {})
    data.pop("opportunity_id", None)
    problems = ProblemList()
    with transaction.atomic():
        opportunity = _opportunity(actor, opportunity_id, problems)
        terms = _parsed_terms(data, problems)
        _signed_on_changed(None, data, problems)
        status = str(Status.DRAFT)
        if "status" in data:
            status = _check_status_change(Status.DRAFT, data["status"], problems) or status
            if status == Status.ENDED:
                problems.add(("status",), "Only a signed agreement can end.")
        _check_dates(terms.get("start_date"), terms.get("end_date"), problems)
        problems.raise_if_any("The agreement was not saved.")
        assert opportunity is not None  # noqa: S101 - no problem means it was found
        live = (
            Agreement.objects.filter(organisation=actor.organisation, opportunity=opportunity)
            .exclude(status=Status.ENDED)
            .first()
        )
        if live is not None:
            raise Conflict(
                f"{opportunity.name} has an agreement already (#{live.pk}, "
                f"{Status(live.status).label.lower()}): edit that one, or end it first."
            )
        agreement = Agreement(organisation=actor.organisation, opportunity=opportunity)
        for name, value in terms.items():
            if value is not None or name in ("start_date", "end_date", "value"):
                setattr(agreement, name, value)
        agreement.status = status
        agreement.save()
        audit.record(
            actor=actor,
            action="create",
            obj=agreement,
            changes={
                name: [None, _json(getattr(agreement, name))]
                for name in (*TERMS, "status", "opportunity_id")
            },
        )
        events.emit(
            actor=actor,
            kind="agreement_created",
            obj=agreement,
            payload={"agreement_id": agreement.pk, "opportunity_id": opportunity.pk},
        )
    return agreement


def agreement_update(
    *,
    actor: Actor,
    agreement_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Agreement:
    """Edit the terms and/or the status (draft -> shared -> ready to sign; signed -> ended).
    A signed or ended agreement's terms cannot change (409): they are what was signed."""
    with transaction.atomic():
        agreement = _locked(actor, agreement_id)
        check_version(agreement, expected_version)
        problems = ProblemList()
        terms = _parsed_terms(data, problems)
        changed_terms = {
            name: value
            for name, value in terms.items()
            if name not in {p.loc[0] for p in problems.problems}
            and value != getattr(agreement, name)
        }
        if "opportunity_id" in data and data["opportunity_id"] != agreement.opportunity_id:
            problems.add(
                ("opportunity_id",),
                f"An agreement stays with its opportunity (#{agreement.opportunity_id}): draft "
                "a new one for the other opportunity instead.",
            )
        conflicting = list(changed_terms)
        if _signed_on_changed(agreement, data, problems):
            conflicting.append("signed_on")
        if agreement.status in (Status.SIGNED, Status.ENDED) and conflicting:
            raise Conflict(
                f"This agreement is {Status(agreement.status).label.lower()}: its terms "
                f"({', '.join(conflicting)}) cannot change. Draft a new agreement instead."
            )
        status = agreement.status
        if "status" in data:
            status = _check_status_change(agreement.status, data["status"], problems) or status
        _check_dates(
            terms.get("start_date", agreement.start_date),
            terms.get("end_date", agreement.end_date),
            problems,
        )
        problems.raise_if_any("The agreement was not changed.")
        changes = {
            name: [_json(getattr(agreement, name)), _json(value)]
            for name, value in changed_terms.items()
            if name in ("start_date", "end_date", "value") or value is not None
        }
        if status != agreement.status:
            changes["status"] = [agreement.status, status]
        if not changes:
            return agreement
        for name in changes:
            setattr(agreement, name, changed_terms.get(name, status))
        _save(agreement, list(changes))
        audit.record(actor=actor, action="update", obj=agreement, changes=changes)
        if "status" in changes:
            _emit_status(actor, agreement)
    return agreement


def _emit_status(actor: Actor, agreement: Agreement) -> None:
    kind = {
        Status.SHARED: "agreement_shared",
        Status.READY_TO_SIGN: "agreement_ready_to_sign",
        Status.ENDED: "agreement_ended",
    }.get(Status(agreement.status))
    if kind:
        events.emit(
            actor=actor,
            kind=kind,
            obj=agreement,
            payload={"agreement_id": agreement.pk, "opportunity_id": agreement.opportunity_id},
        )


def _set_status(actor: Actor, agreement_id: int, wanted: str, allowed_from: set[str]) -> Agreement:
    with transaction.atomic():
        agreement = _locked(actor, agreement_id)
        if agreement.status not in allowed_from:
            now = Status(agreement.status).label.lower()
            raise Conflict(
                f"This agreement is {now}: it cannot become {Status(wanted).label.lower()}."
            )
        before = agreement.status
        agreement.status = wanted
        _save(agreement, ["status"])
        audit.record(
            actor=actor, action="update", obj=agreement, changes={"status": [before, wanted]}
        )
        _emit_status(actor, agreement)
    return agreement


def agreement_share(*, actor: Actor, agreement_id: int) -> Agreement:
    """Draft -> shared: the draft contract went to the other party."""
    return _set_status(actor, agreement_id, Status.SHARED, {Status.DRAFT})


def agreement_mark_ready(*, actor: Actor, agreement_id: int) -> Agreement:
    """Draft or shared -> ready to sign: negotiation is over."""
    return _set_status(actor, agreement_id, Status.READY_TO_SIGN, {Status.DRAFT, Status.SHARED})


def agreement_end(*, actor: Actor, agreement_id: int) -> Agreement:
    """Signed -> ended (no more invoices or renewal reminders)."""
    return _set_status(actor, agreement_id, Status.ENDED, {Status.SIGNED})


def closing_stage(actor: Actor, opportunity: Opportunity) -> Stage | None:
    """The stage of the opportunity's pipeline whose gate requires the signed agreement, if it
    has one (its row, read with the definition in force)."""
    from salesline.pipeline import selectors as pipeline_selectors

    version, spec = definition_in_force(actor.organisation)
    try:
        stages = pipeline_of(spec, opportunity.pipeline.key).stages
    except KeyError:
        return None
    for stage in stages:
        if SIGNED_AGREEMENT in stage.gate.require:
            return pipeline_selectors.stage_for(
                actor=actor,
                version=version,
                pipeline_key=opportunity.pipeline.key,
                stage_key=stage.key,
            )
    return None


def signing_moves_to(actor: Actor, opportunity: Opportunity) -> Stage | None:
    """Where signing moves the opportunity: the closing stage, unless the opportunity is there
    or beyond it already (a later open stage, or won). A lost opportunity is moved: signing
    wins it back."""
    target = closing_stage(actor, opportunity)
    if target is None:
        return None
    current = opportunity.stage
    if current.pk == target.pk or current.kind == Stage.Kind.WON:
        return None
    if current.kind == Stage.Kind.OPEN and current.position > target.position:
        return None
    return target


def agreement_sign(
    *,
    actor: Actor,
    agreement_id: int,
    signed_on: date,
    expected_version: int | None = None,
) -> Agreement:
    """The executed close: sign the agreement and move its opportunity into the stage whose
    gate requires it, in one transaction. If that move is refused (another gate criterion is
    unmet), nothing is signed and the 422 lists what is missing. Signing twice is a conflict."""
    problems = ProblemList()
    signed_date = _parse_date(signed_on, "signed_on", problems)
    if signed_on is None or signed_on == "":
        problems.add(("signed_on",), "Signed on is required: the date the agreement was signed.")
    with transaction.atomic():
        agreement = _locked(actor, agreement_id)
        check_version(agreement, expected_version)
        if agreement.status in (Status.SIGNED, Status.ENDED):
            raise Conflict(
                f"This agreement was signed already, on {agreement.signed_on.isoformat()}."
                if agreement.signed_on
                else "This agreement was signed already."
            )
        if agreement.start_date is None:
            problems.add(("start_date",), "Start date is required to sign the agreement.")
        if agreement.value is None:
            problems.add(("value",), "Value is required to sign the agreement.")
        problems.raise_if_any("The agreement was not signed.")
        assert signed_date is not None  # noqa: S101 - no problem means it parsed
        before = agreement.status
        agreement.status, agreement.signed_on = Status.SIGNED, signed_date
        _save(agreement, ["status", "signed_on"])
        audit.record(
            actor=actor,
            action="sign",
            obj=agreement,
            changes={
                "status": [before, Status.SIGNED],
                "signed_on": [None, signed_date.isoformat()],
            },
        )
        opportunity = Opportunity.objects.select_related("pipeline", "stage").get(
            pk=agreement.opportunity_id
        )
        target = signing_moves_to(actor, opportunity)
        if target is not None:
            try:
                pipeline_services.opportunity_move(
                    actor=actor, opportunity_id=opportunity.pk, stage=target.key
                )
            except ValidationFailed as refused:
                raise ValidationFailed(
                    f"The agreement was not signed: {opportunity.name} cannot move to "
                    f"{target.name} yet.",
                    refused.problems,
                ) from refused
        events.emit(
            actor=actor,
            kind="agreement_signed",
            obj=agreement,
            payload={
                "agreement_id": agreement.pk,
                "opportunity_id": opportunity.pk,
                "signed_on": signed_date.isoformat(),
            },
        )
    return agreement
