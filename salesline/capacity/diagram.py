"""The organisation model drawn as SVG (seed 004: "functions, personnel (one circle per
person) and work queues"). Pure: no Django.

Interface pinned for the API and the pages; the drawing itself is being built (issue 14)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def org_model_svg(
    roles: Mapping[str, int],
    *,
    title: str,
    activities: Sequence[tuple[str, str]] = (),
) -> str:
    """roles: role key (resourcing.ROLES) -> headcount; activities: (name, role key) from the
    activity map. Returns a standalone SVG document (with <title> and <desc>)."""
    raise NotImplementedError("the organisation model's drawing is being built")
