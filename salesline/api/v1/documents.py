"""Documents: generate one from a template for a record, list them, read one, download its
file."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import FileResponse, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.playbooks import document_selectors, document_services
from salesline.playbooks.models import Document

from .common import actor_of
from .schemas import Strict

router = Router(tags=["documents"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class DocumentIn(Strict):
    template: str
    format: str = "pdf"
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    agreement_id: Id | None = None
    invoice_id: Id | None = None


class DocumentOut(BaseModel):
    id: int
    template: str
    format: str
    version: int
    number: str | None
    file_name: str
    content_type: str
    size: int
    opportunity_id: int | None
    lead_id: int | None
    agreement_id: int | None
    created_at: dt.datetime


class DocumentList(BaseModel):
    items: list[DocumentOut]
    count: int


class DocumentFilters(Schema):
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    agreement_id: Id | None = None


def document_out(document: Document) -> dict:
    return {
        "id": document.pk,
        "template": document.template,
        "format": document.format,
        "version": document.version,
        "number": document.number or None,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size": document.size,
        "opportunity_id": document.opportunity_id,
        "lead_id": document.lead_id,
        "agreement_id": document.agreement_id,
        "created_at": document.created_at,
    }


@router.get("", response=DocumentList, operation_id="list_documents", summary="List documents")
def list_documents(request: HttpRequest, filters: Query[DocumentFilters]):
    """A record's documents (`opportunity_id`, `lead_id` or `agreement_id`), newest version of
    each template first."""
    items = [
        document_out(document)
        for document in document_selectors.document_list(actor=actor_of(request), **filters.dict())
    ]
    return {"items": items, "count": len(items)}


@router.post(
    "",
    response={201: DocumentOut},
    operation_id="generate_document",
    summary="Generate a document from a template",
)
def generate_document(request: HttpRequest, payload: DocumentIn):
    """`{"template": "<key>", "opportunity_id": N, "format": "pdf" | "docx"}` (or `lead_id`,
    `agreement_id`; `invoice_id` for a receipt or to issue an invoice again)."""
    document = document_services.document_generate(
        actor=actor_of(request),
        template_key=payload.template,
        format=payload.format,
        opportunity_id=payload.opportunity_id,
        lead_id=payload.lead_id,
        agreement_id=payload.agreement_id,
        invoice_id=payload.invoice_id,
    )
    return Status(201, document_out(document))


@router.get(
    "/{document_id}", response=DocumentOut, operation_id="get_document", summary="Get a document"
)
def get_document(request: HttpRequest, document_id: int):
    return document_out(
        document_selectors.document_get_for(actor=actor_of(request), document_id=document_id)
    )


@router.get(
    "/{document_id}/file",
    operation_id="get_document_file",
    summary="Download the document's file",
    response={200: None},
)
def get_document_file(request: HttpRequest, document_id: int):
    document = document_selectors.document_get_for(actor=actor_of(request), document_id=document_id)
    return FileResponse(
        document_selectors.document_open(document),
        as_attachment=True,
        filename=document.file_name,
        content_type=document.content_type,
    )
