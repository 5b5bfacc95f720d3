"""What the analytics app adds to the rest: its sections of the process definition, its event
handlers and its periodic work. Called once from AnalyticsConfig.ready()."""

from __future__ import annotations


def register() -> None:
    from . import quality_wiring

    quality_wiring.register()
