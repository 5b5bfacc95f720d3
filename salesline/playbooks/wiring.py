"""What the playbooks app adds to the rest: its sections of the process definition, its
materialiser and its event handlers. Called once from PlaybooksConfig.ready()."""

from __future__ import annotations


def register() -> None:
    from . import agreements_wiring

    agreements_wiring.register()
