"""`{% documents_panel %}`: the Documents panel of an opportunity's or a lead's page (nothing on
other records' pages). `{% load documents %}{% documents_panel %}` is its one line in
web/records/detail.html."""

from __future__ import annotations

from django import template

from salesline.playbooks import document_selectors
from salesline.playbooks.document_catalogue import CATALOGUE, RECORD

register = template.Library()

# Receipts acknowledge an invoice: they are made from the invoice, not from this panel.
NOT_FROM_THE_PANEL = frozenset({"receipt"})


@register.inclusion_tag("web/documents/_panel.html", takes_context=True)
def documents_panel(context) -> dict:
    kind, obj, actor = context.get("kind"), context.get("obj"), context.get("actor")
    if kind is None or kind.key not in {"opportunity", "lead"} or obj is None or actor is None:
        return {"shown": False}
    on = {f"{kind.key}_id": obj.pk}
    documents = list(document_selectors.document_list(actor=actor, **on))
    groups = [
        {
            "template": template_def,
            "documents": [d for d in documents if d.template == key],
        }
        for key, template_def in CATALOGUE.items()
        if any(d.template == key for d in documents)
    ]
    choices = [
        t
        for t in CATALOGUE.values()
        if t.key not in NOT_FROM_THE_PANEL and (kind.key == "opportunity" or t.needs == RECORD)
    ]
    return {
        "shown": True,
        "csrf_token": context.get("csrf_token"),
        "record_field": f"{kind.key}_id",
        "obj": obj,
        "groups": groups,
        "choices": choices,
    }
