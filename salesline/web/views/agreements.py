"""The Agreement panel of an opportunity: draft and edit the agreement, share it, mark it ready
to sign, sign it (a confirmation page: signing moves the opportunity), and its invoices.

Every action is a form post answered by a redirect to the opportunity page, so it works with no
JavaScript; a refused change renders the agreement's own page with the problems."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from salesline.playbooks import agreement_selectors, agreement_services
from salesline.playbooks.models import Agreement
from salesline.records import selectors as record_selectors

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context


class AgreementForm(forms.Form):
    """The terms as typed: the service parses and checks them (one set of rules and messages
    for the page and the API)."""

    start_date = forms.CharField(
        label="Start date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.CharField(
        label="End date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    value = forms.CharField(
        label="Total value",
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    currency = forms.CharField(
        label="Currency",
        required=False,
        widget=forms.TextInput(
            attrs={"size": "4", "maxlength": "3", "autocapitalize": "characters"}
        ),
    )
    billing_frequency = forms.CharField(
        label="Billing",
        required=False,
        widget=forms.Select(choices=Agreement.Billing.choices),
    )
    renewal_notice_days = forms.CharField(
        label="Renewal notice (days before the end date)",
        required=False,
        widget=forms.NumberInput(attrs={"min": "0", "step": "1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ids of its own: the opportunity page holds other forms (documents, messages).
        kwargs.setdefault("auto_id", "agreement-%s")
        super().__init__(*args, **kwargs)

    def terms(self) -> dict[str, Any]:
        data = {name: (self.data.get(name) or "").strip() for name in self.fields}
        data["currency"] = data["currency"] or "EUR"
        return data


STATUS_LABELS = {
    Agreement.Status.DRAFT: "Draft",
    Agreement.Status.SHARED: "Shared",
    Agreement.Status.READY_TO_SIGN: "Ready to sign",
    Agreement.Status.SIGNED: "Signed",
    Agreement.Status.ENDED: "Ended",
}


def _initial(agreement: Agreement | None, opportunity) -> dict[str, Any]:
    if agreement is None:
        return {
            "currency": opportunity.currency or "EUR",
            "billing_frequency": Agreement.Billing.MONTHLY,
            "renewal_notice_days": 60,
            "value": opportunity.value if opportunity.value is not None else "",
        }
    return {
        "start_date": agreement.start_date.isoformat() if agreement.start_date else "",
        "end_date": agreement.end_date.isoformat() if agreement.end_date else "",
        "value": agreement.value if agreement.value is not None else "",
        "currency": agreement.currency,
        "billing_frequency": agreement.billing_frequency,
        "renewal_notice_days": agreement.renewal_notice_days,
    }


def document_url(document_id: int | None) -> str | None:
    """The download link of a generated document, where the documents pages provide one."""
    if document_id is None:
        return None
    for name in ("web:document-file", "web:document-download"):
        try:
            return reverse(name, args=[document_id])
        except NoReverseMatch:
            continue
    return None


def panel_context(actor, opportunity) -> dict[str, Any]:
    """What the Agreement panel on the opportunity page shows."""
    agreement = agreement_selectors.agreement_of_opportunity(
        actor=actor, opportunity_id=opportunity.pk
    )
    invoices = []
    moves_to = None
    if agreement is not None:
        invoices = [
            {"invoice": invoice, "url": document_url(invoice.document_id)}
            for invoice in agreement_selectors.invoice_list(
                actor=actor, agreement_id=agreement.pk
            ).order_by("issue_date", "period")
        ]
        if agreement.status not in (Agreement.Status.SIGNED, Agreement.Status.ENDED):
            moves_to = agreement_services.signing_moves_to(actor, opportunity)
    editable = agreement is None or agreement.status not in (
        Agreement.Status.SIGNED,
        Agreement.Status.ENDED,
    )
    return {
        "opportunity": opportunity,
        "agreement": agreement,
        "status_label": STATUS_LABELS.get(agreement.status, "") if agreement else "",
        "invoices": invoices,
        "moves_to": moves_to,
        "form": AgreementForm(initial=_initial(agreement, opportunity)) if editable else None,
    }


def _opportunity(actor, opportunity_id: int):
    return record_selectors.record_get_for(
        actor=actor, kind="opportunity", record_id=opportunity_id
    )


def _back(opportunity_id: int) -> HttpResponse:
    return redirect(
        f"{reverse('web:record-detail', args=['opportunities', opportunity_id])}#agreement"
    )


@require_POST
@member_page
def agreement_save(request: HttpRequest, actor, opportunity_id: int) -> HttpResponse:
    """Draft the opportunity's agreement, or save the terms of the one it has."""
    opportunity = _opportunity(actor, opportunity_id)
    agreement = agreement_selectors.agreement_of_opportunity(
        actor=actor, opportunity_id=opportunity.pk
    )
    form = AgreementForm(request.POST)
    form.is_valid()

    def refused(error) -> HttpResponse:
        general = bind_problems(form, error, field_of=lambda p: str(p.loc[0]) if p.loc else None)
        context = page_context(
            request, actor, opportunity=opportunity, agreement=agreement, form=form, general=general
        )
        return render(request, "web/agreements/form.html", context, status=error.status)

    on_refusal(request, refused)
    if agreement is None or agreement.status == Agreement.Status.ENDED:
        agreement_services.agreement_create(
            actor=actor, opportunity_id=opportunity.pk, data=form.terms()
        )
        messages.success(request, "Agreement drafted.")
    else:
        version = request.POST.get("version", "")
        agreement_services.agreement_update(
            actor=actor,
            agreement_id=agreement.pk,
            data=form.terms(),
            expected_version=int(version) if version.isdecimal() else None,
        )
        messages.success(request, "Agreement saved.")
    return _back(opportunity.pk)


