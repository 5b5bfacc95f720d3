"""A network's skills directory, referrals and joint bids (docs/network-directory.md).

- /networks/<slug>/directory/ — search by skill and text: members with their skills and
  capacity, case studies;
- /networks/<slug>/directory/<org>/ — a member's entry; its own users (and the coordinator)
  edit its skills, profile, documents and case studies there;
- /networks/<slug>/enquiries/<id>/referrals/ — the ranked candidates with their reasons,
  referring to the members ticked, and the referrals' status;
- /networks/<slug>/referrals/ — the referrals to us, with Accept and Decline;
- /networks/<slug>/bids/ and /networks/<slug>/bids/<id>/ — joint bids, the PQQ answered, what
  is missing, and the pack's downloads.

Members of the network only (anyone else: 404). Every change goes through the enquiries
app's services, as the API's do. Plain forms: every page works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.enquiries import bids as bid_services
from salesline.enquiries import directory, referrals
from salesline.enquiries.access import is_coordinator, network_get_for
from salesline.enquiries.models import MemberDocument, ReferralStatus
from salesline.enquiries.selectors import enquiry_get_for

from ..errors import problem_lines
from .common import member_page, page_context

TEMPLATES = "web/network_directory/"


def _attempt(call: Callable[[], Any]) -> tuple[Any, list[str], int]:
    """Run a service call; (result, problems, status) with the refusal's problems as words."""
    try:
        return call(), [], 200
    except (ValidationFailed, Conflict) as error:
        return None, problem_lines(error), error.status


# ---------------------------------------------------------------- the directory


