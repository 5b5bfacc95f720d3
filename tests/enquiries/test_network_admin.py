"""Running a network: changing the coordinator (CLI and API) and a member leaving (its admin
or the coordinator), audited in the network's books; a former member gets 404 on the network."""

from datetime import timedelta

import pytest
from django.utils import timezone

from salesline import cli
from salesline.accounts import services as accounts
from salesline.accounts.auth import user_by_email
from salesline.accounts.selectors import roles_of
from salesline.core.models import AuditEvent
from salesline.enquiries import access
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Network, NetworkMember, RotaPeriod


def _books_events(world, action):
    return AuditEvent.objects.filter(
        organisation=world.network.organisation, object_type="network", action=action
    )


def _admin(member):
    """An admin of the member's organisation, with an API client."""
    from tests.conftest import ApiClient

    email = f"admin@{member.org.slug}.test"
    user = accounts.user_create(email=email, actor=accounts.system_actor(member.org), role="admin")
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(member.org))
    return ApiClient(plain)


# ------------------------------------------------------------------- the coordinator


def test_the_cli_changes_the_coordinator(world, capsys):
    code = cli.main(
        [
            "network",
            "coordinator",
            "cotech",
            "--email",
            "new@webarch.test",
            "--org",
            world.webarch.org.slug,
        ]
    )
    assert code == 0
    assert "new@webarch.test" in capsys.readouterr().out
    network = Network.objects.get(pk=world.network.pk)
    assert network.coordinator.email == "new@webarch.test"
    assert network.coordinator_home == world.webarch.org
    assert roles_of(user_by_email("new@webarch.test"), world.webarch.org)
    (event,) = _books_events(world, "coordinator_change")
    assert event.changes["coordinator"] == ["coord@agile.test", "new@webarch.test"]
    assert event.changes["coordinator_home"] == [world.agile.org.slug, world.webarch.org.slug]
    # The old coordinator may no longer change the rota; the organisation must be a member.
    assert (
        world.coordinator.api.post(
            "/rota",
            {
                "org": world.webarch.org.slug,
                "person": "bob@webarch.test",
                "starts_on": "2027-01-01",
            },
        ).status_code
        == 403
    )
    assert (
        cli.main(
            [
                "network",
                "coordinator",
                "cotech",
                "--email",
                "x@out.test",
                "--org",
                world.outsider.org.slug,
            ]
        )
        != 0
    )


def test_the_coordinator_hands_over_the_role_by_the_api(world):
    path = "/networks/cotech/coordinator"
    body = {"email": "bob@webarch.test", "org": world.webarch.org.slug}
    assert world.webarch.api.request("put", path, body).status_code == 403
    assert world.outsider.api.request("put", path, body).status_code == 404
    unknown = world.coordinator.api.request(
        "put", path, {"email": "nobody@webarch.test", "org": body["org"]}
    )
    assert unknown.status_code == 422
    assert [p["loc"][-1] for p in unknown.json()["detail"]] == ["email"]
    outside = world.coordinator.api.request(
        "put", path, {"email": "dan@outsider.test", "org": world.outsider.org.slug}
    )
    assert outside.status_code == 422
    response = world.coordinator.api.request("put", path, body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "network": "cotech",
        "coordinator": "bob@webarch.test",
        "org": world.webarch.org.slug,
    }
    assert access.is_coordinator(Network.objects.get(pk=world.network.pk), world.webarch.actor)
    assert world.coordinator.api.request("put", path, body).status_code == 403  # not any more
    assert _books_events(world, "coordinator_change").count() == 1


# ------------------------------------------------------------------- leaving


def test_a_members_admin_takes_it_out_and_it_then_gets_404(world):
    enquiry = enquiry_receive(
        network=world.network,
        data={"name": "Zoe", "email": "zoe@client.test", "message": "Hello"},
        source="api",
    )
    path = f"/networks/cotech/members/{world.outlandish.org.slug}/leave"
    # A salesperson of the member may not; another member may not; an outsider gets 404.
    assert world.outlandish.api.post(path).status_code == 403
    assert world.webarch.api.post(path).status_code == 403
    assert world.outsider.api.post(path).status_code == 404
    admin = _admin(world.outlandish)
    assert world.outlandish.api.get("/networks/cotech").status_code == 200
    response = admin.post(path)
    assert response.status_code == 200, response.content
    assert response.json()["org"] == world.outlandish.org.slug
    row = NetworkMember.objects.get(network=world.network, organisation=world.outlandish.org)
    assert row.left_at is not None  # kept, marked
    (event,) = _books_events(world, "member_leave")
    assert event.changes["member"] == [world.outlandish.org.slug, None]
    # Isolation after leaving: 404 on the network's endpoints.
    former = world.outlandish.api
    for url in (
        "/networks/cotech",
        "/networks/cotech/applications",
        "/rota",
        "/rota/current",
        f"/enquiries/{enquiry.pk}",
        "/skills",
        "/case-studies",
    ):
        assert former.get(url).status_code == 404, url
    assert former.get("/enquiries").json()["count"] == 0  # the list of its networks' ones
    assert former.get("/networks").json() == []
    assert admin.post(path).status_code == 404  # gone: it cannot leave twice
    assert world.webarch.api.get("/networks/cotech").status_code == 200
    members = [m["slug"] for m in world.webarch.api.get("/networks/cotech").json()["members"]]
    assert world.outlandish.org.slug not in members


def test_the_coordinator_takes_a_member_out(world):
    response = world.coordinator.api.post(
        f"/networks/cotech/members/{world.webarch.org.slug}/leave"
    )
    assert response.status_code == 200
    assert not access.is_member(world.network, world.webarch.org)


def test_a_member_on_the_rota_now_or_later_cannot_leave(world):
    today = timezone.localdate()
    period = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today + timedelta(days=10),
        ends_on=today + timedelta(days=100),
    )
    path = f"/networks/cotech/members/{world.webarch.org.slug}/leave"
    refused = world.coordinator.api.post(path)
    assert refused.status_code == 409
    assert period.starts_on.isoformat() in str(refused.json())
    assert access.is_member(world.network, world.webarch.org)
    # A period in the past does not hold it back.
    period.starts_on, period.ends_on = today - timedelta(days=100), today - timedelta(days=1)
    period.save()
    assert world.coordinator.api.post(path).status_code == 200


def test_the_coordinators_home_cannot_leave_while_it_is_home(world):
    admin = _admin(world.agile)
    path = f"/networks/cotech/members/{world.agile.org.slug}/leave"
    refused = admin.post(path)
    assert refused.status_code == 409
    assert "coordinator's home" in str(refused.json())
    assert world.coordinator.api.post(path).status_code == 409
    world.coordinator.api.request(
        "put",
        "/networks/cotech/coordinator",
        {"email": "bob@webarch.test", "org": world.webarch.org.slug},
    )
    assert admin.post(path).status_code == 200
    assert not access.is_member(world.network, world.agile.org)


@pytest.mark.parametrize("org", ["no-such-org", "not-a-member"])
def test_leaving_for_an_unknown_or_outside_org_is_404(world, org):
    slug = world.outsider.org.slug if org == "not-a-member" else org
    assert world.coordinator.api.post(f"/networks/cotech/members/{slug}/leave").status_code == 404
