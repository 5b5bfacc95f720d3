"""Reports → Flow and calibration with Django's test client: the numbers of test_flow.py on the
page, definitions on hover and in the legend, filters, errors, empty states, and the admin's
confirmed Apply (tests/browser/test_flow_page.py drives it in Chromium with axe)."""

from __future__ import annotations

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.process import services as process_services
from salesline.process.selectors import definition_for

from .flow_data import flow_organisation, load_history

PAGE = "/reports/flow/"
JANUARY = "?pipeline=p&from=2026-01-01&to=2026-01-31"


@pytest.fixture
def flow_org(db):
    return flow_organisation()


@pytest.fixture
def members(flow_org):
    system = accounts.system_actor(flow_org)
    seller = accounts.user_create(email="sam@flow.test", actor=system, role="salesperson")
    boss = accounts.user_create(email="boss@flow.test", actor=system, role="admin")
    return seller, boss


@pytest.fixture
def deals(flow_org, members):
    seller, boss = members
    return load_history(flow_org, owners={n: seller if n in (1, 2) else boss for n in range(1, 10)})


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def probability_of(organisation, stage_key: str) -> int:
    pipeline = next(p for p in definition_for(organisation).section("pipelines") if p.key == "p")
    return next(s.probability for s in pipeline.stages if s.key == stage_key)


def test_the_page_shows_the_metrics_with_their_definitions(members, deals):
    seller, _ = members
    response = signed_in(seller).get(PAGE + JANUARY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "75.0 %" in html  # the win rate
    assert "2,000.00 EUR" in html  # the average won value
    assert "<strong>B</strong> constrains the flow most" in html
    assert "4 left for 5 that arrived" in html
    # Each heading has its definition on hover and points at the legend's entry.
    assert 'title="Entries into the stage during the period' in html
    assert 'aria-describedby="def-arrivals"' in html
    assert '<dd id="def-arrivals">Entries into the stage during the period' in html
    # A salesperson sees the calibration but cannot apply it.
    assert "An admin can apply the observed values." in html
    assert "Apply 60 %" not in html


def test_the_admin_sees_apply_and_confirms_it(members, deals, flow_org):
    _, boss = members
    client = signed_in(boss)
    html = client.get(PAGE + JANUARY).content.decode()
    assert "Apply 60 %" in html  # a: configured 10, observed 60
    confirm = client.get("/reports/flow/calibrate/?pipeline=p&stage=a&probability=60")
    assert confirm.status_code == 200
    assert "Set A's win probability to 60 %?" in confirm.content.decode()
    assert probability_of(flow_org, "a") == 10  # nothing changes before the POST
    done = client.post(
        "/reports/flow/calibrate/",
        {"pipeline": "p", "stage": "a", "probability": "60"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/reports/flow/?pipeline=p"
    assert "A&#x27;s win probability is now 60 % (it was 10 %)" in done.content.decode()
    assert probability_of(flow_org, "a") == 60
    assert (
        AuditEvent.objects.filter(action="calibration.apply", actor_label=boss.email).count() == 1
    )


def test_a_salesperson_cannot_apply(members, deals, flow_org):
    seller, _ = members
    client = signed_in(seller)
    refused = client.post(
        "/reports/flow/calibrate/", {"pipeline": "p", "stage": "a", "probability": "60"}
    )
    assert refused.status_code == 403
    assert (
        client.get("/reports/flow/calibrate/?pipeline=p&stage=a&probability=60").status_code == 403
    )
    assert probability_of(flow_org, "a") == 10


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pipeline": "p", "stage": "won", "probability": "90"}, "only an open stage"),
        ({"pipeline": "nope", "stage": "a", "probability": "90"}, "Unknown pipeline"),
        ({"pipeline": "p", "stage": "zzz", "probability": "90"}, "has no stage"),
        ({"pipeline": "p", "stage": "a", "probability": "lots"}, "whole number"),
        ({"pipeline": "p", "stage": "a", "probability": "²"}, "whole number"),
        ({"pipeline": "p", "stage": "a", "probability": "101"}, "between 0 and 100"),
    ],
)
def test_bad_apply_input_changes_nothing(members, deals, flow_org, data, message):
    _, boss = members
    client = signed_in(boss)
    for response in (
        client.post("/reports/flow/calibrate/", data),
        client.get("/reports/flow/calibrate/", data),
    ):
        assert response.status_code == 400
        assert message in response.content.decode()
    assert probability_of(flow_org, "won") == 100
    assert probability_of(flow_org, "a") == 10


def test_filters_narrow_the_numbers_and_bad_ones_are_named(members, deals):
    seller, _ = members
    client = signed_in(seller)
    # The form sends every input: empty ones are no filter.
    html = client.get(PAGE + JANUARY + f"&owner_id={seller.pk}&sector=&vertical=").content.decode()
    assert "50.0 %" in html  # 1 won, 1 lost
    assert "only the opportunities the filters match" in html
    bad = client.get(PAGE + "?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 400
    assert "must not be after" in bad.content.decode()


def test_empty_states(db, members, deals):
    seller, _ = members
    client = signed_in(seller)
    # The other pipeline: nothing ever entered "done"; in 2020 nothing at all happened.
    html = client.get("/reports/flow/?pipeline=p&from=2020-01-01&to=2020-01-31").content.decode()
    assert "No open stage had arrivals, exits or work in progress in this period" in html
    # An organisation with a pipeline nobody used yet.
    fresh = process_services.organisation_create(name="Fresh", template="partnerships")
    newcomer = accounts.user_create(
        email="new@fresh.test", actor=accounts.system_actor(fresh), role="salesperson"
    )
    html = signed_in(newcomer).get(PAGE).content.decode()
    assert "No opportunity has entered" in html
