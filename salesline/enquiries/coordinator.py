"""The network at a glance and the coordinator's figures (docs/networks.md): one selector per
page, so the web page and `GET /api/v1/networks/{slug}/report` can never disagree."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from salesline.core.actors import Actor

from . import access, states
from .membership import tally
from .models import (
    Application,
    ApplicationStatus,
    Category,
    Enquiry,
    EnquiryStatus,
    Network,
    Referral,
    ReferralStatus,
    Vote,
)


@dataclass(frozen=True)
class NetworkSummary:
    network: Network
    members: list[dict[str, Any]]
    coordinator: dict[str, Any] | None
    chair: dict[str, Any] | None
    next_chair: dict[str, Any] | None
    open_enquiries: int
    overdue_enquiries: int
    open_applications: int
    is_coordinator: bool


def _person(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"email": user.email, "name": user.full_name or user.email}


def _period(period) -> dict[str, Any] | None:
    if period is None:
        return None
    return {
        "org": period.organisation.slug,
        "org_name": period.organisation.name,
        "person": period.person.email,
        "person_name": period.person.full_name or period.person.email,
        "starts_on": period.starts_on,
        "ends_on": period.ends_on,
    }


def network_summary(*, actor: Actor, network: Network) -> NetworkSummary:
    """What every member sees on the network's home page (`network` from
    `access.network_get_for`)."""
    today = timezone.localdate()
    members = [
        {
            "slug": member.organisation.slug,
            "name": member.organisation.name,
            "joined_at": member.joined_at,
            "joined_by": member.joined_by,
        }
        for member in access.members_of(network).order_by("organisation__name")
    ]
    chair = access.chair_period_on(network, today)
    next_period = (
        network.rota.filter(starts_on__gt=today)
        .select_related("organisation", "person")
        .order_by("starts_on")
        .first()
    )
    coordinator = _person(network.coordinator)
    if coordinator is not None and network.coordinator_home is not None:
        coordinator["org"] = network.coordinator_home.slug
    return NetworkSummary(
        network=network,
        members=members,
        coordinator=coordinator,
        chair=_period(chair),
        next_chair=_period(next_period),
        open_enquiries=network.enquiries.filter(status__in=states.OPEN_STATUSES).count(),
        overdue_enquiries=network.enquiries.filter(states.overdue_q(today)).count(),
        open_applications=network.applications.filter(status=ApplicationStatus.VOTING).count(),
        is_coordinator=access.is_coordinator(network, actor),
    )


def network_report(*, actor: Actor, network: Network, now: datetime | None = None) -> dict:
    """The coordinator's figures (PermissionDenied for anyone else): enquiries by category and
    status, response times against the deadline, referrals and their outcomes per member,
    members' activity, and applications with their open votes."""
    access.require_coordinator(network, actor, "see the coordinator's figures")
    now = now or timezone.now()
    today = timezone.localdate(now)
    return {
        "network": network.slug,
        "generated_at": now,
        "enquiries": _enquiry_counts(network),
        "response_times": _response_times(network, today),
        "referrals": _referrals(network),
        "members": _activity(network),
        "applications": _applications(network),
    }


def _enquiry_counts(network: Network) -> dict[str, Any]:
    rows = (
        network.enquiries.values("category", "status")
        .annotate(n=Count("pk"))
        .order_by("category", "status")
    )
    by_category: dict[str, int] = dict.fromkeys(Category.values, 0)
    by_status: dict[str, int] = dict.fromkeys(EnquiryStatus.values, 0)
    table: dict[str, dict[str, int]] = {}
    total = 0
    for row in rows:
        category = row["category"] or "uncategorised"
        by_category[category] = by_category.get(category, 0) + row["n"]
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        table.setdefault(category, dict.fromkeys(EnquiryStatus.values, 0))[row["status"]] = row["n"]
        total += row["n"]
    return {
        "total": total,
        "by_category": by_category,
        "by_status": by_status,
        "by_category_and_status": [
            {"category": category, **counts} for category, counts in sorted(table.items())
        ],
    }


