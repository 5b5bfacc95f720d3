"""Saved capacity plans through the services: create, edit with a version, soft delete and
restore, the activity map saved whole, the transition checklist, who may, audit, isolation."""

from __future__ import annotations

from datetime import date

import pytest

from salesline.capacity import selectors, services
from salesline.capacity.models import CapacityPlan
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from salesline.core.models import AuditEvent


def locs(error) -> list:
    return [p.loc for p in error.value.problems]


def test_a_plan_is_created_edited_deleted_and_restored_each_audited(admin_actor):
    plan = services.plan_create(actor=admin_actor, data={"name": "New model"})
    assert plan.document["capacity_per_salesperson"] == 20
    assert plan.activities.count() > 0
    document = {**plan.document, "current": {"salespeople": 10, "meetings_per_salesperson": 2}}
    plan = services.plan_update(
        actor=admin_actor, plan_id=plan.pk, data={"document": document}, version=1
    )
    assert plan.version == 2
    with pytest.raises(PreconditionFailed):
        services.plan_update(actor=admin_actor, plan_id=plan.pk, data={"name": "X"}, version=1)
    services.plan_delete(actor=admin_actor, plan_id=plan.pk)
    with pytest.raises(NotFound):
        selectors.plan_get_for(actor=admin_actor, plan_id=plan.pk)
    services.plan_create(actor=admin_actor, data={"name": "New model"})
    with pytest.raises(Conflict):
        services.plan_restore(actor=admin_actor, plan_id=plan.pk)
    actions = list(
        AuditEvent.objects.filter(action__startswith="capacity_plan.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "capacity_plan.create",
        "capacity_plan.update",
        "capacity_plan.delete",
        "capacity_plan.create",
    ]


def test_a_bad_plan_file_names_every_key(admin_actor):
    with pytest.raises(ValidationFailed) as error:
        services.plan_create(
            actor=admin_actor,
            data={"name": "", "document": {"bogus": 1, "current": {"salespeople": -1}}},
        )
    assert locs(error) == [
        ("name",),
        ("document", "bogus"),
        ("document", "current", "salespeople"),
    ]
    assert not CapacityPlan.objects.exists()


def test_only_managers_see_plans_and_other_organisations_get_404(actor, admin_actor, other_actor):
    plan = services.plan_create(actor=admin_actor, data={"name": "A"})
    with pytest.raises(PermissionDenied):
        selectors.plan_get_for(actor=actor, plan_id=plan.pk)
    with pytest.raises(NotFound):
        selectors.plan_get_for(actor=other_actor, plan_id=plan.pk)
    with pytest.raises(NotFound):
        services.plan_delete(actor=other_actor, plan_id=plan.pk)


def test_the_activity_map_is_saved_whole_or_not_at_all(admin_actor):
    plan = services.plan_create(actor=admin_actor, data={"name": "A"}, suggested_activities=False)
    with pytest.raises(ValidationFailed) as error:
        services.activities_replace(
            actor=admin_actor,
            plan_id=plan.pk,
            activities=[
                {"name": "Meetings", "inside": False, "selling": True, "role": "salesperson"},
                {"name": "meetings", "inside": True, "selling": "x", "role": "ceo"},
            ],
        )
    assert locs(error) == [
        ("activities", 1, "name"),
        ("activities", 1, "selling"),
        ("activities", 1, "role"),
    ]
    services.activities_replace(
        actor=admin_actor,
        plan_id=plan.pk,
        activities=[
            {"name": "Meetings", "inside": False, "selling": True, "role": "salesperson"},
            {"name": "Order entry", "inside": True, "selling": False, "role": ""},
            {"name": "Outbound calls", "inside": True, "selling": True, "role": "inside_sales"},
        ],
    )
    view = selectors.plan_view(actor=admin_actor, plan_id=plan.pk)
    assert view.unowned_activities == ["Order entry"]
    # The starting plan counts no salesperson among the members, and inside sales is never a
    # planned role: named, but nobody would do them.
    assert view.unstaffed_activities == ["Meetings", "Outbound calls"]


def test_the_transition_checklist_is_generated_once_and_tracked(admin_actor):
    plan = services.plan_create(actor=admin_actor, data={"name": "A"})
    steps = services.transition_generate(actor=admin_actor, plan_id=plan.pk, start=date(2027, 1, 4))
    assert [s.key for s in steps][:3] == [
        "appoint_champion",
        "sell_direction",
        "fix_customer_service",
    ]
    assert steps[0].due_date == date(2027, 1, 11)
    step = services.transition_step_update(
        actor=admin_actor,
        plan_id=plan.pk,
        step_id=steps[0].pk,
        data={"owner_id": admin_actor.user.pk, "done": True},
    )
    assert step.done_by == admin_actor.user and step.owner == admin_actor.user
    again = services.transition_generate(actor=admin_actor, plan_id=plan.pk, start=date(2028, 1, 3))
    assert len(again) == 6 and again[0].due_date == date(2027, 1, 11)


def test_a_saved_plan_file_has_its_simulator_sections_checked(admin_actor):
    # The planner's keys fine, the sections not: refused, each key named, with the planner's
    # problems when there are some.
    with pytest.raises(ValidationFailed) as error:
        services.plan_create(
            actor=admin_actor,
            data={
                "name": "Sections",
                "document": {
                    "current": {"salespeople": -1},
                    "simulation": {"pace": 2, "stages": [{"name": "Q", "conversion": 2}]},
                    "scenarios": [{"name": "a", "roles": {"wizard": 1}}],
                },
            },
        )
    assert locs(error) == [
        ("document", "current", "salespeople"),
        ("document", "simulation", "pace"),
        ("document", "simulation", "stages", "0", "conversion"),
        ("document", "scenarios", "0", "roles", "wizard"),
    ]
    assert not CapacityPlan.objects.exists()
    created = services.plan_create(
        actor=admin_actor,
        data={"name": "Fine", "document": {"simulation": {"meeting_hours": 2}}},
    )
    assert created.document == {"simulation": {"meeting_hours": 2}}
