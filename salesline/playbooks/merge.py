"""Merge fields: the only data canned messages and document templates can reach.

`MERGE_FIELDS` is the documented catalogue (docs/messages.md lists it, and a test keeps the two
in step); `merge_context` builds it as plain dictionaries of text, formatted amounts and dates,
so a template can name nothing else — no model instance, no method, no related object beyond
what is listed here.

The sandbox (`template_problems`, `render`) is Django's template language cut down to
conditions, comments and formatting filters: a template that names anything else is refused
with every problem named at once, and `render` refuses what `template_problems` refuses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import FilterExpression, Lexer, Parser, TokenType, Variable
from django.utils import timezone, translation

#: group -> field -> what it holds (shown in the template editor, GET /api/v1/merge-fields and
#: docs/messages.md, whose table a test keeps equal to this).
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
        "value": "the opportunity's value, e.g. 12,500.00 (the currency is its own field)",
        "currency": "the opportunity's currency (three letters, e.g. EUR)",
        "stage": "the name of the opportunity's stage",
        "expected_close_date": "the opportunity's expected close date (a date)",
        "owner": "the name of the opportunity's owner (their e-mail when they have no name)",
    },
    "lead": {
        "name": "the lead's name",
        "email": "the lead's e-mail address",
        "company_name": "the lead's company name",
        "source": "where the lead came from",
    },
    "agreement": {
        "status": "the agreement's status",
        "start_date": "the agreement's start date (a date)",
        "end_date": "the agreement's end date (a date)",
        "value": "the agreement's total value, e.g. 36,000.00",
        "currency": "the agreement's currency",
        "billing_frequency": "how often it is billed: monthly, quarterly, annually or once",
        "renewal_notice_days": "the days of notice before the agreement renews",
        "signed_on": "the date the agreement was signed (a date)",
    },
    "invoice": {
        "number": "the invoice number",
        "issue_date": "the date the invoice is issued (a date)",
        "amount": "the amount billed, e.g. 3,000.00",
        "currency": "the invoice's currency",
        "period_start": "the first day billed (a date)",
        "period_end": "the last day billed (a date)",
    },
    "quote": {
        "number": "the quote number",
        "issue_date": "the date the quote is issued (a date)",
        "valid_until": "the last day the offer stands (a date)",
        "amount": "the amount offered, e.g. 12,500.00",
        "currency": "the quote's currency",
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


#: Fields that are a name alone, not a group (`{{ today }}`), and what they hold.
STANDALONE_FIELDS: dict[str, str] = {
    "today": "the date the message or document is made (a date)",
}


def merge_field_catalogue() -> list[tuple[str, str]]:
    """Every merge field as (name as a template writes it, what it holds), in catalogue order."""
    return [
        (f"{group}.{name}", description) if fields else (group, STANDALONE_FIELDS[group])
        for group, fields in MERGE_FIELDS.items()
        for name, description in (fields.items() if fields else [("", "")])
    ]


def merge_fields_markdown() -> str:
    """The catalogue as the Markdown table docs/messages.md shows (a test keeps them equal)."""
    rows = ["| Merge field | What it holds |", "| --- | --- |"]
    rows += [
        f"| `{{{{ {name} }}}}` | {description[:1].upper()}{description[1:]} |"
        for name, description in merge_field_catalogue()
    ]
    return "\n".join(rows) + "\n"


def _text(value: Any) -> Any:
    """A value as a template shows it: blank for nothing, dates kept as dates (so the `date`
    filter can format them), everything else text or a number."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str | int | Decimal | date):
        return value
    return str(value)


