"""The catalogue of built-in fields per record kind, by their API names.

One place says which fields a kind has, what they are called in the API and in messages, and
which model attribute holds them; services, selectors, filters and the process-definition
validator all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models

LABEL_OVERRIDES = {
    "linkedin": "LinkedIn",
    "email": "E-mail",
    "company_id": "Company",
    "primary_contact_id": "Primary contact",
    "owner_id": "Owner",
    "value": "Estimated value",
    "win_probability": "Win probability",
    "business_case": "Business case",
    "use_case": "Use-case",
    "data_volume": "Data volume",
}


@dataclass(frozen=True)
class FieldDef:
    name: str  # API name, e.g. "company_id"
    attr: str  # model attribute written, e.g. "company_id"
    label: str
    type: str  # text | longtext | decimal | number | date | choice | reference
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    reference: str | None = None  # the kind a reference points to ("company", "person", "user")


@dataclass(frozen=True)
class KindDef:
    key: str  # "company"
    model_label: str
    plural: str  # the API resource name: "companies"
    field_names: tuple[str, ...]

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def fields(self) -> dict[str, FieldDef]:
        return _fields_of(self)


KINDS: dict[str, KindDef] = {
    kind.key: kind
    for kind in (
        KindDef(
            "company",
            "records.Company",
            "companies",
            (
                "name",
                "contact_type",
                "business_unit",
                "market",
                "life_cycle",
                "sector",
                "segment",
                "website",
                "email_domain",
                "owner_id",
            ),
        ),
        KindDef(
            "person",
            "records.Person",
            "people",
            (
                "name",
                "email",
                "phone",
                "business_unit",
                "company_id",
                "title",
                "linkedin",
                "buying_influence",
                "response_mode",
                "win_result",
                "owner_id",
            ),
        ),
        KindDef(
            "lead",
            "records.Lead",
            "leads",
            (
                "name",
                "company_name",
                "email",
                "business_unit",
                "source",
                "details",
                "phone",
                "linkedin",
                "description",
                "owner_id",
            ),
        ),
        KindDef(
            "opportunity",
            "pipeline.Opportunity",
            "opportunities",
            (
                "name",
                "company_id",
                "primary_contact_id",
                "value",
                "currency",
                "expected_close_date",
                "data_volume",
                "sector",
                "win_probability",
                "vertical",
                "status_report",
                "use_case",
                "business_case",
                "owner_id",
            ),
        ),
    )
}

REFERENCE_KINDS = {"company": "company", "primary_contact": "person", "owner": "user"}


@cache
def _fields_of(kind: KindDef) -> dict[str, FieldDef]:
    model = kind.model
    out: dict[str, FieldDef] = {}
    for name in kind.field_names:
        field = model._meta.get_field(name.removesuffix("_id"))
        label = LABEL_OVERRIDES.get(name) or str(field.verbose_name).capitalize()
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
        elif isinstance(field, models.DateField):
            out[name] = FieldDef(name, name, label, "date")
        elif isinstance(field, models.TextField):
            out[name] = FieldDef(name, name, label, "longtext")
        else:
            out[name] = FieldDef(name, name, label, "text", field.max_length)
    return out
