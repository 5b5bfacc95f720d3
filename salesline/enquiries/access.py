"""Who may see and do what in a network (docs/networks.md writes the same rules for people).

An actor is a user acting for one organisation. That organisation is a *member* of a network
while it has a NetworkMember row without `left_at`; a member sees the network's shared objects
(enquiries, referrals' status, the directory, bids it takes part in, applications and votes).
The *coordinator* is the network's `coordinator` user acting from a member organisation. The
*chair* is the member organisation on duty (the rota); its users and the coordinator work the
inbox. Anything else is NotFound, as in the foundation: a non-member cannot tell a network
exists.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from salesline.accounts.services import system_actor
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList

from .models import Network, NetworkMember, RotaPeriod


def member_networks(actor: Actor) -> QuerySet[Network]:
    """The networks the actor's organisation is a member of now."""
    return Network.objects.filter(
        members__organisation=actor.organisation, members__left_at__isnull=True
    )


def memberships_of_user(user) -> QuerySet[NetworkMember]:
    """The current network memberships of every organisation `user` belongs to: where to
    switch to when the organisation they work in is in no network."""
    return (
        NetworkMember.objects.filter(organisation__memberships__user=user, left_at__isnull=True)
        .select_related("network", "organisation")
        .distinct()
        .order_by("network__name", "organisation__name")
    )


def network_get_for(*, actor: Actor, slug: str) -> Network:
    network = member_networks(actor).filter(slug=str(slug)).first()
    if network is None:
        raise NotFound(f"No network '{slug}'.")
    return network


def network_for(
    *, actor: Actor, slug: str | None = None, prefer_coordinated: bool = False
) -> Network:
    """The network a request is about: the one named, else the actor's only one. A request
    from an organisation in several networks must name it (422) — unless
    `prefer_coordinated` (the coordinator's work, such as the rota) and the actor coordinates
    exactly one of them: that one. NotFound for a network the actor's organisation is not a
    member of."""
    if slug:
        return network_get_for(actor=actor, slug=slug)
    networks = list(member_networks(actor).distinct().order_by("slug")[:2])
    if not networks:
        raise NotFound("Your organisation is not a member of any network.")
    if len(networks) > 1 and prefer_coordinated and actor.user is not None:
        coordinated = list(
            member_networks(actor).filter(coordinator=actor.user).distinct().order_by("slug")[:2]
        )
        if len(coordinated) == 1:
            return coordinated[0]
    if len(networks) > 1:
        problems = ProblemList()
        problems.add(
            ("query", "network"),
            "Your organisation is a member of several networks: name one (network=slug).",
        )
        problems.raise_if_any("Which network?")
    return networks[0]


def is_member(network: Network, organisation) -> bool:
    return NetworkMember.objects.filter(
        network=network, organisation=organisation, left_at__isnull=True
    ).exists()


def members_of(network: Network) -> QuerySet[NetworkMember]:
    return network.members.filter(left_at__isnull=True).select_related("organisation")


def is_coordinator(network: Network, actor: Actor) -> bool:
    return (
        actor.user is not None
        and network.coordinator_id == actor.user.pk
        and is_member(network, actor.organisation)
    )


def chair_period_on(network: Network, day: date | None = None) -> RotaPeriod | None:
    day = day or timezone.localdate()
    return (
        network.rota.filter(starts_on__lte=day, ends_on__gte=day)
        .select_related("organisation", "person")
        .first()
    )


def is_chair(network: Network, actor: Actor, day: date | None = None) -> bool:
    period = chair_period_on(network, day)
    return period is not None and period.organisation_id == actor.organisation.pk


def require_chair_or_coordinator(network: Network, actor: Actor, doing: str) -> None:
    """The inbox's work (triage, replies, referrals) is the chair's or the coordinator's."""
    if is_coordinator(network, actor) or is_chair(network, actor):
        return
    raise PermissionDenied(f"Only the chair on duty or the network coordinator may {doing}.")


def require_coordinator(network: Network, actor: Actor, doing: str) -> None:
    if not is_coordinator(network, actor):
        raise PermissionDenied(f"Only the network coordinator may {doing}.")


def network_actor(network: Network, actor: Actor) -> Actor:
    """The same person acting in the network's own books (its leads, messages, audit trail):
    network-level writes are recorded there, never in the member's organisation."""
    return Actor(
        organisation=network.organisation,
        user=actor.user,
        known_roles=frozenset({"admin"}),
        system_label=actor.label,
    )


def books_actor(network: Network, actor: Actor | None, label: str) -> Actor:
    """Who writes in the network's books: the person (network_actor), or the system under
    `label` when no person acts (the public form, the worker)."""
    if actor is None:
        return system_actor(network.organisation, label)
    return network_actor(network, actor)
