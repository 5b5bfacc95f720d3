"""People and activity: business-development meetings per salesperson per week against
capacity, activities per open opportunity, on-time task completion. Composed here because the
numbers come from two engine apps (analytics and the tasks of playbooks), which never import
each other."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from salesline.analytics import activity_selectors as activity
from salesline.playbooks.task_selectors import task_on_time_rate

from .common import actor_of

router = Router(tags=["metrics"])


@router.get(
    "",
    response=dict[str, Any],
    operation_id="metrics_people",
    summary="Meetings per salesperson per week, activities per opportunity, on-time tasks",
    description="Query: `from`, `to` (YYYY-MM-DD; default the last 12 ISO weeks), `owner_id`. "
    "Per salesperson: business-development meetings per ISO week against the weekly capacity "
    "(`utilisation` = meetings ÷ capacity), mean activities per open opportunity, and on-time "
    "task completion (tasks due in the period). See docs/metrics.md, People and activity.",
)
def metrics_people(request: HttpRequest):
    return activity.people_report(
        actor=actor_of(request), raw=request.GET, on_time_rate=task_on_time_rate
    )
