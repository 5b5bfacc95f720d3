"""Networks (docs/networks.md): my networks, a network at a glance, applications to join with
the members' vote, the coordinator's figures, and the public "join" form (/n/<slug>/join: no
sign-in, works without JavaScript, a honeypot and a rate limit per address).

Every read goes through `salesline.enquiries.access` / `membership` / `coordinator` (a
non-member gets the 404 page; a member who is not the coordinator gets the 403 page on the
coordinator's view); every write through `salesline.enquiries.membership` and
`network_services` (the coordinator's hand-over of the role, a member leaving). The pages of the
inbox, the rota, the directory and the bids are linked by path: other modules draw them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.core.errors import Conflict, ValidationFailed
from salesline.enquiries import access, coordinator, membership, network_services
from salesline.enquiries.models import Application, Category, Network
from salesline.enquiries.network_rules import rules_for

from ..errors import bind_problems, on_refusal, problem_lines
from .common import member_page, page_context
from .public_pages import public_network, rate_limited

#: (requests, seconds) per visitor address on the public join form.
JOIN_RATE_LIMITS = {"read": (300, 600), "apply": (5, 3600)}
SECTIONS = (
    ("enquiries", "Enquiry inbox"),
    ("rota", "Duty rota"),
    ("directory", "Skills directory"),
    ("bids", "Joint bids"),
    ("applications", "Applications to join"),
)


# ---------------------------------------------------------------- members' pages


def _network(actor, slug: str) -> Network:
    return access.network_get_for(actor=actor, slug=slug)


@require_GET
@member_page
def network_list(request: HttpRequest, actor) -> HttpResponse:
    networks = [
        {
            "network": network,
            "members": access.members_of(network).count(),
            "is_coordinator": access.is_coordinator(network, actor),
        }
        for network in access.member_networks(actor).order_by("name")
    ]
    elsewhere = [
        member
        for member in access.memberships_of_user(actor.user)
        if member.organisation_id != actor.organisation.pk
    ]
    return render(
        request,
        "web/networks/list.html",
        page_context(request, actor, networks=networks, elsewhere=elsewhere),
    )


@require_GET
@member_page
def network_home(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    summary = coordinator.network_summary(actor=actor, network=network)
    base = f"/networks/{network.slug}"
    links = [(f"{base}/{key}/", label) for key, label in SECTIONS]
    if summary.is_coordinator:
        links.append((f"{base}/coordinator/", "Coordinator's view"))
    may_take_out = network_services.members_to_take_out(
        network, actor, [member["slug"] for member in summary.members]
    )
    return render(
        request,
        "web/networks/home.html",
        page_context(
            request,
            actor,
            network=network,
            summary=summary,
            links=links,
            may_take_out=may_take_out,
        ),
    )


@require_GET
@member_page
def network_applications(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    rows = list(membership.application_list(actor=actor, network=network)[:200])
    return render(
        request,
        "web/networks/applications.html",
        page_context(
            request,
            actor,
            network=network,
            voting=[a for a in rows if a.status == "voting"],
            decided=[a for a in rows if a.status != "voting"],
        ),
    )


def _application(actor, slug: str, application_id: int) -> Application:
    application = membership.application_get_for(actor=actor, application_id=application_id)
    if application.network.slug != slug:
        raise Http404("No such application.")
    return application


def _application_page(
    request: HttpRequest, actor, application: Application, *, status: int = 200, **extra
) -> HttpResponse:
    network = application.network
    (view,) = membership.application_views(actor=actor, applications=[application])
    return render(
        request,
        "web/networks/application.html",
        page_context(
            request,
            actor,
            network=network,
            application=application,
            tally=view.tally,
            votes=view.votes,
            my_vote=view.my_vote,
            rules=rules_for(network).membership,
            facts=extra.pop("facts", application.borderline_facts),
            **extra,
        ),
        status=status,
    )


@require_GET
@member_page
def network_application(request: HttpRequest, actor, slug: str, application_id: int):
    application = _application(actor, slug, application_id)
    return _application_page(request, actor, application)


@require_POST
@member_page
def application_vote(request: HttpRequest, actor, slug: str, application_id: int):
    application = _application(actor, slug, application_id)
    on_refusal(
        request,
        lambda error: _application_page(
            request, actor, application, status=error.status, general=bind_problems(None, error)
        ),
    )
    membership.vote_cast(
        actor=actor, application_id=application.pk, vote=request.POST.get("vote", "")
    )
    messages.success(request, "Your organisation's vote is recorded.")
    return redirect("web:network_application", slug=slug, application_id=application.pk)


@require_POST
@member_page
def application_borderline(request: HttpRequest, actor, slug: str, application_id: int):
    application = _application(actor, slug, application_id)
    facts = request.POST.get("facts", "")
    clear = request.POST.get("action") == "clear"
    on_refusal(
        request,
        lambda error: _application_page(
            request,
            actor,
            application,
            status=error.status,
            facts_errors=bind_problems(None, error),
            facts=facts,
        ),
    )
    membership.application_flag_borderline(
        actor=actor, application_id=application.pk, facts=facts, borderline=not clear
    )
    messages.success(
        request, "The borderline flag is cleared." if clear else "Flagged as borderline."
    )
    return redirect("web:network_application", slug=slug, application_id=application.pk)


@require_GET
@member_page
def network_coordinator(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    report = coordinator.network_report(actor=actor, network=network)
    labels = dict(Category.choices)
    bars = bar_chart(
        [
            (labels.get(key, key.replace("_", " ").capitalize()), count)
            for key, count in report["enquiries"]["by_category"].items()
        ]
    )
    return render(
        request,
        "web/networks/coordinator.html",
        page_context(
            request,
            actor,
            network=network,
            report=report,
            bars=bars,
            category_labels=labels,
        ),
    )


def bar_chart(rows: list[tuple[str, int]], *, width: int = 560, bar: int = 22) -> dict[str, Any]:
    """The geometry of a horizontal bar chart drawn as SVG attributes (no inline style: the
    CSP forbids it); the table beside it is the text alternative."""
    largest = max((count for _, count in rows), default=0)
    label_width = 240
    scale = (width - label_width - 40) / largest if largest else 0
    return {
        "width": width,
        "height": bar * len(rows) + 8,
        "label_width": label_width,
        "bars": [
            {
                "label": label,
                "count": count,
                "y": 4 + index * bar,
                "text_y": 4 + index * bar + bar * 0.7,
                "width": round(count * scale, 1),
                "count_x": label_width + round(count * scale, 1) + 6,
                "height": bar - 6,
            }
            for index, (label, count) in enumerate(rows)
        ],
        "empty": largest == 0,
    }


# ---------------------------------------------------------------- running the network


class CoordinatorChangeForm(forms.Form):
    email = forms.CharField(
        label="The new coordinator's e-mail",
        max_length=254,
        help_text="They must already be a user of the member organisation below.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    # A plain text field with a list to choose from: an organisation that is not a member is
    # the service's refusal (naming `org`), as in the API, not a form's "invalid choice".
    org = forms.CharField(label="Their home member organisation", max_length=80)
    confirm = forms.BooleanField(
        label="I hand the coordinator's role over: I lose it at once.",
        required=True,
        error_messages={"required": "Tick the box to confirm the hand-over."},
    )

    def __init__(self, *args, members: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].widget = forms.Select(choices=[("", "Choose a member"), *members])


@require_http_methods(["GET", "POST"])
@member_page
def coordinator_change(request: HttpRequest, actor, slug: str) -> HttpResponse:
    network = _network(actor, slug)
    # Members who are not the coordinator get the 403 page naming the rule (a GET or a forged
    # POST alike); the service checks it again.
    access.require_coordinator(network, actor, "change the coordinator")
    members = [
        (member.organisation.slug, member.organisation.name)
        for member in access.members_of(network).order_by("organisation__name")
    ]
    form = CoordinatorChangeForm(
        request.POST if request.method == "POST" else None,
        members=members,
        initial={"org": network.coordinator_home.slug if network.coordinator_home else ""},
    )

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/networks/coordinator_change.html",
            page_context(request, actor, network=network, form=form, general=general or []),
            status=status,
        )

    if request.method != "POST":
        return page(200)
    if not form.is_valid():
        return page(400)
    on_refusal(request, lambda error: page(error.status, bind_problems(form, error)))
    changed = network_services.network_coordinator_change(
        actor=actor,
        network_slug=network.slug,
        email=form.cleaned_data["email"],
        org_slug=form.cleaned_data["org"],
    )
    home = changed.coordinator_home.name if changed.coordinator_home else ""
    messages.success(
        request,
        f"{changed.coordinator.email} is now the coordinator of {network.name}, acting from "
        f"{home}. You no longer have the coordinator's role.",
    )
    return redirect("web:network_home", slug=network.slug)


@require_http_methods(["GET", "POST"])
@member_page
def member_leave(request: HttpRequest, actor, slug: str, org_slug: str) -> HttpResponse:
    """The confirmation page of a member leaving (what happens to its open work, or why it
    cannot leave yet) and, on POST, the leaving. Its admin or the coordinator only: the preview
    answers the service's 404 and 403 for anyone else, before anything is done."""
    preview = network_services.member_leave_preview(
        actor=actor, network_slug=slug, org_slug=org_slug
    )
    organisation = preview.member.organisation
    own = organisation.pk == actor.organisation.pk

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/networks/leave.html",
            page_context(
                request,
                actor,
                network=preview.network,
                preview=preview,
                organisation=organisation,
                own=own,
                general=general or [],
            ),
            status=status,
        )

    if request.method != "POST":
        return page(200)
    on_refusal(request, lambda error: page(error.status, problem_lines(error)))
    network_services.member_leave(actor=actor, network_slug=slug, org_slug=organisation.slug)
    network = preview.network
    if own:
        messages.success(
            request,
            f"{organisation.name} has left {network.name}. Its history stays with the network; "
            "it can apply to join again.",
        )
        return redirect("web:networks")
    messages.success(request, f"{organisation.name} is no longer a member of {network.name}.")
    return redirect("web:network_home", slug=network.slug)


