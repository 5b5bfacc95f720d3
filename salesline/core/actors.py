"""The acting user and organisation every service and selector is scoped by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesline.accounts.models import Organisation, User


@dataclass(frozen=True)
class Actor:
    organisation: Organisation
    user: User | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    # Who to name in the audit trail when there is no user (the CLI, the worker).
    system_label: str = "system"

    @property
    def label(self) -> str:
        return self.user.email if self.user is not None else self.system_label

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
