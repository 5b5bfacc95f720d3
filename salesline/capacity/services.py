"""Every write to saved capacity plans: the plan file, the activity-to-role map, the transition
checklist and the last simulation. Each is one transaction with its audit event.

Who may: admins and sales-support managers (a plan holds salaries). Another organisation's plan
is NotFound. The calculator itself (`resourcing.plan_answer`, the simulator) stores nothing and
is open to every member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from salesline.accounts.models import Membership, Role
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Problem,
    ProblemList,
    ValidationFailed,
)
from salesline.core.ids import is_id
from salesline.core.text import text_problem

from .models import CapacityPlan, PlanActivity, TransitionStep
from .resourcing import PlanInvalid
from .simulation import check_plan
from .transition import ACTIVITY_ROLES, STEPS, SUGGESTED_ACTIVITIES

NAME_MAX = 120
ACTIVITY_NAME_MAX = 200
MAX_ACTIVITIES = 200
PLAN_FIELDS = ("name", "document", "measured_from")
STEP_FIELDS = ("owner_id", "due_date", "done")


def may_manage(actor: Actor) -> bool:
    return actor.has_role(Role.ADMIN, Role.SALES_SUPPORT_MANAGER)


def require_manage(actor: Actor) -> None:
    if not may_manage(actor):
        raise PermissionDenied(
            "Only admins and sales-support managers may see and change capacity plans."
        )


def document_problems(document: Any, problems: ProblemList, *, loc: tuple = ("document",)) -> None:
    """The plan file's problems, each at its dotted key under `loc`."""
    try:
        check_plan(document)  # the simulator's sections too: a saved plan is simulated later
    except PlanInvalid as invalid:
        for key, message in invalid.problems:
            problems.add((*loc, *[part for part in key.split(".") if part]), message)


def starting_document(actor: Actor) -> dict[str, Any]:
    """A new plan's file: today's salespeople counted from the members, the chapter's typical
    two meetings a week each (to be replaced by the measured figure) and indicative salaries."""
    salespeople = Membership.objects.filter(
        organisation=actor.organisation, role=Role.SALESPERSON
    ).count()
    return {
        "currency": "EUR",
        "capacity_per_salesperson": 20,
        "current": {"salespeople": salespeople, "meetings_per_salesperson": 2},
        "incremental": {"existing_accounts": 0, "neglected_opportunities": 0},
        "project_share": 0.0,
        "project_half_days": 0,
        "customer_service": {"tasks_per_week": 0, "minutes_per_task": 0, "target_utilisation": 0.8},
        "language_regions": 1,
        "support_locations": 1,
        "salaries": {
            "salesperson": 120000,
            "sales_coordinator": 50000,
            "project_leader": 100000,
            "customer_service": 45000,
            "promotions_coordinator": 60000,
            "sales_support_manager": 80000,
            "sales_manager": 130000,
        },
        "before": {"salesperson": salespeople},
    }


def plan_out(plan: CapacityPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "document": plan.document,
        "measured_from": plan.measured_from.isoformat() if plan.measured_from else None,
        "version": plan.version,
        "deleted": plan.deleted_at is not None,
    }


def _clean_plan_fields(data: Mapping[str, Any], problems: ProblemList, *, creating: bool) -> dict:
    fields: dict[str, Any] = {}
    for key in sorted(set(data) - set(PLAN_FIELDS)):
        problems.add((key,), f"Unknown field '{key}'.")
    if "name" in data or creating:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add(("name",), "Name is required.", type="missing")
        else:
            reason = text_problem(name.strip(), max_length=NAME_MAX)
            if reason:
                problems.add(("name",), f"Name {reason}.")
            else:
                fields["name"] = name.strip()
    if "document" in data:
        document = data["document"]
        before = len(problems.problems)
        document_problems(document, problems)
        if len(problems.problems) == before:
            fields["document"] = dict(document)
    if "measured_from" in data:
        value = data["measured_from"]
        if value in (None, ""):
            fields["measured_from"] = None
        else:
            try:
                fields["measured_from"] = (
                    value if isinstance(value, date) else date.fromisoformat(str(value))
                )
            except ValueError:
                problems.add(("measured_from",), "Must be a date such as 2026-11-01.")
    return fields


