"""Creating networks and adding members directly (the bootstrap; later members join by vote);
changing the coordinator and a member leaving (docs/networks.md, "Running a network")."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
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
from salesline.core.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from salesline.core.text import text_problem
from salesline.process.services import organisation_create

from . import access
from .models import Network, NetworkMember, RotaPeriod

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


# ------------------------------------------------------------------- administration


def _network_books_actor(network: Network, actor: Actor) -> Actor:
    return Actor(
        organisation=network.organisation,
        user=actor.user,
        known_roles=frozenset({"admin"}),
        system_label=actor.label,
    )


def coordinator_set(
    *,
    actor: Actor,
    network: Network,
    email: str,
    org_slug: str,
    create_user: bool = False,
) -> Network:
    """Make the user `email`, acting from the member organisation `org_slug`, the network's
    coordinator (the caller has authorised it: the CLI, or the current coordinator through
    `network_coordinator_change`). The organisation must be a member now; the person must be
    one of its users — `create_user` (the CLI) adds them there as a salesperson first, as
    `network create` does. Audited in the network's books."""
    email = (email or "").strip().lower()
    problems: list[Problem] = []
    organisation = Organisation.objects.filter(slug=str(org_slug)).first()
    if (
        organisation is None
        or not NetworkMember.objects.filter(
            network=network, organisation=organisation, left_at__isnull=True
        ).exists()
    ):
        problems.append(
            Problem(loc=("org",), msg=f"'{str(org_slug)[:80]}' is not a member of {network.name}.")
        )
        organisation = None
    person = user_by_email(email) if email else None
    if not email:
        problems.append(Problem(loc=("email",), msg="The coordinator's e-mail is required."))
    elif (
        organisation is not None
        and not create_user
        and (person is None or not roles_of(person, organisation))
    ):
        problems.append(
            Problem(loc=("email",), msg=f"'{email[:120]}' is not a user of {organisation.name}.")
        )
    if problems or organisation is None:
        raise ValidationFailed("The coordinator was not changed.", problems)
    with transaction.atomic():
        locked = Network.objects.select_for_update().get(pk=network.pk)
        if person is None or not roles_of(person, organisation):
            person = user_create(
                actor=system_actor(organisation, actor.label), email=email, role="salesperson"
            )
        before_user = locked.coordinator.email if locked.coordinator else None
        before_home = locked.coordinator_home.slug if locked.coordinator_home else None
        locked.coordinator = person
        locked.coordinator_home = organisation
        locked.save(update_fields=["coordinator", "coordinator_home"])
        audit.record(
            actor=_network_books_actor(locked, actor),
            action="coordinator_change",
            obj=locked,
            changes={
                "coordinator": [before_user, person.email],
                "coordinator_home": [before_home, organisation.slug],
            },
        )
    return locked


def network_coordinator_change(
    *, actor: Actor, network_slug: str, email: str, org_slug: str
) -> Network:
    """The current coordinator hands the role to someone else (an existing user of a member
    organisation). Members who are not the coordinator: 403; anyone else: 404."""
    network = access.network_get_for(actor=actor, slug=network_slug)
    access.require_coordinator(network, actor, "change the coordinator")
    return coordinator_set(actor=actor, network=network, email=email, org_slug=org_slug)


def network_set_coordinator(
    *, network_slug: str, email: str, org_slug: str, label: str = "cli"
) -> Network:
    """`salesline network coordinator NETWORK --email EMAIL --org SLUG`."""
    network = network_by_slug(network_slug)
    return coordinator_set(
        actor=system_actor(network.organisation, label),
        network=network,
        email=email,
        org_slug=org_slug,
        create_user=True,
    )


def member_leave(
    *, actor: Actor, network_slug: str, org_slug: str, today: date | None = None
) -> NetworkMember:
    """A member organisation leaves the network (its admin, or the coordinator): `left_at` is
    set and the row kept. Refused (409) while the organisation is on the rota now or later
    (naming the period: change the rota first) and while it is the coordinator's home (change
    the coordinator first). From then on the former member gets 404 on the network."""
    today = today or timezone.localdate()
    network = access.network_get_for(actor=actor, slug=network_slug)
    member = (
        NetworkMember.objects.select_related("organisation")
        .filter(network=network, organisation__slug=str(org_slug), left_at__isnull=True)
        .first()
    )
    if member is None:
        raise NotFound(f"No member '{str(org_slug)[:80]}' of {network.name}.")
    own_admin = actor.organisation.pk == member.organisation_id and actor.has_role("admin")
    if not (own_admin or access.is_coordinator(network, actor)):
        raise PermissionDenied(
            "Only the member's admin or the network coordinator may take a member out."
        )
    with transaction.atomic():
        locked = Network.objects.select_for_update().get(pk=network.pk)
        member = NetworkMember.objects.select_related("organisation").get(pk=member.pk)
        if member.left_at is not None:
            raise Conflict(f"{member.organisation.name} has left {network.name} already.")
        if locked.coordinator_home_id == member.organisation_id:
            raise Conflict(
                f"{member.organisation.name} is the coordinator's home: change the coordinator "
                "before it leaves."
            )
        duty = (
            RotaPeriod.objects.filter(
                network=locked, organisation=member.organisation, ends_on__gte=today
            )
            .order_by("starts_on")
            .first()
        )
        if duty is not None:
            raise Conflict(
                f"{member.organisation.name} is on the rota from {duty.starts_on.isoformat()} "
                f"to {duty.ends_on.isoformat()}: change or remove that period first."
            )
        member.left_at = timezone.now()
        member.save(update_fields=["left_at"])
        audit.record(
            actor=_network_books_actor(locked, actor),
            action="member_leave",
            obj=locked,
            changes={"member": [member.organisation.slug, None], "by": [None, actor.label]},
        )
    return member
