"""The flow metrics and calibration through the database: the selector, the API (its contract,
filters, errors, roles and organisations), calibration's one-click change, and the command
line. The history is test_flow.py's, so the numbers are the ones computed by hand there; run on
SQLite and on PostgreSQL (DATABASE_URL) they must be the same."""

from __future__ import annotations

import json

import pytest

from salesline.accounts import services as accounts
from salesline.analytics.calibration_services import calibration_apply
from salesline.analytics.filters import parse_metric_filters
from salesline.analytics.flow_selectors import calibration_report, flow_report
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.process.selectors import definition_for
from tests.conftest import ApiClient

from .flow_data import flow_organisation, load_history

JANUARY = "pipeline=p&from=2026-01-01&to=2026-01-31"
CLI_JANUARY = ("--pipeline", "p", "--from", "2026-01-01", "--to", "2026-01-31")


@pytest.fixture
def flow_org(db):
    return flow_organisation()


@pytest.fixture
def seller(flow_org):
    return accounts.user_create(
        email="sam@flow.test", actor=accounts.system_actor(flow_org), role="salesperson"
    )


@pytest.fixture
def boss(flow_org):
    return accounts.user_create(
        email="boss@flow.test", actor=accounts.system_actor(flow_org), role="admin"
    )


@pytest.fixture
def deals(flow_org, seller, boss):
    # Sam owns 1 and 2; the boss the rest (and 9, in the trash).
    owners = {n: (seller if n in (1, 2) else boss) for n in range(1, 10)}
    return load_history(flow_org, owners=owners)


def client_for(user, organisation) -> ApiClient:
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(organisation))
    return ApiClient(plain)


@pytest.fixture
def seller_api(seller, flow_org):
    return client_for(seller, flow_org)


@pytest.fixture
def boss_api(boss, flow_org):
    return client_for(boss, flow_org)


def stages_of(body) -> dict:
    return {stage["stage"]: stage for stage in body["stages"]}


def test_the_selector_gives_the_hand_computed_numbers(flow_org, boss, deals):
    actor = accounts.actor_for(boss, flow_org)
    filters = parse_metric_filters(
        actor, {"pipeline": "p", "from": "2026-01-01", "to": "2026-01-31"}
    )
    body = flow_report(actor=actor, filters=filters)
    stages = stages_of(body)
    assert list(stages) == ["a", "b", "c", "won", "lost"]
    # Opportunity 9 (a → b on days 3 and 6, in the trash) is left out: else a would have 5
    # arrivals and 6 exits.
    a = stages["a"]
    assert (a["arrivals"], a["exits"], a["wip"], a["stalled"]) == (4, {"b": 4, "other:x": 1}, 1, 1)
    assert a["conversion_to_next"] == pytest.approx(0.8)
    assert a["conversion_to_won"] == pytest.approx(0.75)
    assert a["median_days_in_stage"] == pytest.approx(10)
    assert a["p85_days_in_stage"] == pytest.approx(11.6)
    assert a["wip_age"] == {
        "under 7 days": 0,
        "7 to 30 days": 1,
        "30 to 90 days": 0,
        "90 days or more": 0,
    }
    b = stages["b"]
    assert (b["arrivals"], b["exits"], b["wip"], b["stalled"]) == (5, {"won": 3, "lost": 1}, 2, 1)
    c = stages["c"]
    assert (c["conversion_to_next"], c["median_days_in_stage"], c["p85_days_in_stage"]) == (
        None,
        None,
        None,
    )
    assert body["win_rate"] == pytest.approx(0.75)
    assert body["average_won_value"] == pytest.approx(2000)
    assert body["average_cycle_days"] == pytest.approx(59 / 3)
    assert body["sales_velocity"] == pytest.approx(13500 / 59)
    assert body["bottleneck"]["stage"] == "b"
    assert body["currencies"] == ["EUR"]


def test_flow_api_contract(seller_api, deals):
    response = seller_api.get(f"/metrics/flow?{JANUARY}")
    assert response.status_code == 200
    body = response.json()
    assert (body["pipeline"], body["from"], body["to"]) == ("p", "2026-01-01", "2026-01-31")
    contract = {
        "stage", "arrivals", "exits", "conversion_to_next", "conversion_to_won",
        "median_days_in_stage", "p85_days_in_stage", "wip", "stalled",
    }  # fmt: skip
    for stage in body["stages"]:
        assert contract <= set(stage)
    assert {"win_rate", "average_won_value", "average_cycle_days", "sales_velocity"} <= set(body)
    b = stages_of(body)["b"]
    assert b["median_days_in_stage"] == pytest.approx(10)
    assert b["p85_days_in_stage"] == pytest.approx(10)
    assert b["conversion_to_next"] == pytest.approx(0.75)
    assert body["sales_velocity"] == pytest.approx(13500 / 59)
    assert body["bottleneck"] == {
        "stage": "b",
        "score": pytest.approx(2.2),
        "evidence": [
            "Work in progress grew from 1 to 2 opportunities over the period — the most of any "
            "open stage.",
            "4 left for 5 that arrived: throughput 80% of arrivals — the lowest of the open "
            "stages.",
            "Median time in the stage: 10.0 days — the longest of the open stages.",
            "Stalled: 1 opportunity in the stage for more than 30 days.",
        ],
    }
    assert [w["won"] for w in body["throughput"]] == [0, 1, 1, 0, 1]
    assert body["definitions"]["sales_velocity"].startswith("Open opportunities at the period")


