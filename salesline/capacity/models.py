"""Saved capacity plans: the plan file (docs/capacity.md) with what the page adds around it —
the activity-to-role map, the transition checklist and the last simulation. The arithmetic is
in `resourcing.py` and `simulation.py` (pure); these rows only keep what a manager entered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from salesline.core.models import OrgScopedModel


class CapacityPlan(OrgScopedModel):
    """Versioned (the ETag that keeps two editors from overwriting each other) and
    soft-deletable: a deleted plan is restored with its map and checklist."""

    name = models.CharField(max_length=120)
    # The plan file's mapping, exactly the documented keys (resourcing.parse_plan accepts it).
    document = models.JSONField(default=dict)
    # The first day of the month whose held business-development meetings were counted
    # (None: the last four complete weeks).
    measured_from = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The last simulation's answer (simulation.py's JSON) and its parameters.
    simulation = models.JSONField(null=True, blank=True)
    simulated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                condition=Q(deleted_at__isnull=True),
                name="capacity_plan_name",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PlanActivity(models.Model):
    """One activity placed on the chapter's Boston matrix (inside or outside x selling or not)
    and, once decided, given to a role (a key of resourcing.ACTIVITY_ROLES)."""

    plan = models.ForeignKey(CapacityPlan, on_delete=models.CASCADE, related_name="activities")
    name = models.CharField(max_length=200)
    inside = models.BooleanField()  # False: must be done in the field (outside)
    selling = models.BooleanField()
    role = models.CharField(max_length=40, blank=True)  # blank: nobody owns it yet
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "name"], name="capacity_activity_name")
        ]

    def __str__(self) -> str:
        return self.name


class TransitionStep(models.Model):
    """One step of the chapter's transition, generated from transition.STEPS, tracked with an
    owner, a due date and who ticked it off when."""

    plan = models.ForeignKey(
        CapacityPlan, on_delete=models.CASCADE, related_name="transition_steps"
    )
    key = models.CharField(max_length=40)
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    guidance = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="capacity_transition_step")
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"
