"""The merge-field sandbox: what a template may name, and how it renders."""

import datetime as dt
from decimal import Decimal

import pytest

from salesline.playbooks import merge
from salesline.playbooks.merge import (
    MERGE_FIELDS,
    TemplateRefused,
    merge_context,
    render,
    sample_context,
    template_problems,
)
from tests.conftest import qualify_fields

ALLOWED_FILTERS = sorted(merge.ALLOWED_FILTERS)
FILTER_LIST = ", ".join(ALLOWED_FILTERS)


def every_field() -> list[str]:
    return [name for name, _ in merge.merge_field_catalogue()]


# --- what a template may name ---------------------------------------------------------------


@pytest.mark.parametrize("name", every_field())
def test_every_catalogued_field_is_accepted_alone_in_a_condition_and_in_firstof(name):
    text = f"{{{{ {name} }}}} {{% if {name} %}}x{{% elif {name} %}}y{{% endif %}}"
    assert template_problems(text) == []
    assert template_problems(f"{{% firstof {name} 'none' %}}") == []


def test_the_catalogue_is_groups_of_fields_and_today():
    assert {"contact", "company", "opportunity", "lead", "agreement", "invoice"} <= set(
        MERGE_FIELDS
    )
    assert {"sender", "organisation", "links", "today"} <= set(MERGE_FIELDS)
    assert "today" in every_field() and "contact.name" in every_field()
    assert all(description for _, description in merge.merge_field_catalogue())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hi {{ contact.nme }}", "unknown merge field 'contact.nme'"),
        ("{{ contakt.name }}", "unknown merge field 'contakt.name'"),
        ("{{ today.year }}", "unknown merge field 'today.year'"),
        # Walking from a field to what its record holds, or to a method of its value.
        ("{{ opportunity.organisation }}", "unknown merge field 'opportunity.organisation'"),
        ("{{ contact.name.upper }}", "unknown merge field 'contact.name.upper'"),
        ("{{ contact.__class__ }}", "unknown merge field 'contact.__class__'"),
        ("{{ contact._meta }}", "unknown merge field 'contact._meta'"),
        ("{{ request.user }}", "unknown merge field 'request.user'"),
        ("{{ settings.SECRET_KEY }}", "unknown merge field 'settings.SECRET_KEY'"),
        # Inside conditions, firstof and filter arguments too.
        ("{% if contact.nme %}x{% endif %}", "unknown merge field 'contact.nme'"),
        ("{% if a %}x{% elif lead.nmae %}y{% endif %}", "unknown merge field 'lead.nmae'"),
        (
            "{% if contact.name and not company.nam == 'x' %}x{% endif %}",
            "unknown merge field 'company.nam'",
        ),
        ("{% firstof contact.x contact.name %}", "unknown merge field 'contact.x'"),
        ("{{ contact.name|default:contact.nick }}", "unknown merge field 'contact.nick'"),
    ],
)
def test_a_name_outside_the_catalogue_is_refused_by_name(text, problem):
    assert problem in template_problems(text)


def test_a_group_alone_asks_for_one_of_its_fields():
    assert template_problems("{{ company }}") == [
        "'company' is a group of merge fields: name one of them, e.g. {{ company.name }}"
    ]


def test_every_problem_is_named_at_once():
    problems = template_problems(
        "{{ contact.nme }} {{ contact.name|safe }}\n{% if lead.x %}{{ company }}{% endif %}"
        "{{ contact.nme }}"
    )
    assert problems == [
        "unknown merge field 'contact.nme'",
        f"the filter 'safe' is not allowed (use {FILTER_LIST})",
        "unknown merge field 'lead.x'",
        "'company' is a group of merge fields: name one of them, e.g. {{ company.name }}",
    ]


@pytest.mark.parametrize(
    "tag",
    [
        "{% load humanize %}",
        "{% include 'web/base.html' %}",
        "{% extends 'web/base.html' %}",
        "{% url 'web:home' %}",
        "{% debug %}",
        "{% now 'Y' %}",
        "{% csrf_token %}",
        "{% for x in contact.name %}{% endfor %}",
        "{% with a=contact.name %}{% endwith %}",
        "{% verbatim %}{% endverbatim %}",
        "{% autoescape off %}{% endautoescape %}",
        "{% filter upper %}{% endfilter %}",
        "{% templatetag openblock %}",
        "{% cycle 'a' 'b' %}",
        "{% lorem %}",
        "{% widthratio 1 2 3 %}",
        "{% spaceless %}{% endspaceless %}",
        "{% block x %}{% endblock %}",
        "{% partialdef x %}{% endpartialdef %}",
    ],
)
def test_tags_outside_the_sandbox_are_refused_by_name(tag):
    name = tag.split()[1]
    problems = template_problems(f"Dear {{{{ contact.name }}}},\n{tag}")
    assert problems == [
        f"the tag '{{% {name} %}}' is not allowed (use if, elif, else, firstof or comment) (line 2)"
    ]


