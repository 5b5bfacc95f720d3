"""/api/v1/capacity: the calculator (any member, stores nothing), saved plans (admins and
sales-support managers; another organisation's are 404), ETags, audit, the evaluation, the
activity map, the transition checklist, the diagram and the calendars' count."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from salesline.accounts import services as accounts
from salesline.accounts.models import Role
from salesline.capacity.models import CapacityPlan, PlanActivity, TransitionStep
from salesline.core.models import AuditEvent
from salesline.scheduling.models import Appointment
from tests.capacity.test_resourcing import CONTRACT_PLAN, ILLUSTRATION
from tests.conftest import ApiClient

CONTRACT_ANSWER = {
    "roles": {
        "salesperson": 1,
        "sales_coordinator": 1,
        "project_leader": 0,
        "customer_service": 0,
        "promotions_coordinator": 1,
        "sales_support_manager": 1,
        "sales_manager": 0,
    },
    "meetings_per_week": {"before": 20, "after": 20},
    "payroll": {"before": 1460000, "after": 310000, "delta": -1150000},
    "warnings": [],
}


def client_for(org, role: str) -> ApiClient:
    user = accounts.user_create(
        email=f"{role}-{uuid.uuid4().hex[:6]}@piql.test",
        actor=accounts.system_actor(org),
        role=role,
    )
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
    return ApiClient(plain)


def put(client: ApiClient, path: str, body, **headers):
    return client.request("put", path, body, **headers)


def locs(response) -> list[list]:
    return [problem["loc"] for problem in response.json()["detail"]]


@pytest.fixture
def saved(admin_api):
    response = admin_api.post("/capacity/plans", {"name": "New model", "document": ILLUSTRATION})
    assert response.status_code == 201, response.json()
    return response


@pytest.fixture
def plan_id(saved) -> int:
    return saved.json()["id"]


# ---------------------------------------------------------------- the calculator


def test_any_member_gets_the_contracts_answer_and_nothing_is_stored(api, db):
    audit_before = AuditEvent.objects.count()

    response = api.post("/capacity/plan", CONTRACT_PLAN)

    assert response.status_code == 200, response.json()
    assert response.json() == CONTRACT_ANSWER
    assert CapacityPlan.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_the_expense_warning_when_payroll_rises(api, db):
    response = api.post("/capacity/plan", {**CONTRACT_PLAN, "before": {"salesperson": 1}})

    assert response.status_code == 200
    assert [w["rule"] for w in response.json()["warnings"]] == ["expenses_increase"]
    assert response.json()["payroll"]["delta"] == 190000


def test_every_bad_key_is_a_422_naming_it(api, db):
    response = api.post(
        "/capacity/plan",
        {
            **CONTRACT_PLAN,
            "bogus": 1,
            "current": {"salespeople": -3, "weekly": 2},
            "salaries": {"ceo": 1},
        },
    )

    assert response.status_code == 422
    assert sorted(locs(response)) == [
        ["body", "bogus"],
        ["body", "current", "salespeople"],
        ["body", "current", "weekly"],
        ["body", "salaries", "ceo"],
    ]
    assert all(problem["msg"] for problem in response.json()["detail"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ("", 400),
        ("[1, 2]", 422),
        ('"a plan"', 422),
        ('{"currency": "E\\u0000R"}', 422),
        ('{"current": {"salespeople": 1e400}}', 422),
        ("[" * 5000 + "]" * 5000, 400),
    ],
)
def test_a_malformed_body_is_a_4xx_with_a_message(api, db, body, status):
    response = api.post("/capacity/plan", body)

    assert response.status_code == status, response.content
    assert response.json()["detail"]


def test_the_calculator_needs_a_token(db):
    assert ApiClient("sl_0000_nothing").post("/capacity/plan", CONTRACT_PLAN).status_code == 401


# ---------------------------------------------------------------- who may


ROUTES = [
    ("get", "/capacity/plans", None),
    ("post", "/capacity/plans", {"name": "Another"}),
    ("get", "/capacity/plans/{id}", None),
    ("patch", "/capacity/plans/{id}", {"name": "Renamed"}),
    ("get", "/capacity/plans/{id}/result", None),
    ("get", "/capacity/plans/{id}/activities", None),
    ("put", "/capacity/plans/{id}/activities", {"activities": []}),
    ("get", "/capacity/plans/{id}/transition", None),
    ("post", "/capacity/plans/{id}/transition", {"start": "2027-01-04"}),
    ("get", "/capacity/measured-meetings", None),
    ("get", "/capacity/observed-stages", None),
    ("delete", "/capacity/plans/{id}", None),  # last: the routes above need the plan
]


def call(client: ApiClient, method: str, path: str, body=None):
    if method in ("post", "patch", "put"):
        return client.request(method, path, body if body is not None else {})
    return getattr(client, method)(path)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_role_matrix(org, plan_id, role):
    client = client_for(org, role)
    allowed = role in ("admin", "sales_support_manager")
    before = CapacityPlan.objects.filter(pk=plan_id).values().first()

    statuses = {
        f"{method} {path}": call(client, method, path.format(id=plan_id), body).status_code
        for method, path, body in ROUTES
    }

    if allowed:
        assert all(status < 300 for status in statuses.values()), statuses
    else:
        assert set(statuses.values()) == {403}, statuses
        assert CapacityPlan.objects.filter(pk=plan_id).values().first() == before
    # The calculator is open to every member.
    assert client.post("/capacity/plan", CONTRACT_PLAN).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"), [r for r in ROUTES if "{id}" in r[1]], ids=lambda v: str(v)
)
def test_another_organisations_plan_is_404_and_untouched(other_api, plan_id, method, path, body):
    before = CapacityPlan.objects.filter(pk=plan_id).values().first()
    activities = PlanActivity.objects.filter(plan_id=plan_id).count()
    audit_before = AuditEvent.objects.count()

    response = call(other_api, method, path.format(id=plan_id), body)

    assert response.status_code == 404, response.content
    assert isinstance(response.json()["detail"], str)
    assert CapacityPlan.objects.filter(pk=plan_id).values().first() == before
    assert PlanActivity.objects.filter(plan_id=plan_id).count() == activities
    assert TransitionStep.objects.filter(plan_id=plan_id).count() == 0
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("plan_ref", ["987654", str(2**70)])
@pytest.mark.parametrize(
    ("method", "path", "body"), [r for r in ROUTES if "{id}" in r[1]], ids=lambda v: str(v)
)
def test_a_missing_plan_is_404(admin_api, db, plan_ref, method, path, body):
    response = call(admin_api, method, path.format(id=plan_ref), body)

    assert response.status_code == 404


# ---------------------------------------------------------------- saved plans


def test_a_plan_is_saved_edited_with_etags_deleted_and_restored_each_audited(
    admin_api, saved, plan_id
):
    assert saved["ETag"] == f'"{plan_id}-1"'
    assert saved.json()["document"] == ILLUSTRATION

    got = admin_api.get(f"/capacity/plans/{plan_id}")
    assert got.status_code == 200 and got["ETag"] == saved["ETag"]

    patched = admin_api.patch(
        f"/capacity/plans/{plan_id}",
        {"name": "New model, conservative", "measured_from": "2026-11-01"},
        HTTP_IF_MATCH=saved["ETag"],
    )
    assert patched.status_code == 200, patched.json()
    assert patched["ETag"] == f'"{plan_id}-2"'
    assert patched.json()["measured_from"] == "2026-11-01"

    listed = admin_api.get("/capacity/plans").json()
    assert (listed["count"], listed["items"][0]["name"]) == (1, "New model, conservative")

    assert admin_api.delete(f"/capacity/plans/{plan_id}").status_code == 204
    assert admin_api.get(f"/capacity/plans/{plan_id}").status_code == 404
    assert admin_api.get("/capacity/plans").json()["count"] == 0
    trash = admin_api.get("/capacity/plans?deleted=true").json()
    assert [item["id"] for item in trash["items"]] == [plan_id]

    restored = admin_api.post(f"/capacity/plans/{plan_id}/restore")
    assert restored.status_code == 200 and restored.json()["deleted"] is False
    assert list(
        AuditEvent.objects.filter(action__startswith="capacity_plan.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "capacity_plan.create",
        "capacity_plan.update",
        "capacity_plan.delete",
        "capacity_plan.restore",
    ]


def test_a_stale_if_match_is_412_and_changes_nothing(admin_api, saved, plan_id):
    assert admin_api.patch(f"/capacity/plans/{plan_id}", {"name": "First"}).status_code == 200
    audit_before = AuditEvent.objects.count()

    response = admin_api.patch(
        f"/capacity/plans/{plan_id}", {"name": "Second"}, HTTP_IF_MATCH=saved["ETag"]
    )

    assert response.status_code == 412
    assert CapacityPlan.objects.get(pk=plan_id).name == "First"
    assert AuditEvent.objects.count() == audit_before


def test_a_bad_plan_file_is_422_naming_each_key_under_document(admin_api, saved, plan_id):
    response = admin_api.patch(
        f"/capacity/plans/{plan_id}",
        {"document": {**ILLUSTRATION, "current": {"salespeeple": 3}, "headcount": 1}},
    )

    assert response.status_code == 422
    assert sorted(locs(response)) == [
        ["body", "document", "current", "salespeeple"],
        ["body", "document", "headcount"],
    ]
    assert CapacityPlan.objects.get(pk=plan_id).document == ILLUSTRATION


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": ""}, ["body", "name"]),
        ({"name": "x", "colour": "red"}, ["body", "colour"]),
        ({"name": "x", "document": [1]}, ["body", "document"]),
        ({"name": "x", "measured_from": "November"}, ["body", "measured_from"]),
    ],
)
def test_a_bad_saved_plan_is_422_naming_the_field(admin_api, db, body, loc):
    response = admin_api.post("/capacity/plans", body)

    assert response.status_code == 422
    assert loc in locs(response)


def test_a_duplicate_name_is_422(admin_api, saved):
    response = admin_api.post("/capacity/plans", {"name": "new MODEL"})

    assert response.status_code == 422
    assert locs(response) == [["body", "name"]]


def test_list_paging(admin_api, db):
    for name in ("A", "B", "C"):
        assert admin_api.post("/capacity/plans", {"name": name}).status_code == 201

    page = admin_api.get("/capacity/plans?limit=2&offset=1").json()

    assert (page["count"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [item["name"] for item in page["items"]] == ["B", "C"]
    assert admin_api.get("/capacity/plans?limit=0").status_code == 422


# ---------------------------------------------------------------- the evaluation


def test_the_result_explains_the_plan(admin_api, plan_id):
    response = admin_api.get(f"/capacity/plans/{plan_id}/result")

    assert response.status_code == 200, response.content
    body = response.json()
    # 40 meetings / 1.75 per opportunity x 0.1 x 12 half-days = 27.43 / 8 -> 4 (ILLUSTRATION).
    assert body["roles"]["project_leader"] == 4
    assert body["verdict"] == "payroll −310,000 EUR, business-development capacity ×2"
    assert body["payroll"] == {"before": 1550000, "after": 1240000, "delta": -310000}
    assert [s["key"] for s in body["steps"]][:3] == ["current", "incremental", "salespeople"]
    salespeople = next(row for row in body["economics"] if row["role"] == "salesperson")
    assert (salespeople["before"], salespeople["after"], salespeople["delta"]) == (
        2 * 5,
        2,
        -800000,
    )
    assert salespeople["salary"] == 100000
    assert any(row["planned"] and row["salespeople"] == 2 for row in body["sensitivity"])
    assert body["project_leader_ratio"] == 2
    # No meeting held in the calendars: nothing measured, so nothing to compare.
    assert body["meetings_per_salesperson"] == {"entered": 2, "measured": None, "difference": None}
    assert body["measured"]["meetings"] == 0
    # The suggested map gives outbound calls to inside sales, which the planner never sizes.
    assert body["activity_check"]["unowned"] == []
    assert body["activity_check"]["unstaffed"] == ["Outbound calls for simple orders"]
    assert body["activity_check"]["complete"] is False


def test_the_result_shows_the_measured_volume_beside_the_entered_one(admin_api, org, plan_id, user):
    start = dt.date(2026, 11, 1)
    for day in range(2, 30, 7):  # four held meetings in November
        Appointment.objects.create(
            organisation=org,
            owner=user,
            kind=Appointment.Kind.BUSINESS_DEVELOPMENT,
            starts_at=dt.datetime(2026, 11, day, 10, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 11, day, 11, tzinfo=dt.UTC),
            uid=uuid.uuid4().hex,
        )
    assert (
        admin_api.patch(f"/capacity/plans/{plan_id}", {"measured_from": str(start)}).status_code
        == 200
    )

    body = admin_api.get(f"/capacity/plans/{plan_id}/result").json()

    measured = body["meetings_per_salesperson"]["measured"]
    assert body["measured"]["meetings"] == 4
    assert measured == pytest.approx(4 / (30 / 7), abs=0.01)  # one salesperson, 30 days
    assert body["meetings_per_salesperson"]["difference"] == pytest.approx(2 - measured, abs=0.01)
    assert "estimate_differs_from_measurement" in [w["rule"] for w in body["warnings"]]


# ---------------------------------------------------------------- the activity map


def test_the_activity_map_is_saved_whole_and_checked(admin_api, plan_id):
    response = put(
        admin_api,
        f"/capacity/plans/{plan_id}/activities",
        {
            "activities": [
                {
                    "name": "Business-development meetings",
                    "inside": False,
                    "selling": True,
                    "role": "salesperson",
                },
                {"name": "Order entry", "inside": True, "selling": False, "role": None},
            ]
        },
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [a["name"] for a in body["activities"]] == [
        "Business-development meetings",
        "Order entry",
    ]
    assert body["unowned"] == ["Order entry"]
    assert body["unstaffed"] == []
    assert "sales_coordinator" in body["roles_without_activity"]
    assert admin_api.get(f"/capacity/plans/{plan_id}/activities").json() == body
    result = admin_api.get(f"/capacity/plans/{plan_id}/result").json()
    assert result["activity_check"]["complete"] is False
    assert AuditEvent.objects.filter(action="capacity_plan.activities").count() == 1


def test_a_bad_activity_row_is_422_and_nothing_is_saved(admin_api, plan_id):
    before = PlanActivity.objects.filter(plan_id=plan_id).count()

    response = put(
        admin_api,
        f"/capacity/plans/{plan_id}/activities",
        {
            "activities": [
                {"name": "Quotes", "inside": True, "selling": True, "role": "wizard"},
                {"name": "Calls", "selling": True},
            ]
        },
    )

    assert response.status_code == 422
    assert sorted(locs(response)) == [
        ["body", "activities", 0, "role"],
        ["body", "activities", 1, "inside"],
    ]
    assert PlanActivity.objects.filter(plan_id=plan_id).count() == before


# ---------------------------------------------------------------- the transition checklist


def test_the_transition_is_generated_and_tracked(admin_api, admin_user, plan_id, user):
    response = admin_api.post(
        f"/capacity/plans/{plan_id}/transition", {"start": "2027-01-04", "owner_id": user.pk}
    )

    assert response.status_code == 200, response.json()
    steps = response.json()["steps"]
    assert [s["key"] for s in steps] == [
        "appoint_champion",
        "sell_direction",
        "fix_customer_service",
        "recruit_coordinators",
        "centralise",
        "scale_up_flow",
    ]
    assert {s["owner_id"] for s in steps} == {user.pk}
    assert steps[0]["due_date"] == "2027-01-11"

    step = admin_api.patch(
        f"/capacity/plans/{plan_id}/transition/{steps[2]['id']}",
        {"done": True, "due_date": "2027-03-01"},
    )
    assert step.status_code == 200, step.json()
    assert (step.json()["done"], step.json()["done_by_id"]) == (True, admin_user.pk)
    assert step.json()["due_date"] == "2027-03-01"
    listed = admin_api.get(f"/capacity/plans/{plan_id}/transition").json()["steps"]
    assert [s["done"] for s in listed] == [False, False, True, False, False, False]
    # Generating again keeps what was tracked.
    again = admin_api.post(f"/capacity/plans/{plan_id}/transition", {"start": "2028-01-03"})
    assert again.json()["steps"] == listed


def test_transition_refusals(admin_api, other_user, plan_id):
    no_member = admin_api.post(
        f"/capacity/plans/{plan_id}/transition", {"start": "2027-01-04", "owner_id": other_user.pk}
    )
    assert no_member.status_code == 422
    assert locs(no_member) == [["body", "owner_id"]]
    assert admin_api.post(f"/capacity/plans/{plan_id}/transition", {}).status_code == 422
    assert (
        admin_api.patch(f"/capacity/plans/{plan_id}/transition/987654", {"done": True}).status_code
        == 404
    )
    steps = admin_api.post(f"/capacity/plans/{plan_id}/transition", {"start": "2027-01-04"}).json()[
        "steps"
    ]
    bad = admin_api.patch(
        f"/capacity/plans/{plan_id}/transition/{steps[0]['id']}", {"done": "yes", "colour": 1}
    )
    assert bad.status_code == 422
    assert ["body", "colour"] in locs(bad)


# ---------------------------------------------------------------- the diagram


def test_the_diagram_is_an_svg_of_the_plan_one_circle_per_person(admin_api, plan_id):
    assert admin_api.patch(f"/capacity/plans/{plan_id}", {"name": "New <model>"}).status_code == 200

    response = admin_api.get(f"/capacity/plans/{plan_id}/diagram.svg")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert "New &lt;model&gt;" in svg  # the title, escaped
    # The illustration's planned people: 2 salespeople, 2 coordinators, 4 project leaders
    # (27.43 half-days a week / 8, see ILLUSTRATION), 8 in customer service, 1 + 1 more.
    assert svg.count("<circle") == 2 + 2 + 4 + 8 + 1 + 1
    assert "Order entry and management" in svg  # an activity of the map, under its role


# ---------------------------------------------------------------- the calendars' count


def test_measured_meetings_counts_the_period_asked(admin_api, org, user):
    for day, kind in ((3, "business_development"), (4, "business_development"), (5, "call")):
        Appointment.objects.create(
            organisation=org,
            owner=user,
            kind=kind,
            starts_at=dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 11, day, 10, tzinfo=dt.UTC),
            uid=uuid.uuid4().hex,
        )

    response = admin_api.get("/capacity/measured-meetings?from=2026-11-02&to=2026-11-15")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["start"], body["end"], body["weeks"]) == ("2026-11-02", "2026-11-16", 2)
    assert body["meetings"] == 2
    assert body["per_salesperson_per_week"] == 1
    assert admin_api.get("/capacity/measured-meetings").status_code == 200


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("from=2026-11-15&to=2026-11-01", ["query", "to"]),
        ("from=2020-01-01&to=2026-11-01", ["query", "to"]),
        ("from=November", ["query", "from"]),
    ],
)
def test_measured_meetings_refuses_a_bad_period(admin_api, db, query, loc):
    response = admin_api.get(f"/capacity/measured-meetings?{query}")

    assert response.status_code == 422
    assert loc in locs(response)


def test_the_calculator_and_a_saved_plan_refuse_bad_simulator_sections(api, admin_api, plan_id):
    body = {
        **CONTRACT_PLAN,
        "simulation": {"meetings_per_day": 2.5, "speed": 1},
        "scenarios": [{"name": "x", "extra": 1}],
    }
    response = api.post("/capacity/plan", body)
    assert response.status_code == 422
    assert sorted(locs(response)) == [
        ["body", "scenarios", 0, "extra"],
        ["body", "simulation", "meetings_per_day"],
        ["body", "simulation", "speed"],
    ]
    response = admin_api.patch(
        f"/capacity/plans/{plan_id}",
        {"document": {**ILLUSTRATION, "simulation": {"stages": [{"name": "Q"}]}}},
    )
    assert response.status_code == 422
    # Saved plans name keys as services do (an index as text).
    assert locs(response) == [["body", "document", "simulation", "stages", "0", "conversion"]]
    assert CapacityPlan.objects.get(pk=plan_id).document == ILLUSTRATION
