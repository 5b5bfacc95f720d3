"""The acting user and organisation every service and selector is scoped by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# How an actor's roles are read when a permission check first asks for them. The accounts app,
# which owns memberships, sets it in its AppConfig.ready(): core knows no accounts model.
_role_loader: Callable[[Any, Any], frozenset[str]] | None = None


def set_role_loader(loader: Callable[[Any, Any], frozenset[str]]) -> None:
    """`loader(user, organisation)` -> the user's roles there."""
    global _role_loader
    _role_loader = loader


@dataclass(frozen=True, eq=False)
class Actor:
    # The accounts app's Organisation and User (typed loosely: core sits below accounts).
    organisation: Any
    user: Any | None = None
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
        if self.user is None or _role_loader is None:
            return frozenset()
        return _role_loader(self.user, self.organisation)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
