"""`{% agreement_panel actor opportunity %}`: the Agreement panel of the opportunity page (one
line in records/detail.html; the panel's data comes from the agreements view module)."""

from __future__ import annotations

from django import template

from ..views.agreements import panel_context

register = template.Library()


@register.inclusion_tag("web/agreements/_panel.html", takes_context=True)
def agreement_panel(context, actor, opportunity) -> dict:
    return {
        **panel_context(actor, opportunity),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
