"""What the scheduling app adds to the rest: its event handlers and schedules. Called once from
SchedulingConfig.ready()."""

from __future__ import annotations


def register() -> None:
    """Nothing yet: the app's handlers are registered here as they are built."""
