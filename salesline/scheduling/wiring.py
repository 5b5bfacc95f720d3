"""What the scheduling app adds to the rest: its event handlers and schedules. Called once from
SchedulingConfig.ready()."""

from __future__ import annotations


def register() -> None:
    """The figures other apps may read without importing this one (core.measures)."""
    from salesline.core import measures

    from .meeting_counts import (
        business_development_meetings,
        business_development_meetings_by_day,
    )

    measures.provide("business_development_meetings", business_development_meetings)
    measures.provide("business_development_meetings_by_day", business_development_meetings_by_day)
