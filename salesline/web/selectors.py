"""Reads that only pages need, scoped by actor like every selector."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from salesline.accounts.selectors import member_list
from salesline.core.actors import Actor
from salesline.core.models import AuditEvent
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline.definition import pipelines_of
from salesline.pipeline.gates import DEFAULT_STALLED_DAYS
from salesline.pipeline.models import Opportunity, Stage, StageChange
from salesline.playbooks import selectors as playbook_selectors
from salesline.playbooks.message_selectors import message_timeline
from salesline.playbooks.task_selectors import task_timeline_events
from salesline.process.selectors import definition_for
from salesline.records.fields import KINDS
from salesline.records.models import Note
from salesline.records.selectors import note_list

from .formatting import money_totals


@dataclass(frozen=True)
class StageSummary:
    pipeline: str
    stage: str
    count: int
    # The open value per currency: amounts in different currencies are never added up.
    values: dict[str, Decimal] = field(default_factory=dict)
    pipeline_key: str = ""
    stage_key: str = ""

    @property
    def value_text(self) -> str:
        return money_totals(self.values)


def _my_open(actor: Actor) -> QuerySet:
    return Opportunity.objects.filter(
        organisation=actor.organisation,
        owner=actor.user,
        deleted_at=None,
        status=Opportunity.Status.OPEN,
    )


def my_open_opportunities_by_stage(*, actor: Actor) -> list[StageSummary]:
    """The actor's open opportunities, counted per stage and summed per stage and currency, in
    pipeline order."""
    rows = (
        _my_open(actor)
        .values(
            "pipeline__name",
            "pipeline__position",
            "pipeline__key",
            "stage__name",
            "stage__position",
            "stage__key",
            "currency",
        )
        .annotate(count=Count("id"), value=Sum("value"))
        .order_by("pipeline__position", "pipeline__name", "stage__position", "currency")
    )
    stages: dict[tuple[str, str], StageSummary] = {}
    for r in rows:
        key = (r["pipeline__key"], r["stage__key"])
        summary = stages.get(key) or StageSummary(
            r["pipeline__name"],
            r["stage__name"],
            0,
            {},
            r["pipeline__key"],
            r["stage__key"],
        )
        if r["value"] is not None:
            summary.values[r["currency"]] = r["value"]
        stages[key] = replace(summary, count=summary.count + r["count"])
    return list(stages.values())


@dataclass(frozen=True)
class Attention:
    """What needs the actor today among their open opportunities: each list the first `limit`
    (soonest first, or longest idle first), with how many there are in all."""

    overdue: list[Opportunity]
    overdue_count: int
    closing: list[Opportunity]
    closing_count: int
    stalled: list[Opportunity]
    stalled_count: int
    today: dt.date
    closing_until: dt.date

    @property
    def overdue_until(self) -> dt.date:
        return self.today - dt.timedelta(days=1)

    @property
    def stalled_more(self) -> int:
        return self.stalled_count - len(self.stalled)


CLOSING_DAYS = 14


def _stalled_cutoffs(actor: Actor, now: dt.datetime) -> Case:
    """Per stage, the moment before which an opportunity's last activity makes it stalled:
    each stage's `stalled_after_days` from the process definition (DEFAULT_STALLED_DAYS when it
    has none, or when the definition no longer has the stage)."""
    days = {
        (pipeline.key, stage.key): stage.stalled_days
        for pipeline in pipelines_of(definition_for(actor.organisation))
        for stage in pipeline.stages
    }
    stages = Stage.objects.filter(pipeline__organisation=actor.organisation).values_list(
        "pk", "pipeline__key", "key"
    )
    whens = [
        When(stage_id=pk, then=Value(now - dt.timedelta(days=days[(pipeline, key)])))
        for pk, pipeline, key in stages
        if days.get((pipeline, key), DEFAULT_STALLED_DAYS) != DEFAULT_STALLED_DAYS
    ]
    default = Value(now - dt.timedelta(days=DEFAULT_STALLED_DAYS))
    return Case(*whens, default=default, output_field=DateTimeField())


def my_attention(*, actor: Actor, limit: int = 10) -> Attention:
    """The actor's open opportunities past their expected close date, closing in the next
    CLOSING_DAYS days, and stalled: no edit, note or stage change for their stage's number of
    days (`StageSpec.stalled_days`)."""
    today = timezone.localdate()
    until = today + dt.timedelta(days=CLOSING_DAYS)
    mine = _my_open(actor).select_related("stage", "pipeline")
    overdue = mine.filter(expected_close_date__lt=today).order_by("expected_close_date", "id")
    closing = mine.filter(expected_close_date__gte=today, expected_close_date__lte=until)
    closing = closing.order_by("expected_close_date", "id")
    latest_note = Note.objects.filter(opportunity=OuterRef("pk"), deleted_at=None)
    latest_note = latest_note.order_by().values("opportunity").annotate(at=Max("created_at"))
    # Greatest of the three, a missing note counting as the edit (SQLite's MAX() of a NULL is
    # NULL).
    last = Greatest(
        "updated_at",
        "stage_entered_at",
        Coalesce(Subquery(latest_note.values("at")), F("updated_at")),
    )
    stalled = mine.annotate(last_activity=last).filter(
        last_activity__lt=_stalled_cutoffs(actor, timezone.now())
    )
    stalled = stalled.order_by("last_activity", "id")
    return Attention(
        overdue=list(overdue[:limit]),
        overdue_count=overdue.count(),
        closing=list(closing[:limit]),
        closing_count=closing.count(),
        stalled=list(stalled[:limit]),
        stalled_count=stalled.count(),
        today=today,
        closing_until=until,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    kind: str  # note | stage | audit | task | message | playbook
    who: str
    text: str
    #: A playbook run's steps, one line each.
    details: tuple[str, ...] = ()
    #: A note's kind in words (Call, Meeting, E-mail); empty for a plain note.
    note_kind: str = ""


# What an audit event's action says on a timeline (a key never shows).
ACTION_WORDS = {
    "create": "Created",
    "update": "Changed",
    "move": "Moved",
    "delete": "Deleted",
    "restore": "Restored",
    "purge": "Purged",
}


def _member_names(actor: Actor) -> dict[str, str]:
    """Who did something, by name: history rows keep the actor's e-mail."""
    return {m.email: m.full_name or m.email for m in member_list(actor=actor)}