def _name_taken(actor: Actor, name: str, exclude: int | None = None) -> bool:
    rows = CapacityPlan.objects.filter(
        organisation=actor.organisation, name__iexact=name, deleted_at__isnull=True
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def _taken(name: str) -> str:
    return f"There is a capacity plan named “{name}” already."


def plan_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    suggested_activities: bool = True,
) -> CapacityPlan:
    """A new plan; without a document, `starting_document`. The activity map starts with the
    chapter's example activities unless `suggested_activities` is False."""
    require_manage(actor)
    problems = ProblemList()
    fields = _clean_plan_fields(data, problems, creating=True)
    if "name" in fields and _name_taken(actor, fields["name"]):
        problems.add(("name",), _taken(fields["name"]), type="duplicate")
    problems.raise_if_any()
    fields.setdefault("document", starting_document(actor))
    try:
        with transaction.atomic():
            plan = CapacityPlan.objects.create(
                organisation=actor.organisation, created_by=actor.user, **fields
            )
            if suggested_activities:
                PlanActivity.objects.bulk_create(
                    PlanActivity(
                        plan=plan, name=name, inside=inside, selling=selling, role=role, position=i
                    )
                    for i, (name, inside, selling, role) in enumerate(SUGGESTED_ACTIVITIES)
                )
            audit.record(
                actor=actor, action="capacity_plan.create", obj=plan, changes=plan_out(plan)
            )
    except IntegrityError:  # a concurrent create of the same name
        problems.add(("name",), _taken(fields["name"]), type="duplicate")
        problems.raise_if_any()
        raise
    return plan


def _locked_plan(actor: Actor, plan_id: Any, *, deleted: bool = False) -> CapacityPlan:
    if not is_id(plan_id):
        raise NotFound(f"No capacity plan with id {plan_id}.")
    plan = (
        CapacityPlan.objects.select_for_update()
        .filter(organisation=actor.organisation, pk=plan_id, deleted_at__isnull=not deleted)
        .first()
    )
    if plan is None:
        raise NotFound(f"No capacity plan with id {plan_id}.")
    return plan


def _bump(plan: CapacityPlan, fields: Sequence[str] = ()) -> None:
    plan.version = F("version") + 1
    plan.updated_at = timezone.now()
    plan.save(update_fields=[*fields, "version", "updated_at"])
    plan.refresh_from_db(fields=["version"])


def plan_update(
    *, actor: Actor, plan_id: Any, data: Mapping[str, Any], version: int | None = None
) -> CapacityPlan:
    """Change the name, the plan file or the measured month. `version` (an If-Match) must be
    the plan's current one when given: 412 rather than overwrite someone else's change."""
    require_manage(actor)
    problems = ProblemList()
    fields = _clean_plan_fields(data, problems, creating=False)
    problems.raise_if_any()
    try:
        with transaction.atomic():
            plan = _locked_plan(actor, plan_id)
            if version is not None and version != plan.version:
                raise PreconditionFailed(
                    f"The plan was changed by someone else (version {plan.version}, not "
                    f"{version}): reload it and apply your change again."
                )
            if "name" in fields and _name_taken(actor, fields["name"], exclude=plan.pk):
                problems.add(("name",), _taken(fields["name"]), type="duplicate")
                problems.raise_if_any()
            before = plan_out(plan)
            for key, value in fields.items():
                setattr(plan, key, value)
            _bump(plan, list(fields))
            after = plan_out(plan)
            audit.record(
                actor=actor,
                action="capacity_plan.update",
                obj=plan,
                changes={
                    key: [before[key], after[key]]
                    for key in PLAN_FIELDS
                    if before[key] != after[key]
                },
            )
    except IntegrityError:
        problems.add(("name",), _taken(fields.get("name", "")), type="duplicate")
        problems.raise_if_any()
        raise
    return plan


def plan_delete(*, actor: Actor, plan_id: Any) -> CapacityPlan:
    """Soft delete: the plan leaves the list and can be restored."""
    require_manage(actor)
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        plan.deleted_at = timezone.now()
        _bump(plan, ["deleted_at"])
        audit.record(actor=actor, action="capacity_plan.delete", obj=plan, changes={})
    return plan


