"""Writes of documents: generating one from a template for a record, and replacing the
organisation's template files.

`document_generate` runs in one transaction: it locks the record the document is made for (so
two generations at once take versions one after the other), takes the quote's or invoice's
number under the sequence's row lock (a rollback gives the number back), renders the template
in its sandbox, stores the file through Django's storage API and writes the row, the audit
event and a `document_generated` event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from salesline.accounts.services import require_admin
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, Problem, ProblemList, ValidationFailed
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead
from salesline.records.services import locked_row

from . import document_rendering as rendering
from .document_catalogue import (
    AGREEMENT,
    CATALOGUE,
    CONTENT_TYPES,
    FORMATS,
    OPPORTUNITY,
    QUOTE_VALID_DAYS,
    SOURCE_FORMAT,
    DocumentTemplate,
)
from .document_selectors import template_source
from .merge import MERGE_FIELDS, merge_context
from .models import Agreement, Document, DocumentTemplateFile, Invoice
from .numbering import next_number

DATE_SUFFIXES = ("date", "_on", "_start", "_end", "valid_until")
OPPORTUNITY_RELATED = ("stage", "owner", "company", "primary_contact")


def render(source: bytes, format: str, context: Mapping[str, Any]) -> bytes:
    """A document of `format` from a template file and a merge context (TemplateProblem when
    the template cannot be rendered)."""
    if format == "pdf":
        try:
            html = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise rendering.TemplateProblem("The HTML template is not UTF-8 text.") from exc
        return rendering.html_to_pdf(rendering.render_html(html, context))
    return rendering.render_docx(source, context)


# ---------------------------------------------------------------- generating


def _check_arguments(
    template_key: Any, format: Any, extra_context: Mapping | None, problems: ProblemList
) -> DocumentTemplate | None:
    template = CATALOGUE.get(template_key) if isinstance(template_key, str) else None
    if template is None:
        problems.add(
            ("template",),
            f"Unknown document template '{template_key}' (known: {', '.join(CATALOGUE)}).",
        )
    if format not in FORMATS:
        problems.add(("format",), f"Unknown format '{format}' (known: {', '.join(FORMATS)}).")
    elif template is not None and format not in template.formats:
        problems.add(("format",), f"The {template.name} template has no {format} version.")
    for group, values in (extra_context or {}).items():
        if group not in MERGE_FIELDS or not MERGE_FIELDS[group] or not isinstance(values, Mapping):
            problems.add(("extra_context", group), f"'{group}' is not a merge-field group.")
            continue
        for name in values:
            if name not in MERGE_FIELDS[group]:
                problems.add(
                    ("extra_context", group, name), f"'{group}.{name}' is not a merge field."
                )
    return template


def _scoped_agreement(actor: Actor, agreement_id: int) -> Agreement:
    agreement = Agreement.objects.filter(organisation=actor.organisation, pk=agreement_id).first()
    if agreement is None:
        raise NotFound(f"No agreement with id {agreement_id}.")
    return agreement


def _scoped_invoice(actor: Actor, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.filter(organisation=actor.organisation, pk=invoice_id).first()
    if invoice is None:
        raise NotFound(f"No invoice with id {invoice_id}.")
    return invoice


def _records(
    actor: Actor,
    template: DocumentTemplate,
    opportunity_id: int | None,
    lead_id: int | None,
    agreement_id: int | None,
    invoice: Invoice | None,
) -> tuple[Opportunity | None, Lead | None, Agreement | None]:
    """The records the document is made for, the opportunity or lead locked (the version is
    counted under that lock). NotFound across organisations; ValidationFailed naming the
    argument that is missing or does not fit the template."""
    problems = ProblemList()
    name = template.name
    if opportunity_id is not None and lead_id is not None:
        problems.add(("lead_id",), "Give an opportunity_id or a lead_id, not both.")
        problems.raise_if_any("The document cannot be generated.")
    if invoice is not None:
        if agreement_id is not None and agreement_id != invoice.agreement_id:
            problems.add(("agreement_id",), f"Invoice {invoice.number} is not of this agreement.")
        agreement_id = invoice.agreement_id
    agreement = _scoped_agreement(actor, agreement_id) if agreement_id is not None else None
    if agreement is not None:
        if opportunity_id is not None and opportunity_id != agreement.opportunity_id:
            problems.add(
                ("agreement_id",),
                f"Agreement {agreement.pk} is not of opportunity {opportunity_id}.",
            )
        if lead_id is not None:
            problems.add(("lead_id",), "An agreement belongs to an opportunity, not a lead.")
        opportunity_id = agreement.opportunity_id
    problems.raise_if_any("The document cannot be generated.")
    opportunity = lead = None
    if opportunity_id is not None:
        opportunity = locked_row(
            Opportunity.objects.select_related(*OPPORTUNITY_RELATED),
            actor=actor,
            pk=opportunity_id,
            what="opportunity",
        )
    elif lead_id is not None:
        lead = locked_row(Lead, actor=actor, pk=lead_id, what="lead")
    if template.needs == AGREEMENT and agreement is None:
        if opportunity is not None:
            agreement = (
                Agreement.objects.filter(organisation=actor.organisation, opportunity=opportunity)
                .order_by("-created_at", "-pk")
                .first()
            )
            if agreement is None:
                problems.add(
                    ("agreement_id",),
                    f"The {name} template needs an agreement: opportunity {opportunity.pk} "
                    "has none yet.",
                )
        else:
            problems.add(
                ("agreement_id",),
                f"The {name} template needs an agreement: give agreement_id"
                + (" (a lead has no agreement)." if lead is not None else "."),
            )
    elif template.needs == OPPORTUNITY and opportunity is None:
        problems.add(
            ("opportunity_id",),
            f"The {name} template is made for an opportunity"
            + (", not a lead." if lead is not None else ": give opportunity_id."),
        )
    elif opportunity is None and lead is None:
        problems.add(
            ("opportunity_id",), f"The {name} template needs an opportunity_id or a lead_id."
        )
    problems.raise_if_any("The document cannot be generated.")
    return opportunity, lead, agreement


def _as_date(value: Any, default: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return default


def _as_amount(value: Any) -> Any:
    if isinstance(value, str | int | float) and value != "":
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return value
        return amount if amount.is_finite() else value
    return value


def _check_amount(amount: Any, loc: tuple[str, ...], problems: ProblemList) -> None:
    if amount not in (None, "") and not isinstance(amount, Decimal):
        problems.add(loc, "The amount must be a number.")


def _invoice_fields(
    template: DocumentTemplate,
    agreement: Agreement | None,
    invoice: Invoice | None,
    given: Mapping[str, Any],
    today: dt.date,
    problems: ProblemList,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"issue_date": today}
    if agreement is not None:
        fields.update(currency=agreement.currency, amount=agreement.value)
    if invoice is not None:
        fields.update(
            number=invoice.number,
            issue_date=invoice.issue_date,
            amount=invoice.amount,
            currency=invoice.currency,
        )
    if template.key == "invoice" and "number" in given:
        problems.add(
            ("extra_context", "invoice", "number"),
            "Invoice numbers are given when the invoice is generated; pass invoice_id to "
            "issue an existing invoice again.",
        )
    fields.update(_typed({k: v for k, v in given.items() if k != "number" or invoice is None}))
    fields["issue_date"] = _as_date(fields.get("issue_date"), today)
    fields["amount"] = _as_amount(fields.get("amount"))
    _check_amount(fields["amount"], ("extra_context", "invoice", "amount"), problems)
    if template.key == "receipt" and not fields.get("number"):
        problems.add(
            ("invoice_id",),
            "A receipt acknowledges an invoice: give invoice_id (or the invoice's number).",
        )
    return fields


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dates given as ISO text become dates (the templates format them)."""
    return {
        name: _as_date(value, value) if name.endswith(DATE_SUFFIXES) and value else value
        for name, value in values.items()
    }


