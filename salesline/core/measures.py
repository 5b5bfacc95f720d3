"""Reading another engine app's figures without importing it: the read-side twin of the event
seam. An engine app that can measure something (scheduling: the business-development meetings
held; analytics: the observed stage flow) provides it under a name in its AppConfig.ready(); an
app that wants the figure (capacity's planner and simulator) asks by name and gets None when no
app provides it — "use the data when present, work from entered figures when not" — so the
engine apps stay independent of each other (DESIGN.md's layers).

A provider is called with keyword arguments only (always `actor`, whose organisation scopes the
read) and returns plain data (dicts, lists, numbers) described where it is provided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: name -> provider. Names in use: "business_development_meetings" (salesline.scheduling),
#: "stage_flow" (salesline.analytics), "visible_enquiry" (salesline.enquiries).
_PROVIDERS: dict[str, Callable[..., Any]] = {}


def provide(name: str, provider: Callable[..., Any]) -> None:
    """Make `provider(**kwargs)` the answer to `measure(name, ...)`; the last app wins."""
    _PROVIDERS[name] = provider


def provided(name: str) -> bool:
    return name in _PROVIDERS


def measure(name: str, **kwargs: Any) -> Any | None:
    """The provider's answer, or None when no installed app provides `name`."""
    provider = _PROVIDERS.get(name)
    return None if provider is None else provider(**kwargs)
