"""Agreements (an opportunity's service agreement; signing it is the executed close) and their
invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from salesline.core.errors import ProblemList
from salesline.core.ids import MAX_ID
from salesline.playbooks import agreement_selectors, agreement_services
from salesline.playbooks.models import Agreement
from salesline.records.filters import MAX_LIMIT, MAX_OFFSET

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

agreements = Router(tags=["agreements"])
invoices = Router(tags=["invoices"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class AgreementOut(Schema):
    id: int
    opportunity_id: int
    status: str
    start_date: dt.date | None
    end_date: dt.date | None
    value: Decimal | None
    currency: str
    billing_frequency: str
    renewal_notice_days: int
    signed_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AgreementList(Schema):
    items: list[AgreementOut]
    count: int
    limit: int
    offset: int


class AgreementTerms(Strict):
    status: str | None = Field(
        None, description="draft, shared, ready_to_sign; signed by /sign; ended once signed"
    )
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    value: Decimal | None = Field(None, description="The total value, billed over the periods.")
    currency: str | None = Field(None, description="Three-letter ISO code (default EUR).")
    billing_frequency: str | None = Field(
        None, description="monthly (default), quarterly, annually or once"
    )
    renewal_notice_days: int | None = Field(
        None, description="Days before the end date that the renewal reminder comes (default 60)."
    )
    signed_on: dt.date | None = Field(
        None,
        description="Set by POST /agreements/{id}/sign only: null or the agreement's own date "
        "changes nothing; another date is a 422 on an unsigned agreement, a 409 on a signed one.",
    )


class AgreementIn(AgreementTerms):
    opportunity_id: Id


class AgreementPatch(AgreementTerms):
    opportunity_id: Id | None = Field(
        None, description="Its own opportunity's id only (a client may send back what it read)."
    )


class SignIn(Strict):
    signed_on: dt.date


class InvoiceOut(Schema):
    id: int
    agreement_id: int
    number: str
    issue_date: dt.date
    amount: Decimal
    currency: str
    document_id: int | None


class InvoiceList(Schema):
    items: list[InvoiceOut]
    count: int
    limit: int
    offset: int


class AgreementFilters(Schema):
    opportunity_id: Id | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


class InvoiceFilters(Schema):
    agreement_id: Id | None = None
    limit: int = 50
    offset: int = 0


def _agreement(agreement: Agreement) -> dict[str, Any]:
    return {
        "id": agreement.pk,
        "opportunity_id": agreement.opportunity_id,
        "status": agreement.status,
        "start_date": agreement.start_date,
        "end_date": agreement.end_date,
        "value": agreement.value,
        "currency": agreement.currency,
        "billing_frequency": agreement.billing_frequency,
        "renewal_notice_days": agreement.renewal_notice_days,
        "signed_on": agreement.signed_on,
        "created_at": agreement.created_at,
        "updated_at": agreement.updated_at,
        "version": agreement.version,
    }


def _page(limit: int, offset: int) -> None:
    problems = ProblemList()
    for name, number, lower, upper in (
        ("limit", limit, 1, MAX_LIMIT),
        ("offset", offset, 0, MAX_OFFSET),
    ):
        if not lower <= number <= upper:
            problems.add(
                ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
            )
    problems.raise_if_any("The list query is not valid.")


def register(api) -> None:
    """The routes, and the routers added to `api` (one line in __init__.py)."""
    _routes(api)
    api.add_router("/agreements", agreements)
    api.add_router("/invoices", invoices)


def _routes(api) -> None:
    def respond(request: HttpRequest, agreement: Agreement, status: int = 200):
        return with_etag(
            api.create_response(request, _agreement(agreement), status=status), agreement
        )

    @agreements.get(
        "", response=AgreementList, operation_id="list_agreements", summary="List agreements"
    )
    def list_agreements(request: HttpRequest, filters: Query[AgreementFilters]):
        _page(filters.limit, filters.offset)
        if filters.status is not None and filters.status not in Agreement.Status.values:
            problems = ProblemList()
            problems.add(
                ("query", "status"),
                f"'status' must be one of: {', '.join(Agreement.Status.values)}.",
            )
            problems.raise_if_any("The list query is not valid.")
        rows = agreement_selectors.agreement_list(
            actor=actor_of(request), opportunity_id=filters.opportunity_id, status=filters.status
        )
        page = rows[filters.offset : filters.offset + filters.limit]
        return {
            "items": [_agreement(a) for a in page],
            "count": rows.count(),
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @agreements.post(
        "",
        response={201: AgreementOut},
        operation_id="create_agreement",
        summary="Draft an opportunity's agreement",
    )
    def create_agreement(request: HttpRequest, payload: AgreementIn):
        data = payload.model_dump(exclude_unset=True)
        opportunity_id = data.pop("opportunity_id")
        agreement = agreement_services.agreement_create(
            actor=actor_of(request), opportunity_id=opportunity_id, data=data
        )
        return respond(request, agreement, 201)

    @agreements.get(
        "/{agreement_id}",
        response=AgreementOut,
        operation_id="get_agreement",
        summary="Get an agreement",
    )
    def get_agreement(request: HttpRequest, agreement_id: int):
        agreement = agreement_selectors.agreement_get_for(
            actor=actor_of(request), agreement_id=agreement_id
        )
        return respond(request, agreement)

    @agreements.patch(
        "/{agreement_id}",
        response=AgreementOut,
        operation_id="update_agreement",
        summary="Edit an agreement's terms or status",
    )
    def update_agreement(request: HttpRequest, agreement_id: int, payload: AgreementPatch):
        """A signed agreement's terms cannot change (409). Send `If-Match` with the ETag of
        your copy: a stale one answers 412."""
        agreement = agreement_services.agreement_update(
            actor=actor_of(request),
            agreement_id=agreement_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, agreement_id),
        )
        return respond(request, agreement)

    @agreements.post(
        "/{agreement_id}/sign",
        response=AgreementOut,
        operation_id="sign_agreement",
        summary="Sign: the executed close",
    )
    def sign_agreement(request: HttpRequest, agreement_id: int, payload: SignIn):
        """Sign the agreement and, in the same transaction, move its opportunity into the stage
        whose gate requires the signed agreement. A move refused for another reason signs
        nothing (422, listing what is missing); signing twice is a conflict (409)."""
        agreement = agreement_services.agreement_sign(
            actor=actor_of(request),
            agreement_id=agreement_id,
            signed_on=payload.signed_on,
            expected_version=expected_version(request, agreement_id),
        )
        return respond(request, agreement)

    @invoices.get("", response=InvoiceList, operation_id="list_invoices", summary="List invoices")
    def list_invoices(request: HttpRequest, filters: Query[InvoiceFilters]):
        _page(filters.limit, filters.offset)
        rows = agreement_selectors.invoice_list(
            actor=actor_of(request), agreement_id=filters.agreement_id
        )
        page = rows[filters.offset : filters.offset + filters.limit]
        return {
            "items": [invoice_row(invoice) for invoice in page],
            "count": rows.count(),
            "limit": filters.limit,
            "offset": filters.offset,
        }


def invoice_row(invoice) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "agreement_id": invoice.agreement_id,
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "amount": invoice.amount,
        "currency": invoice.currency,
        "document_id": invoice.document_id,
    }
