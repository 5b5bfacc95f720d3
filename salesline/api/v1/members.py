"""Members as calendars see them: who is who (admins and coordinators), the caller, who
coordinates whom, and each person's working pattern."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router
from pydantic import BaseModel

from salesline.accounts import selectors as accounts_selectors
from salesline.accounts import services as accounts_services
from salesline.accounts.models import Role
from salesline.core.errors import PermissionDenied
from salesline.core.ids import MAX_ID
from salesline.scheduling import pattern_services

from .common import actor_of
from .schemas import Strict

members = Router(tags=["members"])
me = Router(tags=["members"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class MemberOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]


class MemberList(BaseModel):
    items: list[MemberOut]
    count: int


class CoordinatesIn(Strict):
    salesperson_ids: list[int]


class CoordinatesOut(BaseModel):
    coordinator_id: int
    salesperson_ids: list[int]


class WorkingPatternIn(Strict):
    time_zone: str | None = Field(None, description="IANA name, e.g. America/Chicago")
    day_starts: dt.time | None = Field(None, description="HH:MM local")
    day_ends: dt.time | None = Field(None, description="HH:MM local")
    weekdays: list[int] | None = Field(None, description="ISO weekdays, 1 Monday ... 7 Sunday")
    business_development_per_day: int | None = None
    business_development_per_week: int | None = None


class WorkingPatternOut(BaseModel):
    user_id: int
    time_zone: str
    day_starts: str
    day_ends: str
    weekdays: list[int]
    business_development_per_day: int
    business_development_per_week: int


def member_out(row) -> dict:
    return {"id": row.user_id, "email": row.email, "name": row.full_name, "roles": list(row.roles)}


@members.get("", response=MemberList, operation_id="list_members", summary="List members")
def list_members(request: HttpRequest):
    """Every member of the organisation with their roles (admins and sales coordinators)."""
    actor = actor_of(request)
    if not actor.has_role(Role.ADMIN, Role.SALES_COORDINATOR):
        raise PermissionDenied("Only admins and sales coordinators list the members.")
    rows = accounts_selectors.member_list(actor=actor)
    return {"items": [member_out(r) for r in rows], "count": len(rows)}


@me.get("", response=MemberList, operation_id="get_me", summary="The caller")
def get_me(request: HttpRequest):
    """The caller as a member, in the members list's envelope (one item)."""
    actor = actor_of(request)
    row = accounts_selectors.member_get_for(actor=actor, user_id=actor.user.pk)
    return {"items": [member_out(row)], "count": 1}


@members.put(
    "/{member_id}/coordinates",
    response=CoordinatesOut,
    operation_id="set_coordinates",
    summary="Set whom a sales coordinator coordinates (admin)",
)
def set_coordinates(request: HttpRequest, member_id: int, payload: CoordinatesIn):
    """Exactly these salespeople; one taken from another coordinator moves to this one."""
    ids = accounts_services.coordination_set(
        actor=actor_of(request), coordinator_id=member_id, salesperson_ids=payload.salesperson_ids
    )
    return {"coordinator_id": member_id, "salesperson_ids": ids}


@members.get(
    "/{member_id}/working-pattern",
    response=WorkingPatternOut,
    operation_id="get_working_pattern",
    summary="A member's working pattern",
)
def get_working_pattern(request: HttpRequest, member_id: int):
    pattern = pattern_services.working_pattern_get(actor=actor_of(request), user_id=member_id)
    return pattern_services.pattern_as_dict(pattern)


@members.put(
    "/{member_id}/working-pattern",
    response=WorkingPatternOut,
    operation_id="set_working_pattern",
    summary="Change a member's working pattern (the person or an admin)",
)
def set_working_pattern(request: HttpRequest, member_id: int, payload: WorkingPatternIn):
    """Only the fields sent change: time zone, working hours, weekdays, business-development
    capacity per day and per week."""
    pattern = pattern_services.working_pattern_set(
        actor=actor_of(request), user_id=member_id, data=payload.model_dump(exclude_unset=True)
    )
    return pattern_services.pattern_as_dict(pattern)
