"""Reads of members and API tokens, scoped by actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .models import ApiToken, Coordination, Membership, Role

ROLE_LABELS = dict(Role.choices)


@dataclass(frozen=True)
class MemberRow:
    """A member of the organisation once, with all their roles (one membership row per role)."""

    user_id: int
    email: str
    full_name: str
    is_active: bool
    roles: tuple[str, ...]
    joined_at: datetime

    @property
    def label(self) -> str:
        """How pickers and filters name the member."""
        return self.full_name or self.email

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(role, role) for role in self.roles]

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


def _member_rows(memberships: QuerySet[Membership]) -> list[MemberRow]:
    rows = memberships.values_list(
        "user_id", "user__email", "user__full_name", "user__is_active", "role", "created_at"
    ).order_by("user__email", "role")
    grouped: dict[int, dict] = {}
    for user_id, email, full_name, is_active, role, created_at in rows:
        entry = grouped.setdefault(
            user_id,
            {
                "email": email,
                "full_name": full_name,
                "is_active": is_active,
                "roles": [],
                "joined_at": created_at,
            },
        )
        entry["roles"].append(role)
        entry["joined_at"] = min(entry["joined_at"], created_at)
    return [
        MemberRow(
            user_id=user_id,
            email=entry["email"],
            full_name=entry["full_name"],
            is_active=entry["is_active"],
            roles=tuple(entry["roles"]),
            joined_at=entry["joined_at"],
        )
        for user_id, entry in grouped.items()
    ]


def member_list(*, actor: Actor) -> list[MemberRow]:
    """Every member of the actor's organisation, by e-mail, each once with their roles."""
    return _member_rows(Membership.objects.filter(organisation=actor.organisation))


def member_get_for(*, actor: Actor, user_id: int) -> MemberRow:
    rows = _member_rows(Membership.objects.filter(organisation=actor.organisation, user_id=user_id))
    if not rows:
        raise NotFound(f"No member with id {user_id}.")
    return rows[0]


def token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own tokens for this organisation, newest first (revoked ones too, so the
    list shows when each stopped working)."""
    return ApiToken.objects.filter(organisation=actor.organisation, user=actor.user).order_by(
        "-created_at", "-id"
    )


def member_token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    """For an admin, the other members' active tokens in this organisation (to revoke a leaked
    one); nothing for anyone else."""
    if not actor.has_role(Role.ADMIN):
        return ApiToken.objects.none()
    return (
        ApiToken.objects.filter(organisation=actor.organisation, revoked_at=None)
        .exclude(user=actor.user)
        .select_related("user")
        .order_by("user__email", "-created_at", "-id")
    )


def token_get_for(*, actor: Actor, token_id: int) -> ApiToken:
    """One of the actor's tokens; an admin may also see any token of the organisation (the same
    rule as token_revoke). Anything else is NotFound."""
    token = (
        ApiToken.objects.filter(organisation=actor.organisation, pk=token_id)
        .select_related("user")
        .first()
    )
    if token is None or (
        token.user_id != getattr(actor.user, "pk", None) and not actor.has_role(Role.ADMIN)
    ):
        raise NotFound(f"No token with id {token_id}.")
    return token


def roles_of(user, organisation) -> frozenset[str]:
    """The roles a user holds in an organisation (none when not a member)."""
    return frozenset(
        Membership.objects.filter(user=user, organisation=organisation).values_list(
            "role", flat=True
        )
    )


def coordinated_by(*, organisation, coordinator_id: int) -> list[int]:
    """The ids of the salespeople whose calendars `coordinator_id` runs."""
    return list(
        Coordination.objects.filter(organisation=organisation, coordinator_id=coordinator_id)
        .order_by("salesperson_id")
        .values_list("salesperson_id", flat=True)
    )


def coordinator_of(*, organisation, salesperson_id: int) -> int | None:
    return (
        Coordination.objects.filter(organisation=organisation, salesperson_id=salesperson_id)
        .values_list("coordinator_id", flat=True)
        .first()
    )


def may_manage_calendar(actor: Actor, owner_id: int) -> bool:
    """Whether `actor` may create and move appointments on `owner_id`'s calendar: their own,
    one they coordinate, or any as an admin."""
    if actor.user is None:
        return True  # the CLI and the worker act for the organisation
    if actor.user.pk == owner_id or actor.has_role(Role.ADMIN):
        return True
    return Coordination.objects.filter(
        organisation=actor.organisation, coordinator_id=actor.user.pk, salesperson_id=owner_id
    ).exists()
