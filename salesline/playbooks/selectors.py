"""Reads of playbook runs, scoped by actor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from salesline.accounts.models import Role
from salesline.core.actors import Actor
from salesline.core.models import AuditEvent
from salesline.pipeline.definition import pipelines_of
from salesline.process.selectors import definition_for

from .agreement_schedules import ESCALATION_QUEUE, invoice_queue
from .definition import SCHEDULED_TRIGGERS, Playbook, Step, playbooks_of
from .document_catalogue import CATALOGUE
from .models import Agreement, MessageTemplate, PlaybookRun
from .schedules import FAILURE_RECORDED_EVERY

#: The playbooks' schedule (engine.SCHEDULE; the engine is not imported by the selectors).
SCHEDULE = "playbooks"
#: How long a scheduled playbook's failure shows on the settings page: a failure that persists
#: is recorded again once a day, so it stays in view until it is fixed.
FAILURE_SHOWN_FOR = FAILURE_RECORDED_EVERY + dt.timedelta(hours=1)


def run_list(
    *, actor: Actor, opportunity_id: int | None = None, lead_id: int | None = None, limit: int = 100
) -> QuerySet[PlaybookRun]:
    """A record's playbook runs, newest first, with their steps (two queries)."""
    runs = PlaybookRun.objects.filter(organisation=actor.organisation)
    if opportunity_id is not None:
        runs = runs.filter(opportunity_id=opportunity_id)
    if lead_id is not None:
        runs = runs.filter(lead_id=lead_id)
    return runs.prefetch_related("steps").order_by("-started_at", "-id")[:limit]


def playbook_index(*, actor: Actor) -> dict[str, Playbook]:
    """The playbooks of the definition in force, by key (runs name them by key)."""
    return {p.key: p for p in playbooks_of(definition_for(actor.organisation))}


@dataclass(frozen=True)
class PlaybookOverview:
    playbook: Playbook
    when: str
    steps: tuple[str, ...]
    runs: int
    failed_runs: int
    #: The latest failure of its schedule (finding its occurrences, or running one), if recent.
    failure: str = ""
    failed_at: dt.datetime | None = None


def playbook_overview(*, actor: Actor) -> list[PlaybookOverview]:
    """The definition's playbooks in words, with how often each ran and failed (one query), and
    the latest recent failure of each scheduled one (one query each)."""
    spec = definition_for(actor.organisation)
    stage_names = {
        (pipeline.key, stage.key): (stage.name, pipeline.name)
        for pipeline in pipelines_of(spec)
        for stage in pipeline.stages
    }
    templates = {
        t.key: t.name
        for t in MessageTemplate.objects.filter(organisation=actor.organisation).only("key", "name")
    }
    counts = {
        (row["playbook"], row["status"]): row["n"]
        for row in PlaybookRun.objects.filter(organisation=actor.organisation)
        .values("playbook", "status")
        .annotate(n=Count("id"))
    }
    failures = recent_schedule_failures(
        actor=actor,
        playbooks=[p.key for p in playbooks_of(spec) if p.trigger.kind in SCHEDULED_TRIGGERS],
    )
    by_key = {p.key: p for p in playbooks_of(spec)}
    overview = []
    for playbook in playbooks_of(spec):
        runs = sum(n for (key, _), n in counts.items() if key == playbook.key)
        failed_at, failure = failures.get(playbook.key, (None, ""))
        overview.append(
            PlaybookOverview(
                playbook=playbook,
                when=_when(playbook.trigger, stage_names, by_key),
                steps=tuple(_step_words(step, templates) for step in playbook.steps),
                runs=runs,
                failed_runs=counts.get((playbook.key, PlaybookRun.Status.FAILED), 0),
                failure=failure,
                failed_at=failed_at,
            )
        )
    return overview


@dataclass(frozen=True)
class BuiltInSchedule:
    name: str
    does: str


def built_in_schedules(*, actor: Actor) -> list[BuiltInSchedule]:
    """What the worker does besides the playbooks, for every organisation whatever its
    definition (agreement_schedules), in words: invoicing and the renewal tickler. One query:
    the notice periods of the organisation's signed agreements."""
    roles = dict(Role.choices)
    notices = sorted(
        set(
            Agreement.objects.filter(
                organisation=actor.organisation, status=Agreement.Status.SIGNED
            ).values_list("renewal_notice_days", flat=True)
        )
    )
    default_notice = Agreement._meta.get_field("renewal_notice_days").default
    signed = (
        f"the signed agreements now have {_and_list([str(n) for n in notices])} days"
        if notices
        else "no agreement is signed yet"
    )
    queue = invoice_queue()
    return [
        BuiltInSchedule(
            name="Invoicing",
            does=(
                "invoicing in advance for signed agreements: on the start date and on the same "
                "day of each following billing period, a numbered invoice PDF (the total split "
                "evenly over the periods) and a task to send it in the "
                f"{roles.get(queue, queue).lower()} queue"
            ),
        ),
        BuiltInSchedule(
            name="Renewal tickler",
            does=(
                "the renewal tickler, N days before each signed agreement ends, N being its "
                f"renewal notice ({default_notice} days unless the agreement says otherwise; "
                f"{signed}): a renewal task for the opportunity's owner and a renewal notice "
                "(the document, and a drafted message when there is a renewal-notice message "
                "template); a renewal task still open on the end date goes to the "
                f"{roles[ESCALATION_QUEUE].lower()} queue"
            ),
        ),
    ]


