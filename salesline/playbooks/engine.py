"""The process engine: playbooks started by what happens, their steps run by the worker.

The pipeline never calls this module. It registers a handler for each event kind a trigger can
name (`stage_entered`, `opportunity_won`, `agreement_signed`, `task_done`, ...); the worker runs
the handler once per event (core.events), and the handler runs every playbook of the
organisation's process definition whose trigger matches. Date-based triggers
(`agreement_ending`, `date_reached`, `every`) are found by a schedule the worker runs
(`run_scheduled_playbooks`).

**Once per occurrence.** A run is a `PlaybookRun` row, unique per (organisation, playbook,
occurrence) — "event:<id>" for an event, "<trigger>:<object>:<date>" for a schedule — inserted
in the same transaction as everything its steps do. A second worker handling the same
occurrence waits on the unique index, then finds it taken and does nothing; a run that fails
for a passing reason (the database) rolls back whole and is retried with its event.

**Idempotent steps.** Re-entering a stage is a new occurrence, so its steps check what is still
pending: a task step does not add a task while the same playbook step's task is open on the
record (a partial unique index says so, not a read), a message step does not draft again while
its previous draft is unsent, a document step reuses the record's existing document, an
agreement step the opportunity's live agreement. Every run and every step's outcome is a row
(`StepRun`) shown on the record's timeline.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.accounts.services import system_actor
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import DomainError, Problem
from salesline.core.models import DomainEvent
from salesline.pipeline.models import Opportunity
from salesline.process.definition import ProcessDefinitionSpec
from salesline.process.selectors import definition_for
from salesline.records.models import Lead

from . import merge, selectors
from .agreement_selectors import agreement_of_opportunity
from .agreement_services import agreement_create
from .definition import (
    EVENT_TRIGGERS,
    SCHEDULED_TRIGGERS,
    STAGE_TRIGGERS,
    Playbook,
    Step,
    Trigger,
    message_templates_of,
    playbooks_of,
)
from .document_catalogue import AGREEMENT, CATALOGUE
from .document_services import document_generate
from .message_services import message_draft, message_send
from .models import Agreement, Document, Message, MessageTemplate, PlaybookRun, StepRun
from .schedules import failure_record
from .task_services import TaskAlreadyOpen, due_date_for, task_create

logger = logging.getLogger(__name__)

HANDLER_PREFIX = "playbooks.on_"


# --- which playbooks an event starts -------------------------------------------------------------


def _matches(trigger: Trigger, event_kind: str, payload: Mapping[str, Any]) -> bool:
    if trigger.kind != event_kind:
        return False
    if trigger.kind in STAGE_TRIGGERS:
        if event_kind == "stage_entered":
            pipeline, stage = payload.get("pipeline"), payload.get("stage")
        else:
            pipeline, stage = payload.get("from_pipeline"), payload.get("from_stage")
        if stage != trigger.stage:
            return False
        return trigger.pipeline is None or trigger.pipeline == pipeline
    if trigger.kind in ("opportunity_won", "opportunity_lost") and trigger.pipeline:
        return payload.get("pipeline") == trigger.pipeline
    if trigger.kind == "task_done":
        return (payload.get("playbook"), payload.get("step")) == (trigger.playbook, trigger.step)
    return True


def playbooks_for_event(
    spec: ProcessDefinitionSpec, event_kind: str, payload: Mapping[str, Any]
) -> list[Playbook]:
    return [p for p in playbooks_of(spec) if _matches(p.trigger, event_kind, payload)]


def _wants(event: DomainEvent) -> bool:
    # Asked in the emitting transaction: only events that start a playbook queue a dispatch.
    spec = definition_for(event.organisation)
    return bool(playbooks_for_event(spec, event.kind, event.payload))


def on_event(event: DomainEvent) -> None:
    """The worker's handler for every trigger event kind."""
    organisation = event.organisation
    if organisation is None:
        return
    spec = definition_for(organisation)
    playbooks = playbooks_for_event(spec, event.kind, event.payload)
    if not playbooks:
        return
    record = _record_of(event)
    if record is None:
        return  # deleted since
    for playbook in playbooks:
        run_playbook(
            organisation=organisation,
            playbook=playbook,
            occurrence=f"event:{event.pk}",
            record=record,
        )


