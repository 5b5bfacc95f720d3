"""Who is shown the capacity planner's link (the capacity services decide who may open it)."""

from django import template

from salesline.capacity.services import may_manage

register = template.Library()


@register.filter
def may_plan_capacity(actor) -> bool:
    return actor is not None and may_manage(actor)