# ---------------------------------------------------------------- the public join form


class JoinForm(forms.Form):
    organisation_name = forms.CharField(label="Organisation name", max_length=200)
    country = forms.CharField(
        label="Country",
        max_length=2,
        help_text="The two-letter code, e.g. GB for the United Kingdom.",
    )
    legal_form = forms.CharField(
        label="Legal form", max_length=80, help_text="e.g. worker co-operative"
    )
    email = forms.CharField(
        label="Contact e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    message = forms.CharField(
        label="Tell the members about your organisation",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    # A honeypot: hidden from people (and from assistive technology), filled in by bots.
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )


def _limited(request: HttpRequest, scope: str) -> HttpResponse | None:
    limit, window = JOIN_RATE_LIMITS[scope]
    return rate_limited(
        request, f"network-join-{scope}", limit, window, "web/networks/rate_limited.html"
    )


@require_http_methods(["GET", "POST"])
def network_join(request: HttpRequest, slug: str) -> HttpResponse:
    if limited := _limited(request, "apply" if request.method == "POST" else "read"):
        return limited
    network = public_network(slug)
    template = "web/networks/join.html"
    rules = rules_for(network).membership
    context: dict[str, Any] = {"network": network, "rules": rules}
    if request.method != "POST":
        return render(request, template, {**context, "form": JoinForm()})
    form = JoinForm(request.POST)
    if request.POST.get("website"):
        notice = "The form could not be sent. Please try again."
        return render(request, template, {**context, "form": form, "notice": notice}, status=400)
    if not form.is_valid():
        return render(request, template, {**context, "form": form}, status=400)
    data = {key: value for key, value in form.cleaned_data.items() if key != "website"}
    try:
        application = membership.application_submit(network=network, data=data, source="form")
    except ValidationFailed as error:
        bind_problems(form, error)
        return render(request, template, {**context, "form": form}, status=422)
    except Conflict as error:
        context["notice"] = str(error)
        return render(request, template, {**context, "form": form}, status=409)
    request.session["network_join"] = {
        "network": network.slug,
        "status": application.status,
        "email": application.email,
        "closes": application.voting_closes_at.isoformat() if application.voting_closes_at else "",
    }
    return redirect("web:network_join_done", slug=network.slug)


