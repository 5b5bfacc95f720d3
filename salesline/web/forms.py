"""Record forms without a second set of rules: inputs are described from the kind catalogue and
the organisation's custom fields, what the user typed goes to the services as the API would send
it, and the services' problems come back to the inputs they name.

Django forms would validate too; here the only validation is the services', so a page can never
accept what the API refuses, or the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from salesline.accounts.selectors import member_list
from salesline.core.customfields import CustomFieldDef
from salesline.core.errors import Problem, ValidationFailed
from salesline.pipeline.selectors import pipeline_list
from salesline.process.definition import Choice
from salesline.process.selectors import definition_for
from salesline.records import selectors as record_selectors
from salesline.records.campaign_selectors import campaign_choices
from salesline.records.fields import KINDS, FieldDef
from salesline.records.filters import parse_list_query
from salesline.records.services import custom_field_defs

CUSTOM_PREFIX = "cf_"
# How many records a company or person picker lists before the user searches: enough to pick
# from in a small organisation, never the whole table of a large one.
PICKER_SIZE = 20
# Built-in text fields that deserve a more specific input (phone keyboards, e-mail checks).
TEXT_INPUT_TYPES = {"email": "email", "phone": "tel"}
STAGE_SEPARATOR = "/"  # "pipeline/stage": keys are slugs, which never hold a slash


@dataclass
class Input:
    """One input of a form: what to render and what the user typed (always text)."""

    name: str  # the form name: an API field name, "cf_<key>", with an optional "prefix-"
    label: str
    widget: str  # text | email | tel | textarea | number | date | select | picker
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    required: bool = False
    picker_plural: str = ""  # for a picker: the list it searches
    choice: str = ""  # for a picker: the chosen record's name, which the combobox shows
    narrow: str = ""  # for a contact picker: the form name of the company picker narrowing it
    company: tuple[str, str] = ("", "")  # (id, name) narrowing it while that picker is empty
    max_length: int | None = None
    attrs: dict[str, str] = field(default_factory=dict)  # step, min, max of number inputs
    help: str = ""

    @property
    def id(self) -> str:
        return f"f-{self.name}"


def as_text(value: Any) -> str:
    """A stored value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def choice_options(choices: tuple[Choice, ...], value: str) -> list[tuple[str, str]]:
    """A declared choice list as a select's options, by label. A value stored before the list
    was declared stays selectable, marked, so saving a form never blanks it unasked."""
    options = [(c.value, c.label) for c in choices]
    if value and all(c.value != value for c in choices):
        options.append((value, f"{value} (not in the list)"))
    return options


def _builtin_input(
    actor,
    spec: FieldDef,
    value: str,
    prefix: str,
    required: bool,
    company: str = "",
    choices: tuple[Choice, ...] = (),
) -> Input:
    """`company`: the company chosen in the same form, which narrows a contact picker;
    `choices`: the definition's list for the field, rendered as a select."""
    name = f"{prefix}{spec.name}"
    base = {"name": name, "label": spec.label, "value": value, "required": required}
    if choices:
        empty = ("", "— choose —" if required else "—")
        return Input(widget="select", options=[empty, *choice_options(choices, value)], **base)
    if spec.type == "reference":
        if spec.reference == "user":
            members = member_list(actor=actor)
            options = [("", "— nobody —")] + [(str(m.user_id), m.label) for m in members]
            return Input(widget="select", options=options, **base)
        if spec.reference == "campaign":
            return Input(widget="select", options=campaign_options(actor, value), **base)
        narrow = f"{prefix}company_id" if spec.name == "primary_contact_id" else ""
        return picker_input(actor, spec.reference, narrow=narrow, company=company, **base)
    if spec.type == "choice":
        options = [("", "—")] + [(choice, choice.capitalize()) for choice in spec.choices]
        return Input(widget="select", options=options, **base)
    if spec.type == "longtext":
        return Input(widget="textarea", **base)
    if spec.type == "decimal":
        return Input(widget="number", attrs={"step": "0.01", "min": "0"}, **base)
    if spec.type == "number":
        return Input(widget="number", attrs={"step": "1", "min": "0", "max": "100"}, **base)
    if spec.type == "date":
        return Input(widget="date", **base)
    if spec.type == "coordinate":
        return Input(widget="number", attrs={"step": "any", "min": "-180", "max": "180"}, **base)
    widget = TEXT_INPUT_TYPES.get(spec.name, "text")
    return Input(widget=widget, max_length=spec.max_length, **base)


