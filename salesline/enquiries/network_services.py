"""Creating networks and adding members directly (the bootstrap; later members join by vote);
changing the coordinator and a member leaving (docs/networks.md, "Running a network")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
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

from . import access, states
from .models import (
    Application,
    ApplicationStatus,
    Bid,
    Enquiry,
    Network,
    NetworkMember,
    Referral,
    ReferralStatus,
    RotaPeriod,
    Vote,
)
from .referrals import referrals_withdraw_for_leaver

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


def _leaving_member(
    *, actor: Actor, network_slug: str, org_slug: str
) -> tuple[Network, NetworkMember]:
    """The network and the current membership `org_slug` would end, when the actor may end it:
    NotFound for a network the actor is not in or a member it does not have; PermissionDenied
    unless the actor is the member's own admin or the coordinator."""
    network = access.network_get_for(actor=actor, slug=network_slug)
    member = (
        NetworkMember.objects.select_related("organisation")
        .filter(network=network, organisation__slug=str(org_slug), left_at__isnull=True)
        .first()
    )
    if member is None:
        raise NotFound(f"No member '{str(org_slug)[:80]}' of {network.name}.")
    if not may_take_out(network, actor, member.organisation_id):
        raise PermissionDenied(
            "Only the member's admin or the network coordinator may take a member out."
        )
    return network, member


def may_take_out(network: Network, actor: Actor, organisation_id: int) -> bool:
    """Whether the actor may take the member organisation out: its own admin, or the
    coordinator (the pages show the action to them only)."""
    own_admin = actor.organisation.pk == organisation_id and actor.has_role("admin")
    return own_admin or access.is_coordinator(network, actor)


def members_to_take_out(network: Network, actor: Actor, slugs: list[str]) -> set[str]:
    """Which of the member organisations `slugs` the actor may take out (`may_take_out`, with
    one query for the coordinator's role whatever the number of members)."""
    if access.is_coordinator(network, actor):
        return set(slugs)
    own = actor.organisation
    return {own.slug} if own.slug in slugs and may_take_out(network, actor, own.pk) else set()


def _leave_refusals(network: Network, member: NetworkMember, today: date) -> list[str]:
    """Why the member cannot leave yet (empty: it can): the coordinator's home, a rota period
    now or later."""
    refusals = []
    name = member.organisation.name
    if network.coordinator_home_id == member.organisation_id:
        refusals.append(
            f"{name} is the coordinator's home: change the coordinator before it leaves."
        )
    duty = (
        RotaPeriod.objects.filter(
            network=network, organisation_id=member.organisation_id, ends_on__gte=today
        )
        .order_by("starts_on")
        .first()
    )
    if duty is not None:
        refusals.append(
            f"{name} is on the rota from {duty.starts_on.isoformat()} "
            f"to {duty.ends_on.isoformat()}: change or remove that period first."
        )
    return refusals


@dataclass(frozen=True)
class BidPart:
    bid: Bid
    is_lead: bool
    confirmed: bool


@dataclass(frozen=True)
class LeavePreview:
    """What a member's leaving would do, for the confirmation page (docs/networks.md, "What
    leaving does to open work"): `refusals` say why it cannot leave yet; the rest is its open
    work."""

    network: Network
    member: NetworkMember
    refusals: list[str]
    # Offered and unanswered: withdrawn, back to the chair to refer again.
    referrals: list[Referral]
    # Open votes: (application, its vote or "" when it has not voted); its vote is removed and
    # every open application is tallied again without it.
    votes: list[tuple[Application, str]]
    # Joint bids it is named in: unchanged (its part and confirmation stay).
    bids: list[BidPart]
    # Open enquiries that arrived while it chaired: the chair on duty works them.
    enquiries: list[Enquiry]
    # Its ended duty periods with the hand-over unwritten (the coordinator writes it), and
    # written hand-overs waiting for its acknowledgement as the next chair (nobody else can).
    handovers_to_write: list[RotaPeriod]
    handovers_to_acknowledge: list[RotaPeriod]


