"""The forecast through its interfaces: the API (contract, errors, organisations), the
command line and the Reports → Forecast page. The data and its numbers: forecast_data."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.test import Client

from salesline import cli
from salesline.accounts import services as accounts
from salesline.analytics.filters import parse_metric_filters
from salesline.analytics.forecast_selectors import forecast_report
from salesline.analytics.models import ForecastSnapshot
from tests.conftest import ApiClient

from .forecast_data import NOW, forecast_organisation, known_organisations

CONTRACT_PERIOD = {"period", "weighted", "p10", "p50", "p90", "count_p50"}


@pytest.fixture
def known(db):
    return known_organisations()


@pytest.fixture
def fay_api(known):
    organisation, owner, _ = known
    _, plain = accounts.token_create(user=owner, actor=accounts.system_actor(organisation))
    return ApiClient(plain)


def test_api_answers_the_contract_and_the_same_seed_gives_the_same_numbers(known, fay_api):
    organisation, owner, _ = known
    with time_machine.travel(NOW, tick=False):
        first = fay_api.get("/forecast?pipeline=p&trials=500&seed=3&horizon=3")
        again = fay_api.get("/forecast?pipeline=p&trials=500&seed=3&horizon=3")
        actor = accounts.actor_for(owner, organisation)
        direct = forecast_report(
            actor=actor,
            filters=parse_metric_filters(actor, {"pipeline": "p"}),
            trials=500,
            seed=3,
            horizon=3,
        )
    assert first.status_code == 200
    body = first.json()
    assert body == again.json() == json.loads(json.dumps(direct))
    assert (body["trials"], body["seed"], body["pipeline"]) == (500, 3, "p")
    assert [p["period"] for p in body["periods"]] == ["2026-01", "2026-02", "2026-03"]
    assert all(set(period) == CONTRACT_PERIOD for period in body["periods"])
    assert [p["weighted"] for p in body["periods"]] == [500.0, 300.0, 0.0]


def test_api_chooses_a_seed_and_defaults(known, fay_api):
    with time_machine.travel(NOW, tick=False):
        body = fay_api.get("/forecast?trials=50").json()
    assert body["pipeline"] == "p" and body["trials"] == 50 and len(body["periods"]) == 6
    assert 0 <= body["seed"] < 2**32


def test_api_calibrated_probabilities_weigh_by_what_was_observed(known, fay_api):
    # Of the 20 closed deals that were in a, 6 were won: a's observed probability is 30 %,
    # so January's five deals weigh 5 × 1000 × 0.3 = 1500 and February's three 900.
    with time_machine.travel(NOW, tick=False):
        body = fay_api.get("/forecast?pipeline=p&trials=10&seed=1&probability=calibrated").json()
    assert body["probability"] == "calibrated"
    assert [p["weighted"] for p in body["periods"][:2]] == [1500.0, 900.0]


def test_api_names_every_bad_parameter(known, fay_api):
    response = fay_api.get("/forecast?pipeline=nope&trials=0&horizon=25&seed=-1&probability=x")
    assert response.status_code == 422
    named = {tuple(problem["loc"])[-1] for problem in response.json()["detail"]}
    assert named == {"pipeline", "trials", "horizon", "seed", "probability"}
    too_many = fay_api.get("/forecast?trials=100001")
    assert too_many.status_code == 422 and "100000" in too_many.content.decode()
    not_a_number = fay_api.get("/forecast?seed=abc&owner_id=zz")
    assert not_a_number.status_code == 422
    named = {tuple(problem["loc"])[-1] for problem in not_a_number.json()["detail"]}
    assert {"seed", "owner_id"} <= named


def test_another_organisation_sees_only_its_own_deals(known):
    third = forecast_organisation("Third")
    member = accounts.user_create(
        email="hal@third.test", actor=accounts.system_actor(third), role="salesperson"
    )
    _, plain = accounts.token_create(user=member, actor=accounts.system_actor(third))
    with time_machine.travel(NOW, tick=False):
        body = ApiClient(plain).get("/forecast?pipeline=p&trials=20&seed=1").json()
    assert body["open_opportunities"] == 0
    assert all(p["p90"] == 0 and p["weighted"] == 0 for p in body["periods"])


def test_accuracy_api(known, fay_api):
    body = fay_api.get("/forecast/accuracy?pipeline=p").json()
    assert body == {"pipeline": "p", "periods": []}
    assert fay_api.get("/forecast/accuracy?pipeline=nope").status_code == 422
    assert fay_api.get("/forecast/accuracy?trials=3").status_code == 422


def test_without_a_token(client, db):
    assert client.get("/api/v1/forecast").status_code == 401


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_is_the_api_json(known, fay_api, capsys):
    organisation, _, _ = known
    with time_machine.travel(NOW, tick=False):
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p",
            "--trials", "300", "--seed", "8", "--json",
        )  # fmt: skip
        api_body = fay_api.get("/forecast?pipeline=p&trials=300&seed=8").json()
    assert code == 0
    assert json.loads(out) == api_body


def test_cli_table_snapshot_and_accuracy(known, capsys):
    organisation, _, _ = known
    with time_machine.travel(NOW, tick=False):
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p",
            "--trials", "100", "--seed", "2", "--horizon", "2",
        )  # fmt: skip
        assert code == 0
        assert "100 trials, seed 2" in out and "2026-02" in out and "2026-Q1" in out
        assert "undated 100.00" in out
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p", "--snapshot",
            "--trials", "100",
        )  # fmt: skip
        assert code == 0 and out.startswith("Took the snapshot of 2026-W02")
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p", "--snapshot"
        )
        assert code == 0 and out.startswith("Kept the snapshot of 2026-W02")
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p", "--accuracy"
        )
        assert code == 0 and "No past month" in out
    assert ForecastSnapshot.objects.filter(organisation=organisation).count() == 1
    # In March, February is a past month the snapshot forecast: nothing was won in it.
    with time_machine.travel("2026-03-02T00:00:00Z", tick=False):
        code, out, _ = run(
            capsys, "forecast", "--org", organisation.slug, "--pipeline", "p", "--accuracy"
        )
    assert code == 0
    (february,) = [line for line in out.splitlines() if line.startswith("2026-02")]
    assert february.split()[1] == "2026-W02" and february.split()[3] == "0.00"
    code, _, err = run(capsys, "forecast", "--org", organisation.slug, "--pipeline", "nope")
    assert code == 1 and "nope" in err


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_forecast_the_seed_and_reruns_with_it(known):
    organisation, owner, _ = known
    with time_machine.travel(NOW, tick=False):
        response = signed_in(owner).get("/reports/forecast/?pipeline=p&trials=200&seed=5")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="forecast-seed-value">5</strong>' in html
    assert "200 trials, 10 open opportunities" in html
    assert "2026-Q1" in html and "2026-02" in html
    assert "seed=5" in html  # the "run again with this seed" link
    assert "Take this week&#x27;s snapshot now" in html or "Take this week's snapshot now" in html


def test_the_page_refuses_bad_settings_naming_them(known):
    _, owner, _ = known
    response = signed_in(owner).get("/reports/forecast/?trials=0&horizon=99")
    assert response.status_code == 400
    html = response.content.decode()
    assert "trials" in html and "horizon" in html


def test_snapshot_now_from_the_page_and_a_salesperson_cannot(known):
    organisation, owner, _ = known
    with time_machine.travel(NOW, tick=False):
        response = signed_in(owner).post("/reports/forecast/snapshot/", {"pipeline": "p"})
    assert response.status_code == 302
    assert ForecastSnapshot.objects.filter(organisation=organisation, pipeline_key="p").exists()
    seller = accounts.user_create(
        email="sid@forecast.test", actor=accounts.system_actor(organisation), role="salesperson"
    )
    page = signed_in(seller).get("/reports/forecast/?trials=10")
    assert page.status_code == 200 and "snapshot now" not in page.content.decode()
    refused = signed_in(seller).post("/reports/forecast/snapshot/", {"pipeline": "p"})
    assert refused.status_code == 403