def _and_list(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def recent_schedule_failures(
    *, actor: Actor, playbooks: list[str]
) -> dict[str, tuple[dt.datetime, str]]:
    """playbook key -> (when, error) of its schedule's latest failure (schedules.failure_record
    writes them to the audit trail) in the last FAILURE_SHOWN_FOR. One query per playbook (a
    definition has a handful), each the newest row of the organisation's recent failures."""
    recent = AuditEvent.objects.filter(
        organisation=actor.organisation,
        at__gte=timezone.now() - FAILURE_SHOWN_FOR,
        action="schedule_failed",
        changes__schedule=SCHEDULE,
    ).order_by("-at", "-id")
    latest: dict[str, tuple[dt.datetime, str]] = {}
    for key in playbooks:
        row = recent.filter(changes__playbook=key).values_list("at", "changes").first()
        if row is not None:
            at, changes = row
            latest[key] = (at, str(changes.get("error", "")) if isinstance(changes, dict) else "")
    return latest


def _stage_words(trigger, stage_names) -> str:
    for (pipeline, stage), (stage_name, pipeline_name) in stage_names.items():
        if stage == trigger.stage and trigger.pipeline in (None, pipeline):
            return f"{stage_name} ({pipeline_name})"
    return trigger.stage or ""


def _when(trigger, stage_names, playbooks: dict[str, Playbook]) -> str:
    kind = trigger.kind
    if kind == "task_done":
        named = playbooks.get(trigger.playbook or "")
        step = next((s for s in named.steps if s.key == trigger.step), None) if named else None
        what = f"“{step.name}”" if step is not None and step.name else f"step {trigger.step}"
        return f"The task of {what} in {named.name if named else trigger.playbook} is done"
    if kind == "stage_entered":
        return f"An opportunity enters {_stage_words(trigger, stage_names)}"
    if kind == "stage_left":
        return f"An opportunity leaves {_stage_words(trigger, stage_names)}"
    if kind == "lead_created":
        return "A lead is created"
    if kind in ("opportunity_won", "opportunity_lost"):
        return f"An opportunity is {kind.removeprefix('opportunity_')}"
    if kind == "agreement_signed":
        return "A service agreement is signed"
    if kind == "agreement_ending":
        if trigger.days_before is None:
            return "A signed agreement reaches its renewal notice date"
        return f"{trigger.days_before} days before a signed agreement ends"
    field = (trigger.field or trigger.after or "").replace("_", " ")
    if kind == "date_reached":
        if trigger.days_before:
            return f"{trigger.days_before} days before an open opportunity's {field}"
        if trigger.days_after:
            return f"{trigger.days_after} days after an open opportunity's {field}"
        return f"An open opportunity's {field} is reached"
    unit, count = next(
        (name, n)
        for name, n in (("month", trigger.months), ("week", trigger.weeks), ("day", trigger.days))
        if n
    )
    anchor = {
        "start_date": "the agreement's start",
        "signed_on": "the agreement's signature",
        "won": "the opportunity is won",
    }.get(trigger.after or "", field)
    every = f"every {count} {unit}s" if count > 1 else f"every {unit}"
    limit = f", at most {trigger.times} times" if trigger.times else ""
    return f"{every.capitalize()} after {anchor}{limit}"


def _step_words(step: Step, templates: dict[str, str]) -> str:
    params = step.params
    if step.action == "task":
        who = (
            f"the {params['queue'].replace('_', ' ')} queue"
            if params.get("queue")
            else "the record's owner"
        )
        days = params.get("due_in_working_days")
        due = f", due in {days} working day{'s' if days != 1 else ''}" if days is not None else ""
        return f"Task “{params['title']}” for {who}{due}"
    if step.action == "message":
        name = templates.get(params["template"], params["template"])
        how = "Send" if params.get("send") else "Draft for review"
        return f"{how} the message “{name}”"
    if step.action == "document":
        template = CATALOGUE.get(params["template"])
        name = template.name if template else params["template"]
        return f"Generate the document “{name}” ({params.get('format', 'pdf').upper()})"
    frequency = params.get("billing_frequency", "monthly")
    term = f", {params['term_months']} months" if params.get("term_months") else ""
    return f"Draft the service agreement (billed {frequency}{term})"
