"""Creating networks and adding members directly (the bootstrap; later members join by vote)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from salesline.accounts.auth import user_by_email
from salesline.accounts.models import Organisation
from salesline.accounts.selectors import roles_of
from salesline.accounts.services import (
    organisation_get,
    system_actor,
    user_create,
)
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, Problem, ValidationFailed
from salesline.core.text import text_problem
from salesline.process.services import organisation_create

from .models import Network, NetworkMember

NETWORK_TEMPLATE = "network-enquiries"


def _free_slug(name: str) -> str:
    base = slugify(name)[:70] or "network"
    slug, n = base, 1
    while Network.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def network_create(
    *,
    name: str,
    coordinator_email: str,
    org_slug: str,
    label: str = "cli",
    books: Organisation | None = None,
) -> Network:
    """A network with its own books (an organisation on the `network-enquiries` template), the
    organisation `org_slug` as its first member and the coordinator's home (the coordinator is
    added there as a salesperson when not yet a member). `books`: an existing organisation on
    the network-enquiries template to keep the network's books in (the demo's)."""
    name = (name or "").strip()
    problems: list[Problem] = []
    if reason := text_problem(name, max_length=200):
        problems.append(Problem(loc=("name",), msg=f"Name {reason}."))
    try:
        home = organisation_get(slug=org_slug)
    except NotFound as exc:
        problems.append(Problem(loc=("org",), msg=str(exc)))
        home = None
    if problems or home is None:
        raise ValidationFailed("The network was not created.", problems)
    with transaction.atomic():
        coordinator = user_by_email((coordinator_email or "").strip().lower())
        if coordinator is None or not roles_of(coordinator, home):
            coordinator = user_create(
                actor=system_actor(home, label), email=coordinator_email, role="salesperson"
            )
        if books is None:
            books = organisation_create(name=name, template=NETWORK_TEMPLATE, label=label)
        network = Network.objects.create(
            name=name,
            slug=_free_slug(name),
            organisation=books,
            coordinator=coordinator,
            coordinator_home=home,
        )
        NetworkMember.objects.create(network=network, organisation=home, joined_by="founder")
        actor = system_actor(books, label)
        audit.record(
            actor=actor,
            action="create",
            obj=network,
            changes={
                "name": [None, name],
                "coordinator": [None, coordinator.email],
                "member": [None, home.slug],
            },
        )
    return network


def network_by_slug(slug: str) -> Network:
    """Unscoped: for the CLI, the worker and the public pages only."""
    network = Network.objects.select_related("organisation").filter(slug=str(slug)).first()
    if network is None:
        raise NotFound(f"No network '{slug}'.")
    return network


def member_add(
    *, actor: Actor, network: Network, organisation: Organisation, joined_by: str = "added"
) -> NetworkMember:
    """Make `organisation` a member (again, if it had left); audited in the network's books.
    The caller has authorised the change (the CLI's bootstrap, an approved application)."""
    with transaction.atomic():
        Network.objects.select_for_update().filter(pk=network.pk).first()
        member = NetworkMember.objects.filter(network=network, organisation=organisation).first()
        if member is not None and member.left_at is None:
            raise Conflict(f"{organisation.slug} is already a member of {network.slug}.")
        if member is None:
            try:
                with transaction.atomic():
                    member = NetworkMember.objects.create(
                        network=network, organisation=organisation, joined_by=joined_by
                    )
            except IntegrityError as exc:
                raise Conflict(
                    f"{organisation.slug} is already a member of {network.slug}."
                ) from exc
        else:
            member.left_at = None
            member.joined_by = joined_by
            member.save(update_fields=["left_at", "joined_by"])
        audit.record(
            actor=Actor(
                organisation=network.organisation,
                user=actor.user,
                known_roles=frozenset(),
                system_label=actor.label,
            ),
            action="member_add",
            obj=network,
            changes={"member": [None, organisation.slug], "joined_by": [None, joined_by]},
        )
    return member


def network_add_member(*, network_slug: str, org_slug: str, label: str = "cli") -> NetworkMember:
    """`salesline network add-member`: the bootstrap, before there are members to vote."""
    network = network_by_slug(network_slug)
    organisation = organisation_get(slug=org_slug)
    return member_add(
        actor=system_actor(network.organisation, label),
        network=network,
        organisation=organisation,
    )
