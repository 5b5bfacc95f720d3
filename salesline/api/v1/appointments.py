"""Appointments on people's calendars: list, create, read, edit or move, cancel and restore."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.scheduling import appointment_selectors as selectors
from salesline.scheduling import appointment_services as services
from salesline.scheduling.models import Appointment

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

router = Router(tags=["appointments"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class LocationIn(Strict):
    address: str | None = None
    city: str | None = Field(None, description="A town, geocoded from the Place table.")
    lat: float | None = None
    lon: float | None = None


class AttendeeIn(Strict):
    name: str = ""
    email: str = ""


class AppointmentIn(Strict):
    kind: str | None = Field(
        None,
        description="business_development, account_management, call, launch, check_in or internal",
    )
    starts_at: dt.datetime | None = Field(None, description="ISO 8601 with an offset")
    ends_at: dt.datetime | None = Field(None, description="ISO 8601 with an offset")
    owner_id: Id | None = Field(None, description="Whose calendar (default: the caller's)")
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    objective: str | None = Field(None, description="Required for business development")
    location: LocationIn | None = Field(
        None, description="Default: the opportunity's company's address and coordinates"
    )
    outcome: str | None = None
    title: str | None = None
    notes: str | None = None
    attendees: list[AttendeeIn] | None = None
    notify: bool = Field(
        False,
        description="true: e-mail the attendees and the owner a confirmation with the "
        "invitation (ICS) attached; on an edit, only when the time or place changes",
    )


class LocationOut(BaseModel):
    address: str
    lat: float | None
    lon: float | None


class AttendeeOut(BaseModel):
    name: str
    email: str


class AppointmentOut(BaseModel):
    id: int
    kind: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    owner_id: int
    opportunity_id: int | None
    lead_id: int | None
    objective: str
    location: LocationOut
    attendees: list[AttendeeOut]
    outcome: str
    notes: str
    source: str
    uid: str
    sequence: int
    cancelled_at: dt.datetime | None
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AppointmentList(BaseModel):
    items: list[AppointmentOut]
    count: int
    limit: int
    offset: int


class AppointmentQuery(Schema):
    owner_id: str | None = None
    opportunity_id: str | None = None
    lead_id: str | None = None
    kind: str | None = None
    from_: str | None = Field(
        None, alias="from", description="A date or date-time: appointments ending after it"
    )
    to: str | None = Field(
        None, description="A date (inclusive) or date-time: appointments starting before it"
    )
    cancelled: str | None = Field(None, description="false (default), true or any")
    limit: str | None = None
    offset: str | None = None


def appointment_out(appointment: Appointment) -> dict:
    return {
        "id": appointment.pk,
        "kind": appointment.kind,
        "title": appointment.title,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "owner_id": appointment.owner_id,
        "opportunity_id": appointment.opportunity_id,
        "lead_id": appointment.lead_id,
        "objective": appointment.objective,
        "location": {
            "address": appointment.address,
            "lat": appointment.latitude,
            "lon": appointment.longitude,
        },
        "attendees": [
            {"name": a.get("name", ""), "email": a.get("email", "")}
            for a in appointment.attendees or []
        ],
        "outcome": appointment.outcome,
        "notes": appointment.notes,
        "source": appointment.source,
        "uid": appointment.uid,
        "sequence": appointment.sequence,
        "cancelled_at": appointment.cancelled_at,
        "created_by_id": appointment.created_by_id,
        "created_at": appointment.created_at,
        "updated_at": appointment.updated_at,
        "version": appointment.version,
    }


def _data(payload: AppointmentIn) -> dict:
    data = payload.model_dump(exclude_unset=True)
    data.pop("notify", None)
    return data


def register(api) -> None:
    @router.get(
        "", response=AppointmentList, operation_id="list_appointments", summary="List appointments"
    )
    def list_appointments(request: HttpRequest, query: Query[AppointmentQuery]):
        """Filters: `owner_id`, `opportunity_id`, `lead_id`, `kind`, `from`/`to` (a date or
        an ISO date-time with offset), `cancelled` (`false` by default, `true`, `any`);
        `limit`/`offset`. Ordered by start."""
        raw = query.dict()
        raw["from"] = raw.pop("from_", None)
        filters = selectors.parse_filters(raw)
        items, count = selectors.appointment_list(actor=actor_of(request), filters=filters)
        return {
            "items": [appointment_out(a) for a in items],
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @router.post(
        "",
        response={201: AppointmentOut},
        operation_id="create_appointment",
        summary="Put an appointment on a calendar",
    )
    def create_appointment(request: HttpRequest, payload: AppointmentIn):
        """On `owner_id`'s calendar (the caller's by default): the caller's own, one they
        coordinate, or any as an admin (else 403). A `business_development` appointment needs
        `opportunity_id` and `objective` (422 naming each); working hours, overlaps and the
        daily and weekly business-development capacity are checked in the owner's time zone
        (422 naming the rule in `type`: working_hours, overlap, capacity_per_day,
        capacity_per_week)."""
        appointment = services.appointment_create(
            actor=actor_of(request), data=_data(payload), notify=payload.notify
        )
        return with_etag(
            api.create_response(request, appointment_out(appointment), status=201), appointment
        )

    @router.get(
        "/{appointment_id}",
        response=AppointmentOut,
        operation_id="get_appointment",
        summary="Get an appointment",
    )
    def get_appointment(request: HttpRequest, appointment_id: int):
        appointment = selectors.appointment_get_for(
            actor=actor_of(request), appointment_id=appointment_id
        )
        return with_etag(
            api.create_response(request, appointment_out(appointment), status=200), appointment
        )

    @router.patch(
        "/{appointment_id}",
        response=AppointmentOut,
        operation_id="update_appointment",
        summary="Edit or move an appointment",
    )
    def update_appointment(request: HttpRequest, appointment_id: int, payload: AppointmentIn):
        """Only the fields sent change; a new time, kind or owner is checked against the
        calendar's rules again. `"location": null` puts it back at the opportunity's company.
        `If-Match` with the ETag refuses a stale edit (412)."""
        appointment = services.appointment_update(
            actor=actor_of(request),
            appointment_id=appointment_id,
            data=_data(payload),
            expected_version=expected_version(request, appointment_id),
            notify=payload.notify,
        )
        return with_etag(
            api.create_response(request, appointment_out(appointment), status=200), appointment
        )

    @router.delete(
        "/{appointment_id}",
        response=AppointmentOut,
        operation_id="cancel_appointment",
        summary="Cancel an appointment",
    )
    def cancel_appointment(request: HttpRequest, appointment_id: int, notify: bool = False):
        """Sets `cancelled_at` (the time is free again); `POST .../restore` undoes it.
        `?notify=true` tells the attendees and the owner (an ICS with METHOD:CANCEL)."""
        appointment = services.appointment_cancel(
            actor=actor_of(request),
            appointment_id=appointment_id,
            expected_version=expected_version(request, appointment_id),
            notify=notify,
        )
        return with_etag(
            api.create_response(request, appointment_out(appointment), status=200), appointment
        )

    @router.post(
        "/{appointment_id}/restore",
        response=AppointmentOut,
        operation_id="restore_appointment",
        summary="Undo a cancellation",
    )
    def restore_appointment(request: HttpRequest, appointment_id: int):
        """Back on the calendar if its time still fits the rules (else 422 naming the rule)."""
        appointment = services.appointment_restore(
            actor=actor_of(request), appointment_id=appointment_id
        )
        return with_etag(
            api.create_response(request, appointment_out(appointment), status=200), appointment
        )

    api.add_router("/appointments", router)
