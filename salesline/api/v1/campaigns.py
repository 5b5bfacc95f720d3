"""Campaigns, time and expenses (costs), and the campaign report (/metrics/campaigns)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.analytics import campaign_selectors, cost_selectors, cost_services
from salesline.core.ids import MAX_ID
from salesline.records import campaign_selectors as selectors
from salesline.records import campaign_services as services
from salesline.records.models import Campaign

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

campaigns = Router(tags=["campaigns"])
costs = Router(tags=["costs"])
metrics = Router(tags=["metrics"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class CampaignIn(Strict):
    """`name` is required when creating; `currency` defaults to the organisation's."""

    name: str | None = None
    kind: str | None = Field(None, description=", ".join(Campaign.Kind.values))
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    cost: Decimal | None = None
    currency: str | None = Field(None, description="Three letters, e.g. EUR")
    description: str | None = None


class CampaignOut(BaseModel):
    id: int
    name: str
    kind: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    cost: Decimal
    currency: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    deleted_at: dt.datetime | None


class CampaignList(BaseModel):
    items: list[CampaignOut]
    count: int
    limit: int
    offset: int


class Paging(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)
    deleted: bool = Field(False, description="true: the campaigns in the trash")


def campaign_out(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "kind": campaign.kind,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "cost": campaign.cost,
        "currency": campaign.currency,
        "description": campaign.description,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "version": campaign.version,
        "deleted_at": campaign.deleted_at,
    }


class CostIn(Strict):
    """Exactly one of `lead_id`, `opportunity_id` and `enquiry_id` (a network enquiry your
    organisation may see: the cost is your organisation's). Time: `minutes` (and `hourly_rate`,
    else the organisation's); an expense: `amount`. `date` defaults to today, `person_id` to
    the caller, `currency` to the organisation's."""

    kind: str = Field(..., description="time or expense")
    minutes: int | None = Field(None, ge=1)
    hourly_rate: Decimal | None = None
    amount: Decimal | None = None
    currency: str | None = None
    description: str | None = None
    date: dt.date | None = None
    person_id: Id | None = None
    lead_id: Id | None = None
    opportunity_id: Id | None = None
    enquiry_id: Id | None = None


class CostOut(BaseModel):
    id: int
    kind: str
    minutes: int | None
    hourly_rate: Decimal | None
    amount: Decimal
    currency: str
    description: str
    date: dt.date
    person_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    enquiry_id: int | None
    enquiry_reference: str = Field(..., description="The enquiry's reference; blank otherwise")
    created_by_id: int | None
    created_at: dt.datetime


class CostTotalOut(BaseModel):
    currency: str
    amount: Decimal
    minutes: int


class CostList(BaseModel):
    items: list[CostOut]
    count: int
    limit: int
    offset: int
    totals: list[CostTotalOut] = Field(..., description="Per currency, over the whole filter")


class CostQuery(Schema):
    """Documented as text: each value is checked by one parser, a bad one is a 422 naming it."""

    lead_id: str | None = None
    opportunity_id: str | None = None
    enquiry_id: str | None = None
    campaign_id: str | None = None
    person_id: str | None = None
    kind: str | None = Field(None, description="time or expense")
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD, included")
    to: str | None = Field(None, description="YYYY-MM-DD, included")
    limit: str | None = None
    offset: str | None = None


class CostSettingsIn(Strict):
    hourly_rate: Decimal | None = Field(None, description="Blank: none (time gives its own)")
    currency: str | None = None


class CostSettingsOut(BaseModel):
    hourly_rate: Decimal | None
    currency: str
    version: int


class PeriodQuery(Schema):
    from_: str | None = Field(None, alias="from", description="YYYY-MM-DD, included")
    to: str | None = Field(None, description="YYYY-MM-DD, included")


class TotalRowOut(BaseModel):
    currency: str
    cost: Decimal
    leads: int
    opportunities: int
    won: int
    won_value: Decimal
    cost_per_lead: Decimal | None
    cost_per_opportunity: Decimal | None
    cost_per_won: Decimal | None
    return_: float | None = Field(..., alias="return", description="(won value − cost) ÷ cost")


class CampaignRowOut(TotalRowOut):
    campaign_id: int | None = Field(..., description="None: what no campaign is credited with")
    name: str
    kind: str
    starts_on: dt.date | None
    ends_on: dt.date | None


class CampaignReportOut(BaseModel):
    from_: dt.date | None = Field(..., alias="from")
    to: dt.date | None
    campaigns: list[CampaignRowOut]
    totals: list[TotalRowOut]


def cost_out(entry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        **cost_services.entry_values(entry),
        "created_by_id": entry.created_by_id,
        "created_at": entry.created_at,
    }


def _settings_out(settings) -> dict[str, Any]:
    return {
        "hourly_rate": settings.hourly_rate,
        "currency": settings.currency,
        "version": settings.version,
    }


