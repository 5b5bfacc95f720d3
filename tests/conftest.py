"""Shared fixtures: organisations on the real templates, members, actors and API clients."""

import asyncio
import json

import pytest
from django.db import connections
from django.test import Client

from salesline.accounts import services as accounts
from salesline.process import services as process_services


@pytest.fixture
def org(db):
    return process_services.organisation_create(
        name="Piql Archive", template="business-development"
    )


@pytest.fixture
def other_org(db):
    return process_services.organisation_create(name="Other Co-op", template="business-development")


@pytest.fixture
def user(org):
    return accounts.user_create(
        email="ann@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )


@pytest.fixture
def admin_user(org):
    return accounts.user_create(
        email="boss@piql.test", actor=accounts.system_actor(org), role="admin"
    )


@pytest.fixture
def actor(user, org):
    return accounts.actor_for(user, org)


@pytest.fixture
def admin_actor(admin_user, org):
    return accounts.actor_for(admin_user, org)


@pytest.fixture
def other_user(other_org):
    return accounts.user_create(
        email="eve@other.test", actor=accounts.system_actor(other_org), role="admin"
    )


@pytest.fixture
def other_actor(other_user, other_org):
    return accounts.actor_for(other_user, other_org)


class ApiClient:
    """A JSON client for /api/v1 that authenticates with a real bearer token."""

    def __init__(self, token: str):
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def request(self, method: str, path: str, body=None, **headers):
        data = json.dumps(body) if body is not None and not isinstance(body, str | bytes) else body
        return getattr(self.client, method)(
            f"/api/v1{path}", data=data, content_type="application/json", **headers
        )

    def get(self, path, **headers):
        return self.client.get(f"/api/v1{path}", **headers)

    def post(self, path, body=None, **headers):
        return self.request("post", path, body, **headers)

    def patch(self, path, body=None, **headers):
        return self.request("patch", path, body, **headers)

    def delete(self, path, **headers):
        return self.client.delete(f"/api/v1{path}", **headers)


@pytest.fixture
def api(user, org):
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
    return ApiClient(plain)


@pytest.fixture
def admin_api(admin_user, org):
    _, plain = accounts.token_create(user=admin_user, actor=accounts.system_actor(org))
    return ApiClient(plain)


@pytest.fixture
def other_api(other_user, other_org):
    _, plain = accounts.token_create(user=other_user, actor=accounts.system_actor(other_org))
    return ApiClient(plain)


COMPANY = {
    "name": "Acme Archives AS",
    "contact_type": "Customer",
    "business_unit": "Nordics",
    "market": "Norway",
    "life_cycle": "Prospect",
    "sector": "Government",
    "segment": "Enterprise",
    "email_domain": "acme.no",
}
PERSON = {
    "name": "Ola Nordmann",
    "email": "ola@acme.no",
    "phone": "+4722000000",
    "business_unit": "Nordics",
    "title": "Head of Archives",
}
LEAD = {
    "name": "Kari Hansen",
    "company_name": "Acme Archives",
    "email": "kari@acme.no",
    "business_unit": "Nordics",
    "source": "Trade show",
    "details": "Archiving Expo 2026, stand 12",
}


@pytest.fixture
def company(actor):
    from salesline.records.services import record_create

    return record_create(actor=actor, kind="company", data=COMPANY)


@pytest.fixture
def person(actor, company):
    from salesline.records.services import record_create

    return record_create(actor=actor, kind="person", data={**PERSON, "company_id": company.pk})


@pytest.fixture
def lead(actor):
    from salesline.records.services import record_create

    return record_create(actor=actor, kind="lead", data=LEAD)


@pytest.fixture
def opportunity(actor):
    from salesline.pipeline.services import opportunity_create

    return opportunity_create(actor=actor, data={"name": "Archive project"})


def qualify_fields(company, person) -> dict:
    """Everything the business-development template asks for to enter `qualify`."""
    return {
        "name": "3 TB - Personnel records - Preservation",
        "company_id": company.pk,
        "primary_contact_id": person.pk,
        "expected_close_date": "2027-03-31",
        "value": "180000",
        "data_volume": "3 TB",
        "sector": "public",
    }


# --- Added for the API and domain-service suites (the fixtures above stay as they are). ---

# What the business-development template asks of a person and a company beyond what a lead has.
CONVERT_PERSON = {"phone": "+4790000000", "title": "Archivist"}
CONVERT_COMPANY = {
    "contact_type": "Customer",
    "market": "Norway",
    "life_cycle": "Prospect",
    "sector": "Government",
    "segment": "Enterprise",
}

# Company custom fields of every type, added to the org's definition by `company_custom_fields`.
COMPANY_CUSTOM_FIELDS = [
    {"record": "company", "key": "motto", "label": "Motto", "type": "text"},
    {"record": "company", "key": "employees", "label": "Employees", "type": "number"},
    {"record": "company", "key": "founded", "label": "Founded", "type": "date"},
    {
        "record": "company",
        "key": "tier",
        "label": "Tier",
        "type": "choice",
        "choices": ["gold", "silver"],
    },
    {"record": "company", "key": "listed", "label": "Listed", "type": "boolean"},
]


def edit_definition(actor, edit):
    """Load a changed copy of the definition in force: `edit` mutates its dict form."""
    from salesline.process.definition import spec_from_dict, spec_to_dict
    from salesline.process.selectors import definition_for
    from salesline.process.services import process_apply

    document = spec_to_dict(definition_for(actor.organisation))
    edit(document)
    return process_apply(actor=actor, spec=spec_from_dict(document))


@pytest.fixture
def company_custom_fields(admin_actor):
    edit_definition(
        admin_actor, lambda document: document["custom_fields"].extend(COMPANY_CUSTOM_FIELDS)
    )
    return {field["key"]: field for field in COMPANY_CUSTOM_FIELDS}


@pytest.fixture
def note(actor, company):
    from salesline.records.services import note_create

    return note_create(actor=actor, body="Met at the expo.", target={"company_id": company.pk})


@pytest.fixture
def partners_org(db):
    return process_services.organisation_create(name="Open Partners", template="partnerships")


@pytest.fixture
def partners_actor(partners_org):
    user = accounts.user_create(
        email="pat@partners.test", actor=accounts.system_actor(partners_org), role="salesperson"
    )
    return accounts.actor_for(user, partners_org)


@pytest.fixture
def partners_api(partners_actor):
    _, plain = accounts.token_create(
        user=partners_actor.user, actor=accounts.system_actor(partners_actor.organisation)
    )
    return ApiClient(plain)


@pytest.fixture(autouse=True)
def _close_connections_made_while_playwright_runs():
    """While the browser tests' Playwright loop runs in this worker's thread, Django keeps that
    thread's connections in context-local storage, which the test-database teardown no longer
    sees once Playwright has stopped: left open, they stop PostgreSQL dropping the database.
    Closing them after each test while a loop runs costs one reconnection per test."""
    yield
    if asyncio._get_running_loop() is not None:
        connections.close_all()