def register_handlers() -> None:
    for kind in EVENT_TRIGGERS:
        events.register(kind, on_event, name=f"{HANDLER_PREFIX}{kind}", wants=_wants)


def _record_of(event: DomainEvent) -> Opportunity | Lead | None:
    lead_id = event.object_id if event.object_type == "lead" else None
    opportunity_id = event.object_id
    if event.object_type in ("agreement", "task"):
        # An agreement's opportunity; a completed task's record (opportunity or lead).
        opportunity_id = str(event.payload.get("opportunity_id") or "")
        lead_id = str(event.payload.get("lead_id") or "") or None
    elif event.object_type != "opportunity":
        opportunity_id = ""
    if lead_id and not opportunity_id:
        return (
            Lead.objects.filter(
                organisation=event.organisation, pk=lead_id, deleted_at__isnull=True
            )
            .select_related("owner")
            .first()
        )
    if not opportunity_id or event.organisation is None:
        return None
    return opportunity_for(event.organisation, opportunity_id)


def opportunity_for(organisation: Organisation, opportunity_id: Any) -> Opportunity | None:
    return (
        Opportunity.objects.filter(
            organisation=organisation, pk=opportunity_id, deleted_at__isnull=True
        )
        .select_related("stage", "company", "primary_contact", "owner")
        .first()
    )


# --- one run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    outcome: str  # StepRun.Outcome
    detail: str
    obj: Any = None


def run_playbook(
    *,
    organisation: Organisation,
    playbook: Playbook,
    occurrence: str,
    record: Opportunity | Lead,
) -> PlaybookRun | None:
    """Run a playbook for one occurrence on one record, once: None when that occurrence ran
    already (here or in another worker)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = PlaybookRun.objects.create(
                    organisation=organisation,
                    playbook=playbook.key,
                    trigger=playbook.trigger.kind,
                    occurrence=occurrence[:120],
                    opportunity=record if isinstance(record, Opportunity) else None,
                    lead=record if isinstance(record, Lead) else None,
                )
        except IntegrityError:
            return None
        actor = system_actor(organisation, label=f"playbook {playbook.key}")
        failed = False
        merge_fields = _MergeFields(actor, record)
        for step in playbook.steps:
            outcome = _run_step(
                actor=actor, run=run, step=step, record=record, merge_fields=merge_fields
            )
            failed = failed or outcome.outcome == StepRun.Outcome.FAILED
            obj = outcome.obj
            StepRun.objects.create(
                run=run,
                step=step.key,
                action=step.action,
                outcome=outcome.outcome,
                detail=outcome.detail[:2000],
                object_type=obj._meta.model_name if obj is not None else "",
                object_id=str(obj.pk) if obj is not None else "",
            )
        run.status = PlaybookRun.Status.FAILED if failed else PlaybookRun.Status.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        audit.record(
            actor=actor,
            action="playbook_run",
            obj=record,
            changes={"playbook": playbook.key, "run": run.pk, "status": run.status},
        )
    return run


class _MergeFields:
    """A run's merge context, built once, when a step first needs it."""

    def __init__(self, actor: Actor, record: Opportunity | Lead):
        self.actor, self.record = actor, record
        self._context: dict[str, Any] | None = None

    def context(self) -> dict[str, Any]:
        if self._context is None:
            self._context = _context(self.actor, self.record)
        return self._context