def money(value: Any) -> str:
    """An amount as a letter shows it: thousands grouped, two decimals ("12,500.00"); blank
    for none. The currency is a field of its own."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


#: Fields holding an amount of money, rendered by `money`.
MONEY_FIELDS = frozenset({"opportunity.value", "agreement.value", "invoice.amount", "quote.amount"})


def _contact(person) -> dict[str, Any]:
    name = (person.name or "") if person is not None else ""
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
    invoice: Mapping[str, Any] | None = None,
    quote: Mapping[str, Any] | None = None,
    sender=None,
) -> dict[str, Any]:
    """Every merge field as plain values (blank where the record has none). An opportunity's
    contact and company are its primary contact and company; a lead alone is its own contact."""
    empty = {group: dict.fromkeys(fields, "") for group, fields in MERGE_FIELDS.items() if fields}
    context: dict[str, Any] = {**empty, "today": timezone.localdate()}
    if opportunity is not None:
        context["opportunity"] = {
            "name": opportunity.name,
            "value": money(opportunity.value),
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
            context["company"] = {"name": company.name, "website": _text(company.website)}
    if lead is not None:
        context["lead"] = {
            "name": lead.name,
            "email": _text(lead.email),
            "company_name": _text(lead.company_name),
            "source": _text(lead.source),
        }
        if opportunity is None:
            context["contact"] = _contact(lead)
            context["company"] = {"name": _text(lead.company_name), "website": ""}
    if agreement is not None:
        context["agreement"] = {
            name: _text(getattr(agreement, name)) for name in MERGE_FIELDS["agreement"]
        }
        context["agreement"]["value"] = money(agreement.value)
    if invoice is not None:
        context["invoice"] = {name: _text(invoice.get(name)) for name in MERGE_FIELDS["invoice"]}
        context["invoice"]["amount"] = money(invoice.get("amount"))
    if quote is not None:
        context["quote"] = {name: _text(quote.get(name)) for name in MERGE_FIELDS["quote"]}
        context["quote"]["amount"] = money(quote.get("amount"))
    context["sender"] = {
        "name": (sender.full_name or sender.email) if sender is not None else organisation.name,
        "email": sender.email if sender is not None else _text(organisation.from_email),
    }
    context["organisation"] = {"name": organisation.name}
    context["links"] = {"booking": _text(organisation.booking_url)}
    return context


#: What the live preview shows when no record is chosen: one made-up value per record field
#: (the sender, organisation and links come from the real organisation).
SAMPLE_VALUES: dict[str, dict[str, Any]] = {
    "contact": {
        "name": "Kari Nordmann",
        "first_name": "Kari",
        "email": "kari.nordmann@example.com",
        "phone": "+47 22 00 00 00",
        "title": "Head of Archives",
    },
    "company": {"name": "Example Archives AS", "website": "https://example.com"},
    "opportunity": {
        "name": "Archive migration",
        "value": money(Decimal("12500")),
        "currency": "EUR",
        "stage": "Qualify",
        "expected_close_date": date(2027, 3, 31),
        "owner": "Ann Seller",
    },
    "lead": {
        "name": "Kari Nordmann",
        "email": "kari.nordmann@example.com",
        "company_name": "Example Archives AS",
        "source": "Trade show",
    },
    "agreement": {
        "status": "draft",
        "start_date": date(2027, 4, 1),
        "end_date": date(2028, 3, 31),
        "value": money(Decimal("36000")),
        "currency": "EUR",
        "billing_frequency": "monthly",
        "renewal_notice_days": 60,
        "signed_on": date(2027, 3, 28),
    },
    "invoice": {
        "number": "INV-2027-0001",
        "issue_date": date(2027, 4, 1),
        "amount": money(Decimal("3000")),
        "currency": "EUR",
        "period_start": date(2027, 4, 1),
        "period_end": date(2027, 4, 30),
    },
    "quote": {
        "number": "Q-2027-0001",
        "issue_date": date(2027, 3, 1),
        "valid_until": date(2027, 3, 31),
        "amount": money(Decimal("12500")),
        "currency": "EUR",
    },
}


def sample_context(*, organisation, sender=None) -> dict[str, Any]:
    """`merge_context` with made-up records (for previewing a template with no record)."""
    context = merge_context(organisation=organisation, sender=sender)
    for group, values in SAMPLE_VALUES.items():
        context[group] = dict(values)
    return context


# --- the sandbox ------------------------------------------------------------------------------

#: Tags a template may use: conditions, comments and `firstof`. No {% load %}, {% include %},
#: {% extends %}, {% url %}, {% debug %}, {% now %}, {% for %}, {% with %}: nothing that reaches
#: beyond the merge fields, loops or sets variables.
ALLOWED_TAGS = frozenset({"if", "comment", "firstof"})
# The words that continue or close an allowed tag.
_CLOSING_WORDS = frozenset({"elif", "else", "endif", "endcomment"})
#: Filters a template may use: formatting only (no `safe`, no `escape`: the engine escapes HTML
#: documents itself and never escapes mail text).
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
#: The longest template accepted (subject or body), in characters.
MAX_TEMPLATE_LENGTH = 50_000
#: How deep conditions may nest ({% if %} inside {% if %} ...).
MAX_NESTING = 10

# The only library the sandbox's parser knows: a tag or filter outside it cannot even compile.
_SANDBOX = Library()
for _tag in ALLOWED_TAGS:
    _SANDBOX.tags[_tag] = defaulttags.register.tags[_tag]
for _filter in ALLOWED_FILTERS:
    _SANDBOX.filters[_filter] = defaultfilters.register.filters[_filter]


def _engine(*, autoescape: bool) -> Engine:
    engine = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=autoescape)
    engine.template_builtins = [_SANDBOX]
    return engine


# Text (mail) is not HTML: nothing is escaped. HTML documents escape every value.
_TEXT_ENGINE = _engine(autoescape=False)
_HTML_ENGINE = _engine(autoescape=True)


class TemplateRefused(ValueError):
    """`render` was given a template `template_problems` refuses."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _allowed_list(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