@member_page
@require_GET
def directory_page(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    skill = request.GET.get("skill", "")[:80]
    q = request.GET.get("q", "")[:200].strip()
    entries = directory.directory_list(actor=actor, network=network, skill=skill, q=q)
    studies = list(directory.case_study_list(network=network, skill=skill, q=q)[:100])
    return render(
        request,
        TEMPLATES + "directory.html",
        page_context(
            request,
            actor,
            network=network,
            entries=entries,
            case_studies=studies,
            skills=list(directory.skill_list(network=network)),
            skill=skill,
            q=q,
            coordinator=is_coordinator(network, actor),
        ),
    )


def _int_or_none(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdecimal() and len(value) < 10 else None


@member_page
@require_http_methods(["GET", "POST"])
def member_page_view(request: HttpRequest, actor, slug: str, org_slug: str) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    organisation = directory.member_get(network=network, slug=org_slug)
    may_edit = actor.organisation.pk == organisation.pk or is_coordinator(network, actor)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        form = request.POST.get("form", "")
        files = request.FILES
        if form == "skills":
            levels = []
            for skill in directory.skill_list(network=network):
                level = _int_or_none(request.POST.get(f"level-{skill.key}", ""))
                if level:
                    levels.append({"skill": skill.key, "level": level})
            _, problems, status = _attempt(
                lambda: directory.member_skills_replace(
                    actor=actor, network=network, org_slug=org_slug, skills=levels
                )
            )
            done = "Skills saved."
        elif form == "profile":
            data = {
                name: request.POST.get(name, "")
                for name in (
                    "summary",
                    "website",
                    "day_rate",
                    "currency",
                    "rates",
                    "policies",
                    "accounts",
                    "annual_turnover",
                    "available_from",
                    "min_project_value",
                    "max_project_value",
                )
                if name in request.POST
            }
            if "staff_count" in request.POST:
                data["staff_count"] = _int_or_none(request.POST["staff_count"])
            _, problems, status = _attempt(
                lambda: directory.profile_update(
                    actor=actor, network=network, org_slug=org_slug, data=data
                )
            )
            done = "Profile saved."
        elif form == "case_study":
            upload = files.get("file")
            data = {
                "title": request.POST.get("title", ""),
                "client": request.POST.get("client", ""),
                "summary": request.POST.get("summary", ""),
                "skills": request.POST.getlist("skills"),
                "value": request.POST.get("value", "") or None,
                "currency": request.POST.get("currency", "") or "GBP",
                "year": _int_or_none(request.POST.get("year", "")),
            }

            def add_study():
                study = directory.case_study_create(
                    actor=actor, network=network, data=data, org_slug=org_slug
                )
                if upload is not None:
                    directory.case_study_file_add(
                        actor=actor,
                        case_study_id=study.pk,
                        file_name=upload.name or "file",
                        content=upload.read(),
                        content_type=upload.content_type or "",
                    )
                return study

            _, problems, status = _attempt(add_study)
            done = "Case study added."
        elif form == "document":
            upload = files.get("file")
            _, problems, status = _attempt(
                lambda: directory.document_add(
                    actor=actor,
                    network=network,
                    org_slug=org_slug,
                    kind=request.POST.get("kind", ""),
                    title=request.POST.get("title", ""),
                    file_name=upload.name if upload is not None else "",
                    content=upload.read() if upload is not None else b"",
                    content_type=(upload.content_type or "") if upload is not None else "",
                )
            )
            done = "Document added."
        else:
            problems, status, done = ["Unknown form."], 400, ""
        if not problems:
            messages.success(request, done)
            return redirect(reverse("web:network_member", args=[slug, org_slug]))
    entry = directory.directory_entry(actor=actor, network=network, org_slug=org_slug)
    levels = {row.skill.key: row.level for row in entry.skills}
    taxonomy = [
        {"skill": skill, "level": levels.get(skill.key, 0)}
        for skill in directory.skill_list(network=network)
    ]
    return render(
        request,
        TEMPLATES + "member.html",
        page_context(
            request,
            actor,
            network=network,
            entry=entry,
            profile=entry.profile,
            may_edit=may_edit,
            taxonomy=taxonomy,
            problems=problems,
            document_kinds=MemberDocument.Kind.choices,
            levels=range(1, 6),
        ),
        status=status,
    )


@member_page
@require_GET
def document_download(
    request: HttpRequest, actor, slug: str, org_slug: str, document_id: int
) -> HttpResponse:
    document = directory.document_get_for(actor=actor, document_id=document_id)
    if document.network.slug != slug or document.organisation.slug != org_slug:
        raise NotFound(f"No document #{document_id}.")
    with document.file.open("rb") as handle:
        content = handle.read()
    return directory.download_response(content, document.content_type, document.file_name)


# ---------------------------------------------------------------- referrals


@member_page
@require_http_methods(["GET", "POST"])
def referrals_page(request: HttpRequest, actor, slug: str, enquiry_id: int) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
    if enquiry.network_id != network.pk:
        raise NotFound(f"No enquiry #{enquiry_id}.")
    candidates = referrals.candidates_for(actor=actor, enquiry_id=enquiry.pk)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        chosen = request.POST.getlist("orgs")
        created, problems, status = _attempt(
            lambda: referrals.referrals_create(actor=actor, enquiry_id=enquiry.pk, org_slugs=chosen)
        )
        if not problems:
            messages.success(request, f"Referred to {', '.join(chosen)}.")
            return redirect(reverse("web:network_referrals", args=[slug, enquiry.pk]))
    existing = referrals.referrals_out(
        referrals.referral_list(actor=actor, network=network).filter(enquiry=enquiry), actor
    )
    referred = {row["org"] for row in existing}
    return render(
        request,
        TEMPLATES + "referrals.html",
        page_context(
            request,
            actor,
            network=network,
            enquiry=enquiry,
            candidates=candidates,
            referrals=existing,
            referred=referred,
            problems=problems,
        ),
        status=status,
    )


@member_page
@require_GET
def referrals_to_us_page(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    rows = referrals.referral_list(actor=actor, network=network).filter(
        organisation=actor.organisation
    )
    return render(
        request,
        TEMPLATES + "referrals_to_us.html",
        page_context(
            request,
            actor,
            network=network,
            referrals=[(r, referrals.referral_out(r, actor)) for r in rows[:200]],
            offered=ReferralStatus.OFFERED,
        ),
    )


@member_page
@require_POST
def referral_decide(
    request: HttpRequest, actor, slug: str, referral_id: int, decision: str
) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    referral = referrals.referral_get_for(actor=actor, referral_id=referral_id)
    if referral.network_id != network.pk:
        raise NotFound(f"No referral #{referral_id}.")
    if decision == "accept":
        result, problems, _ = _attempt(
            lambda: referrals.referral_accept(actor=actor, referral_id=referral_id)
        )
        if result is not None:
            messages.success(
                request,
                f"Accepted: opportunity #{result[1].pk} is in your pipeline.",
            )
    else:
        _, problems, _ = _attempt(
            lambda: referrals.referral_decline(
                actor=actor, referral_id=referral_id, reason=request.POST.get("reason", "")
            )
        )
        if not problems:
            messages.success(request, "Declined.")
    for problem in problems:
        messages.error(request, problem)
    return redirect(reverse("web:network_referrals_to_us", args=[slug]))


# ---------------------------------------------------------------- bids


@member_page
@require_http_methods(["GET", "POST"])
def bids_page(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = network_get_for(actor=actor, slug=slug)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        data = {
            "network": network.slug,
            "title": request.POST.get("title", ""),
            "tender": request.POST.get("tender", ""),
            "members": request.POST.getlist("members"),
            "lead_member": request.POST.get("lead_member", ""),
            "deadline": request.POST.get("deadline") or None,
            "questions": [
                line.strip()
                for line in request.POST.get("questions", "").splitlines()
                if line.strip()
            ],
        }
        bid, problems, status = _attempt(lambda: bid_services.bid_create(actor=actor, data=data))
        if bid is not None:
            messages.success(request, "Bid created.")
            return redirect(reverse("web:network_bid", args=[slug, bid.pk]))
    bids = [b for b in bid_services.bid_list(actor=actor) if b.network_id == network.pk]
    members = directory.directory_list(actor=actor, network=network)
    return render(
        request,
        TEMPLATES + "bids.html",
        page_context(
            request,
            actor,
            network=network,
            bids=bids,
            members=[e.organisation for e in members],
            problems=problems,
        ),
        status=status,
    )


def _bid_of(actor, slug: str, bid_id: int):
    network = network_get_for(actor=actor, slug=slug)
    pack = bid_services.bid_pack(actor=actor, bid_id=bid_id)
    if pack.bid.network_id != network.pk:
        raise NotFound(f"No bid #{bid_id}.")
    return network, pack


@member_page
@require_GET
def bid_page(request: HttpRequest, actor, slug: str, bid_id: int) -> HttpResponse:
    network, pack = _bid_of(actor, slug, bid_id)
    return render(
        request,
        TEMPLATES + "bid.html",
        page_context(
            request,
            actor,
            network=network,
            pack=pack,
            bid=pack.bid,
            our_slug=actor.organisation.slug,
        ),
    )


@member_page
@require_POST
def bid_take_part(
    request: HttpRequest, actor, slug: str, bid_id: int, decision: str
) -> HttpResponse:
    """Confirm or withdraw the actor's own organisation's part in a bid."""
    _bid_of(actor, slug, bid_id)
    if decision == "confirm":
        bid_services.bid_confirm(actor=actor, bid_id=bid_id)
        messages.success(request, "Confirmed: your accounts are in the pack.")
    else:
        bid_services.bid_withdraw(actor=actor, bid_id=bid_id)
        messages.success(request, "Withdrawn: your accounts are left out of the pack.")
    return redirect(reverse("web:network_bid", args=[slug, bid_id]))


@member_page
@require_GET
def bid_pack_download(
    request: HttpRequest, actor, slug: str, bid_id: int, kind: str
) -> HttpResponse:
    _, pack = _bid_of(actor, slug, bid_id)
    if kind == "pdf":
        content, content_type = bid_services.pack_pdf(pack), "application/pdf"
    else:
        content, content_type = bid_services.pack_zip(pack), "application/zip"
    bid_services.bid_pack_downloaded(actor=actor, bid=pack.bid, kind=kind)
    return directory.download_response(content, content_type, f"bid-{bid_id}-pack.{kind}")


urlpatterns = [
    path("networks/<slug:slug>/directory/", directory_page, name="network_directory"),
    path(
        "networks/<slug:slug>/directory/<slug:org_slug>/",
        member_page_view,
        name="network_member",
    ),
    path(
        "networks/<slug:slug>/directory/<slug:org_slug>/documents/<int:document_id>/",
        document_download,
        name="network_member_document",
    ),
    path(
        "networks/<slug:slug>/enquiries/<int:enquiry_id>/referrals/",
        referrals_page,
        name="network_referrals",
    ),
    path("networks/<slug:slug>/referrals/", referrals_to_us_page, name="network_referrals_to_us"),
    path(
        "networks/<slug:slug>/referrals/<int:referral_id>/accept/",
        referral_decide,
        {"decision": "accept"},
        name="network_referral_accept",
    ),
    path(
        "networks/<slug:slug>/referrals/<int:referral_id>/decline/",
        referral_decide,
        {"decision": "decline"},
        name="network_referral_decline",
    ),
    path("networks/<slug:slug>/bids/", bids_page, name="network_bids"),
    path("networks/<slug:slug>/bids/<int:bid_id>/", bid_page, name="network_bid"),
    path(
        "networks/<slug:slug>/bids/<int:bid_id>/confirm/",
        bid_take_part,
        {"decision": "confirm"},
        name="network_bid_confirm",
    ),
    path(
        "networks/<slug:slug>/bids/<int:bid_id>/withdraw/",
        bid_take_part,
        {"decision": "withdraw"},
        name="network_bid_withdraw",
    ),
    path(
        "networks/<slug:slug>/bids/<int:bid_id>/pack.pdf",
        bid_pack_download,
        {"kind": "pdf"},
        name="network_bid_pack_pdf",
    ),
    path(
        "networks/<slug:slug>/bids/<int:bid_id>/pack.zip",
        bid_pack_download,
        {"kind": "zip"},
        name="network_bid_pack_zip",
    ),
]