def test_a_refused_tag_does_not_hide_an_unknown_field():
    assert template_problems("{% load humanize %}{{ contact.nme }}") == [
        "the tag '{% load %}' is not allowed (use if, elif, else, firstof or comment) (line 1)",
        "unknown merge field 'contact.nme'",
    ]


def test_comments_may_hold_anything():
    text = "{# {{ nothing }} #}{% comment %}{% load x %}{{ y }}{% endcomment %}{{ today }}"
    assert template_problems(text) == []


@pytest.mark.parametrize(
    "filter_", ["safe", "escape", "escapejs", "force_escape", "safeseq", "pprint", "urlize"]
)
def test_filters_outside_the_allow_list_are_refused(filter_):
    assert template_problems(f"{{{{ contact.name|{filter_} }}}}") == [
        f"the filter '{filter_}' is not allowed (use {FILTER_LIST})"
    ]
    assert template_problems(f"{{% if contact.name|{filter_} %}}x{{% endif %}}") == [
        f"the filter '{filter_}' is not allowed (use {FILTER_LIST})"
    ]


def test_a_filter_that_does_not_exist_is_refused_like_one_that_is_not_allowed():
    assert template_problems("{{ contact.name|shout }}") == [
        f"the filter 'shout' is not allowed (use {FILTER_LIST})"
    ]


@pytest.mark.parametrize("filter_", ALLOWED_FILTERS)
def test_the_allowed_filters_are_accepted(filter_):
    argument = {
        "date": ':"j F Y"',
        "default": ':"there"',
        "yesno": ':"yes,no"',
        "default_if_none": ':"-"',
    }.get(filter_, "")
    assert template_problems(f"{{{{ contact.name|{filter_}{argument} }}}}") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "{% if contact.name %}no end",
            "template syntax: Unclosed tag on line 1: 'if'. Looking for one of: elif, else, endif.",
        ),
        ("{% if %}x{% endif %}", "template syntax: Unexpected end of expression in if tag."),
        ("{{ }}", "template syntax: Empty variable tag on line 1"),
        ("{% %}", "template syntax: Empty block tag on line 1"),
        (
            "{% endif %}",
            "template syntax: Invalid block tag on line 1: 'endif'. Did you forget "
            "to register or load this tag?",
        ),
    ],
)
def test_syntax_errors_are_readable(text, problem):
    assert template_problems(text) == [problem]


def test_a_huge_template_is_refused_with_its_size():
    text = "x" * (merge.MAX_TEMPLATE_LENGTH + 1)
    assert template_problems(text) == [
        "the template is too long: at most 50,000 characters (it has 50,001)"
    ]
    assert template_problems("x" * merge.MAX_TEMPLATE_LENGTH) == []


def test_deep_nesting_is_refused_without_exhausting_the_stack():
    nested = "{% if contact.name %}" * 11 + "x" + "{% endif %}" * 11
    assert template_problems(nested) == ["conditions are nested more than 10 deep (line 1)"]
    negations = "{% if " + "not " * 5000 + "contact.name %}x{% endif %}"
    assert template_problems(negations) == ["the template is nested too deeply"]


def test_extra_fields_can_be_allowed_by_a_caller():
    fields = {**MERGE_FIELDS, "document": {"title": "a title"}}
    assert template_problems("{{ document.title }}", fields=fields) == []
    assert template_problems("{{ document.title }}") == ["unknown merge field 'document.title'"]


# --- rendering ----------------------------------------------------------------------------------


def test_render_refuses_what_the_checker_refuses():
    with pytest.raises(TemplateRefused) as refused:
        render("{% load humanize %}{{ contact.nme }}", {})
    assert refused.value.problems == template_problems("{% load humanize %}{{ contact.nme }}")
    with pytest.raises(TemplateRefused):
        render("{% include 'web/base.html' %}", {})


def test_render_fills_fields_and_never_writes_none(org):
    context = merge_context(organisation=org)
    context["contact"]["title"] = None
    text = "[{{ contact.name }}][{{ contact.title }}][{{ opportunity.value }}][{{ agreement.end_date }}]"
    assert render(text, context) == "[][][][]"


def test_mail_text_is_not_escaped_and_html_is(org):
    context = merge_context(organisation=org)
    context["contact"]["name"] = "Tom & <Jerry>"
    assert render("{{ contact.name }}", context) == "Tom & <Jerry>"
    assert render("<p>{{ contact.name }}</p>", context, html=True) == (
        "<p>Tom &amp; &lt;Jerry&gt;</p>"
    )


