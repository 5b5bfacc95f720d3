import pytest

from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.enquiries.access import is_coordinator, member_networks, network_get_for
from salesline.enquiries.network_services import network_add_member, network_create


def test_network_create_makes_books_a_first_member_and_the_coordinator(world):
    network = world.network
    assert network.slug == "cotech"
    assert network.organisation.template == "network-enquiries"
    assert [m.organisation for m in network.members.all().order_by("pk")] == [
        world.agile.org,
        world.webarch.org,
        world.outlandish.org,
    ]
    assert is_coordinator(network, world.coordinator.actor)
    assert not is_coordinator(network, world.webarch.actor)
    assert (
        AuditEvent.objects.filter(
            organisation=network.organisation, object_type="network", action="member_add"
        ).count()
        == 2
    )


def test_only_members_see_the_network(world):
    assert list(member_networks(world.webarch.actor)) == [world.network]
    assert network_get_for(actor=world.webarch.actor, slug="cotech") == world.network
    with pytest.raises(NotFound):
        network_get_for(actor=world.outsider.actor, slug="cotech")


def test_adding_a_member_twice_is_refused(world):
    with pytest.raises(Conflict):
        network_add_member(network_slug="cotech", org_slug=world.webarch.org.slug)


def test_network_create_names_an_unknown_organisation(db):
    with pytest.raises(ValidationFailed) as failed:
        network_create(name="X", coordinator_email="c@x.test", org_slug="nope")
    assert [p.loc for p in failed.value.problems] == [("org",)]


def test_two_networks_whose_slugs_share_a_reference_prefix_both_take_enquiries(world):
    from salesline.enquiries.intake import enquiry_receive

    first = network_create(
        name="Northern Tech Co-ops", coordinator_email="c@agile.test", org_slug=world.agile.org.slug
    )
    second = network_create(
        name="Northern Tech Collective",
        coordinator_email="c@agile.test",
        org_slug=world.agile.org.slug,
    )
    data = {"name": "Jo", "email": "jo@example.test", "message": "Hello"}
    one = enquiry_receive(network=first, data=data, source="api")
    two = enquiry_receive(network=second, data=data, source="api")
    assert one.reference == two.reference == f"NORTHERNTECH-{one.received_at.year}-00001"
    assert (one.network_id, two.network_id) == (first.pk, second.pk)
