"""A simulation's stages from the organisation's own data: analytics' "stage_flow" through
core.measures, read by capacity.selectors.observed_stages."""

import datetime as dt

import pytest

from salesline.accounts import services as accounts
from salesline.capacity.resourcing import parse_plan
from salesline.capacity.selectors import observed_stages
from salesline.capacity.simulation import sales_model
from salesline.core import measures
from tests.analytics.flow_data import flow_organisation, load_history

JANUARY = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 1, 31)}


@pytest.fixture
def boss(db):
    organisation = flow_organisation()
    user = accounts.user_create(
        email="boss@flow.test", actor=accounts.system_actor(organisation), role="admin"
    )
    load_history(organisation, owners=dict.fromkeys(range(1, 10), user))
    return accounts.actor_for(user, organisation)


def test_the_observed_stages_of_the_default_pipeline(boss):
    assert measures.provided("stage_flow")
    stages = observed_stages(boss, **JANUARY)
    # Pipeline p (the first): a converts 4 of 5 exits onward, b 3 of 4 (to won); both stay a
    # median 10 calendar days = 7.1 working days. c saw no stay end: left out.
    assert stages == [
        {"name": "A", "conversion": 0.8, "days": 7.1},
        {"name": "B", "conversion": 0.75, "days": 7.1},
    ]
    # They are a valid simulation section as they stand.
    model = sales_model(parse_plan({"simulation": {"stages": stages}}))
    assert model.win_rate == pytest.approx(0.6)


def test_no_flow_no_stages(boss):
    assert observed_stages(boss, start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31)) is None


def test_without_a_provider_none(boss, monkeypatch):
    monkeypatch.setattr(measures, "_PROVIDERS", {})
    assert observed_stages(boss, **JANUARY) is None
