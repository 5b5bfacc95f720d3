"""The duty rota of a network (docs/triage-and-rota.md): its periods, who is on duty now and
next, the hand-over and its acknowledgement. `network` (a slug) may be left out when the
caller's organisation belongs to one network only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.enquiries import rota_services
from salesline.enquiries.access import network_for
from salesline.enquiries.models import RotaPeriod

from .common import actor_of
from .schemas import Strict

router = Router(tags=["network rota"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
NetworkSlug = Annotated[str, Field(max_length=80)]


class RotaQuery(Schema):
    network: NetworkSlug | None = Field(None, description="the network's slug")


class PeriodIn(Strict):
    network: NetworkSlug | None = None
    org: str = Field(..., max_length=100, description="a member organisation's slug")
    person: str = Field(..., max_length=254, description="the e-mail of a user of that org")
    starts_on: dt.date
    ends_on: dt.date | None = Field(None, description="null: starts_on + the rota period - 1 day")


class PeriodOut(BaseModel):
    id: int
    network: str
    org: str
    org_name: str
    person: str
    starts_on: dt.date
    ends_on: dt.date
    handover_notes: str
    handover_open_enquiries: list[Any]
    handover_written_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


class CurrentOut(BaseModel):
    network: str
    current: PeriodOut | None
    next: PeriodOut | None


class PeriodPatch(Strict):
    person: str | None = Field(None, max_length=254, description="the e-mail of a user of the org")
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class HandoverIn(Strict):
    notes: str = Field(..., max_length=20_000)


def period_out(period: RotaPeriod, network_slug: str) -> dict[str, Any]:
    return {
        "id": period.pk,
        "network": network_slug,
        "org": period.organisation.slug,
        "org_name": period.organisation.name,
        "person": period.person.email,
        "starts_on": period.starts_on,
        "ends_on": period.ends_on,
        "handover_notes": period.handover_notes,
        "handover_open_enquiries": list(period.handover_open_enquiries),
        "handover_written_at": period.handover_written_at,
        "acknowledged_at": period.acknowledged_at,
    }


def register(api) -> None:
    @router.get("", response=list[PeriodOut], operation_id="rota_list", summary="The rota")
    def rota_list(request: HttpRequest, filters: Query[RotaQuery]):
        network = network_for(
            actor=actor_of(request), slug=filters.network, prefer_coordinated=True
        )
        return [period_out(p, network.slug) for p in rota_services.rota_periods(network)]

    @router.post(
        "",
        response={201: PeriodOut},
        operation_id="rota_create",
        summary="Add a period to the rota (the coordinator)",
    )
    def rota_create(request: HttpRequest, payload: PeriodIn):
        """An overlap or a gap with the other periods is a 422 naming them."""
        period = rota_services.rota_period_create(
            actor=actor_of(request),
            network_slug=payload.network,
            org_slug=payload.org,
            person_email=payload.person,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
        )
        return Status(201, period_out(period, period.network.slug))

    @router.get(
        "/current", response=CurrentOut, operation_id="rota_current", summary="On duty and next"
    )
    def rota_current(request: HttpRequest, filters: Query[RotaQuery]):
        network = network_for(
            actor=actor_of(request), slug=filters.network, prefer_coordinated=True
        )
        now = rota_services.rota_now(network)
        return {
            "network": network.slug,
            "current": period_out(now.current, network.slug) if now.current else None,
            "next": period_out(now.next, network.slug) if now.next else None,
        }

    @router.patch(
        "/{period_id}",
        response=PeriodOut,
        operation_id="rota_update",
        summary="Change a period's person or dates (the coordinator)",
    )
    def rota_update(request: HttpRequest, period_id: Id, payload: PeriodPatch):
        """The dates follow the rules for adding one: no overlap, no gap (422 naming them)."""
        period = rota_services.rota_period_update(
            actor=actor_of(request),
            period_id=period_id,
            person_email=payload.person,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
        )
        return period_out(period, period.network.slug)

    @router.delete(
        "/{period_id}",
        response={204: None},
        operation_id="rota_delete",
        summary="Remove a period (the coordinator): one not started yet, or the last one",
    )
    def rota_delete(request: HttpRequest, period_id: Id):
        """A period between two others, or one that has started and is not the last, is a 409."""
        rota_services.rota_period_delete(actor=actor_of(request), period_id=period_id)
        return Status(204, None)

    @router.post(
        "/{period_id}/handover",
        response=PeriodOut,
        operation_id="rota_handover",
        summary="Write the hand-over (the outgoing chair or the coordinator)",
    )
    def handover(request: HttpRequest, period_id: Id, payload: HandoverIn):
        period = rota_services.rota_handover_write(
            actor=actor_of(request), period_id=period_id, notes=payload.notes
        )
        return period_out(period, period.network.slug)

    @router.post(
        "/{period_id}/acknowledge",
        response=PeriodOut,
        operation_id="rota_acknowledge",
        summary="Acknowledge the hand-over (the incoming chair)",
    )
    def acknowledge(request: HttpRequest, period_id: Id):
        period = rota_services.rota_acknowledge(actor=actor_of(request), period_id=period_id)
        return period_out(period, period.network.slug)

    api.add_router("/rota", router)