def _stage_names(obj) -> dict[str, str]:
    return dict(Stage.objects.filter(pipeline_id=obj.pipeline_id).values_list("key", "name"))


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    from_stage: str
    to_stage: str
    who: str
    reason: str


def stage_history(*, actor: Actor, obj: Opportunity) -> list[HistoryRow]:
    """An opportunity's stage changes, oldest first: stages by name, people by name."""
    names = _member_names(actor)
    stages = _stage_names(obj)
    changes = pipeline_selectors.opportunity_history(actor=actor, opportunity_id=obj.pk)
    return [
        HistoryRow(
            c.at,
            stages.get(c.from_stage, c.from_stage) if c.from_stage else "",
            stages.get(c.to_stage, c.to_stage),
            names.get(c.actor_label, c.actor_label),
            c.reason,
        )
        for c in changes
    ]


STEP_OUTCOME_WORDS = {"done": "done", "skipped": "skipped", "failed": "failed"}


def _playbook_entries(actor: Actor, kind: str, obj, limit: int) -> list[TimelineEntry]:
    """One entry per playbook run on the record, each step's outcome on its own line."""
    playbooks = playbook_selectors.playbook_index(actor=actor)
    runs = playbook_selectors.run_list(actor=actor, limit=limit, **{f"{kind}_id": obj.pk})
    entries = []
    for run in runs:
        playbook = playbooks.get(run.playbook)
        names = {step.key: step.name for step in playbook.steps} if playbook else {}
        title = playbook.name if playbook else run.playbook
        trigger = f" ({playbook.trigger.describe()})" if playbook else ""
        entries.append(
            TimelineEntry(
                run.started_at,
                "playbook",
                "Playbook",
                f"Ran “{title}”{trigger}"
                + (": a step failed" if run.status == run.Status.FAILED else ""),
                tuple(
                    f"{names.get(step.step) or step.step.replace('-', ' ').capitalize()}: "
                    f"{STEP_OUTCOME_WORDS.get(step.outcome, step.outcome)} — {step.detail}"
                    for step in sorted(run.steps.all(), key=lambda s: s.pk)
                ),
            )
        )
    return entries


