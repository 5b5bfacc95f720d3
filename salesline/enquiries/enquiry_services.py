"""Changing an enquiry by hand (the chair on duty or the coordinator): its category, status and
the enquirer's details. Triage, replies and referrals have services of their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import PreconditionFailed, ProblemList

from .access import is_member, network_actor, require_chair_or_coordinator
from .intake import enquiry_problems
from .models import Category, Enquiry, EnquiryStatus, Network, RotaPeriod
from .selectors import enquiry_get_for
from .states import move_problem

#: What `enquiry_update` may change (besides `chair_org`, the routing).
WRITABLE = ("name", "email", "organisation_name", "country", "message", "category", "status")


def _cleaned(data: Mapping[str, Any], problems: ProblemList) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name in WRITABLE:
        if name not in data:
            continue
        value = data[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems.add((name,), f"{name} must be text.")
            continue
        cleaned[name] = value.strip()
    if "category" in cleaned and cleaned["category"] not in ("", *Category.values):
        problems.add(
            ("category",), f"Category must be one of: {', '.join(Category.values)}.", type="enum"
        )
    if "status" in cleaned and cleaned["status"] not in EnquiryStatus.values:
        problems.add(
            ("status",), f"Status must be one of: {', '.join(EnquiryStatus.values)}.", type="enum"
        )
    if "email" in cleaned:
        cleaned["email"] = cleaned["email"].lower()
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
    return cleaned


def _chair_person_of(network: Network, organisation: Organisation):
    """The person of `organisation`'s rota period in force today, else its next one, else None."""
    today = timezone.localdate()
    periods = network.rota.filter(organisation=organisation, ends_on__gte=today)
    period: RotaPeriod | None = periods.order_by("starts_on").select_related("person").first()
    return period.person if period else None


def _chair_org(network: Network, value: Any, problems: ProblemList) -> Organisation | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(("chair_org",), "chair_org must be the slug of a member organisation.")
        return None
    organisation = Organisation.objects.filter(slug=value.strip()).first()
    if organisation is None or not is_member(network, organisation):
        problems.add(
            ("chair_org",), f"'{value.strip()[:80]}' is not a member organisation of the network."
        )
        return None
    return organisation


def enquiry_update(
    *,
    actor: Actor,
    enquiry_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Enquiry:
    """Change the fields given (WRITABLE); the chair on duty or the coordinator only (another
    member: PermissionDenied; a non-member: NotFound). Setting `replied` records the first
    response; `chair_org` (a member's slug) re-routes the enquiry to that member (its chair
    person: the person of that member's rota period in force, else its next, else none). The
    status moves by hand only as `states.MANUAL_MOVES` allows (`lead` only by triage). Audited in
    the network's books with before and after."""
    problems = ProblemList()
    cleaned = _cleaned(data, problems)
    with transaction.atomic():
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id, lock=True)
        network = enquiry.network
        require_chair_or_coordinator(network, actor, "change an enquiry")
        if expected_version is not None and expected_version != enquiry.version:
            raise PreconditionFailed(
                f"The enquiry changed since you read it (version {enquiry.version} now, not "
                f"{expected_version}): reload it and try again."
            )
        after = {name: getattr(enquiry, name) for name in WRITABLE}
        after.update(cleaned)
        for problem in enquiry_problems(after):
            if problem.loc and problem.loc[0] in cleaned:
                problems.problems.append(problem)
        if (
            "status" in cleaned
            and cleaned["status"] in EnquiryStatus.values
            and (reason := move_problem(enquiry.status, cleaned["status"]))
        ):
            problems.add(("status",), reason, type="transition")
        chair_org = (
            _chair_org(network, data["chair_org"], problems) if "chair_org" in data else None
        )
        problems.raise_if_any("The enquiry was not saved.")
        changes: dict[str, list[Any]] = {
            name: [getattr(enquiry, name), value]
            for name, value in cleaned.items()
            if getattr(enquiry, name) != value
        }
        fields = [name for name in changes]
        if chair_org is not None and chair_org.pk != enquiry.chair_org_id:
            person = _chair_person_of(network, chair_org)
            changes["chair_org"] = [
                enquiry.chair_org.slug if enquiry.chair_org else None,
                chair_org.slug,
            ]
            changes["chair_person"] = [
                enquiry.chair_person.email if enquiry.chair_person else None,
                person.email if person else None,
            ]
            enquiry.chair_org = chair_org
            enquiry.chair_person = person
            fields += ["chair_org", "chair_person"]
        if not changes:
            return enquiry
        now = timezone.now()
        fields += ["version", "updated_at"]
        for name in cleaned:
            if name in changes:
                setattr(enquiry, name, cleaned[name])
        if enquiry.status == EnquiryStatus.REPLIED and enquiry.first_response_at is None:
            enquiry.first_response_at = now
            fields.append("first_response_at")
            changes["first_response_at"] = [None, now.isoformat()]
        enquiry.version += 1
        enquiry.updated_at = now
        enquiry.save(update_fields=fields)
        audit.record(
            actor=network_actor(network, actor), action="update", obj=enquiry, changes=changes
        )
    return enquiry
