"""Scheduling fixtures: a salesperson with a coordinator, another salesperson, companies with a
location, the geocoding table."""

import datetime as dt

import pytest

from salesline.accounts import services as accounts
from salesline.scheduling.models import Place, WorkingPattern
from tests.conftest import COMPANY


def at(text: str) -> dt.datetime:
    """An aware date-time from ISO text with an offset."""
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


@pytest.fixture
def coordinator(org):
    return accounts.user_create(
        email="cora@piql.test",
        actor=accounts.system_actor(org),
        role="sales_coordinator",
        full_name="Cora Ordinator",
    )


@pytest.fixture
def salesperson2(org):
    return accounts.user_create(
        email="sam@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )


@pytest.fixture
def coordinating(admin_actor, coordinator, user):
    """`coordinator` runs `user`'s calendar (not salesperson2's)."""
    accounts.coordination_set(
        actor=admin_actor, coordinator_id=coordinator.pk, salesperson_ids=[user.pk]
    )
    return coordinator


@pytest.fixture
def coordinator_actor(coordinating, org):
    return accounts.actor_for(coordinating, org)


@pytest.fixture
def places(org):
    return [
        Place.objects.create(
            organisation=org, name="Chicago", country="US", latitude=41.8781, longitude=-87.6298
        ),
        Place.objects.create(
            organisation=org, name="Atlanta", country="US", latitude=33.749, longitude=-84.388
        ),
    ]


@pytest.fixture
def located_opportunity(actor, places):
    from salesline.pipeline.services import opportunity_create
    from salesline.records.services import record_create

    company = record_create(
        actor=actor,
        kind="company",
        data={
            **COMPANY,
            "name": "Windy Archives",
            "address": "1 Wacker Dr",
            "city": "Chicago",
            "country": "US",
        },
    )
    return opportunity_create(actor=actor, data={"name": "Chicago deal", "company_id": company.pk})


def pattern(org, user, **fields):
    values = {"time_zone": "Europe/London", **fields}
    obj, _ = WorkingPattern.objects.update_or_create(organisation=org, user=user, defaults=values)
    return obj
