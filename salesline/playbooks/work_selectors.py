"""Reads of the work queues and the daily work-in-progress review, scoped by actor.

A queue is where open tasks sit: a role's (`queue` = role key, nobody has them) or a person's
(`user:<id>`). "Overdue" is open past the due (or promised) date plus the work item's
tolerance (Task.late_after). See docs/tasks.md and docs/wip-review.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Min, Q
from django.utils import timezone

from salesline.accounts.models import Membership, Role
from salesline.core.actors import Actor
from salesline.core.errors import ProblemList
from salesline.process.selectors import definition_for

from .defects import defect_out, review_defects
from .models import Defect, Task
from .task_selectors import task_on_time_rate
from .task_services import due_date_for
from .work_types import work_types_of

ROLE_LABELS = dict(Role.choices)
#: Jobs likely to be late: open items due within this many working days (the review's
#: `late_within`, 0 to MAX_LATE_WITHIN).
LATE_RISK_WORKING_DAYS = 2
MAX_LATE_WITHIN = 30
#: A claimed item nobody has touched for this many days is a problem case.
UNTOUCHED_DAYS = 3
ON_TIME_PERIOD_DAYS = 30
PROBLEM_LIMIT = 100


def _hours(delta: dt.timedelta) -> float:
    return round(max(delta.total_seconds(), 0) / 3600, 1)


def people_names(actor: Actor) -> dict[int, str]:
    rows = Membership.objects.filter(organisation=actor.organisation).select_related("user")
    return {m.user_id: (m.user.full_name or m.user.email) for m in rows}


def queue_label(location: str, people: Mapping[int, str]) -> str:
    if location.startswith("user:"):
        raw = location.removeprefix("user:")
        name = people.get(int(raw)) if raw.isdecimal() else None
        return name or location
    return f"{ROLE_LABELS.get(location, location)} queue"


def queue_summary(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    only: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Every queue with its open items: `queue` (role key or user:<id>), `size`,
    `oldest_age_hours` (from the oldest item's creation; None when empty) and `overdue`.
    Every role's queue is listed (empty ones too), then each person's that has open items;
    `only` keeps the named queues. One query."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = (
        Task.objects.filter(organisation=actor.organisation, status=Task.Status.OPEN)
        .values("assignee_id", "queue")
        .annotate(
            size=Count("id"),
            oldest=Min("created_at"),
            overdue=Count("id", filter=Q(late_after__lt=today)),
        )
        .order_by()
    )
    summary: dict[str, dict[str, Any]] = {
        role: {"queue": role, "size": 0, "oldest": None, "overdue": 0} for role in Role.values
    }
    people: dict[str, dict[str, Any]] = {}
    for row in rows:
        location = f"user:{row['assignee_id']}" if row["assignee_id"] else row["queue"]
        if not location:
            continue  # the invariant forbids it; never shown as a queue of its own
        target = summary if location in summary else people
        entry = target.setdefault(
            location, {"queue": location, "size": 0, "oldest": None, "overdue": 0}
        )
        entry["size"] += row["size"]
        entry["overdue"] += row["overdue"]
        if entry["oldest"] is None or row["oldest"] < entry["oldest"]:
            entry["oldest"] = row["oldest"]
    ordered = [*summary.values(), *sorted(people.values(), key=lambda e: int(e["queue"][5:]))]
    return [
        {
            "queue": entry["queue"],
            "size": entry["size"],
            "oldest_age_hours": _hours(now - entry["oldest"]) if entry["oldest"] else None,
            "overdue": entry["overdue"],
        }
        for entry in ordered
        if only is None or entry["queue"] in only
    ]


def my_queues(*, actor: Actor, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The queues the actor is in: their roles' and their own."""
    if actor.user is None:
        return []
    roles = set(
        Membership.objects.filter(organisation=actor.organisation, user=actor.user).values_list(
            "role", flat=True
        )
    )
    mine = f"user:{actor.user.pk}"
    rows = queue_summary(actor=actor, now=now, only={*roles, mine})
    if not any(row["queue"] == mine for row in rows):
        rows.append({"queue": mine, "size": 0, "oldest_age_hours": None, "overdue": 0})
    return rows


