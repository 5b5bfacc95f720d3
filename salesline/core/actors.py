"""The acting user and organisation every service and selector is scoped by."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesline.accounts.models import Organisation, User


@dataclass(frozen=True, eq=False)
class Actor:
    organisation: Organisation
    user: User | None = None
    # None: read the user's roles from their memberships when a permission check first asks
    # (a read-only request never needs them, so it never pays the query).
    known_roles: frozenset[str] | None = None
    # Who to name in the audit trail when there is no user (the CLI, the worker).
    system_label: str = "system"

    @property
    def label(self) -> str:
        return self.user.email if self.user is not None else self.system_label

    @cached_property
    def roles(self) -> frozenset[str]:
        if self.known_roles is not None:
            return self.known_roles
        if self.user is None:
            return frozenset()
        from salesline.accounts.models import Membership

        return frozenset(
            Membership.objects.filter(user=self.user, organisation=self.organisation).values_list(
                "role", flat=True
            )
        )

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
