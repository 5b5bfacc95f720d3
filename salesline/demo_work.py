"""Demo data for the work queues: customer-service work items and tasks in several role queues
(some taken, some overdue, one escalated), work done on time and late over the past weeks, and a
defect log. One function, `work_at_work(organisations)`, called by salesline.demo after the
playbooks have run. Everything goes through the services, so it is audited like real work."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import Membership, Organisation, Role
from salesline.core.actors import Actor
from salesline.pipeline.models import Opportunity
from salesline.playbooks import defects, task_services
from salesline.playbooks.models import Task
from salesline.playbooks.work_types import work_types_of
from salesline.process.selectors import definition_for

#: The people who work the queues in every demo organisation (email local part, name, role):
#: customer service, inside sales, and the special-projects coordinator inside sales escalates
#: complex jobs to.
QUEUE_STAFF = (
    ("rosa.lindqvist", "Rosa Lindqvist", Role.CUSTOMER_SERVICE),
    ("omar.haddad", "Omar Haddad", Role.INSIDE_SALES),
    ("ines.moreau", "Ines Moreau", Role.SPECIAL_PROJECTS_COORDINATOR),
)
WEEKS_OF_HISTORY = 6
DEFECTS = (
    (
        12,
        "An order confirmation went out with last year's prices.",
        "The quote template still pointed at the old price list.",
        "Price list replaced; the order checklist now asks to check the price list date.",
    ),
    (
        5,
        "A delivery went to the customer's old address.",
        "The address was not confirmed when the order was received.",
        "Added 'Delivery address confirmed' to the order checklist.",
    ),
    (1, "A request for quotation waited four days without an owner.", "", ""),
)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _staff_domain(organisation: Organisation) -> str:
    emails = Membership.objects.filter(organisation=organisation).values_list(
        "user__email", flat=True
    )
    for email in emails:
        domain = email.rpartition("@")[2]
        if domain and domain != "salesline.test":
            return domain
    return f"{organisation.slug}.salesline.test"


def _queue_staff(organisation: Organisation) -> dict[str, Actor]:
    system = accounts.system_actor(organisation, "demo")
    domain = _staff_domain(organisation)
    people = {}
    for local, name, role in QUEUE_STAFF:
        user = accounts.user_create(
            actor=system, email=f"{local}@{domain}", role=role, full_name=name
        )
        people[role.value] = accounts.actor_for(user, organisation)
    return people


def _finish(actor, task: Task, *, created: datetime, completed: datetime) -> None:
    """Walk a work item to its last step, tick its checklist, complete it; then date it."""
    kind = (
        task_services.work_type_for(actor.organisation, task.work_type) if task.work_type else None
    )
    data: dict = {"status": "done"}
    if kind is not None:
        data["workflow_step"] = kind.workflow[-1]
        if kind.checklist:
            data["checklist"] = [{"item": item, "done": True} for item in kind.checklist]
    task_services.task_update(actor=actor, task_id=task.pk, data=data)
    Task.objects.filter(pk=task.pk).update(
        created_at=created, completed_at=completed, updated_at=completed
    )


def _organisation_at_work(organisation: Organisation, rng: random.Random, today: date) -> None:
    people = _queue_staff(organisation)
    service, inside = people[Role.CUSTOMER_SERVICE], people[Role.INSIDE_SALES]
    types = list(work_types_of(definition_for(organisation)).values())
    if not types:
        return
    deals = list(
        Opportunity.objects.filter(organisation=organisation, status="open", deleted_at=None)
        .select_related("company")
        .order_by("id")[:40]
    )

    def about() -> dict:
        deal = rng.choice(deals) if deals else None
        return {"opportunity_id": deal.pk} if deal else {}

    def title(kind) -> str:
        deal_names = [d.company.name for d in deals if d.company_id] or ["a customer"]
        return f"{kind.name}: {rng.choice(deal_names)} #{rng.randint(1000, 9999)}"

    # The past weeks: work done, mostly on time, some late.
    for week in range(WEEKS_OF_HISTORY, 0, -1):
        for _ in range(rng.randint(3, 5)):
            kind = rng.choice(types)
            worker = service if kind.queue != Role.INSIDE_SALES else inside
            created_day = today - timedelta(days=week * 7 + rng.randint(0, 4))
            due = created_day + timedelta(days=rng.randint(2, 5))
            # Mostly on time (on or before the due day); some within the tolerance; some late.
            done_day = due + timedelta(
                days=rng.choice([-1, 0, 0, 0, kind.tolerance_days, kind.tolerance_days + 2])
            )
            done_day = min(done_day, today)
            item = task_services.task_create(
                actor=worker,
                title=title(kind),
                work_type=kind.key,
                queue=kind.queue,
                due_date=due,
                **about(),
            )
            task_services.task_claim(actor=worker, task_id=item.pk)
            _finish(
                worker,
                item,
                created=_at(created_day, rng.randint(8, 11)),
                completed=_at(done_day, rng.randint(12, 17)),
            )

    # Open work now: waiting in the role queues, taken, overdue.
    for index in range(10):
        kind = types[index % len(types)]
        created_day = today - timedelta(days=rng.randint(0, 6))
        due = today + timedelta(days=rng.randint(-3, 5))
        item = task_services.task_create(
            actor=service,
            title=title(kind),
            work_type=kind.key,
            queue=kind.queue,
            due_date=due,
            **about(),
        )
        Task.objects.filter(pk=item.pk).update(created_at=_at(created_day, rng.randint(8, 16)))
        if index % 3 == 0:
            worker = inside if kind.queue == Role.INSIDE_SALES else service
            task_services.task_claim(actor=worker, task_id=item.pk)
            task_services.task_advance(actor=worker, task_id=item.pk)

    # Plain tasks in other roles' queues.
    for role, text in (
        (Role.PROJECT_LEADER, "Plan the kick-off of the delivery project"),
        (Role.PROMOTIONS_COORDINATOR, "Send the brochure pack to last week's trade-show leads"),
        (Role.SALES_SUPPORT_MANAGER, "Review the customer-service checklists"),
    ):
        task_services.task_create(
            actor=service, title=text, queue=role, due_date=today + timedelta(days=2)
        )

    # The special-projects coordinator is on an earlier special project, and inside sales
    # escalates another complex job to their queue, where it waits to be taken.
    special = people[Role.SPECIAL_PROJECTS_COORDINATOR]
    ongoing = task_services.task_create(
        actor=inside,
        title="Special project: scope the custom workflow for a regional roll-out",
        queue=Role.SPECIAL_PROJECTS_COORDINATOR,
        due_date=today + timedelta(days=6),
        **about(),
    )
    task_services.task_claim(actor=special, task_id=ongoing.pk)

    complex_job = task_services.task_create(
        actor=inside,
        title="Request for quotation: a multi-site digitisation programme",
        queue=Role.INSIDE_SALES,
        due_date=today + timedelta(days=3),
        **about(),
    )
    task_services.task_claim(actor=inside, task_id=complex_job.pk)
    task_services.task_escalate(
        actor=inside,
        task_id=complex_job.pk,
        queue=Role.SPECIAL_PROJECTS_COORDINATOR,
        reason="Complex job: five sites and a custom workflow; a special project.",
    )

    for days_ago, description, cause, fix in DEFECTS:
        defects.defect_create(
            actor=service,
            data={
                "found_on": today - timedelta(days=days_ago),
                # A defect with its fix was fixed two days after it was found; the last is open.
                "fixed_on": today - timedelta(days=days_ago - 2) if fix else None,
                "description": description,
                "cause": cause,
                "fix": fix,
                "queue": Role.CUSTOMER_SERVICE.value,
            },
        )


def work_at_work(organisations: Sequence[Organisation]) -> None:
    """Queues with work in them and a defect log, in every demo organisation."""
    today = timezone.localdate()
    for index, organisation in enumerate(organisations):
        rng = random.Random(2026 + index)  # noqa: S311 - demo data, repeatable
        _organisation_at_work(organisation, rng, today)