def pct(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def team_on_time_pct(*, actor: Actor, days: int = ON_TIME_PERIOD_DAYS) -> dict[str, Any]:
    """The team's on-time completion over the last `days` days (tasks nobody had included)."""
    today = timezone.localdate()
    rate = task_on_time_rate(
        actor=actor,
        date_from=today - dt.timedelta(days=days - 1),
        date_to=today,
        include_unassigned=True,
    )
    return {**rate, "pct": pct(rate["rate"]), "days": days}


# -- the review ---------------------------------------------------------------------------------


@dataclass
class Review:
    date: dt.date
    date_from: dt.date
    date_to: dt.date
    on_time_pct: float | None
    on_time: dict[str, Any]
    queues: list[dict[str, Any]]
    late_risk: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    defects: list[Defect]
    flow: dict[str, Any]
    people: dict[int, str] = field(default_factory=dict)
    late_within: int = LATE_RISK_WORKING_DAYS

    def as_json(self) -> dict[str, Any]:
        return {
            "on_time_pct": self.on_time_pct,
            "queues": self.queues,
            "late_risk": self.late_risk,
            "defects": [defect_out(d) for d in self.defects],
            "flow": self.flow,
        }


def parse_review_query(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`date` (default today), `from`/`to` the on-time period (default the 30 days to `date`),
    `late_within` the working days ahead a job is likely to be late (default 2). 422 naming
    each bad one."""
    problems = ProblemList()
    values: dict[str, dt.date] = {}
    for name in ("date", "from", "to"):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            values[name] = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            problems.add(("query", name), f"'{name}' must be a date (YYYY-MM-DD).")
    if "from" in values and "to" in values and values["from"] > values["to"]:
        problems.add(("query", "from"), "'from' must not be after 'to'.")
    late_within = LATE_RISK_WORKING_DAYS
    raw_within = raw.get("late_within")
    if raw_within not in (None, ""):
        text = str(raw_within).strip()
        if text.isascii() and text.isdecimal() and int(text) <= MAX_LATE_WITHIN:
            late_within = int(text)
        else:
            problems.add(
                ("query", "late_within"),
                f"'late_within' must be a whole number of working days from 0 to "
                f"{MAX_LATE_WITHIN}.",
            )
    problems.raise_if_any("The review query is not valid.")
    date = values.get("date", timezone.localdate())
    date_to = values.get("to", date)
    date_from = values.get("from", date_to - dt.timedelta(days=ON_TIME_PERIOD_DAYS - 1))
    return {"date": date, "date_from": date_from, "date_to": date_to, "late_within": late_within}


def parse_problems_query(raw: Mapping[str, Any]) -> dt.date:
    """`date` (default today) of the problem cases; 422 naming it when it is not a date."""
    value = raw.get("date")
    if value in (None, ""):
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems = ProblemList()
        problems.add(("query", "date"), "'date' must be a date (YYYY-MM-DD).")
        problems.raise_if_any("The query is not valid.")
        raise  # pragma: no cover - raise_if_any raised


def _item(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.pk,
        "title": task.title,
        "queue": task.location,
        "work_type": task.work_type or None,
        "workflow_step": task.workflow_step or None,
        "due": task.deadline.isoformat() if task.deadline else None,
        "late_after": task.late_after.isoformat() if task.late_after else None,
    }


def _behind(task: Task, today: dt.date, types: dict[str, Any]) -> bool:
    """A work item whose workflow lags the time gone: the share of steps done is less than
    the share of the time from its creation to its due day that has passed."""
    kind = types.get(task.work_type)
    if kind is None or task.workflow_step not in kind.workflow or task.late_after is None:
        return False
    total = (task.late_after - timezone.localdate(task.created_at)).days
    if total <= 0:
        return True
    gone = (today - timezone.localdate(task.created_at)).days / total
    done = kind.workflow.index(task.workflow_step) / len(kind.workflow)
    return done < gone


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def problem_cases(
    *, actor: Actor, date: dt.date, people: Mapping[int, str] | None = None
) -> list[dict[str, Any]]:
    """The open items to talk about in the review of `date`, most overdue first (at most
    PROBLEM_LIMIT): overdue (past the due or promised date plus tolerance), escalated, or taken
    from a role's queue and untouched (not changed) for UNTOUCHED_DAYS days or more. Each
    says why (`reasons`: `kind` overdue/escalated/untouched with its `days` or escalation
    `detail`, and `text`), as one `reason` sentence, and the `actions` to take."""
    people = people if people is not None else people_names(actor)
    zone = timezone.get_current_timezone()
    cutoff = dt.datetime.combine(
        date - dt.timedelta(days=UNTOUCHED_DAYS - 1), dt.time.min, tzinfo=zone
    )
    rows = (
        Task.objects.filter(organisation=actor.organisation, status=Task.Status.OPEN)
        .filter(
            Q(late_after__lt=date)
            | Q(escalated_at__isnull=False)
            | (Q(assignee__isnull=False) & ~Q(queue="") & Q(updated_at__lt=cutoff))
        )
        .order_by(F("late_after").asc(nulls_last=True), "id")[:PROBLEM_LIMIT]
    )
    cases: list[dict[str, Any]] = []
    for task in rows:
        owner = people.get(task.assignee_id, "its owner") if task.assignee_id else None
        reasons: list[dict[str, Any]] = []
        actions: list[str] = []
        if task.late_after is not None and task.late_after < date:
            days = (date - task.late_after).days
            reasons.append({"kind": "overdue", "days": days, "text": f"overdue by {_days(days)}"})
            actions.append(
                "Take it from the queue and finish it today"
                if owner is None
                else f"Ask {owner} for a finish date; tell the customer if the promise will "
                "be missed"
            )
        if task.escalated_at is not None:
            detail = task.escalation_reason or ""
            reasons.append(
                {
                    "kind": "escalated",
                    "detail": detail or None,
                    "text": "escalated" + (f": {detail}" if detail else ""),
                }
            )
            if owner is None:
                actions.append(f"Someone in the {queue_label(task.queue, people)} takes it")
        untouched = (date - timezone.localdate(task.updated_at, zone)).days
        if owner is not None and task.queue and untouched >= UNTOUCHED_DAYS:
            reasons.append(
                {
                    "kind": "untouched",
                    "days": untouched,
                    "text": f"claimed but untouched for {_days(untouched)}",
                }
            )
            actions.append(
                f"Ask {owner} whether they are working on it; if not, put it back in the "
                f"{queue_label(task.queue, people)}"
            )
        if not reasons:
            continue  # escalated and taken since, or touched after `date`
        cases.append(
            {
                **_item(task),
                "reasons": reasons,
                "reason": "; ".join(r["text"] for r in reasons),
                "actions": actions,
                "action": actions[0] if actions else None,
            }
        )
    return cases


def wip_review(
    *,
    actor: Actor,
    date: dt.date,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    now: dt.datetime | None = None,
    late_within: int = LATE_RISK_WORKING_DAYS,
) -> Review:
    """The daily work-in-progress review for `date` (seed 004's list):

    - flow: items created, completed, cancelled and escalated since the previous day (from the
      start of the day before `date` to the end of `date`);
    - queues: every queue's size, oldest age and overdue count, with each queue's (and each
      person's) on-time % for the period;
    - problems: the problem cases with their actions (see `problem_cases`);
    - late_risk: open items not yet overdue nor escalated, due within `late_within` working
      days (default LATE_RISK_WORKING_DAYS), nobody has taken or whose workflow is behind;
    - defects: the defect log: every defect still open, and those found in the period;
    - on_time_pct: on-time completion for the period (date_from..date_to, default the 30 days
      to `date`), a percentage 0–100, None when nothing was decided.
    """
    date_to = date_to or date
    date_from = date_from or date_to - dt.timedelta(days=ON_TIME_PERIOD_DAYS - 1)
    zone = timezone.get_current_timezone()
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    start = end - dt.timedelta(days=2)
    if now is None:
        now = min(timezone.now(), end)
    people = people_names(actor)
    tasks = Task.objects.filter(organisation=actor.organisation)

    flow = {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "created": tasks.filter(created_at__gte=start, created_at__lt=end).count(),
        "completed": tasks.filter(
            status=Task.Status.DONE, completed_at__gte=start, completed_at__lt=end
        ).count(),
        "cancelled": tasks.filter(
            status=Task.Status.CANCELLED, updated_at__gte=start, updated_at__lt=end
        ).count(),
        "escalated": tasks.filter(escalated_at__gte=start, escalated_at__lt=end).count(),
    }

    rate = task_on_time_rate(
        actor=actor,
        date_from=date_from,
        date_to=date_to,
        include_unassigned=True,
        today=date,
    )
    by_queue = {row["queue"]: pct(row["rate"]) for row in rate["by_queue"]}
    by_person = {f"user:{row['assignee_id']}": pct(row["rate"]) for row in rate["by_assignee"]}
    queues = queue_summary(actor=actor, now=now)
    listed = {row["queue"] for row in queues}
    queues += [
        {"queue": location, "size": 0, "oldest_age_hours": None, "overdue": 0}
        for location in sorted(by_person)
        if location not in listed
    ]
    for row in queues:
        row["on_time_pct"] = by_queue.get(row["queue"], by_person.get(row["queue"]))

    types = dict(work_types_of(definition_for(actor.organisation)))
    problems = problem_cases(actor=actor, date=date, people=people)
    late_risk: list[dict[str, Any]] = []
    horizon = due_date_for(organisation=actor.organisation, start=date, working_days=late_within)
    risky = (
        tasks.filter(status=Task.Status.OPEN, escalated_at__isnull=True)
        .filter(late_after__gte=date, late_after__lte=horizon)
        .order_by("late_after", "id")[:2000]
    )
    for task in risky:
        why = []
        if task.assignee_id is None:
            why.append("nobody has taken it")
        if _behind(task, date, types):
            why.append(f"its workflow is behind (at {task.workflow_step})")
        if why:
            late_risk.append({**_item(task), "reason": "; ".join(why)})

    defects = list(review_defects(actor=actor, date_from=date_from, date=date)[:100])
    return Review(
        date=date,
        date_from=date_from,
        date_to=date_to,
        on_time_pct=pct(rate["rate"]),
        on_time=rate,
        queues=queues,
        late_risk=late_risk,
        problems=problems,
        defects=defects,
        flow=flow,
        people=people,
        late_within=late_within,
    )


__all__ = [
    "Review",
    "my_queues",
    "parse_problems_query",
    "parse_review_query",
    "problem_cases",
    "queue_label",
    "queue_summary",
    "team_on_time_pct",
    "wip_review",
]


def work_types_for(actor: Actor) -> dict[str, Any]:
    """The work types of the organisation's definition in force, by key."""
    return dict(work_types_of(definition_for(actor.organisation)))