def _file_name(
    template: DocumentTemplate,
    format: str,
    version: int,
    number: str,
    opportunity: Opportunity | None,
    lead: Lead | None,
) -> str:
    if number:
        return f"{template.key}-{number}.{format}"
    record_name = opportunity.name if opportunity is not None else lead.name if lead else ""
    slug = slugify(record_name)[:60].strip("-") or "record"
    return f"{template.key}-{slug}-v{version}.{format}"


def document_generate(
    *,
    actor: Actor,
    template_key: str,
    format: str = "pdf",
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    agreement_id: int | None = None,
    invoice_id: int | None = None,
    extra_context: Mapping[str, Mapping[str, Any]] | None = None,
) -> Document:
    """Generate template `template_key` as `format` ("pdf" from HTML, "docx") for a record.

    Give the opportunity, the lead or the agreement (an agreement brings its opportunity; an
    agreement template given only an opportunity uses the opportunity's latest agreement).
    `invoice_id` issues an existing invoice again with its number, or names the invoice a
    receipt acknowledges. `extra_context` adds merge fields by group, e.g.
    `{"invoice": {"amount": ..., "period_start": ..., "period_end": ...}}` — an invoice's and a
    quote's number is always taken here, from the organisation's sequence for the year.
    """
    problems = ProblemList()
    template = _check_arguments(template_key, format, extra_context, problems)
    problems.raise_if_any("The document cannot be generated.")
    assert template is not None  # noqa: S101 — _check_arguments reported it otherwise
    extra = {group: dict(values) for group, values in (extra_context or {}).items()}
    organisation = actor.organisation
    stored_name = ""
    try:
        with transaction.atomic():
            invoice = _scoped_invoice(actor, invoice_id) if invoice_id is not None else None
            opportunity, lead, agreement = _records(
                actor, template, opportunity_id, lead_id, agreement_id, invoice
            )
            today = timezone.localdate()
            invoice_fields = quote_fields = None
            number = ""
            if template.key in {"invoice", "receipt"}:
                invoice_fields = _invoice_fields(
                    template, agreement, invoice, extra.pop("invoice", {}), today, problems
                )
            problems.raise_if_any("The document cannot be generated.")
            if template.key == "invoice" and invoice_fields is not None:
                number = invoice_fields.get("number") or next_number(
                    organisation=organisation,
                    kind="invoice",
                    year=invoice_fields["issue_date"].year,
                )
                invoice_fields["number"] = number
            elif template.key == "receipt" and invoice_fields is not None:
                number = str(invoice_fields["number"])
            elif template.key == "quote" and opportunity is not None:
                given = extra.pop("quote", {})
                issue_date = _as_date(given.get("issue_date"), today)
                quote_fields = {
                    "issue_date": issue_date,
                    "valid_until": issue_date + dt.timedelta(days=QUOTE_VALID_DAYS),
                    "amount": opportunity.value,
                    "currency": opportunity.currency,
                    **_typed({k: v for k, v in given.items() if k != "number"}),
                }
                quote_fields["amount"] = _as_amount(quote_fields["amount"])
                _check_amount(
                    quote_fields["amount"], ("extra_context", "quote", "amount"), problems
                )
                problems.raise_if_any("The document cannot be generated.")
                quote_fields["number"] = number = next_number(
                    organisation=organisation, kind="quote", year=issue_date.year
                )
            context = merge_context(
                organisation=organisation,
                opportunity=opportunity,
                lead=lead,
                agreement=agreement,
                invoice=invoice_fields,
                quote=quote_fields,
                sender=actor.user,
            )
            for group, values in extra.items():
                context[group] = {**context[group], **_typed(values)}
            source, own = template_source(organisation, template.key, format)
            try:
                content = render(source, format, context)
            except rendering.TemplateProblem as exc:
                whose = "Your organisation's" if own else "The shipped"
                raise ValidationFailed(
                    "The document cannot be generated.",
                    [Problem(("template",), f"{whose} {template.key} template: {exc}")],
                ) from exc
            previous = Document.objects.filter(
                organisation=organisation,
                template=template.key,
                opportunity=opportunity,
                lead=lead,
                agreement=agreement,
            ).aggregate(last=Max("version"))["last"]
            version = (previous or 0) + 1
            document = Document(
                organisation=organisation,
                template=template.key,
                format=format,
                version=version,
                number=number,
                opportunity=opportunity,
                lead=lead,
                agreement=agreement,
                file_name=_file_name(template, format, version, number, opportunity, lead),
                content_type=CONTENT_TYPES[format],
                size=len(content),
                created_by_label=actor.label,
            )
            document.file.save(document.file_name, ContentFile(content), save=False)
            stored_name = str(document.file.name)
            document.save(force_insert=True)
            audit.record(
                actor=actor,
                action="create",
                obj=document,
                changes={
                    "template": [None, template.key],
                    "format": [None, format],
                    "version": [None, version],
                    "number": [None, number],
                    "file_name": [None, document.file_name],
                },
            )
            events.emit(
                actor=actor,
                kind="document_generated",
                obj=document,
                payload={
                    "document_id": document.pk,
                    "template": template.key,
                    "opportunity_id": document.opportunity_id,
                    "lead_id": document.lead_id,
                },
            )
    except BaseException:
        # The row is gone with the transaction; so must the file be.
        if stored_name:
            default_storage.delete(stored_name)
        raise
    return document


