"""Merge fields: the only data canned messages and document templates can reach.

`MERGE_FIELDS` is the documented catalogue (docs/playbooks.md lists it); `merge_context` builds
it as plain dictionaries of text, numbers and dates, so a template can name nothing else — no
model instance, no method, no related object beyond what is listed here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

#: group -> field -> what it holds (shown in the template editor and docs/playbooks.md).
MERGE_FIELDS: dict[str, dict[str, str]] = {
    "contact": {
        "name": "the contact's full name (an opportunity's primary contact; a lead's own name)",
        "first_name": "the first word of the contact's name",
        "email": "the contact's e-mail address",
        "phone": "the contact's phone number",
        "title": "the contact's job title",
    },
    "company": {
        "name": "the company's name (a lead's company name)",
        "website": "the company's website",
    },
    "opportunity": {
        "name": "the opportunity's name",
        "value": "its value",
        "currency": "its currency (three letters)",
        "stage": "the name of its stage",
        "expected_close_date": "its expected close date",
        "owner": "its owner's name",
    },
    "lead": {
        "name": "the lead's name",
        "email": "the lead's e-mail address",
        "company_name": "the lead's company name",
        "source": "where the lead came from",
    },
    "agreement": {
        "status": "the agreement's status",
        "start_date": "its start date",
        "end_date": "its end date",
        "value": "its total value",
        "currency": "its currency",
        "billing_frequency": "monthly, quarterly, annually or once",
        "renewal_notice_days": "days of notice before renewal",
        "signed_on": "the date it was signed",
    },
    "invoice": {
        "number": "the invoice number",
        "issue_date": "the date it is issued",
        "amount": "the amount billed",
        "currency": "its currency",
        "period_start": "the first day billed",
        "period_end": "the last day billed",
    },
    "quote": {
        "number": "the quote number",
        "issue_date": "the date it is issued",
        "valid_until": "the last day the offer stands",
        "amount": "the amount offered",
        "currency": "its currency",
    },
    "sender": {
        "name": "the name of the person sending (or the organisation's)",
        "email": "the sender's e-mail address",
    },
    "organisation": {
        "name": "your organisation's name",
    },
    "links": {
        "booking": "the meeting-booking link from the organisation's settings",
    },
    "today": {},  # the date the message or document is made
}


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str | int | Decimal | date):
        return value
    return str(value)


def _contact(person) -> dict[str, Any]:
    name = person.name if person is not None else ""
    return {
        "name": name,
        "first_name": name.split()[0] if name.strip() else "",
        "email": _text(getattr(person, "email", "")),
        "phone": _text(getattr(person, "phone", "")),
        "title": _text(getattr(person, "title", "")),
    }


def merge_context(
    *,
    organisation,
    opportunity=None,
    lead=None,
    agreement=None,
    invoice: dict[str, Any] | None = None,
    quote: dict[str, Any] | None = None,
    sender=None,
) -> dict[str, Any]:
    """Every merge field as plain values (blank where the record has none)."""
    empty = {group: dict.fromkeys(fields, "") for group, fields in MERGE_FIELDS.items() if fields}
    context: dict[str, Any] = {**empty, "today": timezone.localdate()}
    if opportunity is not None:
        context["opportunity"] = {
            "name": opportunity.name,
            "value": _text(opportunity.value),
            "currency": opportunity.currency,
            "stage": opportunity.stage.name if opportunity.stage_id else "",
            "expected_close_date": _text(opportunity.expected_close_date),
            "owner": (opportunity.owner.full_name or opportunity.owner.email)
            if opportunity.owner_id
            else "",
        }
        if opportunity.primary_contact_id:
            context["contact"] = _contact(opportunity.primary_contact)
        if opportunity.company_id:
            company = opportunity.company
            context["company"] = {"name": company.name, "website": company.website}
    if lead is not None:
        context["lead"] = {
            "name": lead.name,
            "email": lead.email,
            "company_name": lead.company_name,
            "source": lead.source,
        }
        if opportunity is None:
            context["contact"] = _contact(lead)
            context["company"] = {"name": lead.company_name, "website": ""}
    if agreement is not None:
        context["agreement"] = {
            name: _text(getattr(agreement, name)) for name in MERGE_FIELDS["agreement"]
        }
    if invoice is not None:
        context["invoice"] = {name: _text(invoice.get(name)) for name in MERGE_FIELDS["invoice"]}
    if quote is not None:
        context["quote"] = {name: _text(quote.get(name)) for name in MERGE_FIELDS["quote"]}
    context["sender"] = {
        "name": (sender.full_name or sender.email) if sender is not None else organisation.name,
        "email": sender.email if sender is not None else organisation.from_email,
    }
    context["organisation"] = {"name": organisation.name}
    context["links"] = {"booking": organisation.booking_url}
    return context
