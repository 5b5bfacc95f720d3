"""Reads of generated documents and template files, scoped to the actor's organisation."""

from __future__ import annotations

from functools import cache
from typing import IO

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from salesline.accounts.models import Organisation
from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead

from .document_catalogue import CATALOGUE, CONTENT_TYPES, SOURCE_FORMAT, shipped_path
from .models import Agreement, Document, DocumentTemplateFile


def _check_exists(actor: Actor, model, pk: int | None, what: str) -> None:
    if pk is None:
        return
    rows = model.objects.filter(organisation=actor.organisation, pk=pk)
    if hasattr(model, "deleted_at"):
        rows = rows.filter(deleted_at__isnull=True)
    if not rows.exists():
        raise NotFound(f"No {what} with id {pk}.")


def document_list(
    *,
    actor: Actor,
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    agreement_id: int | None = None,
) -> QuerySet[Document]:
    """The organisation's documents, newest version first within each template, filtered by
    record; a record of another organisation is NotFound."""
    _check_exists(actor, Opportunity, opportunity_id, "opportunity")
    _check_exists(actor, Lead, lead_id, "lead")
    _check_exists(actor, Agreement, agreement_id, "agreement")
    documents = Document.objects.filter(organisation=actor.organisation)
    if opportunity_id is not None:
        documents = documents.filter(opportunity_id=opportunity_id)
    if lead_id is not None:
        documents = documents.filter(lead_id=lead_id)
    if agreement_id is not None:
        documents = documents.filter(agreement_id=agreement_id)
    return documents.order_by("template", "-version", "-id")


def document_get_for(*, actor: Actor, document_id: int) -> Document:
    document = Document.objects.filter(organisation=actor.organisation, pk=document_id).first()
    if document is None:
        raise NotFound(f"No document with id {document_id}.")
    return document


def document_open(document: Document) -> IO[bytes]:
    """The stored file, open for reading (through the storage API: a local folder, shared or
    object storage alike). The caller closes it (a FileResponse does)."""
    return default_storage.open(str(document.file.name), "rb")


def template_files(*, actor: Actor) -> dict[tuple[str, str], DocumentTemplateFile]:
    """The organisation's own template files by (template, format)."""
    return {
        (row.template, row.format): row
        for row in DocumentTemplateFile.objects.filter(organisation=actor.organisation)
    }


@cache
def _shipped_source(key: str, source_format: str) -> bytes:
    return shipped_path(key, source_format).read_bytes()


def template_source(organisation: Organisation, key: str, format: str) -> tuple[bytes, bool]:
    """The template file `format` is rendered from (the organisation's own, or the shipped
    one), and whether it is the organisation's own."""
    own = DocumentTemplateFile.objects.filter(
        organisation=organisation, template=key, format=format
    ).first()
    if own is not None:
        with default_storage.open(str(own.file.name), "rb") as handle:
            return handle.read(), True
    return _shipped_source(key, SOURCE_FORMAT[format]), False


SOURCE_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "docx": CONTENT_TYPES["docx"]}


def template_download(*, actor: Actor, template_key: str, format: str) -> tuple[bytes, str, str]:
    """The file a template is rendered from now: content, file name and content type."""
    if template_key not in CATALOGUE or format not in SOURCE_FORMAT:
        raise NotFound(f"No document template {template_key} ({format}).")
    content, _ = template_source(actor.organisation, template_key, format)
    extension = SOURCE_FORMAT[format]
    return content, f"{template_key}.{extension}", SOURCE_CONTENT_TYPES[extension]