def _run_step(
    *,
    actor: Actor,
    run: PlaybookRun,
    step: Step,
    record: Opportunity | Lead,
    merge_fields: _MergeFields,
):
    """One step in its own savepoint: a step refused for a reason a person can act on (a missing
    template, an invalid value) is recorded as failed and the others still run; anything else
    (the database) fails the whole run, to be retried."""
    runner = _STEP_RUNNERS[step.action]
    try:
        with transaction.atomic():
            return runner(actor=actor, run=run, step=step, record=record, merge_fields=merge_fields)
    except DomainError as error:
        return StepOutcome(StepRun.Outcome.FAILED, _explain(error))


def _explain(error: DomainError) -> str:
    problems: list[Problem] = error.problems
    if not problems:
        return str(error)
    return "; ".join(
        f"{'.'.join(str(part) for part in p.loc if part not in ('body',))}: {p.msg}".lstrip(": ")
        for p in problems
    )


def _target(record: Opportunity | Lead) -> dict[str, int | None]:
    """The record as filter arguments: {"opportunity_id": ..., "lead_id": ...}."""
    opportunity_id, lead_id = _ids(record)
    return {"opportunity_id": opportunity_id, "lead_id": lead_id}


def _ids(record: Opportunity | Lead) -> tuple[int | None, int | None]:
    if isinstance(record, Lead):
        return None, record.pk
    return record.pk, None


def _context(actor: Actor, record: Opportunity | Lead) -> dict[str, Any]:
    if isinstance(record, Lead):
        return merge.merge_context(organisation=actor.organisation, lead=record)
    return merge.merge_context(
        organisation=actor.organisation,
        opportunity=record,
        agreement=agreement_of_opportunity(actor=actor, opportunity_id=record.pk),
    )


def _task_step(
    *, actor: Actor, run: PlaybookRun, step: Step, record, merge_fields: _MergeFields
) -> StepOutcome:
    params = step.params
    context = merge_fields.context()
    title = merge.render(params["title"], context).strip()[:200] or step.key
    instructions = merge.render(params.get("instructions", ""), context)
    queue = params.get("queue") or ""
    # `assignee` names a user-valued field of the record (definition.ASSIGNEE_FIELDS).
    assignee_id = None if queue else getattr(record, f"{params.get('assignee') or 'owner'}_id")
    days = params.get("due_in_working_days")
    due = (
        due_date_for(organisation=actor.organisation, start=timezone.localdate(), working_days=days)
        if days is not None
        else None
    )
    try:
        task = task_create(
            actor=actor,
            title=title,
            instructions=instructions,
            due_date=due,
            assignee_id=assignee_id,
            queue=queue,
            playbook=run.playbook,
            step=step.key,
            run=run,
            **_target(record),
        )
    except TaskAlreadyOpen as already:
        return StepOutcome(
            StepRun.Outcome.SKIPPED, f"task #{already.task.pk} is still open", already.task
        )
    where = f"the {queue.replace('_', ' ')} queue" if queue else "the owner"
    return StepOutcome(StepRun.Outcome.DONE, f"task “{task.title}” for {where}", task)


def _message_step(
    *, actor: Actor, run: PlaybookRun, step: Step, record, merge_fields: _MergeFields
) -> StepOutcome:
    key = step.params["template"]
    pending = (
        Message.objects.filter(
            organisation=actor.organisation,
            template=key,
            status=Message.Status.DRAFT,
            **_target(record),
        )
        .order_by("-id")
        .first()
    )
    if pending is not None and not step.params.get("send"):
        return StepOutcome(
            StepRun.Outcome.SKIPPED, f"draft #{pending.pk} of “{key}” is still unsent", pending
        )
    opportunity_id, lead_id = _ids(record)
    message = message_draft(
        actor=actor, template_key=key, run=run, opportunity_id=opportunity_id, lead_id=lead_id
    )
    if step.params.get("send"):
        message = message_send(actor=actor, message_id=message.pk)
        return StepOutcome(StepRun.Outcome.DONE, f"“{message.subject}” queued to send", message)
    return StepOutcome(StepRun.Outcome.DONE, f"“{message.subject}” drafted for review", message)


