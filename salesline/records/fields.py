"""The record kinds the records app owns: companies, people and leads (registered in ready())."""

from __future__ import annotations

from salesline.process.kinds import KINDS, FieldDef, KindDef

__all__ = ["COMPANY", "KINDS", "LEAD", "PERSON", "FieldDef", "KindDef"]

COMPANY = KindDef(
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
        "address",
        "city",
        "country",
        "latitude",
        "longitude",
        "owner_id",
    ),
    labels={"country": "Country (ISO code)"},
)
PERSON = KindDef(
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
        "details",
        "buying_influence",
        "response_mode",
        "win_result",
        "owner_id",
    ),
)
LEAD = KindDef(
    "lead",
    "records.Lead",
    "leads",
    (
        "name",
        "company_name",
        "email",
        "business_unit",
        "source",
        "campaign_id",
        "details",
        "phone",
        "linkedin",
        "description",
        "owner_id",
    ),
    orderings=("name", "created_at", "updated_at", "id", "source"),
    extra_filters={"converted": "converted_at__isnull"},
    value_lists=("source",),  # index lead_source_recent
)
