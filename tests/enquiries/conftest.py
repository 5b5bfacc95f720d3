"""A network of three member co-operatives (each with a user and an API client), its
coordinator (at Agile), and an outsider organisation that is not a member."""

from dataclasses import dataclass

import pytest

from salesline.accounts import services as accounts
from salesline.enquiries.network_services import network_add_member, network_create
from salesline.process import services as process_services
from tests.conftest import ApiClient
from tests.enquiries.imap_fixtures import imap, imap_server  # noqa: F401


@dataclass
class Member:
    org: object
    user: object
    actor: object
    api: ApiClient


def _member(name: str, email: str, role: str = "salesperson") -> Member:
    org = process_services.organisation_create(name=name, template="partnerships")
    user = accounts.user_create(email=email, actor=accounts.system_actor(org), role=role)
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
    return Member(org=org, user=user, actor=accounts.actor_for(user, org), api=ApiClient(plain))


@dataclass
class NetworkWorld:
    network: object
    agile: Member  # the coordinator's home; `coordinator` acts from here
    coordinator: Member
    webarch: Member
    outlandish: Member
    outsider: Member  # not a member of the network

    @property
    def members(self) -> list[Member]:
        return [self.agile, self.webarch, self.outlandish]


@pytest.fixture
def world(db) -> NetworkWorld:
    agile = _member("Agile Collective", "ann@agile.test")
    network = network_create(
        name="CoTech", coordinator_email="coord@agile.test", org_slug=agile.org.slug
    )
    coordinator_user = network.coordinator
    _, plain = accounts.token_create(user=coordinator_user, actor=accounts.system_actor(agile.org))
    coordinator = Member(
        org=agile.org,
        user=coordinator_user,
        actor=accounts.actor_for(coordinator_user, agile.org),
        api=ApiClient(plain),
    )
    webarch = _member("Webarchitects", "bob@webarch.test")
    outlandish = _member("Outlandish", "cat@outlandish.test")
    for member in (webarch, outlandish):
        network_add_member(network_slug=network.slug, org_slug=member.org.slug)
    outsider = _member("Not A Member Ltd", "dan@outsider.test")
    return NetworkWorld(network, agile, coordinator, webarch, outlandish, outsider)


@pytest.fixture
def webarch_on_duty(world):
    """Webarchitects chair this quarter (from ten days ago), its user the person on duty."""
    from datetime import timedelta

    from django.utils import timezone

    from salesline.enquiries.models import RotaPeriod

    today = timezone.localdate()
    return RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=80),
    )