@require_POST
@member_page
def agreement_status(request: HttpRequest, actor, agreement_id: int, action: str) -> HttpResponse:
    """Share the agreement, or mark it ready to sign."""
    agreement = agreement_selectors.agreement_get_for(actor=actor, agreement_id=agreement_id)

    def refused(error) -> HttpResponse:
        messages.error(request, str(error))
        return _back(agreement.opportunity_id)

    on_refusal(request, refused)
    if action == "share":
        agreement_services.agreement_share(actor=actor, agreement_id=agreement.pk)
        messages.success(request, "Agreement marked as shared.")
    else:
        agreement_services.agreement_mark_ready(actor=actor, agreement_id=agreement.pk)
        messages.success(request, "Agreement marked as ready to sign.")
    return _back(agreement.opportunity_id)


@require_http_methods(["GET", "POST"])
@member_page
def agreement_sign(request: HttpRequest, actor, agreement_id: int) -> HttpResponse:
    """GET: the confirmation (what signing will move where); POST: sign."""
    agreement = agreement_selectors.agreement_get_for(actor=actor, agreement_id=agreement_id)
    opportunity = _opportunity(actor, agreement.opportunity_id)
    signed_on = request.POST.get("signed_on", "") if request.method == "POST" else ""
    context = page_context(
        request,
        actor,
        agreement=agreement,
        opportunity=opportunity,
        moves_to=agreement_services.signing_moves_to(actor, opportunity),
        signed_on=signed_on or timezone.localdate().isoformat(),
        problems=[],
    )
    if request.method == "GET":
        return render(request, "web/agreements/sign.html", context)

    def refused(error) -> HttpResponse:
        context["problems"] = bind_problems(None, error)
        return render(request, "web/agreements/sign.html", context, status=error.status)

    on_refusal(request, refused)
    # The date as typed: the service parses it, and names the field when it is no date.
    agreement_services.agreement_sign(
        actor=actor,
        agreement_id=agreement.pk,
        signed_on=signed_on,  # type: ignore[arg-type]
    )
    moved = context["moves_to"]
    messages.success(
        request,
        f"Agreement signed; “{opportunity.name}” moved to {moved.name}."
        if moved
        else "Agreement signed.",
    )
    return _back(opportunity.pk)


urlpatterns = [
    path(
        "opportunities/<int:opportunity_id>/agreement/",
        agreement_save,
        name="agreement-save",
    ),
    path("agreements/<int:agreement_id>/sign/", agreement_sign, name="agreement-sign"),
    path(
        "agreements/<int:agreement_id>/share/",
        agreement_status,
        {"action": "share"},
        name="agreement-share",
    ),
    path(
        "agreements/<int:agreement_id>/ready/",
        agreement_status,
        {"action": "ready"},
        name="agreement-ready",
    ),
]