def campaign_options(actor, value: str) -> list[tuple[str, str]]:
    """A campaign select's options: none, then the live campaigns by name; a campaign deleted
    since it was chosen stays selectable, marked, so saving a form never drops it unasked."""
    options = [("", "— none —"), *campaign_choices(actor=actor)]
    if value and all(pk != value for pk, _ in options):
        options.append((value, f"Campaign #{value} (deleted)"))
    return options


def _custom_input(definition: CustomFieldDef, value: str, prefix: str, required: bool) -> Input:
    base = {
        "name": f"{prefix}{CUSTOM_PREFIX}{definition.key}",
        "label": definition.label,
        "value": value,
        "required": required,
    }
    if definition.type == "choice":
        options = [("", "—")] + [(c, c) for c in definition.choices]
        return Input(widget="select", options=options, **base)
    if definition.type == "boolean":
        # Three states, as stored: unknown, yes, no (a checkbox cannot say "unknown").
        return Input(widget="select", options=[("", "—"), ("true", "Yes"), ("false", "No")], **base)
    if definition.type == "number":
        return Input(widget="number", attrs={"step": "any"}, **base)
    if definition.type == "date":
        return Input(widget="date", **base)
    return Input(widget="text", **base)


def picker_matches(actor, kind: str, q: str = "", company: str = "") -> list[dict[str, str]]:
    """The first PICKER_SIZE records of a company or person picker: by name, or when searching
    those with a word starting with each word of `q`, whole-name matches first — the lists' own
    search and indexes, so deleted records and other organisations' never show. `company`
    narrows people to that company's."""
    params = {"q": q, "limit": str(PICKER_SIZE), "ordering": "name"}
    if company and kind == "person":
        params["company_id"] = company
    try:
        query = parse_list_query(KINDS[kind], params, lambda: custom_field_defs(actor, kind))
    except ValidationFailed:
        return []
    columns = ["id", "name", "email", "company__name"] if kind == "person" else ["id", "name"]
    page = record_selectors.record_list(actor=actor, kind=kind, query=query, columns=columns)
    return [
        {
            "id": str(row["id"]),
            "name": row["name"],
            # What tells two Ola Nordmanns apart: their e-mail and company.
            "detail": " · ".join(filter(None, (row.get("email"), row.get("company__name")))),
        }
        for row in page.items
    ]


def picker_options(actor, kind: str, selected: str, company: str = "") -> list[tuple[str, str]]:
    """The options of a picker's plain list (what shows without JavaScript, and what the
    combobox starts from): none, the chosen one, then the first records by name."""

    options = [("", "— none —")]
    chosen = record_selectors.reference_name(actor=actor, kind=kind, record_id=selected)
    if chosen is not None:
        options.append((selected, chosen))
    for match in picker_matches(actor, kind, company=company):
        if match["id"] != selected:
            label = f"{match['name']} ({match['detail']})" if match["detail"] else match["name"]
            options.append((match["id"], label))
    return options


def picker_input(
    actor,
    kind: str,
    *,
    name: str,
    label: str,
    value: str,
    narrow: str = "",
    company: str = "",
    **more,
) -> Input:
    """A company or person picker (a combobox, see combobox.js). `narrow`: the form name of a
    company picker whose choice narrows this contact picker; `company`, that choice now."""
    options = picker_options(actor, kind, value, company if narrow else "")
    return Input(
        name=name,
        label=label,
        widget="picker",
        value=value,
        options=options,
        picker_plural=KINDS[kind].plural,
        choice=next((text for pk, text in options if value and pk == value), ""),
        narrow=narrow,
        **more,
    )