def test_flow_api_takes_the_list_filters(seller_api, seller, deals):
    # Sam's opportunities (1 and 2) only: a has one arrival (2), two exits (1, 2), one win.
    body = seller_api.get(f"/metrics/flow?{JANUARY}&owner_id={seller.pk}").json()
    a = stages_of(body)["a"]
    assert (a["arrivals"], a["exits"], a["wip"]) == (1, {"b": 2}, 0)
    assert body["win_rate"] == pytest.approx(0.5)
    assert body["average_won_value"] == pytest.approx(1000)
    assert body["filters"] == {"owner_id": str(seller.pk)}
    # A custom field: 1 and 2 are gold.
    assert seller_api.get(f"/metrics/flow?{JANUARY}&cf_tier=gold").json()["win_rate"] == 0.5
    # The source: 1 and 2 came from a trade show.
    assert seller_api.get(f"/metrics/flow?{JANUARY}&source=Trade%20show").json()["win_rate"] == 0.5
    # Nobody's: every count is zero, every rate null.
    empty = seller_api.get(f"/metrics/flow?{JANUARY}&cf_tier=silver").json()
    assert empty["win_rate"] is None
    assert empty["sales_velocity"] is None
    assert empty["bottleneck"] is None
    assert all(stage["arrivals"] == 0 for stage in empty["stages"])


def test_flow_api_defaults_to_the_first_pipeline_and_the_last_90_days(seller_api, deals):
    import datetime as dt

    from django.utils import timezone

    body = seller_api.get("/metrics/flow").json()
    today = timezone.localdate()
    assert body["pipeline"] == "p"
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - dt.timedelta(days=89)).isoformat()


@pytest.mark.parametrize(
    ("query", "locs"),
    [
        ("pipeline=nope", [["query", "pipeline"]]),
        ("from=2026-02-01&to=2026-01-01", [["query", "from"]]),
        ("from=yesterday", [["query", "from"]]),
        ("to=2026-13-01", [["query", "to"]]),
        ("to=9999-12-31", [["query", "to"]]),
        ("owner_id=abc", [["query", "owner_id"]]),
        ("colour=red", [["query", "colour"]]),
        ("cf_tier=bronze", [["query", "cf_tier"]]),
        ("limit=5", [["query", "limit"]]),
        (
            "pipeline=nope&from=x&colour=red",
            [["query", "pipeline"], ["query", "from"], ["query", "colour"]],
        ),
    ],
)
def test_flow_api_refuses_bad_parameters_naming_them(seller_api, flow_org, query, locs):
    response = seller_api.get(f"/metrics/flow?{query}")
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == locs


def test_calibration_api_contract(seller_api, deals):
    response = seller_api.get("/metrics/calibration?pipeline=p")
    assert response.status_code == 200
    body = response.json()
    stages = stages_of(body)
    assert list(stages) == ["a", "b", "c"]
    a = stages["a"]
    # Ever in a and closed now: 1 won, 2 lost, 4 won, 5 lost, 6 won: 3 of 5 (9, in the trash,
    # is left out). Wilson 95 % for 3 of 5: [23.0724, 88.2378] (test_flow.py).
    assert (a["configured"], a["sample"], a["suggested"]) == (10, 5, 60)
    assert a["observed"] == pytest.approx(60)
    assert a["low"] == pytest.approx(23.0724, abs=1e-3)
    assert a["high"] == pytest.approx(88.2378, abs=1e-3)
    c = stages["c"]
    assert (c["sample"], c["observed"], c["low"], c["high"]) == (0, None, None, None)
    assert seller_api.get("/metrics/calibration?pipeline=nope").status_code == 422
    assert seller_api.get("/metrics/calibration?pipeline=p&from=x").status_code == 422


