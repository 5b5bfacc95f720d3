"""The catalogue of record kinds and their built-in fields, by their API names.

Each app registers the kinds it owns in its AppConfig.ready() (records: companies, people and
leads; pipeline: opportunities), so this layer knows no model. One place says which fields a kind
has, what they are called in the API and in messages, and which model attribute holds them;
services, selectors, filters and the process-definition validator all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.db import models

from .definition import FieldInfo

# Labels shared by every kind; a kind adds its own in `KindDef.labels`.
LABEL_OVERRIDES = {
    "linkedin": "LinkedIn",
    "email": "E-mail",
    "company_id": "Company",
    "primary_contact_id": "Primary contact",
    "owner_id": "Owner",
    "campaign_id": "Campaign",
}

# The kind a foreign key points to, by the model field's name.
REFERENCE_KINDS = {
    "company": "company",
    "primary_contact": "person",
    "owner": "user",
    # A campaign is no record kind: it is chosen from a short list, like a member.
    "campaign": "campaign",
}


@dataclass(frozen=True)
class FieldDef:
    name: str  # API name, e.g. "company_id"
    attr: str  # model attribute written, e.g. "company_id"
    label: str
    type: str  # text | longtext | decimal | number | date | choice | reference | coordinate
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    reference: str | None = None  # the kind a reference points to ("company", "person", "user")


@dataclass(frozen=True, eq=False)
class KindDef:
    key: str  # "company"
    model_label: str
    plural: str  # the API resource name: "companies"
    field_names: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Relations a record of this kind is always read with.
    select_related: tuple[str, ...] = ()
    #: Fields a process definition may name that are not plain fields (a pipeline, a stage).
    definition_fields: Mapping[str, FieldInfo] = field(default_factory=dict)
    #: Columns a list may be ordered by; those never null can also page by cursor.
    orderings: tuple[str, ...] = ("name", "created_at", "updated_at", "id")
    cursor_orderings: tuple[str, ...] = ("name", "created_at", "updated_at", "id")
    #: Exact filters that are not writable fields: API name -> ORM path.
    extra_filters: Mapping[str, str] = field(default_factory=dict)
    #: Read-only columns an export adds after the fields: header -> ORM path.
    extra_columns: Mapping[str, str] = field(default_factory=dict)
    #: Filters by a related row's key, resolved to ids first: ORM path -> (relation, the
    #: related row's path to its organisation).
    key_lookups: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: Text fields whose filter ignores case and whose filter offers the values in use (a
    #: lead's source). Each needs an index on live rows leading with (organisation, field):
    #: the values are read by walking it, one probe per distinct value.
    value_lists: tuple[str, ...] = ()

    @property
    def model(self) -> type[Any]:
        # A registered record model (an `objects` manager, `organisation`, soft-delete and
        # version fields). Typed Any: the process layer knows no record model class.
        return apps.get_model(self.model_label)

    @property
    def fields(self) -> dict[str, FieldDef]:
        return _fields_of(self)


KINDS: dict[str, KindDef] = {}


@dataclass(frozen=True)
class ListColumn:
    """A sortable, filterable whole-number column another app keeps for a kind's lists (the
    analytics app's quality score), read through a relation the kind's own app does not know:
    `ordering=<name>`, `<name>__gte`, `<name>__lte`, and an exact filter by a related choice.

    Ordering by it lists the records that have it (an inner join, which an index on the other
    app's table serves at any size)."""

    name: str  # API name, e.g. "quality"
    path: str  # ORM path from the record, e.g. "quality_rating__score"
    label: str
    #: (filter name, ORM path, allowed values), e.g. ("quality_band", "quality_rating__band", …)
    choice_filter: tuple[str, str, tuple[str, ...]] | None = None
    #: The related row's organisation, e.g. "quality_rating__organisation_id": a list that
    #: filters or orders by the column also scopes that row, so the planner can start from the
    #: other app's index (organisation, value, record) instead of sorting every row.
    scope: str = ""
    #: The related row's record id, e.g. "quality_rating__opportunity_id": ties in the value are
    #: broken by it, the index's last column, so SQLite need not sort a tie group by the
    #: record's own id (which it does not know to be equal).
    tie: str = ""
    #: A filter of the live records the related row keeps a copy of, as (the record's lookup,
    #: its value, the row's boolean), e.g. ("status", "open", "quality_rating__is_open"): a
    #: list of live records filtered by it also asks for the row's boolean to be true, so the
    #: planner starts from the other app's index (boolean, organisation, value, record) instead
    #: of passing the rows of every record the filter leaves out.
    copied_filter: tuple[str, Any, str] | None = None
    #: The related row's explanation of the value, e.g. "quality_rating__reasons": read with the
    #: value in the same query wherever it is shown (board cards, list cells), never per row.
    detail_path: str = ""

    @property
    def relation(self) -> str:
        return self.path.split("__", 1)[0]


_LIST_COLUMNS: dict[str, dict[str, ListColumn]] = {}


def register_list_column(kind: str, column: ListColumn) -> None:
    """Add a column to a kind's lists (from the owning app's ready()); again changes nothing."""
    columns = _LIST_COLUMNS.setdefault(kind, {})
    if columns.get(column.name) not in (None, column):
        raise ValueError(f"the list column '{column.name}' of {kind} is registered already")
    columns[column.name] = column


def list_columns(kind: str) -> Mapping[str, ListColumn]:
    return _LIST_COLUMNS.get(kind, {})


def register_kind(kind: KindDef) -> None:
    """Add a record kind (from the owning app's ready()); registering it again changes nothing."""
    existing = KINDS.get(kind.key)
    if existing is not None and existing is not kind:
        raise ValueError(f"the record kind '{kind.key}' is registered already")
    KINDS[kind.key] = kind


def builtin_fields() -> dict[str, dict[str, FieldInfo]]:
    """The built-in fields a process definition may name, per record kind."""
    return {
        key: {
            name: FieldInfo(label=f.label, type=f.type, choices=f.choices, max_length=f.max_length)
            for name, f in kind.fields.items()
        }
        | dict(kind.definition_fields)
        for key, kind in KINDS.items()
    }


@cache
def _fields_of(kind: KindDef) -> dict[str, FieldDef]:
    model = kind.model
    out: dict[str, FieldDef] = {}
    for name in kind.field_names:
        field = model._meta.get_field(name.removesuffix("_id"))
        label = (
            kind.labels.get(name)
            or LABEL_OVERRIDES.get(name)
            or str(field.verbose_name).capitalize()
        )
        if isinstance(field, models.ForeignKey):
            out[name] = FieldDef(
                name, field.attname, label, "reference", reference=REFERENCE_KINDS[field.name]
            )
        elif field.choices:
            choices = tuple(str(value) for value, _ in field.choices)
            out[name] = FieldDef(name, name, label, "choice", field.max_length, choices)
        elif isinstance(field, models.DecimalField):
            out[name] = FieldDef(name, name, label, "decimal")
        elif isinstance(field, models.IntegerField):
            out[name] = FieldDef(name, name, label, "number")
        elif isinstance(field, models.FloatField):
            out[name] = FieldDef(name, name, label, "coordinate")
        elif isinstance(field, models.DateField):
            out[name] = FieldDef(name, name, label, "date")
        elif isinstance(field, models.TextField):
            out[name] = FieldDef(name, name, label, "longtext")
        else:
            out[name] = FieldDef(name, name, label, "text", field.max_length)
    return out
