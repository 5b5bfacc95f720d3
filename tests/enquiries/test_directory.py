"""The skills directory through the API: the taxonomy, members' skills, profiles (accounts
kept to the member and the coordinator), documents, case studies, search, isolation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salesline.core.models import AuditEvent
from salesline.enquiries.models import MemberSkill

from .directory_helpers import put, skills, taxonomy

pytestmark = pytest.mark.django_db


def test_coordinator_keeps_the_taxonomy_and_members_read_it(world):
    response = world.coordinator.api.post(
        "/skills", {"key": "drupal", "name": "Drupal", "description": "the CMS"}
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "key": "drupal",
        "name": "Drupal",
        "parent": None,
        "description": "the CMS",
    }
    child = world.coordinator.api.post(
        "/skills", {"key": "drupal-commerce", "name": "Drupal Commerce", "parent": "drupal"}
    )
    assert child.status_code == 201
    assert child.json()["parent"] == "drupal"
    assert world.coordinator.api.post("/skills", {"key": "drupal", "name": "X"}).status_code == 409
    unknown_parent = world.coordinator.api.post(
        "/skills", {"key": "php", "name": "PHP", "parent": "nope"}
    )
    assert unknown_parent.status_code == 422
    assert unknown_parent.json()["detail"][0]["loc"] == ["body", "parent"]
    # A member that is not the coordinator may not add one; it reads the list.
    assert world.webarch.api.post("/skills", {"key": "php", "name": "PHP"}).status_code == 403
    listed = world.webarch.api.get("/skills")
    assert listed.status_code == 200
    assert [s["key"] for s in listed.json()["items"]] == ["drupal", "drupal-commerce"]
    assert [s["key"] for s in world.webarch.api.get("/skills?q=commerce").json()["items"]] == [
        "drupal-commerce"
    ]
    # An outsider cannot tell the network exists.
    assert world.outsider.api.get("/skills").status_code == 404
    assert world.outsider.api.get(f"/skills?network={world.network.slug}").status_code == 404
    assert AuditEvent.objects.filter(
        organisation=world.network.organisation, action="create", object_repr="Drupal"
    ).exists()


def test_member_sets_its_own_skills_and_errors_are_named(world):
    taxonomy(world)
    slug = world.webarch.org.slug
    response = put(
        world.webarch.api,
        f"/members/{slug}/skills",
        {"skills": [{"skill": "drupal", "level": 5}, {"skill": "hosting", "level": 3}]},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "org": slug,
        "skills": [
            {"skill": "drupal", "name": "Drupal", "level": 5},
            {"skill": "hosting", "name": "Web hosting", "level": 3},
        ],
    }
    # Replacing: the old ones go.
    response = put(
        world.webarch.api, f"/members/{slug}/skills", {"skills": [{"skill": "ux", "level": 2}]}
    )
    assert [s["skill"] for s in response.json()["skills"]] == ["ux"]
    bad = put(
        world.webarch.api,
        f"/members/{slug}/skills",
        {"skills": [{"skill": "cobol", "level": 3}, {"skill": "python", "level": 9}]},
    )
    assert bad.status_code == 422
    assert {(tuple(p["loc"]), p["msg"]) for p in bad.json()["detail"]} == {
        (("body", "skills", 0, "skill"), "Unknown skill 'cobol'."),
        (("body", "skills", 1, "level"), "Level must be a whole number from 1 to 5."),
    }
    assert list(
        MemberSkill.objects.filter(organisation=world.webarch.org).values_list(
            "skill__key", flat=True
        )
    ) == ["ux"]
    # Another member may not; the coordinator may; an outsider gets 404.
    other = put(world.outlandish.api, f"/members/{slug}/skills", {"skills": []})
    assert other.status_code == 403
    by_coordinator = put(
        world.coordinator.api,
        f"/members/{slug}/skills",
        {"skills": [{"skill": "python", "level": 4}]},
    )
    assert by_coordinator.status_code == 200
    assert put(world.outsider.api, f"/members/{slug}/skills", {"skills": []}).status_code == 404
    assert put(world.webarch.api, "/members/nobody/skills", {"skills": []}).status_code == 404
    got = world.outlandish.api.get(f"/members/{slug}/skills")
    assert got.json()["skills"] == [{"skill": "python", "name": "Python", "level": 4}]


def test_the_old_members_endpoints_still_answer(world):
    response = world.webarch.api.get("/members")
    # The organisation's own members list (admins and coordinators only): still routed.
    assert response.status_code in {200, 403}
    me = world.webarch.api.get("/me")
    assert me.status_code == 200
    assert me.json()["items"][0]["email"] == "bob@webarch.test"
    pattern = world.webarch.api.get(f"/members/{world.webarch.user.pk}/working-pattern")
    assert pattern.status_code == 200


def test_profile_accounts_are_seen_by_the_member_and_the_coordinator_only(world):
    slug = world.webarch.org.slug
    response = put(
        world.webarch.api,
        f"/members/{slug}/profile",
        {
            "summary": "Hosting co-op",
            "staff_count": 9,
            "day_rate": "450",
            "rates": "Day rate 450, discounts for charities",
            "policies": "Equality and diversity policy. Public liability insurance of 5m.",
            "accounts": "Turnover 2025: 600k, profit 20k",
            "annual_turnover": 600000,
            "available_from": "2026-01-05",
            "min_project_value": 5000,
            "max_project_value": 100000,
        },
    )
    assert response.status_code == 200, response.content
    profile = response.json()["profile"]
    assert profile["accounts"] == "Turnover 2025: 600k, profit 20k"
    assert profile["staff_count"] == 9
    assert profile["available_from"] == "2026-01-05"
    seen_by_other = world.outlandish.api.get(f"/members/{slug}/profile").json()["profile"]
    assert seen_by_other["accounts"] is None
    assert seen_by_other["annual_turnover"] is None
    assert seen_by_other["summary"] == "Hosting co-op"
    by_coordinator = world.coordinator.api.get(f"/members/{slug}/profile").json()["profile"]
    assert by_coordinator["accounts"] == "Turnover 2025: 600k, profit 20k"
    bad = put(
        world.webarch.api,
        f"/members/{slug}/profile",
        {"min_project_value": 50, "max_project_value": 10, "available_from": "soon"},
    )
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {
        ("body", "max_project_value"),
        ("body", "available_from"),
    }
    assert (
        put(world.outlandish.api, f"/members/{slug}/profile", {"summary": "x"}).status_code == 403
    )
    assert world.outsider.api.get(f"/members/{slug}/profile").status_code == 404
    # The audit trail (in the network's books) never holds the accounts text.
    event = AuditEvent.objects.filter(
        organisation=world.network.organisation, object_type="memberprofile"
    ).first()
    assert event is not None
    assert "600k" not in str(event.changes)


def test_documents_accounts_kept_private(world):
    slug = world.webarch.org.slug
    client = world.webarch.api.client
    for kind, name in (("policy", "equality.pdf"), ("accounts", "accounts-2025.pdf")):
        response = client.post(
            f"/api/v1/members/{slug}/documents",
            {
                "kind": kind,
                "title": name,
                "file": SimpleUploadedFile(name, b"%PDF " + name.encode()),
            },
        )
        assert response.status_code == 201, response.content
    own = world.webarch.api.get(f"/members/{slug}/profile").json()["documents"]
    assert sorted(d["kind"] for d in own) == ["accounts", "policy"]
    other = world.outlandish.api.get(f"/members/{slug}/profile").json()["documents"]
    assert [d["kind"] for d in other] == ["policy"]
    accounts_id = next(d["id"] for d in own if d["kind"] == "accounts")
    policy_id = next(d["id"] for d in own if d["kind"] == "policy")
    assert world.outlandish.api.get(f"/members/{slug}/documents/{accounts_id}").status_code == 404
    download = world.outlandish.api.get(f"/members/{slug}/documents/{policy_id}")
    assert download.status_code == 200
    assert download.content == b"%PDF equality.pdf"
    assert world.coordinator.api.get(f"/members/{slug}/documents/{accounts_id}").status_code == 200
    assert world.outsider.api.get(f"/members/{slug}/documents/{policy_id}").status_code == 404
    refused = world.outlandish.api.client.post(
        f"/api/v1/members/{slug}/documents",
        {"kind": "policy", "file": SimpleUploadedFile("x.pdf", b"x")},
    )
    assert refused.status_code == 403


def test_case_studies_and_search_by_skill(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5, "hosting": 4})
    skills(world, world.outlandish, {"python": 4, "data-science": 3})
    response = world.outlandish.api.post(
        "/case-studies",
        {
            "title": "Open data portal",
            "client": "City Council",
            "summary": "A portal built in Python.",
            "skills": ["python", "data-science"],
            "value": 40000,
            "year": 2024,
        },
    )
    assert response.status_code == 201, response.content
    study = response.json()
    assert study["org"] == world.outlandish.org.slug
    assert study["skills"] == ["data-science", "python"]
    bad = world.outlandish.api.post(
        "/case-studies",
        {"title": "", "client": "C", "summary": "S", "skills": ["cobol"], "year": 3},
    )
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {
        ("body", "title"),
        ("body", "skills", 0),
        ("body", "year"),
    }
    # Another member's case study only by the coordinator.
    forged = world.outlandish.api.post(
        "/case-studies",
        {"title": "T", "client": "C", "summary": "S", "org": world.webarch.org.slug},
    )
    assert forged.status_code == 403
    upload = world.outlandish.api.client.post(
        f"/api/v1/case-studies/{study['id']}/files",
        {"file": SimpleUploadedFile("portal.pdf", b"portal")},
    )
    assert upload.status_code == 201
    assert (
        world.webarch.api.client.post(
            f"/api/v1/case-studies/{study['id']}/files",
            {"file": SimpleUploadedFile("x.pdf", b"x")},
        ).status_code
        == 403
    )
    by_skill = world.webarch.api.get("/case-studies?skill=python").json()
    assert [s["title"] for s in by_skill["items"]] == ["Open data portal"]
    assert by_skill["items"][0]["files"][0]["file_name"] == "portal.pdf"
    assert world.webarch.api.get("/case-studies?skill=drupal").json()["count"] == 0
    assert world.webarch.api.get("/case-studies?q=council").json()["count"] == 1
    directory_by_skill = world.webarch.api.get("/directory?skill=drupal").json()
    assert [e["org"] for e in directory_by_skill["items"]] == [world.webarch.org.slug]
    by_text = world.webarch.api.get("/directory?q=portal").json()
    assert [e["org"] for e in by_text["items"]] == [world.outlandish.org.slug]
    everyone = world.webarch.api.get("/directory").json()
    assert everyone["count"] == 3
    assert world.outsider.api.get("/case-studies").status_code == 404
    assert world.outsider.api.get("/directory").status_code == 404
    assert world.outsider.api.get(f"/case-studies/{study['id']}").status_code == 404


def test_people_skills(world):
    taxonomy(world)
    slug = world.webarch.org.slug
    response = put(
        world.webarch.api,
        f"/members/{slug}/people-skills",
        {"people": [{"person": "Bob", "skill": "drupal", "level": 4}]},
    )
    assert response.status_code == 200, response.content
    entry = world.outlandish.api.get(f"/members/{slug}/profile").json()
    assert entry["people"] == [{"person": "Bob", "skill": "drupal", "level": 4}]
    bad = put(
        world.webarch.api,
        f"/members/{slug}/people-skills",
        {"people": [{"person": "", "skill": "nope", "level": 0}]},
    )
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {
        ("body", "people", 0, "person"),
        ("body", "people", 0, "skill"),
        ("body", "people", 0, "level"),
    }


def test_several_networks_need_the_network_named(world):
    from salesline.enquiries.network_services import network_add_member, network_create

    other = network_create(
        name="Second", coordinator_email="coord2@webarch.test", org_slug=world.outlandish.org.slug
    )
    network_add_member(network_slug=other.slug, org_slug=world.webarch.org.slug)
    ambiguous = world.webarch.api.get("/skills")
    assert ambiguous.status_code == 422
    assert ambiguous.json()["detail"][0]["loc"] == ["query", "network"]
    assert world.webarch.api.get(f"/skills?network={other.slug}").status_code == 200
    assert world.agile.api.get(f"/skills?network={other.slug}").status_code == 404


def test_lists_take_a_fixed_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    taxonomy(world)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as directory_queries:
            assert world.webarch.api.get("/directory").status_code == 200
        with CaptureQueriesContext(connection) as study_queries:
            assert world.webarch.api.get("/case-studies").status_code == 200
        return len(directory_queries), len(study_queries)

    def add(member, n):
        skills(world, member, {"drupal": 3, "python": 2})
        member.api.post(
            "/case-studies",
            {"title": f"Study {n}", "client": "C", "summary": "S", "skills": ["drupal"]},
        )

    add(world.webarch, 1)
    before = counts()
    add(world.outlandish, 2)
    add(world.agile, 3)
    add(world.webarch, 4)
    assert counts() == before
