"""Template filters that show values one way on every page (salesline/web/formatting.py):
`{{ value|number }}`, `{{ date|day }}`, `{{ moment|moment }}`. Built in to every template
(settings TEMPLATES OPTIONS builtins), so no page needs to load them."""

from __future__ import annotations

from django import template

from .. import formatting

register = template.Library()
register.filter("number", formatting.number)
register.filter("day", formatting.day)
register.filter("moment", formatting.moment)
register.filter("yes_no", formatting.yes_no)