# ---------------------------------------------------------------- replacing template files

MAX_TEMPLATE_BYTES = 2 * 1024 * 1024
TEMPLATE_EXTENSIONS = {"pdf": (".html", ".htm"), "docx": (".docx",)}


def template_file_problems(
    template_key: Any, format: Any, file_name: str, content: bytes
) -> list[Problem]:
    """Everything wrong with a replacement template file, at once: the template and format it
    is for, its kind and size, merge fields it names that do not exist, and whether it renders
    with sample data."""
    problems = ProblemList()
    if template_key not in CATALOGUE:
        problems.add(
            ("template",),
            f"Unknown document template '{template_key}' (known: {', '.join(CATALOGUE)}).",
        )
    if format not in FORMATS:
        problems.add(("format",), f"Unknown format '{format}' (known: {', '.join(FORMATS)}).")
    if problems:
        return problems.problems
    extensions = TEMPLATE_EXTENSIONS[format]
    kind = "an HTML file (.html)" if format == "pdf" else "a Word document (.docx)"
    if not content:
        problems.add(("file",), "The file is empty.")
    elif len(content) > MAX_TEMPLATE_BYTES:
        problems.add(
            ("file",),
            f"The file is {len(content):,} bytes; a template may have at most "
            f"{MAX_TEMPLATE_BYTES:,}.",
        )
    elif not file_name.lower().endswith(extensions):
        problems.add(("file",), f"The {format.upper()} template must be {kind}.")
    if problems:
        return problems.problems
    try:
        if format == "pdf":
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise rendering.TemplateProblem(
                    "The file is not UTF-8 text: save it as UTF-8 and upload it again."
                ) from exc
            unknown = rendering.unknown_fields_html(text)
        else:
            unknown = rendering.unknown_fields_docx(content)
        for message in unknown:
            problems.add(("file",), message, type="unknown_merge_field")
        if not unknown:
            render(content, format, rendering.sample_context())
    except rendering.TemplateProblem as exc:
        problems.add(("file",), str(exc))
    except Exception as exc:  # noqa: BLE001 — a file WeasyPrint or docxtpl chokes on
        problems.add(("file",), f"The file cannot be rendered: {exc}")
    return problems.problems


