"""Networks (docs/networks.md): my networks, one network at a glance, the coordinator's report,
applications to join and the members' votes. Network-level endpoints are for members of that
network only (404 for anyone else); applying is open to any signed-in user."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from salesline.core.ids import MAX_ID
from salesline.enquiries import access, coordinator, membership, network_services, triage_services
from salesline.enquiries.models import Application, NetworkMember
from salesline.enquiries.network_services import network_by_slug

from .common import actor_of
from .schemas import Strict

networks = Router(tags=["networks"])
applications = Router(tags=["networks"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class NetworkListItem(Schema):
    slug: str
    name: str
    members: int
    coordinator: str | None
    is_coordinator: bool


class MemberOut(Schema):
    slug: str
    name: str
    joined_at: dt.datetime
    joined_by: str


class PersonOut(Schema):
    email: str
    name: str
    org: str | None = None


class ChairOut(Schema):
    org: str
    org_name: str
    person: str
    person_name: str
    starts_on: dt.date
    ends_on: dt.date


class NetworkOut(Schema):
    slug: str
    name: str
    members: list[MemberOut]
    coordinator: PersonOut | None
    chair: ChairOut | None
    next_chair: ChairOut | None
    open_enquiries: int
    overdue_enquiries: int
    open_applications: int
    is_coordinator: bool


class ApplicationIn(Strict):
    organisation_name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    legal_form: str = Field(max_length=80)
    email: str = Field(max_length=254)
    message: str = Field("", max_length=20_000)


class ApplicationReceipt(Schema):
    """What an applicant is told: the application, its status and, when ineligible, why."""

    id: int
    network: str
    organisation_name: str
    status: str
    reasons: list[str]
    voting_closes_at: dt.datetime | None


class TallyOut(Schema):
    yes: int
    no: int
    members: int
    not_voted: int


class VoteOut(Schema):
    org: str
    name: str
    vote: str
    at: dt.datetime


class ApplicationOut(Schema):
    id: int
    network: str
    organisation_name: str
    country: str
    legal_form: str
    email: str
    message: str
    organisation: str | None
    status: str
    reasons: list[str]
    borderline: bool
    borderline_facts: str
    voting_closes_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    tallies: TallyOut | None = Field(None, description="null for the applicant")
    votes: list[VoteOut]
    my_vote: str | None


class CoordinatorIn(Strict):
    email: str = Field(max_length=254, description="a user of the member organisation `org`")
    org: str = Field(max_length=100, description="the member organisation they act from")


class CoordinatorOut(Schema):
    network: str
    coordinator: str
    org: str


class LeftOut(Schema):
    network: str
    org: str
    left_at: dt.datetime


class VoteIn(Strict):
    vote: Literal["yes", "no"]


class BorderlineIn(Strict):
    borderline: bool = True
    facts: str = Field("", max_length=5_000)


def receipt(application: Application) -> dict[str, Any]:
    return {
        "id": application.pk,
        "network": application.network.slug,
        "organisation_name": application.organisation_name,
        "status": application.status,
        "reasons": list(application.reasons or []),
        "voting_closes_at": application.voting_closes_at,
    }


def application_out(view: membership.ApplicationView) -> dict[str, Any]:
    application, result = view.application, view.tally
    return {
        **receipt(application),
        "country": application.country,
        "legal_form": application.legal_form,
        "email": application.email,
        "message": application.message,
        "organisation": application.organisation.slug if application.organisation else None,
        "borderline": application.borderline,
        "borderline_facts": application.borderline_facts,
        "decided_at": application.decided_at,
        "created_at": application.created_at,
        "tallies": {
            "yes": result.yes,
            "no": result.no,
            "members": result.members,
            "not_voted": result.not_voted,
        },
        "votes": [
            {"org": vote.org, "name": vote.name, "vote": vote.vote, "at": vote.at}
            for vote in view.votes
        ],
        "my_vote": view.my_vote or None,
    }


def applicant_out(application: Application) -> dict[str, Any]:
    """The application as its applicant sees it: no tallies, nobody's vote."""
    return {
        **receipt(application),
        "country": application.country,
        "legal_form": application.legal_form,
        "email": application.email,
        "message": application.message,
        "organisation": application.organisation.slug if application.organisation else None,
        "borderline": False,
        "borderline_facts": "",
        "decided_at": application.decided_at,
        "created_at": application.created_at,
        "tallies": None,
        "votes": [],
        "my_vote": None,
    }


