"""Merge fields: the only data canned messages and document templates can reach.

`MERGE_FIELDS` is the documented catalogue (docs/playbooks.md lists it); `merge_context` builds
it as plain dictionaries of text, numbers and dates, so a template can name nothing else — no
model instance, no method, no related object beyond what is listed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Variable, VariableNode
from django.utils import timezone

#: group -> field -> what it holds (shown in the template editor and docs/playbooks.md).
MERGE_FIELDS: dict[str, dict[str, str]] = {
    "contact": {
        "name": "the contact's full name (an opportunity's primary contact; a lead's own name)",
        "first_name": "the first word of the contact's name",
        "email": "the contact's e-mail address",
        "phone": "the contact's phone number",
        "title": "the contact's job title",
    },
    "company": {
        "name": "the company's name (a lead's company name)",
        "website": "the company's website",
    },
    "opportunity": {
        "name": "the opportunity's name",
        "value": "its value",
        "currency": "its currency (three letters)",
        "stage": "the name of its stage",
        "expected_close_date": "its expected close date",
        "owner": "its owner's name",
    },
    "lead": {
        "name": "the lead's name",
        "email": "the lead's e-mail address",
        "company_name": "the lead's company name",
        "source": "where the lead came from",
    },
    "agreement": {
        "status": "the agreement's status",
        "start_date": "its start date",
        "end_date": "its end date",
        "value": "its total value",
        "currency": "its currency",
        "billing_frequency": "monthly, quarterly, annually or once",
        "renewal_notice_days": "days of notice before renewal",
        "signed_on": "the date it was signed",
    },
    "invoice": {
        "number": "the invoice number",
        "issue_date": "the date it is issued",
        "amount": "the amount billed",
        "currency": "its currency",
        "period_start": "the first day billed",
        "period_end": "the last day billed",
    },
    "sender": {
        "name": "the name of the person sending (or the organisation's)",
        "email": "the sender's e-mail address",
    },
    "organisation": {
        "name": "your organisation's name",
    },
    "links": {
        "booking": "the meeting-booking link from the organisation's settings",
    },
    "today": {},  # the date the message or document is made
}


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str | int | Decimal | date):
        return value
    return str(value)


def _contact(person) -> dict[str, Any]:
    name = person.name if person is not None else ""
    return {
        "name": name,
        "first_name": name.split()[0] if name.strip() else "",
        "email": _text(getattr(person, "email", "")),
        "phone": _text(getattr(person, "phone", "")),
        "title": _text(getattr(person, "title", "")),
    }


def merge_context(
    *,
    organisation,
    opportunity=None,
    lead=None,
    agreement=None,
    invoice: dict[str, Any] | None = None,
    sender=None,
) -> dict[str, Any]:
    """Every merge field as plain values (blank where the record has none)."""
    empty = {group: dict.fromkeys(fields, "") for group, fields in MERGE_FIELDS.items() if fields}
    context: dict[str, Any] = {**empty, "today": timezone.localdate()}
    if opportunity is not None:
        context["opportunity"] = {
            "name": opportunity.name,
            "value": _text(opportunity.value),
            "currency": opportunity.currency,
            "stage": opportunity.stage.name if opportunity.stage_id else "",
            "expected_close_date": _text(opportunity.expected_close_date),
            "owner": (opportunity.owner.full_name or opportunity.owner.email)
            if opportunity.owner_id
            else "",
        }
        if opportunity.primary_contact_id:
            context["contact"] = _contact(opportunity.primary_contact)
        if opportunity.company_id:
            company = opportunity.company
            context["company"] = {"name": company.name, "website": company.website}
    if lead is not None:
        context["lead"] = {
            "name": lead.name,
            "email": lead.email,
            "company_name": lead.company_name,
            "source": lead.source,
        }
        if opportunity is None:
            context["contact"] = _contact(lead)
            context["company"] = {"name": lead.company_name, "website": ""}
    if agreement is not None:
        context["agreement"] = {
            name: _text(getattr(agreement, name)) for name in MERGE_FIELDS["agreement"]
        }
    if invoice is not None:
        context["invoice"] = {name: _text(invoice.get(name)) for name in MERGE_FIELDS["invoice"]}
    context["sender"] = {
        "name": (sender.full_name or sender.email) if sender is not None else organisation.name,
        "email": sender.email if sender is not None else organisation.from_email,
    }
    context["organisation"] = {"name": organisation.name}
    context["links"] = {"booking": organisation.booking_url}
    return context


# --- the sandbox ------------------------------------------------------------------------------

#: Tags a template may use: conditions and comments. No {% load %}, {% include %}, {% url %},
#: {% debug %} or {% now %}: nothing that reaches beyond the merge fields.
ALLOWED_TAGS = frozenset({"if", "comment", "firstof"})
#: Filters a template may use: formatting only.
ALLOWED_FILTERS = frozenset(
    {
        "capfirst",
        "date",
        "default",
        "default_if_none",
        "floatformat",
        "linebreaksbr",
        "lower",
        "title",
        "upper",
        "yesno",
    }
)

# Text (mail) is not HTML: nothing is escaped. HTML documents use their own escaping engine.
_TEXT_ENGINE = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False)
_HTML_ENGINE = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=True)


def _expressions(node: Any) -> Iterator[FilterExpression]:
    """Every filter expression a node evaluates, including inside conditions."""
    if isinstance(node, VariableNode):
        yield node.filter_expression
    for condition, _ in getattr(node, "conditions_nodelists", ()):
        yield from _condition_expressions(condition)
    for value in getattr(node, "vars", ()) or ():  # {% firstof a b %}
        if isinstance(value, FilterExpression):
            yield value


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if part is not None:
            yield from _condition_expressions(part)


def _nodes(nodelist: Any) -> Iterator[Any]:
    for node in nodelist:
        yield node
        for attr in getattr(node, "child_nodelists", ()):
            yield from _nodes(getattr(node, attr, None) or ())
        for _, children in getattr(node, "conditions_nodelists", ()):
            yield from _nodes(children)


def template_problems(text: str, *, fields: dict[str, dict[str, str]] | None = None) -> list[str]:
    """What is wrong with a template: syntax, a tag or filter outside the sandbox, a merge field
    that does not exist — each named, every one at once."""
    fields = MERGE_FIELDS if fields is None else fields
    try:
        template = _TEXT_ENGINE.from_string(text)
    except TemplateSyntaxError as error:
        return [f"template syntax: {error}"]
    problems: list[str] = []

    def add(message: str) -> None:
        if message not in problems:
            problems.append(message)

    for node in _nodes(template.nodelist):
        token = getattr(node, "token", None)
        if token is not None and token.token_type.name == "BLOCK":
            tag = token.contents.split()[0]
            if tag not in ALLOWED_TAGS:
                add(f"the tag '{{% {tag} %}}' is not allowed (use if, firstof or comment)")
        for expression in _expressions(node):
            variables = [expression.var]
            for function, arguments in expression.filters:
                name = getattr(function, "_filter_name", function.__name__)
                if name not in ALLOWED_FILTERS:
                    add(f"the filter '{name}' is not allowed")
                variables += [value for is_lookup, value in arguments if is_lookup]
            for variable in variables:
                if not isinstance(variable, Variable) or variable.lookups is None:
                    continue
                name = ".".join(variable.lookups)
                group, *rest = variable.lookups
                known = fields.get(group)
                if known is None or (rest and (len(rest) > 1 or rest[0] not in known)):
                    add(f"unknown merge field '{name}'")
                elif not rest and known:
                    add(
                        f"'{name}' is a group of merge fields: name one of them, "
                        f"e.g. {name}.{next(iter(known))}"
                    )
    return problems


def render(text: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Render a template that passed `template_problems` with a merge context."""
    engine = _HTML_ENGINE if html else _TEXT_ENGINE
    return engine.from_string(text).render(Context(context, autoescape=html))