def stage_groups(actor) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every stage of every pipeline, grouped by pipeline: one choice says both."""

    return [
        (
            pipeline.name,
            [(f"{pipeline.key}{STAGE_SEPARATOR}{s.key}", s.name) for s in pipeline.stages.all()],
        )
        for pipeline in pipeline_list(actor=actor)
    ]


def minimum_fields(actor, kind: str) -> frozenset[str]:

    return frozenset(definition_for(actor.organisation).minimum_fields.get(kind, ()))


def field_labels(kind: str, custom_defs: Iterable[CustomFieldDef]) -> list[tuple[str, str]]:
    """(form name, label) of every field of a record, in the order its form shows them."""
    labels = [(name, spec.label) for name, spec in KINDS[kind].fields.items()]
    if kind == "opportunity":
        labels.insert(1, ("stage", "Stage"))
    return labels + [(CUSTOM_PREFIX + d.key, d.label) for d in custom_defs]


def record_inputs(
    actor,
    kind: str,
    custom_defs: Iterable[CustomFieldDef],
    *,
    values: Mapping[str, str],
    prefix: str = "",
    only: Iterable[str] | None = None,
) -> list[Input]:
    """The inputs of a record form, filled with `values` (by form name without the prefix).
    `only` limits them to some form names (one field edited in place; what a conversion asks
    for), so pickers and member lists are only read when they are shown."""
    definition = definition_for(actor.organisation)
    required = frozenset(definition.minimum_fields.get(kind, ()))
    wanted = set(only) if only is not None else None
    custom_defs = list(custom_defs)
    specs = KINDS[kind].fields
    custom = {CUSTOM_PREFIX + d.key: d for d in custom_defs}
    inputs = []
    for name, _ in field_labels(kind, custom_defs):
        if wanted is not None and name not in wanted:
            continue
        value = values.get(name, "")
        if name in custom:
            definition = custom[name]
            inputs.append(_custom_input(definition, value, prefix, definition.key in required))
        elif name == "stage":
            inputs.append(
                Input(
                    name=f"{prefix}stage",
                    label="Stage",
                    widget="select",
                    value=value,
                    groups=stage_groups(actor),
                    required=True,
                )
            )
        else:
            company = values.get("company_id", "")
            choices = definition.field_choices(kind, name)
            inputs.append(
                _builtin_input(
                    actor, specs[name], value, prefix, name in required, company, choices
                )
            )
    return inputs


def stored_values(kind: str, obj, custom_defs: Iterable[CustomFieldDef]) -> dict[str, str]:
    """A record's values as its form shows them."""
    values = {name: as_text(getattr(obj, spec.attr)) for name, spec in KINDS[kind].fields.items()}
    custom = obj.custom_fields or {}
    values |= {CUSTOM_PREFIX + d.key: as_text(custom.get(d.key)) for d in custom_defs}
    if kind == "opportunity":
        values["stage"] = f"{obj.pipeline.key}{STAGE_SEPARATOR}{obj.stage.key}"
    return values


def submitted_values(
    kind: str, post: Mapping[str, str], custom_defs: Iterable[CustomFieldDef], prefix: str = ""
) -> dict[str, str]:
    """What the user typed, by form name without the prefix; inputs not sent are left out."""
    names = [*KINDS[kind].fields, *(CUSTOM_PREFIX + d.key for d in custom_defs)]
    if kind == "opportunity":
        names.append("stage")
    return {name: post[prefix + name] for name in names if prefix + name in post}


def service_data(kind: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The services' (and the API's) data from form values: custom fields nested, the stage
    choice split into pipeline and stage."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith(CUSTOM_PREFIX):
            custom[name.removeprefix(CUSTOM_PREFIX)] = value
        elif name == "stage":
            pipeline, _, stage = value.partition(STAGE_SEPARATOR)
            data["pipeline"], data["stage"] = pipeline, stage
        else:
            data[name] = value
    if custom:
        data["custom_fields"] = custom
    return data


def form_name(loc: tuple) -> str:
    """The input a problem's location names: ("custom_fields", "tier") is "cf_tier",
    ("company", "market") is "company-market", a pipeline or stage is the stage choice."""
    if not loc:
        return ""
    head, *rest = loc
    if head in ("person", "company", "opportunity") and rest:
        return f"{head}-{form_name(tuple(rest))}"
    if head == "custom_fields" and rest:
        return f"{CUSTOM_PREFIX}{rest[0]}"
    if head == "pipeline":
        return "stage"
    return str(head)


def input_name_of(problem: Problem) -> str:
    """The input a problem belongs beside (`web.errors.bind_problems` uses it by default)."""
    return form_name(problem.loc)