def register(api) -> None:
    def respond(request, body, obj, status=200):
        return with_etag(api.create_response(request, body, status=status), obj)

    # ------------------------------------------------------------------ campaigns
    @campaigns.get(
        "", response=CampaignList, operation_id="list_campaigns", summary="List campaigns"
    )
    def list_campaigns(request: HttpRequest, query: Query[Paging]):
        """Newest start first, then by name; `deleted=true` lists the trash."""
        rows = selectors.campaign_list(actor=actor_of(request), deleted=query.deleted)
        page = list(rows[query.offset : query.offset + query.limit])
        return {
            "items": [campaign_out(c) for c in page],
            "count": rows.count(),
            "limit": query.limit,
            "offset": query.offset,
        }

    @campaigns.post(
        "", response={201: CampaignOut}, operation_id="create_campaign", summary="Add a campaign"
    )
    def create_campaign(request: HttpRequest, payload: CampaignIn):
        actor = actor_of(request)
        data = payload.model_dump(exclude_unset=True)
        data.setdefault("currency", cost_selectors.cost_settings_for(actor=actor).currency)
        campaign = services.campaign_create(actor=actor, data=data)
        return respond(request, campaign_out(campaign), campaign, 201)

    @campaigns.get(
        "/{campaign_id}",
        response=CampaignOut,
        operation_id="get_campaign",
        summary="Get a campaign",
    )
    def get_campaign(request: HttpRequest, campaign_id: Id):
        campaign = selectors.campaign_get_for(actor=actor_of(request), campaign_id=campaign_id)
        return respond(request, campaign_out(campaign), campaign)

    @campaigns.patch(
        "/{campaign_id}",
        response=CampaignOut,
        operation_id="update_campaign",
        summary="Edit a campaign (If-Match: its ETag)",
    )
    def update_campaign(request: HttpRequest, campaign_id: Id, payload: CampaignIn):
        campaign = services.campaign_update(
            actor=actor_of(request),
            campaign_id=campaign_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, campaign_id),
        )
        return respond(request, campaign_out(campaign), campaign)

    @campaigns.delete(
        "/{campaign_id}",
        response={204: None},
        operation_id="delete_campaign",
        summary="Delete a campaign (restorable for 30 days)",
    )
    def delete_campaign(request: HttpRequest, campaign_id: Id):
        services.campaign_delete(
            actor=actor_of(request),
            campaign_id=campaign_id,
            expected_version=expected_version(request, campaign_id),
        )
        return Status(204, None)

    @campaigns.post(
        "/{campaign_id}/restore",
        response=CampaignOut,
        operation_id="restore_campaign",
        summary="Restore a deleted campaign",
    )
    def restore_campaign(request: HttpRequest, campaign_id: Id):
        campaign = services.campaign_restore(actor=actor_of(request), campaign_id=campaign_id)
        return respond(request, campaign_out(campaign), campaign)

    # ------------------------------------------------------------------ costs
    @costs.get(
        "/settings",
        response=CostSettingsOut,
        operation_id="get_cost_settings",
        summary="The hourly rate for time and the default currency",
    )
    def get_cost_settings(request: HttpRequest):
        return _settings_out(cost_selectors.cost_settings_for(actor=actor_of(request)))

    @costs.patch(
        "/settings",
        response=CostSettingsOut,
        operation_id="update_cost_settings",
        summary="Set the hourly rate and the default currency (admins)",
    )
    def update_cost_settings(request: HttpRequest, payload: CostSettingsIn):
        settings = cost_services.cost_settings_update(
            actor=actor_of(request), data=payload.model_dump(exclude_unset=True)
        )
        return _settings_out(settings)

    @costs.get("", response=CostList, operation_id="list_costs", summary="List time and expenses")
    def list_costs(request: HttpRequest, query: Query[CostQuery]):
        """Filters: `lead_id`, `opportunity_id`, `enquiry_id`, `campaign_id` (its leads' and
        opportunities'), `person_id`, `kind`, `from`/`to` (dates, included); `limit`/`offset`.
        Newest first; `totals` per currency over the whole filter."""
        filters, limit, offset = cost_selectors.parse_cost_filters(request.GET)
        rows = cost_selectors.cost_entry_list(actor=actor_of(request), filters=filters)
        return {
            "items": [cost_out(e) for e in rows[offset : offset + limit]],
            "count": rows.count(),
            "limit": limit,
            "offset": offset,
            "totals": [vars(t) for t in cost_selectors.cost_totals(rows)],
        }

    @costs.post(
        "", response={201: CostOut}, operation_id="create_cost", summary="Log time or an expense"
    )
    def create_cost(request: HttpRequest, payload: CostIn):
        entry = cost_services.cost_entry_create(
            actor=actor_of(request), data=payload.model_dump(exclude_unset=True)
        )
        return api.create_response(request, cost_out(entry), status=201)

    @costs.get("/{cost_id}", response=CostOut, operation_id="get_cost", summary="Get a cost")
    def get_cost(request: HttpRequest, cost_id: Id):
        return cost_out(
            cost_selectors.cost_entry_get_for(actor=actor_of(request), cost_entry_id=cost_id)
        )

    @costs.delete(
        "/{cost_id}", response={204: None}, operation_id="delete_cost", summary="Delete a cost"
    )
    def delete_cost(request: HttpRequest, cost_id: Id):
        cost_services.cost_entry_delete(actor=actor_of(request), cost_entry_id=cost_id)
        return Status(204, None)

    # ------------------------------------------------------------------ the report
    @metrics.get(
        "/campaigns",
        response=CampaignReportOut,
        operation_id="campaign_report",
        summary="Cost, leads, opportunities, wins and return per campaign",
        by_alias=True,
    )
    def campaign_report(request: HttpRequest, query: Query[PeriodQuery]):
        """`from`/`to` (YYYY-MM-DD, included, each optional). Money per currency, never mixed;
        figures that cannot be computed are null. Definitions: docs/metrics.md."""
        period = cost_selectors.parse_period(request.GET)
        rows, totals = campaign_selectors.campaign_report_with_totals(
            actor=actor_of(request), date_from=period.date_from, date_to=period.date_to
        )
        return {"from": period.date_from, "to": period.date_to, "campaigns": rows, "totals": totals}

    api.add_router("/campaigns", campaigns)
    api.add_router("/costs", costs)
    api.add_router("/metrics", metrics)
