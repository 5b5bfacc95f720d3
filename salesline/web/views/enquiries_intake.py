"""The public enquiry form of a network (/n/<network>/enquire: no sign-in, works without
JavaScript, Django's CSRF protection, a honeypot, a rate limit per address and size limits),
and the coordinator's page of quarantined mail (release or discard)."""

from __future__ import annotations

import logging
import secrets

from django import forms
from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from salesline.core import ratelimit
from salesline.core.errors import ValidationFailed
from salesline.core.ids import is_id
from salesline.enquiries import intake, mail_intake
from salesline.enquiries.access import network_get_for
from salesline.enquiries.models import EnquirySource

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context
from .public_pages import public_network, rate_limited

logger = logging.getLogger(__name__)

#: Requests a visitor's address may make per window (seconds), per network: reading the form,
#: and sending it.
DEFAULT_RATE_LIMITS = {"read": (300, 600), "send": (5, 3600)}
#: A form body over this many bytes is refused before it is read (the message's own limit is
#: intake.LIMITS; this leaves room for URL-encoding of non-ASCII text).
MAX_FORM_BYTES = 256 * 1024


def _limits() -> dict[str, tuple[int, int]]:
    return getattr(django_settings, "SALESLINE_ENQUIRY_FORM_RATE_LIMITS", DEFAULT_RATE_LIMITS)


def _limited(request: HttpRequest, network_slug: str, scope: str) -> HttpResponse | None:
    limit, window = _limits()[scope]
    return rate_limited(
        request, f"enquiry-{scope}-{network_slug}", limit, window, "web/enquiries/rate_limited.html"
    )


class EnquiryForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=intake.LIMITS["name"])
    email = forms.CharField(
        label="Your e-mail",
        max_length=intake.LIMITS["email"],
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We reply here, and send you the reference.",
    )
    organisation_name = forms.CharField(
        label="Your organisation",
        max_length=intake.LIMITS["organisation_name"],
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    country = forms.CharField(
        label="Country",
        max_length=2,
        required=False,
        help_text="Two letters, e.g. GB.",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 3}),
    )
    message = forms.CharField(
        label="Your enquiry",
        max_length=intake.LIMITS["message"],
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    # A honeypot: hidden from people (and from assistive technology), filled in by bots.
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"


def _too_big(request: HttpRequest, network) -> HttpResponse:
    return render(
        request,
        "web/enquiries/too_big.html",
        {"network": network, "limit_kb": MAX_FORM_BYTES // 1024},
        status=413,
    )


def _pretend_reference(network) -> str:
    prefix = network.slug.upper().replace("-", "")[:12] or "ENQ"
    return f"{prefix}-{timezone.localdate().year}-{secrets.randbelow(90000) + 10000:05d}"


@require_http_methods(["GET", "POST"])
def enquire(request: HttpRequest, network_slug: str) -> HttpResponse:
    """GET: the form. POST: record the enquiry and answer the thank-you page with its
    reference (or the form again, each problem beside its field and the input kept)."""
    network = public_network(network_slug)
    sending = request.method == "POST"
    if limited := _limited(request, network.slug, "send" if sending else "read"):
        return limited
    template = "web/enquiries/public_form.html"
    if not sending:
        return render(request, template, {"network": network, "form": EnquiryForm()})
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        return _too_big(request, network)
    try:
        form = EnquiryForm(request.POST)
    except RequestDataTooBig:
        return _too_big(request, network)
    if request.POST.get("website"):
        logger.warning(
            "Enquiry form of %s: honeypot filled from %s; nothing recorded",
            network.slug,
            ratelimit.client_ip(request),
        )
        return render(
            request,
            "web/enquiries/thanks.html",
            {"network": network, "reference": _pretend_reference(network)},
        )
    if not form.is_valid():
        return render(request, template, {"network": network, "form": form}, status=400)
    data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
    try:
        enquiry = intake.enquiry_receive(
            network=network, data=data, source=EnquirySource.FORM, actor_label="public form"
        )
    except ValidationFailed as error:
        bind_problems(form, error)
        return render(request, template, {"network": network, "form": form}, status=422)
    return render(
        request,
        "web/enquiries/thanks.html",
        {"network": network, "reference": enquiry.reference, "respond_by": enquiry.respond_by},
    )


# ---------------------------------------------------------------- quarantined mail


class ReleaseForm(forms.Form):
    email = forms.CharField(
        label="Sender's e-mail", max_length=intake.LIMITS["email"], required=False
    )
    name = forms.CharField(label="Sender's name", max_length=intake.LIMITS["name"], required=False)


@member_page
@require_http_methods(["GET"])
def quarantine(request: HttpRequest, actor, network_slug: str) -> HttpResponse:
    network = network_get_for(actor=actor, slug=network_slug)
    rows = mail_intake.quarantine_list(actor=actor, network=network)
    return render(
        request,
        "web/enquiries/quarantine.html",
        page_context(
            request, actor, section="enquiries", network=network, rows=rows, form=ReleaseForm()
        ),
    )


def _inbound_id(inbound_id: int) -> int:
    if not is_id(inbound_id):
        raise Http404("No such mail.")
    return inbound_id


@member_page
@require_POST
def quarantine_release(request: HttpRequest, actor, network_slug: str, inbound_id: int):
    network = network_get_for(actor=actor, slug=network_slug)
    form = ReleaseForm(request.POST)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})

    def refused(error):
        messages.error(request, "; ".join(p.msg for p in error.problems) or str(error))
        return redirect("web:enquiry-quarantine", network_slug=network.slug)

    on_refusal(request, refused)
    enquiry = mail_intake.inbound_release(
        actor=actor,
        network=network,
        inbound_id=_inbound_id(inbound_id),
        email=data.get("email", ""),
        name=data.get("name", ""),
    )
    messages.success(request, f"Released as enquiry {enquiry.reference}.")
    return redirect("web:enquiry-quarantine", network_slug=network.slug)


@member_page
@require_POST
def quarantine_discard(request: HttpRequest, actor, network_slug: str, inbound_id: int):
    network = network_get_for(actor=actor, slug=network_slug)
    mail_intake.inbound_discard(actor=actor, network=network, inbound_id=_inbound_id(inbound_id))
    messages.success(request, "Discarded: the message is kept, marked discarded.")
    return redirect("web:enquiry-quarantine", network_slug=network.slug)


urlpatterns = [
    path("n/<slug:network_slug>/enquire", enquire, name="enquire"),
    path(
        "networks/<slug:network_slug>/quarantine/",
        quarantine,
        name="enquiry-quarantine",
    ),
    path(
        "networks/<slug:network_slug>/quarantine/<int:inbound_id>/release",
        quarantine_release,
        name="enquiry-quarantine-release",
    ),
    path(
        "networks/<slug:network_slug>/quarantine/<int:inbound_id>/discard",
        quarantine_discard,
        name="enquiry-quarantine-discard",
    ),
]
