"""The `network` section of the process definition: a network's rules and triage scripts
(rules.py holds what it builds). Pure: no Django."""

from __future__ import annotations


def register() -> None:
    """Register the section with the process definition loader (filled in by the triage work)."""