def plan_restore(*, actor: Actor, plan_id: Any) -> CapacityPlan:
    require_manage(actor)
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id, deleted=True)
        if _name_taken(actor, plan.name):
            raise Conflict(
                f"Another plan is named “{plan.name}” now: rename it before restoring this one."
            )
        plan.deleted_at = None
        _bump(plan, ["deleted_at"])
        audit.record(actor=actor, action="capacity_plan.restore", obj=plan, changes={})
    return plan


# ---------------------------------------------------------------- the activity-to-role map


def activity_out(activity: PlanActivity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "name": activity.name,
        "inside": activity.inside,
        "selling": activity.selling,
        "role": activity.role or None,
    }


def activities_replace(
    *, actor: Actor, plan_id: Any, activities: Sequence[Mapping[str, Any]]
) -> list[PlanActivity]:
    """Save the whole matrix at once (the page and the API send every activity): each row's
    problems name the row, and nothing is saved unless every row is good."""
    require_manage(actor)
    problems = ProblemList()
    if len(activities) > MAX_ACTIVITIES:
        problems.add(("activities",), f"At most {MAX_ACTIVITIES} activities.")
    rows: list[tuple[str, bool, bool, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(activities[:MAX_ACTIVITIES]):
        loc: tuple[str | int, ...] = ("activities", index)
        if not isinstance(item, Mapping):
            problems.add(loc, "Each activity must be an object with name, inside, selling, role.")
            continue
        for key in sorted(set(item) - {"id", "name", "inside", "selling", "role"}):
            problems.add((*loc, key), f"Unknown field '{key}'.")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add((*loc, "name"), "Name is required.", type="missing")
            name = ""
        else:
            name = name.strip()
            reason = text_problem(name, max_length=ACTIVITY_NAME_MAX)
            if reason:
                problems.add((*loc, "name"), f"Name {reason}.")
            elif name.casefold() in seen:
                problems.add((*loc, "name"), f"“{name}” is listed twice.", type="duplicate")
            seen.add(name.casefold())
        flags = []
        for key, words in (("inside", "inside or outside"), ("selling", "selling or not")):
            value = item.get(key)
            if not isinstance(value, bool):
                problems.add((*loc, key), f"Say {words}: true or false.", type="missing")
            flags.append(bool(value))
        role = item.get("role") or ""
        if role and role not in ACTIVITY_ROLES:
            problems.add(
                (*loc, "role"),
                f"Unknown role '{role}'; expected one of {', '.join(ACTIVITY_ROLES)}.",
            )
        rows.append((name, flags[0], flags[1], role))
    problems.raise_if_any()
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        before = [activity_out(a) for a in plan.activities.all()]
        plan.activities.all().delete()
        saved = PlanActivity.objects.bulk_create(
            PlanActivity(
                plan=plan, name=name, inside=inside, selling=selling, role=role, position=i
            )
            for i, (name, inside, selling, role) in enumerate(rows)
        )
        _bump(plan)
        audit.record(
            actor=actor,
            action="capacity_plan.activities",
            obj=plan,
            changes={
                "activities": [
                    [{k: v for k, v in a.items() if k != "id"} for a in before],
                    [
                        {"name": n, "inside": i, "selling": s, "role": r or None}
                        for n, i, s, r in rows
                    ],
                ]
            },
        )
    return saved


# ---------------------------------------------------------------- the transition checklist


def step_out(step: TransitionStep) -> dict[str, Any]:
    return {
        "id": step.pk,
        "key": step.key,
        "number": step.number,
        "title": step.title,
        "guidance": step.guidance,
        "owner_id": step.owner_id,
        "due_date": step.due_date.isoformat() if step.due_date else None,
        "done": step.done_at is not None,
        "done_at": step.done_at.isoformat() if step.done_at else None,
        "done_by_id": step.done_by_id,
    }


def transition_generate(
    *, actor: Actor, plan_id: Any, start: date, owner_id: int | None = None
) -> list[TransitionStep]:
    """The chapter's six steps as tracked rows, due `weeks_after_start` weeks from `start`,
    owned by `owner_id` (a member) when given. Steps already there are kept as they are (their
    owners, dates and ticks), so generating twice changes nothing."""
    require_manage(actor)
    owner = _member(actor, owner_id, ("owner_id",)) if owner_id is not None else None
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        existing = set(plan.transition_steps.values_list("key", flat=True))
        created = TransitionStep.objects.bulk_create(
            TransitionStep(
                plan=plan,
                key=spec.key,
                number=number,
                title=spec.title,
                guidance=spec.guidance,
                owner=owner,
                due_date=start + timedelta(weeks=spec.weeks_after_start),
            )
            for number, spec in enumerate(STEPS, start=1)
            if spec.key not in existing
        )
        if created:
            _bump(plan)
            audit.record(
                actor=actor,
                action="capacity_plan.transition_generate",
                obj=plan,
                changes={"steps": [step.key for step in created], "start": start.isoformat()},
            )
    return list(plan.transition_steps.all())


def _member(actor: Actor, user_id: Any, loc: tuple[str, ...]) -> Any:
    membership = (
        Membership.objects.select_related("user")
        .filter(organisation=actor.organisation, user_id=int(user_id))
        .first()
        if is_id(user_id)
        else None
    )
    if membership is None:
        raise ValidationFailed(
            "", [Problem(loc=loc, msg=f"No member with id {user_id} in this organisation.")]
        )
    return membership.user


def transition_step_update(
    *, actor: Actor, plan_id: Any, step_id: Any, data: Mapping[str, Any]
) -> TransitionStep:
    """Set a step's owner (`owner_id`, a member, or None), due date, or tick it (`done`)."""
    require_manage(actor)
    problems = ProblemList()
    for key in sorted(set(data) - set(STEP_FIELDS)):
        problems.add((key,), f"Unknown field '{key}'.")
    fields: dict[str, Any] = {}
    if "owner_id" in data:
        owner_id = data["owner_id"]
        fields["owner"] = None
        if owner_id not in (None, ""):
            try:
                fields["owner"] = _member(actor, owner_id, ("owner_id",))
            except ValidationFailed as invalid:  # reported with the others below
                problems.problems.extend(invalid.problems)
    if "due_date" in data:
        value = data["due_date"]
        if value in (None, ""):
            fields["due_date"] = None
        else:
            try:
                fields["due_date"] = value if isinstance(value, date) else date.fromisoformat(value)
            except (TypeError, ValueError):
                problems.add(("due_date",), "Must be a date such as 2027-01-31.")
    if "done" in data and not isinstance(data["done"], bool):
        problems.add(("done",), "Must be true or false.")
    problems.raise_if_any()
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        if not is_id(step_id):
            raise NotFound(f"No transition step with id {step_id}.")
        step = plan.transition_steps.select_for_update().filter(pk=step_id).first()
        if step is None:
            raise NotFound(f"No transition step with id {step_id}.")
        before = step_out(step)
        for key, value in fields.items():
            setattr(step, key, value)
        if "done" in data:
            if data["done"] and step.done_at is None:
                step.done_at, step.done_by = timezone.now(), actor.user
            elif not data["done"]:
                step.done_at, step.done_by = None, None
        step.save()
        after = step_out(step)
        _bump(plan)
        audit.record(
            actor=actor,
            action="capacity_plan.transition_step",
            obj=plan,
            changes={
                f"{step.key}.{key}": [before[key], after[key]]
                for key in ("owner_id", "due_date", "done")
                if before[key] != after[key]
            },
        )
    return step


# ---------------------------------------------------------------- the last simulation


def plan_simulation_store(
    *, actor: Actor, plan_id: Any, answer: Mapping[str, Any], parameters: Mapping[str, Any]
) -> CapacityPlan:
    """Keep a simulation's answer on the plan (the page shows the last one)."""
    require_manage(actor)
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        plan.simulation = {"parameters": dict(parameters), **dict(answer)}
        plan.simulated_at = timezone.now()
        _bump(plan, ["simulation", "simulated_at"])
        audit.record(
            actor=actor,
            action="capacity_plan.simulate",
            obj=plan,
            changes={"parameters": dict(parameters)},
        )
    return plan