@require_GET
def network_join_done(request: HttpRequest, slug: str) -> HttpResponse:
    network = public_network(slug)
    done = request.session.get("network_join") or {}
    if done.get("network") != network.slug:
        done = {}
    return render(request, "web/networks/join_done.html", {"network": network, "done": done})


urlpatterns = [
    path("networks/", network_list, name="networks"),
    path("networks/<slug:slug>/", network_home, name="network_home"),
    path("networks/<slug:slug>/applications/", network_applications, name="network_applications"),
    path(
        "networks/<slug:slug>/applications/<int:application_id>/",
        network_application,
        name="network_application",
    ),
    path(
        "networks/<slug:slug>/applications/<int:application_id>/vote/",
        application_vote,
        name="network_application_vote",
    ),
    path(
        "networks/<slug:slug>/applications/<int:application_id>/borderline/",
        application_borderline,
        name="network_application_borderline",
    ),
    path("networks/<slug:slug>/coordinator/", network_coordinator, name="network_coordinator"),
    path(
        "networks/<slug:slug>/coordinator/change/",
        coordinator_change,
        name="network_coordinator_change",
    ),
    path(
        "networks/<slug:slug>/members/<slug:org_slug>/leave/",
        member_leave,
        name="network_member_leave",
    ),
    path("n/<slug:slug>/join", network_join, name="network_join"),
    path("n/<slug:slug>/join/thanks", network_join_done, name="network_join_done"),
]
