"""`{% messages_panel %}`: the Messages section of an opportunity's or a lead's page (nothing on
other records' pages). `{% load message_tags %}{% messages_panel %}` is its one line in
web/records/detail.html."""

from __future__ import annotations

from django import template

from salesline.playbooks import message_selectors

register = template.Library()


@register.inclusion_tag("web/messages/_panel.html", takes_context=True)
def messages_panel(context) -> dict:
    kind, obj, actor = context.get("kind"), context.get("obj"), context.get("actor")
    if kind is None or kind.key not in {"opportunity", "lead"} or obj is None or actor is None:
        return {"shown": False}
    rows = message_selectors.message_list(actor=actor, **{f"{kind.key}_id": obj.pk})
    return {
        "shown": True,
        "csrf_token": context.get("csrf_token"),
        "plural": kind.plural,
        "obj": obj,
        "messages_of_record": list(rows[:50]),
        "templates": message_selectors.message_template_choices(actor=actor),
    }