_INVALID_FILTER = re.compile(r"Invalid filter: '([^']*)'")
_UNDERSCORE = re.compile(r"may not begin with underscores: '([^']*)'")


def _syntax_problem(error: TemplateSyntaxError) -> str:
    """A parser error in words a template's author can act on."""
    message = str(error)
    if found := _INVALID_FILTER.search(message):
        return _filter_problem(found[1])
    if found := _UNDERSCORE.search(message):
        return f"unknown merge field '{found[1]}'"
    return f"template syntax: {message}"


def _filter_problem(name: str) -> str:
    return f"the filter '{name}' is not allowed (use {_allowed_list(ALLOWED_FILTERS)})"


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if part is not None:
            yield from _condition_expressions(part)


def _variable_problem(variable: Variable, fields: Mapping[str, Mapping[str, str]]) -> str | None:
    """Why a variable is not a merge field (a group alone, an unknown name, a method or
    attribute of a field's value), or None when it is one."""
    if variable.lookups is None:  # a literal: "text" or 3
        return None
    name = ".".join(variable.lookups)
    group, *rest = variable.lookups
    known = fields.get(group)
    if known is None or len(rest) > 1 or (rest and rest[0] not in known):
        return f"unknown merge field '{name}'"
    if not rest and known:
        return (
            f"'{name}' is a group of merge fields: name one of them, "
            f"e.g. {{{{ {name}.{next(iter(known))} }}}}"
        )
    return None


def _expression_problems(
    expression: FilterExpression, fields: Mapping[str, Mapping[str, str]]
) -> Iterator[str]:
    variables = [expression.var]
    for function, arguments in expression.filters:
        name = getattr(function, "_filter_name", function.__name__)
        if name not in ALLOWED_FILTERS:
            yield _filter_problem(name)
        variables.extend(argument for lookup, argument in arguments if lookup)
    for variable in variables:
        if isinstance(variable, Variable) and (problem := _variable_problem(variable, fields)):
            yield problem


def _tag_problems(
    parser: Parser, token: Any, fields: Mapping[str, Mapping[str, str]]
) -> Iterator[str]:
    """The problems of the expressions an {% if %}, {% elif %} or {% firstof %} evaluates."""
    tag, *bits = token.split_contents()
    try:
        if tag == "firstof":
            if len(bits) >= 2 and bits[-2] == "as":
                bits = bits[:-2]
            expressions = [parser.compile_filter(bit) for bit in bits]
        else:
            condition = defaulttags.TemplateIfParser(parser, bits).parse()
            expressions = list(_condition_expressions(condition))
    except TemplateSyntaxError as error:
        yield _syntax_problem(error)
        return
    except RecursionError:
        yield "the template is nested too deeply"
        return
    for expression in expressions:
        yield from _expression_problems(expression, fields)