def _document_step(
    *, actor: Actor, run: PlaybookRun, step: Step, record, merge_fields: _MergeFields
) -> StepOutcome:
    key, kind = step.params["template"], step.params.get("format", "pdf")
    existing = (
        Document.objects.filter(organisation=actor.organisation, template=key, **_target(record))
        .order_by("-version")
        .first()
    )
    if existing is not None:
        return StepOutcome(
            StepRun.Outcome.SKIPPED,
            f"{existing.file_name} exists (version {existing.version})",
            existing,
        )
    agreement_id = None
    template = CATALOGUE.get(key)
    if template is not None and template.needs == AGREEMENT and isinstance(record, Opportunity):
        agreement_id = (
            Agreement.objects.filter(organisation=actor.organisation, opportunity=record)
            .exclude(status=Agreement.Status.ENDED)
            .order_by("-id")
            .values_list("pk", flat=True)
            .first()
        )
    opportunity_id, lead_id = _ids(record)
    document = document_generate(
        actor=actor,
        template_key=key,
        format=kind,
        agreement_id=agreement_id,
        opportunity_id=opportunity_id,
        lead_id=lead_id,
    )
    return StepOutcome(StepRun.Outcome.DONE, f"{document.file_name} generated", document)


def _agreement_step(
    *, actor: Actor, run: PlaybookRun, step: Step, record, merge_fields: _MergeFields
) -> StepOutcome:
    if isinstance(record, Lead):
        return StepOutcome(StepRun.Outcome.FAILED, "an agreement needs an opportunity")
    live = (
        Agreement.objects.filter(organisation=actor.organisation, opportunity=record)
        .exclude(status=Agreement.Status.ENDED)
        .first()
    )
    if live is not None:
        return StepOutcome(
            StepRun.Outcome.SKIPPED,
            f"the opportunity has agreement #{live.pk} ({live.status})",
            live,
        )
    params = step.params
    data: dict[str, Any] = {
        "billing_frequency": params.get("billing_frequency", "monthly"),
        "renewal_notice_days": params.get("renewal_notice_days", 60),
        "currency": record.currency or "EUR",
    }
    if record.value is not None:
        data["value"] = record.value
    term = params.get("term_months")
    if term:
        start = timezone.localdate()
        data["start_date"] = start
        data["end_date"] = _add_months(start, term) - timedelta(days=1)
    agreement = agreement_create(actor=actor, opportunity_id=record.pk, data=data)
    return StepOutcome(StepRun.Outcome.DONE, f"agreement #{agreement.pk} drafted", agreement)


_STEP_RUNNERS: dict[str, Callable[..., StepOutcome]] = {
    "task": _task_step,
    "message": _message_step,
    "document": _document_step,
    "agreement": _agreement_step,
}


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of a shorter month)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- message templates from the definition ------------------------------------------------------


def message_templates_check(organisation, spec, lines) -> list[Problem]:
    return []  # loading never loses a template: rows the file no longer lists are kept


def message_templates_materialise(organisation: Organisation, spec: ProcessDefinitionSpec) -> None:
    """Create the templates the definition declares that the organisation does not have yet;
    templates it has (perhaps edited since) are left as they are."""
    declared = message_templates_of(spec)
    if not declared:
        return
    existing = set(
        MessageTemplate.objects.filter(
            organisation=organisation, key__in=[t.key for t in declared]
        ).values_list("key", flat=True)
    )
    MessageTemplate.objects.bulk_create(
        [
            MessageTemplate(
                organisation=organisation,
                key=t.key,
                name=t.name,
                subject=t.subject,
                body=t.body,
                from_email=t.from_email,
                attachments=list(t.attachments),
            )
            for t in declared
            if t.key not in existing
        ]
    )


# --- scheduled triggers --------------------------------------------------------------------------

#: How far back a schedule catches up on occurrences it missed (the worker was down).
CATCH_UP_DAYS = 31

