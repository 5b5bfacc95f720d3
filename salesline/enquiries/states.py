"""An enquiry's states, defined once and used everywhere (API, web inbox, coordinator, hand-over,
worker): which statuses are open, which still wait for a first response, what "overdue" means,
and the manual moves `enquiry_update` allows. docs/networks.md ("An enquiry's status")."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .models import Enquiry, EnquiryStatus

S = EnquiryStatus

#: Still needing the network's attention: listed in a hand-over, counted as open by the
#: coordinator, `open` in the API. A lead stays open until it is closed (referred, won, lost).
OPEN_STATUSES: tuple[str, ...] = (S.NEW, S.TRIAGED, S.REPLIED, S.LEAD)

#: Still waiting for the first response to the enquirer (only these can be overdue).
AWAITING_REPLY: tuple[str, ...] = (S.NEW, S.TRIAGED)

#: The moves a person may make by hand (PATCH); `lead` is reached only by triage.
MANUAL_MOVES: dict[str, tuple[str, ...]] = {
    S.NEW: (S.TRIAGED, S.REPLIED, S.CLOSED, S.DECLINED),
    S.TRIAGED: (S.REPLIED, S.CLOSED, S.DECLINED),
    S.REPLIED: (S.CLOSED,),
    S.LEAD: (S.CLOSED,),
    S.DECLINED: (S.CLOSED,),
    S.CLOSED: (S.NEW,),
}


def move_problem(before: str, after: str) -> str | None:
    """Why a manual move from `before` to `after` is refused (None: it is allowed)."""
    if before == after:
        return None
    if after == S.LEAD:
        return "A lead is made by triage (a feasible sales enquiry), not by changing the status."
    allowed = MANUAL_MOVES.get(before, ())
    if after in allowed:
        return None
    return f"An enquiry cannot move from {before} to {after}" + (
        f" (from {before}: {', '.join(allowed)})." if allowed else "."
    )


def is_overdue(enquiry: Enquiry, today: dt.date) -> bool:
    """Past its first-response deadline (`respond_by` before today) with no first response yet
    and still waiting for one."""
    return (
        enquiry.first_response_at is None
        and enquiry.status in AWAITING_REPLY
        and enquiry.respond_by < today
    )


def overdue_q(today: dt.date) -> Q:
    """`is_overdue` as a query filter."""
    return Q(status__in=AWAITING_REPLY, first_response_at__isnull=True, respond_by__lt=today)