def test_calibration_apply_edits_the_definition_and_audits(boss_api, flow_org, boss, deals):
    response = boss_api.post(
        "/metrics/calibration/apply", {"pipeline": "p", "stage": "a", "probability": 60}
    )
    assert response.status_code == 200
    assert response.json()["probability"] == 60
    spec = definition_for(flow_org)
    stage = next(
        s for p in spec.section("pipelines") if p.key == "p" for s in p.stages if s.key == "a"
    )
    assert stage.probability == 60
    # The definition's own event and calibration's, naming the stage and both values.
    event = AuditEvent.objects.get(organisation=flow_org, action="calibration.apply")
    assert event.actor_label == boss.email
    assert event.changes == {"p.a.probability": [10, 60]}
    loads = AuditEvent.objects.filter(organisation=flow_org, action="process.load")
    assert loads.filter(actor_label=boss.email).count() == 1
    # The report now says 60 is configured.
    assert (
        stages_of(boss_api.get("/metrics/calibration?pipeline=p").json())["a"]["configured"] == 60
    )
    # Applying the same value again changes nothing.
    assert (
        boss_api.post(
            "/metrics/calibration/apply", {"pipeline": "p", "stage": "a", "probability": 60}
        ).status_code
        == 200
    )
    assert AuditEvent.objects.filter(action="calibration.apply").count() == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"pipeline": "p", "stage": "a", "probability": 101}, ["body", "probability"]),
        ({"pipeline": "p", "stage": "won", "probability": 90}, ["body", "stage"]),
        ({"pipeline": "p", "stage": "zzz", "probability": 90}, ["body", "stage"]),
        ({"pipeline": "q", "stage": "a", "probability": 90}, ["body", "pipeline"]),
    ],
)
def test_calibration_apply_refuses_bad_input(boss_api, flow_org, body, loc):
    response = boss_api.post("/metrics/calibration/apply", body)
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [loc]
    assert not AuditEvent.objects.filter(action="calibration.apply").exists()


def test_role_and_organisation_matrix(
    seller_api, boss_api, flow_org, deals, other_api, other_actor
):
    apply = {"pipeline": "p", "stage": "a", "probability": 60}
    # Any member reads; only an admin applies.
    for client in (seller_api, boss_api):
        assert client.get(f"/metrics/flow?{JANUARY}").status_code == 200
        assert client.get("/metrics/calibration?pipeline=p").status_code == 200
    refused = seller_api.post("/metrics/calibration/apply", apply)
    assert refused.status_code == 403
    assert "Only an admin" in refused.json()["detail"]
    # Another organisation sees its own pipelines only: p is unknown there, and its numbers
    # never include ours.
    assert other_api.get(f"/metrics/flow?{JANUARY}").status_code == 422
    assert other_api.get("/metrics/calibration?pipeline=p").status_code == 422
    assert other_api.post("/metrics/calibration/apply", apply).status_code == 422
    theirs = other_api.get("/metrics/flow?from=2026-01-01&to=2026-01-31").json()
    assert all(stage["arrivals"] == 0 and stage["wip"] == 0 for stage in theirs["stages"])
    # And the boss's opportunities do not pass for another organisation's owner filter.
    assert other_api.get(f"/metrics/flow?owner_id={deals[3].owner_id}").json()["win_rate"] is None
    assert not AuditEvent.objects.filter(action="calibration.apply").exists()


def test_without_a_token(client, db):
    assert client.get("/api/v1/metrics/flow").status_code == 401
    assert client.get("/api/v1/metrics/calibration").status_code == 401


def test_calibration_apply_service_is_for_admins(flow_org, seller, deals):
    with pytest.raises(PermissionDenied):
        calibration_apply(
            actor=accounts.actor_for(seller, flow_org),
            pipeline_key="p",
            stage_key="a",
            probability=60,
        )
    with pytest.raises(ValidationFailed):
        calibration_apply(
            actor=accounts.system_actor(flow_org), pipeline_key="p", stage_key="a", probability=True
        )


def test_calibration_report_selector(flow_org, boss, deals):
    report = calibration_report(actor=accounts.actor_for(boss, flow_org), pipeline_key=None)
    assert report["pipeline"] == "p"
    assert [(s["stage"], s["sample"], s["won"], s["still_open"]) for s in report["stages"]] == [
        ("a", 5, 3, 2),
        ("b", 5, 3, 0),
        ("c", 0, 0, 0),
    ]


# ---------------------------------------------------------------- command line


def test_cli_metrics_json_is_the_api_json(flow_org, deals, seller_api, capsys):
    from salesline.cli import main

    code = main(["metrics", "--org", flow_org.slug, *CLI_JANUARY, "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == seller_api.get(f"/metrics/flow?{JANUARY}").json()


def test_cli_metrics_table(flow_org, deals, capsys):
    from salesline.cli import main

    code = main(["metrics", "--org", flow_org.slug, *CLI_JANUARY])
    assert code == 0
    out = capsys.readouterr().out
    assert "Pipeline P (p), 2026-01-01 to 2026-01-31" in out
    assert "Win rate 75.0 %" in out
    assert "Bottleneck: B (b)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    # stage, arrivals, exits, to next, to won, median, p85, WIP, stalled
    assert lines["a"].split()[1:] == ["4", "5", "80.0%", "75.0%", "10.0", "11.6", "1", "1"]
    assert lines["c"].split()[1:] == ["0", "0", "—", "—", "—", "—", "0", "0"]


def test_cli_metrics_errors(flow_org, deals, capsys):
    from salesline.cli import main

    assert main(["metrics", "--org", flow_org.slug, "--pipeline", "nope"]) == 1
    assert "Unknown pipeline 'nope'" in capsys.readouterr().err
    assert (
        main(["metrics", "--org", flow_org.slug, "--from", "2026-02-01", "--to", "2026-01-01"]) == 1
    )
    assert "must not be after" in capsys.readouterr().err