#: The name the playbooks' schedule is registered under (and its failures are recorded with).
SCHEDULE = selectors.SCHEDULE


def run_scheduled_playbooks(today: date | None = None) -> int:
    """Run the playbooks with date triggers whose occurrence is due: agreement_ending,
    date_reached and every. Each occurrence runs once; returns how many ran now.

    A failure stops only what it concerns: an organisation whose definition cannot be read, a
    playbook whose occurrences cannot be found (say a trigger naming a field the data does not
    have), or one occurrence. Each is recorded (schedules.failure_record: the run's report and
    the audit trail, on the record when there is one) and tried again on the next run."""
    today = today or timezone.localdate()
    ran = 0
    for organisation in Organisation.objects.order_by("id"):
        try:
            playbooks = [
                p
                for p in playbooks_of(definition_for(organisation))
                if p.trigger.kind in SCHEDULED_TRIGGERS
            ]
        except Exception as error:
            logger.exception("The playbooks of organisation %s could not be read", organisation.pk)
            failure_record(
                organisation=organisation,
                schedule=SCHEDULE,
                object_type="organisation",
                object_id=organisation.pk,
                due_on=today,
                reason=_reason(error),
            )
            continue
        for playbook in playbooks:
            ran += _run_scheduled(organisation, playbook, today)
    return ran


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _run_scheduled(organisation: Organisation, playbook: Playbook, today: date) -> int:
    """One scheduled playbook's due occurrences in one organisation: how many ran now."""
    about = {"playbook": playbook.key}
    try:
        # Found first, in a savepoint: a query the database refuses leaves the connection usable.
        with transaction.atomic():
            due = list(_due(organisation, playbook.trigger, today))
    except Exception as error:
        logger.exception("The occurrences of playbook %s could not be found", playbook.key)
        failure_record(
            organisation=organisation,
            schedule=SCHEDULE,
            object_type="playbook",
            object_id=playbook.key,
            due_on=today,
            reason=_reason(error),
            about=about,
        )
        return 0
    ran = 0
    for occurrence, due_on, record in due:
        try:
            if run_playbook(
                organisation=organisation, playbook=playbook, occurrence=occurrence, record=record
            ):
                ran += 1
        except Exception as error:  # nothing of the run is kept: it runs again next time
            logger.exception("Playbook %s failed on %s (%s)", playbook.key, record.pk, occurrence)
            failure_record(
                organisation=organisation,
                schedule=SCHEDULE,
                object_type="lead" if isinstance(record, Lead) else "opportunity",
                object_id=record.pk,
                due_on=due_on,
                reason=_reason(error),
                about=about,
            )
    return ran


def _due(
    organisation: Organisation, trigger: Trigger, today: date
) -> Iterable[tuple[str, date, Opportunity]]:
    """(occurrence, the day it falls due, record) of each occurrence of the trigger due in the
    catch-up window."""
    window_start = today - timedelta(days=CATCH_UP_DAYS)
    if trigger.kind == "agreement_ending":
        agreements = Agreement.objects.filter(
            organisation=organisation,
            status=Agreement.Status.SIGNED,
            end_date__isnull=False,
            end_date__gte=today,
        ).select_related("opportunity")
        for agreement in agreements:
            notice = (
                trigger.days_before
                if trigger.days_before is not None
                else agreement.renewal_notice_days
            )
            if agreement.end_date is None:
                continue
            notice_on = agreement.end_date - timedelta(days=notice)
            if window_start <= notice_on <= today:
                record = opportunity_for(organisation, agreement.opportunity_id)
                if record is not None:
                    yield f"ending:{agreement.pk}:{notice_on.isoformat()}", notice_on, record
    elif trigger.kind == "date_reached" and trigger.field:
        offset = timedelta(days=trigger.days_after - (trigger.days_before or 0))
        # The field's date + offset is due between the window's start and today.
        low, high = window_start - offset, today - offset
        opportunities = Opportunity.objects.filter(
            organisation=organisation, deleted_at__isnull=True, status=Opportunity.Status.OPEN
        )
        if _is_column(trigger.field):
            matching = opportunities.filter(
                **{f"{trigger.field}__gte": low, f"{trigger.field}__lte": high}
            ).values_list("pk", trigger.field)
        else:  # a custom date field, kept as ISO text in the JSON column
            key = f"custom_fields__{trigger.field}"
            matching = opportunities.filter(
                **{f"{key}__gte": low.isoformat(), f"{key}__lte": high.isoformat()}
            ).values_list("pk", key)
        for pk, value in matching:
            day = _as_date(value)
            if day is None:
                continue
            record = opportunity_for(organisation, pk)
            if record is not None:
                due_on = day + offset
                yield f"date:{trigger.field}:{pk}:{due_on.isoformat()}", due_on, record
    elif trigger.kind == "every":
        for anchor, record in _anchors(organisation, trigger, today):
            occurs_on = _latest_occurrence(anchor, trigger, today)
            if occurs_on is not None and occurs_on >= window_start:
                yield f"every:{record.pk}:{occurs_on.isoformat()}", occurs_on, record


