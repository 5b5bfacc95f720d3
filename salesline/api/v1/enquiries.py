"""A network's enquiry inbox (docs/enquiries.md): list, record, read and change enquiries. Only
members of the enquiry's network reach it (anything else is 404); changing one is for the chair
on duty and the network coordinator (403 for other members)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from salesline.core.errors import ProblemList
from salesline.enquiries import enquiry_services, intake, selectors, states
from salesline.enquiries.access import network_for
from salesline.enquiries.models import Category, Enquiry, EnquirySource

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

router = Router(tags=["enquiries"])

CATEGORY_HELP = "joining, setting_up, jobs, research, speaking, promotion, sales or other"


class EnquiryIn(Strict):
    network: str | None = Field(
        None, description="the network's slug (optional when your organisation is in one network)"
    )
    name: str = ""
    email: str = ""
    organisation_name: str = ""
    country: str = Field("", description="ISO 3166 alpha-2 code")
    message: str = ""
    subject: str = ""
    category: str | None = Field(None, description=CATEGORY_HELP)
    acknowledge: bool = Field(True, description="send the enquirer the acknowledgement")


class EnquiryPatch(Strict):
    name: str | None = None
    email: str | None = None
    organisation_name: str | None = None
    country: str | None = None
    message: str | None = None
    category: str | None = Field(None, description=CATEGORY_HELP)
    status: str | None = Field(
        None,
        description="new, triaged, replied, declined or closed (a lead is made by triage); "
        "the moves allowed are in docs/networks.md",
    )
    chair_org: str | None = Field(None, description="re-route to this member (its slug)")


class AttachmentOut(BaseModel):
    id: int
    file_name: str
    content_type: str
    size: int


class EnquiryOut(BaseModel):
    id: int
    reference: str
    network: str
    name: str
    email: str
    organisation_name: str
    country: str
    message: str
    subject: str
    category: str
    status: str
    source: str
    chair_org: str | None
    chair_person: str | None
    received_at: dt.datetime
    respond_by: dt.date
    first_response_at: dt.datetime | None
    overdue: bool
    lead_id: int | None
    attachments: list[AttachmentOut]
    version: int


class EnquiryList(BaseModel):
    items: list[EnquiryOut]
    count: int
    limit: int
    offset: int


class EnquiryQuery(Schema):
    status: str | None = None
    category: str | None = None
    chair_org: str | None = Field(None, description="a member organisation's slug")
    network: str | None = Field(None, description="a network's slug")
    q: str | None = Field(None, description="searches name, e-mail, organisation and reference")
    limit: str | None = None
    offset: str | None = None


def enquiry_out(enquiry: Enquiry, today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
    return {
        "id": enquiry.pk,
        "reference": enquiry.reference,
        "network": enquiry.network.slug,
        "name": enquiry.name,
        "email": enquiry.email,
        "organisation_name": enquiry.organisation_name,
        "country": enquiry.country,
        "message": enquiry.message,
        "subject": enquiry.subject,
        "category": enquiry.category,
        "status": enquiry.status,
        "source": enquiry.source,
        "chair_org": enquiry.chair_org.slug if enquiry.chair_org else None,
        "chair_person": enquiry.chair_person.email if enquiry.chair_person else None,
        "received_at": enquiry.received_at,
        "respond_by": enquiry.respond_by,
        "first_response_at": enquiry.first_response_at,
        "overdue": states.is_overdue(enquiry, today),
        "lead_id": enquiry.lead_id,
        "attachments": [
            {
                "id": a.pk,
                "file_name": a.file_name,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in enquiry.attachments.all()
        ],
        "version": enquiry.version,
    }


def register(api) -> None:
    @router.get("", response=EnquiryList, operation_id="list_enquiries", summary="List enquiries")
    def list_enquiries(request: HttpRequest, query: Query[EnquiryQuery]):
        """The enquiries of the networks the caller's organisation is a member of, newest
        first. Filters: `status`, `category`, `chair_org` (slug), `network` (slug), `q`
        (name, e-mail, organisation, reference); `limit`/`offset`."""
        filters = selectors.parse_filters(query.dict())
        items, count = selectors.enquiry_list(actor=actor_of(request), filters=filters)
        today = timezone.localdate()
        return {
            "items": [enquiry_out(e, today) for e in items],
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @router.post(
        "",
        response={201: EnquiryOut},
        operation_id="create_enquiry",
        summary="Record an enquiry",
    )
    def create_enquiry(request: HttpRequest, payload: EnquiryIn):
        """Any member of the network may record one (a non-member: 404); `network` may be left
        out when the caller's organisation is in exactly one network; `category` is optional
        (one of the eight). It gets a reference,
        the chair on duty, its first-response deadline and (unless `acknowledge` is false) an
        acknowledgement to the enquirer. 422 names every bad field."""
        actor = actor_of(request)
        network = network_for(actor=actor, slug=payload.network)
        data = payload.model_dump(exclude={"network", "acknowledge", "category"})
        if payload.category is not None:
            problems = ProblemList()
            if payload.category not in Category.values:
                problems.add(
                    ("category",), f"Category must be one of: {', '.join(Category.values)}."
                )
            problems.raise_if_any("The enquiry was not recorded.")
            data["category"] = payload.category
        enquiry = intake.enquiry_receive(
            network=network,
            data=data,
            source=EnquirySource.API,
            actor_label=actor.label,
            acknowledge=payload.acknowledge,
        )
        enquiry = selectors.enquiry_get_for(actor=actor, enquiry_id=enquiry.pk)
        return with_etag(api.create_response(request, enquiry_out(enquiry), status=201), enquiry)

    @router.get(
        "/{enquiry_id}", response=EnquiryOut, operation_id="get_enquiry", summary="Get an enquiry"
    )
    def get_enquiry(request: HttpRequest, enquiry_id: str):
        enquiry = selectors.enquiry_get_for(actor=actor_of(request), enquiry_id=enquiry_id)
        return with_etag(api.create_response(request, enquiry_out(enquiry), status=200), enquiry)

    @router.patch(
        "/{enquiry_id}",
        response=EnquiryOut,
        operation_id="update_enquiry",
        summary="Change an enquiry",
    )
    def update_enquiry(request: HttpRequest, enquiry_id: str, payload: EnquiryPatch):
        """The chair on duty or the coordinator (another member: 403). Only the fields sent
        change; `status: replied` records the first response; `status: lead` is refused (a
        lead is made by triage) as is any move docs/networks.md does not list; `chair_org`
        re-routes the enquiry to that member. `If-Match` with the ETag
        refuses a stale edit (412)."""
        actor = actor_of(request)
        version = None
        if request.headers.get("If-Match") is not None:
            found = selectors.enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
            version = expected_version(request, found.pk)
        enquiry = enquiry_services.enquiry_update(
            actor=actor,
            enquiry_id=enquiry_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=version,
        )
        enquiry = selectors.enquiry_get_for(actor=actor, enquiry_id=enquiry.pk)
        return with_etag(api.create_response(request, enquiry_out(enquiry), status=200), enquiry)

    api.add_router("/enquiries", router)
