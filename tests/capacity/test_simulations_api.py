"""POST /api/v1/capacity/simulations: any member, the contract's answer, parameters from the
query or the body, problems naming their keys, the cap on the work."""

import json

import pytest
from django.test import Client

PLAN = {
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 10, "neglected_opportunities": 10},
    "customer_service": {"tasks_per_week": 120, "minutes_per_task": 15},
    "before": {"salesperson": 10, "sales_manager": 2},
}
PATH = "/capacity/simulations"


def test_a_salesperson_simulates_the_two_default_scenarios(api):
    response = api.post(f"{PATH}?weeks=6&replications=2&seed=3", PLAN)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert [s["name"] for s in answer["scenarios"]] == ["today", "plan"]
    today = answer["scenarios"][0]
    assert today["constraint"] == "salesperson"
    assert set(today["utilisation"]["salesperson"]) == {"mean", "low", "high"}
    assert today["meetings_per_week"]["mean"] <= 20  # 10 salespeople x 2 a week
    assert (answer["weeks"], answer["replications"], answer["seed"]) == (6, 2, 3)
    # The same seed in the body instead of the query: the same numbers.
    again = api.post(PATH, {**PLAN, "weeks": 6, "replications": 2, "seed": 3})
    assert again.json() == answer


def test_named_scenarios(api):
    body = {
        **PLAN,
        "weeks": 4,
        "replications": 2,
        "scenarios": [{"name": "lean", "roles": {"salesperson": 1}}],
    }
    response = api.post(PATH, body)
    assert response.status_code == 200
    (lean,) = response.json()["scenarios"]
    assert lean["name"] == "lean" and lean["roles"]["salesperson"] == 1


def test_problems_name_their_keys(api):
    body = {
        **PLAN,
        "simulation": {"stages": [{"name": "Qualify", "conversion": 3}], "pace": 2},
        "scenarios": [{"name": "x", "roles": {"wizard": 1}}],
    }
    response = api.post(PATH, body)
    assert response.status_code == 422
    locs = [problem["loc"] for problem in response.json()["detail"]]
    assert ["body", "simulation", "stages", 0, "conversion"] in locs
    assert ["body", "simulation", "pace"] in locs
    assert ["body", "scenarios", 0, "roles", "wizard"] in locs
    response = api.post(PATH, {**PLAN, "colour": "blue"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "colour"]
    # A key of Unicode digits that are not decimal ("³") is a name, not an index: a 422.
    response = api.post(PATH, {**PLAN, "simulation": {"³": 1}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "simulation", "³"]


@pytest.mark.parametrize(
    ("query", "body", "loc"),
    [
        ("?weeks=0", {}, ["query", "weeks"]),
        ("", {"replications": "ten"}, ["body", "replications"]),
        ("?seed=-4", {}, ["query", "seed"]),
        ("", {"weeks": 10_000}, ["body", "weeks"]),
    ],
)
def test_run_parameters_out_of_range(api, query, body, loc):
    response = api.post(f"{PATH}{query}", {**PLAN, **body})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_a_run_too_large_answers_422_naming_the_replications(api):
    response = api.post(f"{PATH}?weeks=520&replications=1000", PLAN)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "replications"]
    assert "fewer replications" in problem["msg"]
    # Huge arrivals count as work too, whatever the people.
    heavy = {**PLAN, "simulation": {"arrivals_per_week": {"promotions": 100_000}}}
    response = api.post(PATH, {**heavy, "replications": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "replications"]


def test_not_an_object_and_no_token(api):
    assert api.post(PATH, [1, 2]).status_code == 422
    assert api.post(PATH, "{not json").status_code == 400
    anonymous = Client().post(
        f"/api/v1{PATH}", data=json.dumps(PLAN), content_type="application/json"
    )
    assert anonymous.status_code == 401


def test_too_many_people_refused_naming_the_key(api):
    # 10,000 salespeople with no meeting capacity once cost a scan of all of them per dispatch.
    crowded = {
        **PLAN,
        "current": {"salespeople": 10_000, "meetings_per_salesperson": 0},
        "before": {"salesperson": 10_000},
        "simulation": {"arrivals_per_week": {"promotions": 5000}},
    }
    response = api.post(f"{PATH}?weeks=1&replications=1", crowded)
    assert response.status_code == 422
    locs = [problem["loc"] for problem in response.json()["detail"]]
    assert ["body", "before", "salesperson"] in locs
    named = {
        **PLAN,
        "scenarios": [{"name": "big", "roles": {"customer_service": 2001}}],
    }
    response = api.post(f"{PATH}?weeks=1&replications=1", named)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "scenarios", 0, "roles", "customer_service"]
    assert "2,000" in problem["msg"]