def _schedule_failure_words(changes: dict, playbook_names: dict[str, str]) -> str:
    """A schedule that failed on the record (playbooks.schedules.failure_record): what, and why."""
    key = changes.get("playbook")
    what = (
        f"Playbook “{playbook_names.get(key, key)}”"
        if key
        else f"Schedule “{changes.get('schedule', '')}”"
    )
    return (
        f"{what} failed (due {changes.get('due_on', '')}): {changes.get('error', '')}; "
        "it is tried again every minute"
    )


def record_timeline(*, actor: Actor, kind: str, obj, limit: int = 100) -> list[TimelineEntry]:
    """Notes, stage changes, audit events and its tasks' history (added, done, reopened,
    cancelled, taken, changed) of one record, newest first — people by name,
    fields by their labels, stages by their names and actions in words, as everywhere else on
    the page."""
    names = _member_names(actor)
    labels = {name: f.label for name, f in KINDS[kind].fields.items()}

    def field_label(name: str) -> str:
        return labels.get(name) or name.removesuffix("_id").replace("_", " ").capitalize()

    entries: list[TimelineEntry] = []
    notes, _ = note_list(actor=actor, target={kind: obj.pk}, limit=limit, offset=0)
    entries += [
        TimelineEntry(
            n.created_at,
            "note",
            (n.author.full_name or n.author.email) if n.author else "",
            n.body,
            note_kind=n.get_kind_display() if n.kind != Note.Kind.NOTE else "",
        )
        for n in notes.select_related("author")
    ]
    if kind == "opportunity":
        stages = _stage_names(obj)
        changes = StageChange.objects.filter(
            organisation=actor.organisation, opportunity_id=obj.pk
        ).order_by("-at", "-id")[:limit]
        entries += [
            TimelineEntry(
                c.at,
                "stage",
                names.get(c.actor_label, c.actor_label),
                f"moved from {stages.get(c.from_stage, c.from_stage) or '(new)'} to "
                f"{stages.get(c.to_stage, c.to_stage)}",
            )
            for c in changes
        ]
    if kind in ("opportunity", "lead"):
        entries += _playbook_entries(actor, kind, obj, limit)
    # A run's own entry (above) says more than its audit event.
    events = (
        AuditEvent.objects.filter(
            organisation=actor.organisation,
            object_type=obj._meta.model_name,
            object_id=str(obj.pk),
        )
        .exclude(action="playbook_run")
        .order_by("-at", "-id")[:limit]
    )
    playbook_names = (
        {key: p.name for key, p in playbook_selectors.playbook_index(actor=actor).items()}
        if any(e.action == "schedule_failed" for e in events)
        else {}
    )
    entries += [
        TimelineEntry(
            e.at,
            "audit",
            names.get(e.actor_label, e.actor_label),
            _schedule_failure_words(e.changes, playbook_names)
            if e.action == "schedule_failed"
            else f"{ACTION_WORDS.get(e.action, e.action.replace('_', ' ').capitalize())}: "
            f"{', '.join(sorted(map(field_label, e.changes))) or '—'}",
        )
        for e in events
    ]
    entries += [
        TimelineEntry(e.at, "task", names.get(e.actor_label, e.actor_label), text)
        for e, text in task_timeline_events(actor=actor, kind=kind, record_id=obj.pk, limit=limit)
    ]
    entries += [
        TimelineEntry(m.at, "message", m.who, m.text)
        for m in message_timeline(actor=actor, kind=kind, record_id=obj.pk, limit=limit)
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