def member_leave_preview(
    *, actor: Actor, network_slug: str, org_slug: str, today: date | None = None
) -> LeavePreview:
    """What `member_leave` would do now and whether it would be refused; the same 404 and 403
    as `member_leave`. Reads only."""
    today = today or timezone.localdate()
    network, member = _leaving_member(actor=actor, network_slug=network_slug, org_slug=org_slug)
    organisation_id = member.organisation_id
    now = timezone.now()
    applications = list(
        Application.objects.filter(network=network, status=ApplicationStatus.VOTING)
        .filter(Q(voting_closes_at__isnull=True) | Q(voting_closes_at__gt=now))
        .order_by("voting_closes_at", "pk")
    )
    cast = dict(
        Vote.objects.filter(
            application__in=applications, organisation_id=organisation_id
        ).values_list("application_id", "vote")
    )
    bids = (
        Bid.objects.filter(network=network, members=organisation_id)
        .prefetch_related("confirmed_members")
        .order_by("-created_at", "-pk")
    )
    periods = list(
        RotaPeriod.objects.filter(network=network)
        .select_related("organisation")
        .order_by("starts_on")
    )
    starts_of_its_periods = {p.starts_on for p in periods if p.organisation_id == organisation_id}
    to_write = [
        p
        for p in periods
        if p.organisation_id == organisation_id
        and p.ends_on < today
        and p.handover_written_at is None
    ][-1:]  # only the latest ended period's hand-over is asked for
    to_acknowledge = [
        p
        for p in periods
        if p.handover_written_at is not None
        and p.acknowledged_at is None
        and p.ends_on + timedelta(days=1) in starts_of_its_periods
    ]
    return LeavePreview(
        network=network,
        member=member,
        refusals=_leave_refusals(network, member, today),
        referrals=list(
            Referral.objects.filter(
                network=network, organisation_id=organisation_id, status=ReferralStatus.OFFERED
            )
            .select_related("enquiry")
            .order_by("referred_at", "pk")
        ),
        votes=[(application, cast.get(application.pk, "")) for application in applications],
        bids=[
            BidPart(
                bid=bid,
                is_lead=bid.lead_member_id == organisation_id,
                confirmed=any(o.pk == organisation_id for o in bid.confirmed_members.all()),
            )
            for bid in bids
        ],
        enquiries=list(
            network.enquiries.filter(
                chair_org_id=organisation_id, status__in=states.OPEN_STATUSES
            ).order_by("received_at", "pk")
        ),
        handovers_to_write=to_write,
        handovers_to_acknowledge=to_acknowledge,
    )


def member_leave(
    *, actor: Actor, network_slug: str, org_slug: str, today: date | None = None
) -> NetworkMember:
    """A member organisation leaves the network (its admin, or the coordinator): `left_at` is
    set and the row kept. Refused (409) while it is the coordinator's home (change the
    coordinator first) and while it is on the rota now or later (naming the period: change the
    rota first). From then on the former member gets 404 on the network.

    Its open work is settled in the same transaction (docs/networks.md, "A member leaving"):
    the referrals still offered to it are withdrawn ("member left the network"), its votes on
    applications still open are removed and those applications tallied again without it
    (decided now when the outcome has become certain). Each is audited; the `member_leave`
    entry lists them."""
    from . import membership  # membership imports this module (member_add)

    today = today or timezone.localdate()
    network, member = _leaving_member(actor=actor, network_slug=network_slug, org_slug=org_slug)
    now = timezone.now()
    with transaction.atomic():
        membership.open_votes_lock(network=network, now=now)
        locked = Network.objects.select_for_update().get(pk=network.pk)
        member = NetworkMember.objects.select_related("organisation").get(pk=member.pk)
        if member.left_at is not None:
            raise Conflict(f"{member.organisation.name} has left {network.name} already.")
        if refusals := _leave_refusals(locked, member, today):
            raise Conflict(refusals[0])
        member.left_at = now
        member.save(update_fields=["left_at"])
        withdrawn = referrals_withdraw_for_leaver(
            actor=actor, network=locked, organisation=member.organisation
        )
        voided, decided = membership.votes_void_for_leaver(
            actor=actor, network=locked, organisation=member.organisation, now=now
        )
        changes: dict[str, list[Any]] = {
            "member": [member.organisation.slug, None],
            "by": [None, actor.label],
        }
        if withdrawn:
            changes["referrals_withdrawn"] = [None, [r.enquiry.reference for r in withdrawn]]
        if voided:
            changes["votes_void"] = [None, [a.pk for a in voided]]
        if decided:
            changes["applications_decided"] = [None, {str(a.pk): a.status for a in decided}]
        audit.record(
            actor=_network_books_actor(locked, actor),
            action="member_leave",
            obj=locked,
            changes=changes,
        )
    return member
