"""Fixtures of the agreement tests: a partnership (partnerships template) and its agreement.

Imported by the test modules that use them (`agreement_fixture`, `partnership_fixture`): the
fixtures are named `agreement` and `partnership`."""

from datetime import date

import pytest

from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_services

TERMS = {
    "start_date": "2026-01-31",
    "end_date": "2027-01-30",
    "value": "12000.00",
    "currency": "EUR",
    "billing_frequency": "monthly",
    "renewal_notice_days": 60,
}


@pytest.fixture(name="partnership")
def partnership_fixture(partners_actor):
    """An opportunity in Prospect (the verbal yes ticked): signing is all Partner needs."""
    opportunity = opportunity_create(actor=partners_actor, data={"name": "City library hub"})
    return opportunity_move(
        actor=partners_actor,
        opportunity_id=opportunity.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )


@pytest.fixture(name="agreement")
def agreement_fixture(partners_actor, partnership):
    return agreement_services.agreement_create(
        actor=partners_actor, opportunity_id=partnership.pk, data=TERMS
    )


def sign(actor, agreement, on=date(2026, 1, 20)):
    return agreement_services.agreement_sign(actor=actor, agreement_id=agreement.pk, signed_on=on)
