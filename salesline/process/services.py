"""Writes of process definitions: checking, loading and editing versions, and custom fields.

An app whose section of the definition becomes rows (the pipeline app's pipelines and stages)
registers a materialiser in its AppConfig.ready(): its data-loss check runs before a load and
its materialise step inside the load's transaction, so this layer never knows those models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from salesline.accounts import services as accounts
from salesline.accounts.models import Organisation
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ValidationFailed

from . import selectors
from .definition import (
    MAX_DEFINITION_CHARS,
    DefinitionError,
    DefinitionProblem,
    ProcessDefinitionSpec,
    dump_definition,
    line_index,
    parse_definition,
    spec_from_dict,
    spec_to_dict,
    template_names,
    template_text,
)
from .kinds import KINDS, builtin_fields
from .models import CustomField, ProcessDefinition

#: (organisation, new spec, line index of its text) -> problems the load would cause
type DataLossCheck = Callable[[Organisation, ProcessDefinitionSpec, Mapping], list[Problem]]
type Materialise = Callable[[Organisation, ProcessDefinitionSpec], None]


@dataclass(frozen=True)
class _Materialiser:
    check: DataLossCheck
    materialise: Materialise


_MATERIALISERS: dict[str, _Materialiser] = {}


def register_materialiser(key: str, *, check: DataLossCheck, materialise: Materialise) -> None:
    """Let an app keep rows in step with its section (called from its AppConfig.ready())."""
    _MATERIALISERS[key] = _Materialiser(check=check, materialise=materialise)


def definition_problem(problem: DefinitionProblem) -> Problem:
    """A parser's problem as the domain's: the message keeps its line for API clients, and the
    line and path travel as data for the pages that show them beside the text."""
    return Problem(
        loc=("definition", problem.path),
        msg=str(problem),
        line=problem.line,
        path=problem.path,
    )


def definition_source(*, name_or_path: str) -> str:
    """The YAML text of a built-in template name, or of a file."""
    if name_or_path in template_names():
        return template_text(name_or_path)
    with open(name_or_path, encoding="utf-8") as handle:
        # One character past the limit is enough for the loader to refuse the file by its size.
        return handle.read(MAX_DEFINITION_CHARS + 1)


def process_parse(text: str) -> ProcessDefinitionSpec:
    try:
        return parse_definition(text, builtin_fields=builtin_fields())
    except DefinitionError as exc:
        raise ValidationFailed(
            "The process definition is not valid.",
            [definition_problem(p) for p in exc.problems],
        ) from None


def _custom_field_loss(
    organisation: Organisation, spec: ProcessDefinitionSpec, lines: Mapping
) -> list[Problem]:
    problems: list[Problem] = []
    declared = {(c.record, c.key) for c in spec.custom_fields}
    for field in CustomField.objects.filter(organisation=organisation):
        if (field.record, field.key) in declared or field.record not in KINDS:
            continue
        count = (
            KINDS[field.record]
            .model.objects.filter(organisation=organisation, custom_fields__has_key=field.key)
            .count()
        )
        if count:
            problems.append(
                Problem(
                    loc=("definition", "custom_fields", field.key),
                    msg=f"Removing custom field '{field.record}.{field.key}' would lose its value "
                    f"on {count} {'record' if count == 1 else 'records'}.",
                    type="data_loss",
                    path=f"custom_fields.{field.key}",
                )
            )
    return problems


def _data_loss(organisation: Organisation, spec: ProcessDefinitionSpec, text: str) -> list[Problem]:
    """What the new definition drops that still holds data: every section's check."""
    lines = line_index(text)
    problems: list[Problem] = []
    for materialiser in _MATERIALISERS.values():
        problems.extend(materialiser.check(organisation, spec, lines))
    return problems + _custom_field_loss(organisation, spec, lines)


def process_check(*, actor: Actor, text: str) -> ProcessDefinitionSpec:
    """Validate a definition against the organisation's data without loading it."""
    spec = process_parse(text)
    problems = _data_loss(actor.organisation, spec, text)
    if problems:
        raise Conflict("The process definition would lose data.", problems)
    return spec


