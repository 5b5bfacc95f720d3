"""The networks API: my networks, a network at a glance, applications and votes, the report."""

from datetime import timedelta

import time_machine

from salesline.enquiries import membership
from salesline.enquiries.models import Application

UK_COOP = {
    "organisation_name": "Digital Commons Co-op",
    "country": "GB",
    "legal_form": "co-operative",
    "email": "hello@commons.test",
    "message": "Hello",
}


def test_my_networks_and_one_network(world):
    response = world.webarch.api.get("/networks")
    assert response.status_code == 200
    assert [(n["slug"], n["members"], n["is_coordinator"]) for n in response.json()] == [
        ("cotech", 3, False)
    ]
    assert world.outsider.api.get("/networks").json() == []
    response = world.coordinator.api.get("/networks/cotech")
    assert response.status_code == 200
    body = response.json()
    assert sorted(m["slug"] for m in body["members"]) == sorted(m.org.slug for m in world.members)
    assert body["coordinator"]["email"] == "coord@agile.test"
    assert body["chair"] is None
    assert body["is_coordinator"] is True
    assert world.outsider.api.get("/networks/cotech").status_code == 404
    assert world.webarch.api.get("/networks/nope").status_code == 404


def test_apply_vote_and_read_the_application(world):
    response = world.outsider.api.post("/networks/cotech/applications", UK_COOP)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "voting" and body["voting_closes_at"]
    application_id = body["id"]
    # The applicant is not a member: the application itself is for members only.
    assert world.outsider.api.get(f"/applications/{application_id}").status_code == 404
    response = world.webarch.api.get(f"/applications/{application_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "voting"
    assert body["tallies"] == {"yes": 0, "no": 0, "members": 3, "not_voted": 3}
    assert body["my_vote"] is None

    response = world.webarch.api.post(f"/applications/{application_id}/votes", {"vote": "yes"})
    assert response.status_code == 201, response.content
    assert response.json()["my_vote"] == "yes"
    again = world.webarch.api.post(f"/applications/{application_id}/votes", {"vote": "no"})
    assert again.status_code == 409
    outsider = world.outsider.api.post(f"/applications/{application_id}/votes", {"vote": "yes"})
    assert outsider.status_code == 404
    bad = world.outlandish.api.post(f"/applications/{application_id}/votes", {"vote": "maybe"})
    assert bad.status_code == 422
    response = world.outlandish.api.post(f"/applications/{application_id}/votes", {"vote": "yes"})
    assert response.json()["status"] == "approved"
    late = world.agile.api.post(f"/applications/{application_id}/votes", {"vote": "no"})
    assert late.status_code == 409
    assert world.agile.api.get(f"/applications/{application_id}").json()["status"] == "approved"


def test_an_ineligible_application_answers_why(world):
    response = world.outsider.api.post(
        "/networks/cotech/applications", {**UK_COOP, "country": "US"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "ineligible"
    assert body["reasons"] and body["voting_closes_at"] is None
    vote = world.webarch.api.post(f"/applications/{body['id']}/votes", {"vote": "yes"})
    assert vote.status_code == 409


def test_application_fields_are_checked(world):
    response = world.outsider.api.post(
        "/networks/cotech/applications", {**UK_COOP, "email": "not an address"}
    )
    assert response.status_code == 422
    assert [p["loc"] for p in response.json()["detail"]] == [["body", "email"]]
    missing = world.outsider.api.post("/networks/cotech/applications", {"country": "GB"})
    assert missing.status_code == 422
    assert world.outsider.api.post("/networks/nope/applications", UK_COOP).status_code == 404
    assert not Application.objects.exists()


def test_deadline_closes_through_the_periodic_callback(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    world.webarch.api.post(f"/applications/{application.pk}/votes", {"vote": "no"})
    from salesline.core.tasks import run_periodic

    with time_machine.travel(application.voting_closes_at + timedelta(minutes=5)):
        assert run_periodic()["enquiries.applications_close_due"] is True
    assert world.webarch.api.get(f"/applications/{application.pk}").json()["status"] == ("rejected")


def test_borderline_flag_is_shown_to_members(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    response = world.coordinator.api.post(
        f"/applications/{application.pk}/borderline",
        {"facts": "Became a co-operative last month."},
    )
    assert response.status_code == 200
    body = world.outlandish.api.get(f"/applications/{application.pk}").json()
    assert body["borderline"] is True
    assert body["borderline_facts"] == "Became a co-operative last month."


def test_the_report_is_the_coordinators(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    world.webarch.api.post(f"/applications/{application.pk}/votes", {"vote": "yes"})
    response = world.coordinator.api.get("/networks/cotech/report")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["enquiries"]["total"] == 0
    assert body["response_times"]["overdue_now"] == 0
    (open_vote,) = body["applications"]["open_votes"]
    assert (open_vote["yes"], open_vote["no"], open_vote["not_voted"]) == (1, 0, 2)
    webarch = next(m for m in body["members"] if m["org"] == world.webarch.org.slug)
    assert webarch["votes_cast"] == 1 and webarch["last_activity"]
    assert world.webarch.api.get("/networks/cotech/report").status_code == 403
    assert world.outsider.api.get("/networks/cotech/report").status_code == 404


def test_the_applications_list_shows_who_voted_in_a_fixed_number_of_queries(
    world, django_assert_max_num_queries
):
    def apply(name):
        return membership.application_submit(
            network=world.network, data={**UK_COOP, "organisation_name": name}
        )

    first = apply("One Co-op")
    membership.vote_cast(actor=world.webarch.actor, application_id=first.pk, vote="no")
    with django_assert_max_num_queries(12) as one:
        response = world.outlandish.api.get("/networks/cotech/applications")
    assert response.status_code == 200
    for name in ("Two Co-op", "Three Co-op", "Four Co-op"):
        membership.vote_cast(actor=world.webarch.actor, application_id=apply(name).pk, vote="no")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = world.outlandish.api.get("/networks/cotech/applications")
    rows = response.json()
    assert [row["organisation_name"] for row in rows] == [
        "Four Co-op",
        "Three Co-op",
        "Two Co-op",
        "One Co-op",
    ]
    assert rows[-1]["votes"][0]["org"] == world.webarch.org.slug
    assert rows[-1]["votes"][0]["vote"] == "no"
    assert rows[-1]["tallies"]["no"] == 1
    assert world.outsider.api.get("/networks/cotech/applications").status_code == 404
