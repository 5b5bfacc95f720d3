"""GET /api/v1/metrics/people and the /reports/people/ page: the same numbers, bad query
parameters named (422 on the API), another organisation's activity never counted."""

import datetime as dt

from django.test import Client

from salesline.playbooks.models import Task
from tests.analytics.test_activity import at, logged, task


def history(actor, admin_actor, opportunity, org, user):
    """Ann: 2 meetings in 2026-W10, 1 in W11 (3 in 2 weeks: 1.5 a week, 7.5% of 20); her open
    opportunity has the 3 meetings and 1 call: 4 activities; 1 of her 2 decided tasks on time."""
    logged(actor, "meeting", at(2), opportunity_id=opportunity.pk)
    logged(actor, "meeting", at(3), opportunity_id=opportunity.pk)
    logged(actor, "meeting", at(10), opportunity_id=opportunity.pk)
    logged(actor, "call", at(10), opportunity_id=opportunity.pk)
    task(org, user, dt.date(2026, 3, 5), "done", at(4))
    task(org, user, dt.date(2026, 3, 6))


def test_the_api_answers_per_person_per_week(api, actor, admin_actor, opportunity, org, user):
    history(actor, admin_actor, opportunity, org, user)
    response = api.get("/metrics/people?from=2026-03-02&to=2026-03-15")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"], body["capacity"]) == ("2026-03-02", "2026-03-15", 20)
    (ann,) = [p for p in body["people"] if p["owner_id"] == user.pk]
    assert [(w["week"], w["meetings"], w["utilisation"]) for w in ann["weeks"]] == [
        ("2026-W10", 2, 0.1),
        ("2026-W11", 1, 0.05),
    ]
    assert (ann["meetings"], ann["meetings_per_week"], ann["utilisation"]) == (3, 1.5, 0.075)
    assert (ann["open_opportunities"], ann["activities_per_opportunity"]) == (1, 4.0)
    assert (ann["tasks_on_time"], ann["tasks_missed"], ann["on_time_rate"]) == (1, 1, 0.5)
    assert body["on_time"] == {"on_time": 1, "late": 0, "missed": 1, "rate": 0.5}
    assert body["activities"]["opportunities"] == 1 and body["activities"]["mean"] == 4.0


def test_bad_query_parameters_are_422_naming_them(api):
    response = api.get("/metrics/people?from=March&owner_id=x")
    assert response.status_code == 422
    text = response.content.decode()
    assert "from" in text and "owner_id" in text
    backwards = api.get("/metrics/people?from=2026-03-09&to=2026-03-01")
    assert backwards.status_code == 422


def test_another_organisation_sees_none_of_it(
    other_api, actor, admin_actor, opportunity, org, user
):
    history(actor, admin_actor, opportunity, org, user)
    body = other_api.get("/metrics/people?from=2026-03-02&to=2026-03-15").json()
    assert all(p["meetings"] == 0 for p in body["people"])
    assert body["activities"]["opportunities"] == 0 and body["on_time"]["rate"] is None
    assert Task.objects.count() == 2


def test_the_page_shows_the_same_numbers(actor, admin_actor, opportunity, org, user):
    history(actor, admin_actor, opportunity, org, user)
    client = Client()
    client.force_login(user)
    page = client.get("/reports/people/?from=2026-03-02&to=2026-03-15")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'aria-current="page">People and activity' in text
    assert "ann@piql.test: 1.5 of 20 meetings a week" in text
    assert "2026-W10" in text and "2026-W11" in text
    assert "50% of the tasks due in the period were done on time" in text
    refused = client.get("/reports/people/?from=2026-03-09&to=2026-03-01")
    assert refused.status_code == 400
    assert "must not be after" in refused.content.decode()