def process_load(*, actor: Actor, text: str) -> ProcessDefinition:
    """Validate and put a new version of the definition in force; nothing changes on failure.
    Only an admin (or the command line's system actor) may."""
    accounts.require_admin(actor, "change its process")
    spec = process_parse(text)
    with transaction.atomic():
        # Serialise loads per organisation: version numbers and stage rows stay consistent.
        Organisation.objects.select_for_update().filter(pk=actor.organisation.pk).first()
        problems = _data_loss(actor.organisation, spec, text)
        if problems:
            raise Conflict("The process definition would lose data.", problems)
        for materialiser in _MATERIALISERS.values():
            materialiser.materialise(actor.organisation, spec)
        _materialise_custom_fields(actor.organisation, spec)
        previous = selectors.definition_row_for(actor.organisation)
        version = (previous.version if previous else 0) + 1
        row = ProcessDefinition.objects.create(
            organisation=actor.organisation,
            version=version,
            source=text,
            spec=spec_to_dict(spec),
            loaded_by=actor.label,
        )
        audit.record(
            actor=actor,
            action="process.load",
            obj=row,
            object_type="process_definition",
            changes={"version": [previous.version if previous else None, version]},
        )
    return row


def process_apply(*, actor: Actor, spec: ProcessDefinitionSpec) -> ProcessDefinition:
    """Put an edited definition in force (the pipelines and custom-fields API edit the spec)."""
    return process_load(actor=actor, text=dump_definition(spec))


def process_edit(*, actor: Actor, edit: Callable[[dict], None]) -> ProcessDefinition:
    """Apply `edit(dict_form)` to the definition in force and load the result (validated)."""
    accounts.require_admin(actor, "change its process")
    document = spec_to_dict(selectors.definition_for(actor.organisation))
    edit(document)
    return process_apply(actor=actor, spec=spec_from_dict(document))


def _materialise_custom_fields(organisation: Organisation, spec: ProcessDefinitionSpec) -> None:
    fields = {(c.record, c.key): c for c in CustomField.objects.filter(organisation=organisation)}
    for position, field_spec in enumerate(spec.custom_fields):
        field = fields.pop((field_spec.record, field_spec.key), None)
        values = {
            "label": field_spec.label,
            "type": field_spec.type,
            "choices": list(field_spec.choices),
            "help": field_spec.help,
            "position": position,
        }
        if field is None:
            CustomField.objects.create(
                organisation=organisation, record=field_spec.record, key=field_spec.key, **values
            )
        elif any(getattr(field, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(field, name, value)
            field.save(update_fields=list(values))
    for removed in fields.values():
        removed.delete()


# ---------------------------------------------------------------- custom fields


def custom_field_create(*, actor: Actor, data: Mapping[str, Any]) -> CustomField:
    def add(document: dict) -> None:
        if any(
            c["record"] == data["record"] and c["key"] == data["key"]
            for c in document["custom_fields"]
        ):
            raise Conflict(f"Custom field '{data['record']}.{data['key']}' already exists.")
        document["custom_fields"].append(dict(data))

    process_edit(actor=actor, edit=add)
    return CustomField.objects.get(
        organisation=actor.organisation, record=data["record"], key=data["key"]
    )


def custom_field_update(*, actor: Actor, field_id: int, data: Mapping[str, Any]) -> CustomField:
    field = selectors.custom_field_get_for(actor=actor, field_id=field_id)

    def change(document: dict) -> None:
        entry = next(
            c
            for c in document["custom_fields"]
            if c["record"] == field.record and c["key"] == field.key
        )
        entry.update({k: v for k, v in data.items() if v is not None})

    process_edit(actor=actor, edit=change)
    return selectors.custom_field_get_for(actor=actor, field_id=field_id)


def custom_field_delete(*, actor: Actor, field_id: int) -> None:
    """Refused (409) while records hold a value for it."""
    field = selectors.custom_field_get_for(actor=actor, field_id=field_id)

    def remove(document: dict) -> None:
        document["custom_fields"] = [
            c
            for c in document["custom_fields"]
            if not (c["record"] == field.record and c["key"] == field.key)
        ]

    process_edit(actor=actor, edit=remove)


# ---------------------------------------------------------------- organisations


def organisation_create(
    *, name: str, template: str, label: str = "cli", phone_region: str = ""
) -> Organisation:
    """Create an organisation and put a built-in template's definition in force, as one change."""
    problems = accounts.organisation_problems(
        name=(name or "").strip(), phone_region=(phone_region or "").strip().upper()
    )
    if template not in template_names():
        problems.append(
            Problem(
                loc=("template",),
                msg=f"Unknown template '{template}'. Templates: {', '.join(template_names())}.",
            )
        )
    if problems:
        raise ValidationFailed(problems=problems)
    with transaction.atomic():
        organisation = accounts.organisation_create(
            name=name, template=template, label=label, phone_region=phone_region
        )
        process_load(actor=accounts.system_actor(organisation, label), text=template_text(template))
    return organisation
