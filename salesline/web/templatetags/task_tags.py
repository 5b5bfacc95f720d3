"""Tasks on other pages (a record's panel, the home page) and task instructions as Markdown.

`{% load task_tags %}`, then `{% record_tasks %}` on a record's page (it reads `actor`, `obj`
and `kind` from the page), `{% home_tasks %}` on the home page, `{{ text|markdown }}`."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from salesline.accounts.models import Role
from salesline.playbooks import task_selectors

register = template.Library()

# CommonMark with raw HTML off: `<script>` in instructions is shown as text, and only
# markdown-it's own escaped output is ever marked safe. Links with javascript:, vbscript:,
# file: or data: addresses are refused by markdown-it's validateLink. Images are off too: the
# CSP would block an outside picture anyway.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
HOME_LIMIT = 8
RECORD_LIMIT = 20


@register.filter
def markdown(text: str) -> SafeString:
    return mark_safe(_MARKDOWN.render(text or ""))  # noqa: S308 -- escaped by markdown-it


@register.filter
def role_label(role: str) -> str:
    return dict(Role.choices).get(role, role)


@register.filter
def overdue(task) -> bool:
    return task_selectors.is_overdue(task)


@register.inclusion_tag("web/tasks/_record_panel.html", takes_context=True)
def record_tasks(context) -> dict:
    """The tasks panel of an opportunity's or a lead's page: open tasks first, and a form to add
    one. Nothing for other kinds."""
    kind, obj, actor = context.get("kind"), context.get("obj"), context.get("actor")
    key = getattr(kind, "key", "")
    if key not in ("opportunity", "lead") or obj is None or actor is None:
        return {"show": False}
    items, count = task_selectors.open_tasks_on(
        actor=actor, limit=RECORD_LIMIT, **{f"{key}_id": obj.pk}
    )
    request = context.get("request")
    return {
        "show": True,
        "items": items,
        "count": count,
        "kind": kind,
        "obj": obj,
        "actor": actor,
        "next": request.get_full_path() if request else "",
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


@register.inclusion_tag("web/tasks/_home.html", takes_context=True)
def home_tasks(context) -> dict:
    """The signed-in member's open tasks, overdue first (by due date), for the home page."""
    actor = context.get("actor")
    if actor is None or actor.user is None:
        return {"items": [], "count": 0}
    items, count = task_selectors.task_list(
        actor=actor,
        filters={"assignee_id": actor.user.pk, "status": "open", "limit": HOME_LIMIT},
    )
    return {"items": items, "count": count, "actor": actor}