def one_application_out(application: Application, actor) -> dict[str, Any]:
    (view,) = membership.application_views(actor=actor, applications=[application])
    return application_out(view)


def register(api) -> None:
    @networks.get(
        "", response=list[NetworkListItem], operation_id="networks_list", summary="My networks"
    )
    def list_networks(request: HttpRequest):
        """The networks the caller's organisation is a member of."""
        actor = actor_of(request)
        rows = list(access.member_networks(actor).select_related("coordinator").order_by("name"))
        members = dict(
            NetworkMember.objects.filter(network__in=rows, left_at__isnull=True)
            .values_list("network")
            .annotate(n=Count("pk"))
            .values_list("network", "n")
        )
        # The actor's organisation is a member of each (member_networks), so the coordinator
        # test is only whether the actor is the network's coordinator.
        user_id = actor.user.pk if actor.user is not None else None
        return [
            {
                "slug": network.slug,
                "name": network.name,
                "members": members.get(network.pk, 0),
                "coordinator": network.coordinator.email if network.coordinator else None,
                "is_coordinator": user_id is not None and network.coordinator_id == user_id,
            }
            for network in rows
        ]

    @networks.get("/{slug}", response=NetworkOut, operation_id="networks_get", summary="A network")
    def get_network(request: HttpRequest, slug: str):
        """Members, the coordinator, the chair on duty now and next, and open counts."""
        actor = actor_of(request)
        network = access.network_get_for(actor=actor, slug=slug)
        summary = coordinator.network_summary(actor=actor, network=network)
        return {
            "slug": network.slug,
            "name": network.name,
            "members": summary.members,
            "coordinator": summary.coordinator,
            "chair": summary.chair,
            "next_chair": summary.next_chair,
            "open_enquiries": summary.open_enquiries,
            "overdue_enquiries": summary.overdue_enquiries,
            "open_applications": summary.open_applications,
            "is_coordinator": summary.is_coordinator,
        }

    @networks.get(
        "/{slug}/report",
        response=dict[str, Any],
        operation_id="networks_report",
        summary="The coordinator's figures",
    )
    def report(request: HttpRequest, slug: str):
        """Enquiries by category and status, response times against the deadline, referrals
        and outcomes per member, members' activity, applications and open votes. The
        coordinator only (403 for other members, 404 for non-members)."""
        actor = actor_of(request)
        network = access.network_get_for(actor=actor, slug=slug)
        return coordinator.network_report(actor=actor, network=network)

    @networks.get(
        "/{slug}/triage",
        response=dict[str, Any],
        operation_id="networks_triage_scripts",
        summary="The triage scripts in force",
    )
    def triage_scripts(request: HttpRequest, slug: str):
        """Per category: its guidance (Markdown), next-steps checklist, questions and canned
        replies (key, subject, body); the sales criteria; the membership countries and the
        reply for an enquirer outside them. Members of the network (others: 404).
        docs/triage-and-rota.md."""
        network = access.network_get_for(actor=actor_of(request), slug=slug)
        return triage_services.triage_scripts(network)

    @networks.put(
        "/{slug}/coordinator",
        response=CoordinatorOut,
        operation_id="networks_coordinator",
        summary="Hand the coordinator's role to someone else (the coordinator)",
    )
    def change_coordinator(request: HttpRequest, slug: str, payload: CoordinatorIn):
        """`email` must be a user of `org`, a member organisation (422 naming the field);
        members who are not the coordinator get 403."""
        network = network_services.network_coordinator_change(
            actor=actor_of(request), network_slug=slug, email=payload.email, org_slug=payload.org
        )
        return {
            "network": network.slug,
            "coordinator": network.coordinator.email if network.coordinator else "",
            "org": network.coordinator_home.slug if network.coordinator_home else "",
        }

    @networks.post(
        "/{slug}/members/{org}/leave",
        response=LeftOut,
        operation_id="networks_member_leave",
        summary="A member leaves the network (its admin or the coordinator)",
    )
    def leave(request: HttpRequest, slug: str, org: str):
        """409 while the member is on the rota now or later (naming the period) or is the
        coordinator's home. Afterwards the former member gets 404 on the network."""
        member = network_services.member_leave(
            actor=actor_of(request), network_slug=slug, org_slug=org
        )
        return {"network": slug, "org": member.organisation.slug, "left_at": member.left_at}

    @networks.post(
        "/{slug}/applications",
        response={201: ApplicationReceipt},
        operation_id="networks_apply",
        summary="Apply to join a network",
    )
    def apply(request: HttpRequest, slug: str, payload: ApplicationIn):
        """Any signed-in user may apply for an organisation (their own, when the name is
        their organisation's). Screened at once: `ineligible` with the reasons, or `voting`
        with the deadline."""
        actor = actor_of(request)
        network = network_by_slug(slug)
        application = membership.application_submit(
            network=network, data=payload.model_dump(), actor=actor, source="api"
        )
        return Status(201, receipt(application))

    @networks.get(
        "/{slug}/applications",
        response=list[ApplicationOut],
        operation_id="networks_applications",
        summary="A network's applications",
    )
    def list_applications(request: HttpRequest, slug: str):
        actor = actor_of(request)
        network = access.network_get_for(actor=actor, slug=slug)
        rows = list(
            membership.application_list(actor=actor, network=network).select_related(
                "network__organisation", "organisation"
            )[:200]
        )
        views = membership.application_views(actor=actor, applications=rows)
        return [application_out(view) for view in views]

    @applications.get(
        "/{application_id}",
        response=ApplicationOut,
        operation_id="applications_get",
        summary="An application with its votes",
    )
    def get_application(request: HttpRequest, application_id: Id):
        """Members of the application's network: status (`ineligible`, `voting`, `approved`,
        `rejected`), tallies, reasons, the deadline and the caller's vote. The applicant
        organisation (when the application names it) sees its status and reasons only: no
        tallies, no votes."""
        actor = actor_of(request)
        application = membership.application_get_for(
            actor=actor, application_id=application_id, applicant=True
        )
        if membership.is_members_view(application, actor):
            return one_application_out(application, actor)
        return applicant_out(application)

    @applications.post(
        "/{application_id}/votes",
        response={201: ApplicationOut},
        operation_id="applications_vote",
        summary="Vote on an application",
    )
    def vote(request: HttpRequest, application_id: Id, payload: VoteIn):
        """One vote per member organisation: 409 for a second vote or after voting closed."""
        actor = actor_of(request)
        application = membership.vote_cast(
            actor=actor, application_id=application_id, vote=payload.vote
        )
        return Status(201, one_application_out(application, actor))

    @applications.post(
        "/{application_id}/borderline",
        response=ApplicationOut,
        operation_id="applications_borderline",
        summary="Flag an application as borderline",
    )
    def borderline(request: HttpRequest, application_id: Id, payload: BorderlineIn):
        """With the facts the members should weigh; `{"borderline": false}` clears it."""
        actor = actor_of(request)
        application = membership.application_flag_borderline(
            actor=actor,
            application_id=application_id,
            facts=payload.facts,
            borderline=payload.borderline,
        )
        return one_application_out(application, actor)

    api.add_router("/networks", networks)
    api.add_router("/applications", applications)