def _token_problems(text: str, fields: Mapping[str, Mapping[str, str]]) -> tuple[list[str], bool]:
    """Problems found token by token, so every one is named even where the template as a whole
    cannot be parsed; and whether a tag outside the sandbox was found."""
    problems: list[str] = []
    refused_tag = False
    refused: set[str] = set()
    depth = 0
    in_comment = False
    parser = Parser([], libraries={}, builtins=[_SANDBOX])
    for token in Lexer(text).tokenize():
        if token.token_type == TokenType.BLOCK:
            words = token.contents.split()
            tag = words[0] if words else ""
            if in_comment:
                in_comment = tag != "endcomment"
                continue
            if tag == "comment":
                in_comment = True
            elif tag == "if":
                depth += 1
                if depth > MAX_NESTING:
                    problems.append(
                        f"conditions are nested more than {MAX_NESTING} deep (line {token.lineno})"
                    )
                    return problems, True
            elif tag == "endif":
                depth -= 1
            elif tag.startswith("end") and tag[3:] in refused:
                continue  # its opening tag is named already
            elif tag and tag not in ALLOWED_TAGS | _CLOSING_WORDS:
                refused_tag = True
                refused.add(tag)
                problems.append(
                    f"the tag '{{% {tag} %}}' is not allowed "
                    f"(use if, elif, else, firstof or comment) (line {token.lineno})"
                )
            if tag in ("if", "elif", "firstof"):
                problems.extend(_tag_problems(parser, token, fields))
        elif token.token_type == TokenType.VAR and not in_comment:
            try:
                expression = parser.compile_filter(token.contents)
            except TemplateSyntaxError as error:
                problems.append(_syntax_problem(error))
                continue
            problems.extend(_expression_problems(expression, fields))
    return problems, refused_tag


def template_problems(
    text: str, *, fields: Mapping[str, Mapping[str, str]] | None = None
) -> list[str]:
    """What is wrong with a template: its size, its syntax, a tag or filter outside the
    sandbox, a merge field that does not exist — each named, every one at once (empty when
    nothing is)."""
    if fields is None:
        return list(_default_problems(text))
    return _problems(text, fields)


@functools.lru_cache(maxsize=512)
def _default_problems(text: str) -> tuple[str, ...]:
    return tuple(_problems(text, MERGE_FIELDS))


def _problems(text: str, fields: Mapping[str, Mapping[str, str]]) -> list[str]:
    if not isinstance(text, str):
        return ["a template must be text"]
    if len(text) > MAX_TEMPLATE_LENGTH:
        return [
            f"the template is too long: at most {MAX_TEMPLATE_LENGTH:,} characters "
            f"(it has {len(text):,})"
        ]
    found, refused_tag = _token_problems(text, fields)
    problems: list[str] = []

    def add(message: str) -> None:
        if message not in problems:
            problems.append(message)

    for message in found:
        add(message)
    if refused_tag:  # the parser would only stop at the first refused tag again
        return problems
    # Every name was checked token by token; the parse finds what only the whole shows
    # (an unclosed {% if %}, an {% else %} out of place).
    try:
        _TEXT_ENGINE.from_string(text)
    except TemplateSyntaxError as error:
        add(_syntax_problem(error))
    except RecursionError:
        add("the template is nested too deeply")
    return problems


@functools.lru_cache(maxsize=512)
def _compiled(text: str, html: bool):
    return (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(text)


def _blank_none(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return {key: _blank_none(item) for key, item in value.items()}
    return value


def render(
    text: str,
    context: Mapping[str, Any],
    *,
    html: bool = False,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Render a template with a merge context (`merge_context` or `sample_context`). A value
    that is None renders blank; dates render as the site's language writes them ("6 Dec 2026")
    unless a `date` filter says otherwise; the result is plain text, never marked safe. Raises
    `TemplateRefused` for a template that `template_problems` refuses."""
    problems = template_problems(text, fields=fields)
    if problems:
        raise TemplateRefused(problems)
    with translation.override(settings.LANGUAGE_CODE):
        output = _compiled(text, html).render(Context(_blank_none(context), autoescape=html))
    # Django marks a rendered template safe; this text is user-written, so a page showing it
    # must escape it: hand back a plain str, never a SafeString.
    return "".join([output])
