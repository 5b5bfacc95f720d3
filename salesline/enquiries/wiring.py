"""What this app hooks into at start-up: its process-definition section, its periodic work
(mail intake, overdue enquiries, hand-over reminders, votes whose deadline passed) and jobs."""

from __future__ import annotations


def register() -> None:
    from . import definition

    definition.register()