def _is_column(field: str) -> bool:
    """A built-in opportunity field (a column); anything else the checker let through is a
    custom field, a key of `custom_fields`."""
    return field in {f.name for f in Opportunity._meta.get_fields()}


def _as_date(value: Any) -> date | None:
    """A stored date: a column's date, or a custom field's ISO text. A custom value that is no
    date (the field was text before it became a date) counts as not set."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _anchors(
    organisation: Organisation, trigger: Trigger, today: date
) -> Iterable[tuple[date, Opportunity]]:
    if trigger.after in ("signed_on", "start_date"):
        agreements = Agreement.objects.filter(
            organisation=organisation, status=Agreement.Status.SIGNED
        ).exclude(**{f"{trigger.after}__isnull": True})
        for agreement in agreements:
            if agreement.end_date is not None and agreement.end_date < today:
                continue
            record = opportunity_for(organisation, agreement.opportunity_id)
            if record is not None:
                yield getattr(agreement, trigger.after), record
    elif trigger.after == "won":
        won = Opportunity.objects.filter(
            organisation=organisation, deleted_at__isnull=True, status=Opportunity.Status.WON
        ).values_list("pk", "closed_at")
        for pk, closed_at in won:
            record = opportunity_for(organisation, pk)
            if record is not None and closed_at is not None:
                yield timezone.localdate(closed_at), record
    elif trigger.after:
        # An opportunity date field, built-in or custom (custom ones live in the JSON column).
        field = trigger.after if _is_column(trigger.after) else f"custom_fields__{trigger.after}"
        rows = Opportunity.objects.filter(
            organisation=organisation, deleted_at__isnull=True, **{f"{field}__isnull": False}
        ).values_list("pk", field)
        for pk, value in rows:
            day = _as_date(value)
            if day is None:
                continue
            record = opportunity_for(organisation, pk)
            if record is not None:
                yield day, record


def _latest_occurrence(anchor: date, trigger: Trigger, today: date) -> date | None:
    """The latest occurrence anchor + n intervals (n >= 1, at most `times`) on or before today."""
    if today <= anchor:
        return None
    if trigger.months:
        elapsed = (today.year - anchor.year) * 12 + today.month - anchor.month
        count = elapsed // trigger.months
        if count and _add_months(anchor, trigger.months * count) > today:
            count -= 1  # the day of the month is still ahead
    else:
        count = (today - anchor).days // (trigger.weeks * 7 + trigger.days)
    if trigger.times is not None:
        count = min(count, trigger.times)
    if count < 1:
        return None
    if trigger.months:
        return _add_months(anchor, trigger.months * count)
    return anchor + timedelta(days=(trigger.weeks * 7 + trigger.days) * count)