def _response_times(network: Network, today) -> dict[str, Any]:
    answered = list(
        network.enquiries.filter(first_response_at__isnull=False).values_list(
            "received_at", "first_response_at", "respond_by"
        )
    )
    hours: list[float] = []
    on_time = 0
    for received, first, respond_by in answered:
        if first is None:
            continue
        hours.append((first - received).total_seconds() / 3600)
        on_time += timezone.localdate(first) <= respond_by
    overdue = network.enquiries.filter(states.overdue_q(today))
    return {
        "answered": len(answered),
        "median_hours_to_first_response": round(statistics.median(hours), 1) if hours else None,
        "answered_on_time": on_time,
        "share_answered_on_time": round(on_time / len(answered), 3) if answered else None,
        "awaiting_first_response": network.enquiries.filter(
            status__in=states.AWAITING_REPLY, first_response_at__isnull=True
        ).count(),
        "overdue_now": overdue.count(),
        "overdue_references": list(
            overdue.order_by("respond_by").values_list("reference", flat=True)[:50]
        ),
    }


def _referrals(network: Network) -> dict[str, Any]:
    rows = (
        Referral.objects.filter(network=network)
        .values("organisation__slug", "organisation__name", "status")
        .annotate(n=Count("pk"))
    )
    per_member: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = dict.fromkeys(ReferralStatus.values, 0)
    for row in rows:
        entry = per_member.setdefault(
            row["organisation__slug"],
            {
                "org": row["organisation__slug"],
                "name": row["organisation__name"],
                **dict.fromkeys(ReferralStatus.values, 0),
            },
        )
        entry[row["status"]] = row["n"]
        totals[row["status"]] += row["n"]
    # "offered" counts every referral made to the member; the status columns say where each is.
    for entry in per_member.values():
        entry["referred"] = sum(entry[status] for status in ReferralStatus.values)
    outcomes = dict(
        Referral.objects.filter(network=network)
        .exclude(outcome="")
        .values_list("outcome")
        .annotate(n=Count("pk"))
    )
    return {
        "totals": totals,
        "outcomes": outcomes,
        "per_member": sorted(per_member.values(), key=lambda entry: entry["name"]),
    }


def _activity(network: Network) -> list[dict[str, Any]]:
    members = list(access.members_of(network).order_by("organisation__name"))
    org_ids = [member.organisation_id for member in members]
    chaired = {
        row["chair_org_id"]: row
        for row in Enquiry.objects.filter(network=network, chair_org_id__in=org_ids)
        .values("chair_org_id")
        .annotate(n=Count("pk"), last=Max("triaged_at"))
    }
    referrals = {
        row["organisation_id"]: row
        for row in Referral.objects.filter(network=network, organisation_id__in=org_ids)
        .values("organisation_id")
        .annotate(
            taken=Count("pk", filter=Q(status=ReferralStatus.ACCEPTED)),
            last=Max("decided_at"),
        )
    }
    votes = {
        row["organisation_id"]: row
        for row in Vote.objects.filter(application__network=network, organisation_id__in=org_ids)
        .values("organisation_id")
        .annotate(n=Count("pk"), last=Max("at"))
    }
    nothing: dict[str, Any] = {}
    activity = []
    for member in members:
        org_id = member.organisation_id
        moments = [
            moment
            for moment in (
                chaired.get(org_id, nothing).get("last"),
                referrals.get(org_id, nothing).get("last"),
                votes.get(org_id, nothing).get("last"),
            )
            if moment is not None
        ]
        activity.append(
            {
                "org": member.organisation.slug,
                "name": member.organisation.name,
                "joined_at": member.joined_at,
                "enquiries_chaired": chaired.get(org_id, nothing).get("n", 0),
                "referrals_taken": referrals.get(org_id, nothing).get("taken", 0),
                "votes_cast": votes.get(org_id, nothing).get("n", 0),
                "last_activity": max(moments) if moments else None,
            }
        )
    return activity


def _applications(network: Network) -> dict[str, Any]:
    by_status = dict.fromkeys(ApplicationStatus.values, 0)
    for status, n in (
        Application.objects.filter(network=network)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    ):
        by_status[status] = n
    open_votes = []
    for application in (
        Application.objects.filter(network=network, status=ApplicationStatus.VOTING)
        .select_related("network__organisation")
        .order_by("voting_closes_at", "pk")
    ):
        result = tally(application)
        open_votes.append(
            {
                "id": application.pk,
                "organisation_name": application.organisation_name,
                "voting_closes_at": application.voting_closes_at,
                "yes": result.yes,
                "no": result.no,
                "members": result.members,
                "not_voted": max(0, result.members - result.yes - result.no),
                "borderline": application.borderline,
            }
        )
    return {"by_status": by_status, "open_votes": open_votes}