def test_the_rendered_text_is_never_marked_safe(org):
    from django.utils.safestring import SafeData

    context = merge_context(organisation=org)
    for html in (False, True):
        output = render("<b>{{ organisation.name }}</b>", context, html=html)
        assert type(output) is str and not isinstance(output, SafeData)


def test_dates_and_money_render_sensibly(org):
    context = sample_context(organisation=org)
    assert render("{{ opportunity.value }} {{ opportunity.currency }}", context) == (
        "12,500.00 EUR"
    )
    assert render("{{ agreement.start_date }}", context) == "1 Apr 2027"
    assert render('{{ agreement.start_date|date:"j F Y" }}', context) == "1 April 2027"
    assert merge.money(Decimal("1234567.5")) == "1,234,567.50"
    assert merge.money(None) == ""


def test_conditions_and_defaults_render(org):
    context = merge_context(organisation=org)
    text = (
        "Dear {% if contact.first_name %}{{ contact.first_name }}{% else %}Sir or Madam{% endif %}"
    )
    assert render(text, context) == "Dear Sir or Madam"
    assert render('{{ contact.name|default:"friend" }}', context) == "friend"
    assert render("{% firstof contact.name organisation.name %}", context) == org.name


def test_render_is_not_fooled_by_a_context_holding_objects(org, user):
    """A caller's context can only reach what the template names, and the template can only
    name catalogue fields: a model instance slipped into the context stays unreachable."""
    context = merge_context(organisation=org)
    context["contact"]["name"] = user  # wrong, but harmless: it renders as text
    with pytest.raises(TemplateRefused):
        render("{{ contact.name.password }}", context)


# --- the merge context --------------------------------------------------------------------------


def _fields(context) -> set[str]:
    names = set()
    for group, values in context.items():
        if isinstance(values, dict):
            names |= {f"{group}.{name}" for name in values}
        else:
            names.add(group)
    return names


def test_the_context_holds_exactly_the_catalogue(org):
    assert _fields(merge_context(organisation=org)) == set(every_field())
    assert _fields(sample_context(organisation=org)) == set(every_field())


def test_the_sample_names_every_record_field():
    for group, values in merge.SAMPLE_VALUES.items():
        assert set(values) == set(MERGE_FIELDS[group]), group


def test_an_opportunity_fills_contact_company_and_owner(actor, company, person, org, user):
    from salesline.pipeline.services import opportunity_create

    opportunity = opportunity_create(
        actor=actor, data={**qualify_fields(company, person), "owner_id": user.pk}
    )
    org.booking_url = "https://book.example.com/ann"
    org.from_email = "partnerships@piql.test"
    context = merge_context(organisation=org, opportunity=opportunity)
    assert context["contact"] == {
        "name": "Ola Nordmann",
        "first_name": "Ola",
        "email": "ola@acme.no",
        "phone": "+4722000000",
        "title": "Head of Archives",
    }
    assert context["company"]["name"] == "Acme Archives AS"
    assert context["opportunity"]["value"] == "180,000.00"
    assert context["opportunity"]["expected_close_date"] == dt.date(2027, 3, 31)
    assert context["opportunity"]["owner"] == "ann@piql.test"
    assert context["opportunity"]["stage"]
    assert context["sender"] == {"name": org.name, "email": "partnerships@piql.test"}
    assert context["links"] == {"booking": "https://book.example.com/ann"}
    text = "{{ contact.first_name }} at {{ company.name }}: {{ opportunity.value }} {{ opportunity.currency }}"
    assert render(text, context) == "Ola at Acme Archives AS: 180,000.00 EUR"


def test_a_lead_alone_is_its_own_contact(org, lead, user):
    context = merge_context(organisation=org, lead=lead, sender=user)
    assert context["contact"]["name"] == "Kari Hansen"
    assert context["contact"]["first_name"] == "Kari"
    assert context["company"] == {"name": "Acme Archives", "website": ""}
    assert context["lead"]["source"] == "Trade show"
    assert context["sender"] == {"name": "ann@piql.test", "email": "ann@piql.test"}


def test_an_invoice_mapping_fills_the_invoice_fields(org):
    context = merge_context(
        organisation=org,
        invoice={"number": "INV-2026-0007", "amount": Decimal("999.5"), "currency": "NOK"},
    )
    assert context["invoice"]["number"] == "INV-2026-0007"
    assert context["invoice"]["amount"] == "999.50"
    assert context["invoice"]["issue_date"] == ""