def document_template_replace(
    *, actor: Actor, template_key: str, format: str, file_name: str, content: bytes
) -> DocumentTemplateFile:
    """Use the organisation's own file for a template from now on (admins only). A file that
    is refused changes nothing and stores nothing: every problem is named at once."""
    require_admin(actor, "replace document templates")
    problems = template_file_problems(template_key, format, file_name, content)
    if problems:
        raise ValidationFailed("The template file is refused.", problems)
    if format == "pdf" and content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]  # the templates are read as UTF-8 without a byte-order mark
    stored_name = ""
    try:
        with transaction.atomic():
            row = (
                DocumentTemplateFile.objects.select_for_update()
                .filter(organisation=actor.organisation, template=template_key, format=format)
                .first()
            )
            created = row is None
            old_name = "" if row is None else str(row.file.name)
            if row is None:
                row = DocumentTemplateFile(
                    organisation=actor.organisation, template=template_key, format=format
                )
            extension = SOURCE_FORMAT[format]
            row.file.save(f"{template_key}.{extension}", ContentFile(content), save=False)
            stored_name = str(row.file.name)
            row.uploaded_at = timezone.now()
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError as exc:
                raise Conflict(
                    "Someone replaced this template at the same moment: try again."
                ) from exc
            audit.record(
                actor=actor,
                action="create" if created else "update",
                obj=row,
                object_repr=f"{template_key}.{extension} (document template)",
                changes={"file": [old_name or None, file_name]},
            )
            if old_name:
                transaction.on_commit(lambda: default_storage.delete(old_name))
    except BaseException:
        if stored_name:
            default_storage.delete(stored_name)
        raise
    return row


def document_template_reset(*, actor: Actor, template_key: str, format: str) -> None:
    """Go back to the shipped file of a template (admins only); nothing to undo is fine."""
    require_admin(actor, "replace document templates")
    with transaction.atomic():
        row = (
            DocumentTemplateFile.objects.select_for_update()
            .filter(organisation=actor.organisation, template=template_key, format=format)
            .first()
        )
        if row is None:
            return
        old_name = str(row.file.name)
        audit.record(
            actor=actor,
            action="delete",
            obj=row,
            object_repr=f"{template_key}.{SOURCE_FORMAT[format]} (document template)",
            changes={"file": [old_name, None]},
        )
        row.delete()
        transaction.on_commit(lambda: default_storage.delete(old_name))
