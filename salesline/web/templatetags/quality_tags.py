"""`{% quality_panel actor opportunity %}`: the quality rating on the opportunity page (one line
in records/detail.html; the panel's data comes from the quality view module)."""

from __future__ import annotations

from django import template

from ..views.quality import panel_context

register = template.Library()


@register.inclusion_tag("web/records/_quality.html")
def quality_panel(actor, opportunity) -> dict:
    return panel_context(actor, opportunity)
