"""Hand-over of leads by skills (docs/network-directory.md): the ranked candidates for a lead,
referring it to members, and each member accepting (an opportunity in its own pipeline) or
declining with a reason.

The network — chair, coordinator, other members — sees a referral's status, score and reasons;
only the referred member sees the opportunity its acceptance made. Every step is audited on the
enquiry in the network's books (its timeline); the opportunity is audited in the member's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ProblemList
from salesline.core.models import AuditEvent

from .access import (
    is_chair,
    is_coordinator,
    member_networks,
    network_actor,
    require_chair_or_coordinator,
)
from .eligibility import parse_budget
from .models import (
    CaseStudy,
    Enquiry,
    EnquiryStatus,
    MemberProfile,
    MemberSkill,
    Network,
    NetworkMember,
    Referral,
    ReferralStatus,
)
from .ranking import (
    Candidate,
    LeadFacts,
    MemberFacts,
    SkillInfo,
    rank,
    starts_by_of,
    words_of,
)
from .selectors import enquiry_get_for

# ---------------------------------------------------------------- the facts ranking reads


def lead_facts(enquiry: Enquiry) -> LeadFacts:
    answers = enquiry.answers if isinstance(enquiry.answers, dict) else {}
    skills = answers.get("skills") or []
    text = " ".join(str(answers.get(key) or "") for key in ("brief", "technology"))
    return LeadFacts(
        skills=tuple(str(key) for key in skills if isinstance(key, str)),
        words=words_of(text),
        budget=parse_budget(answers.get("budget")),
        starts_by=starts_by_of(
            str(answers.get("timescale") or ""), timezone.localdate(enquiry.received_at)
        ),
    )


def member_facts(network: Network) -> tuple[list[MemberFacts], list[SkillInfo]]:
    """Every member's facts for ranking, in six queries whatever the number of members."""
    members: dict[int, str] = {}
    names: dict[int, str] = {}
    for org_id, slug, name in NetworkMember.objects.filter(
        network=network, left_at__isnull=True
    ).values_list("organisation_id", "organisation__slug", "organisation__name"):
        members[org_id], names[org_id] = slug, name
    key_of: dict[int, str] = {}
    taxonomy = []
    for skill_id, key, name in network.skills.values_list("pk", "key", "name"):
        key_of[skill_id] = key
        taxonomy.append(SkillInfo(key, name))
    skills: dict[int, dict[str, int]] = {org_id: {} for org_id in members}
    # Skill ids, not keys: no join over the largest table (members x skills).
    for org_id, skill_id, level in MemberSkill.objects.filter(network=network).values_list(
        "organisation_id", "skill_id", "level"
    ):
        held = skills.get(org_id)
        if held is not None:
            held[key_of[skill_id]] = level
    shown: dict[int, set[str]] = {org_id: set() for org_id in members}
    for org_id, skill_id in (
        CaseStudy.skills.through.objects.filter(casestudy__network=network)
        .values_list("casestudy__organisation_id", "skill_id")
        .distinct()
    ):
        if org_id in shown:
            shown[org_id].add(key_of[skill_id])
    profiles = {
        row[0]: row[1:]
        for row in MemberProfile.objects.filter(network=network).values_list(
            "organisation_id", "available_from", "min_project_value", "max_project_value"
        )
    }
    outcomes: dict[int, tuple[int, int, int]] = {
        row["organisation_id"]: (row["won"], row["accepted"], row["declined"])
        for row in Referral.objects.filter(network=network)
        .values("organisation_id")
        .annotate(
            won=Count("pk", filter=Q(outcome="won")),
            accepted=Count("pk", filter=Q(status=ReferralStatus.ACCEPTED) & ~Q(outcome="won")),
            declined=Count("pk", filter=Q(status=ReferralStatus.DECLINED)),
        )
    }
    facts = []
    for org_id, slug in members.items():
        available_from, low, high = profiles.get(org_id, (None, None, None))
        won, accepted, declined = outcomes.get(org_id, (0, 0, 0))
        facts.append(
            MemberFacts(
                org=slug,
                name=names.get(org_id, slug),
                skills=skills[org_id],
                case_study_skills=frozenset(shown[org_id]),
                available_from=available_from,
                min_project_value=low,
                max_project_value=high,
                accepted=accepted,
                declined=declined,
                won=won,
            )
        )
    return facts, taxonomy


#: How long a network's facts stay in the cache at most (their key changes with every write).
FACTS_CACHE_SECONDS = 300


#: The audit entries of a network's books that can change its ranking facts: the directory,
#: the membership and the referrals. Enquiries, triage, the rota and votes are audited there
#: too but change no fact, so they keep the cached facts warm.
FACTS_OBJECT_TYPES = (
    "network",
    "networkmember",
    "skill",
    "memberprofile",
    "casestudy",
    "memberdocument",
)
FACTS_ACTION_PREFIX = "referral_"


def facts_state(network: Network) -> str:
    """What changes whenever a network's ranking facts may have: the newest audit entry of its
    books about the directory, its members or a referral (every such write is audited there),
    with the network's own creation time so that a reused id never finds another network's
    facts. One indexed query."""
    newest = (
        AuditEvent.objects.filter(organisation_id=network.organisation_id)
        .filter(Q(object_type__in=FACTS_OBJECT_TYPES) | Q(action__startswith=FACTS_ACTION_PREFIX))
        .order_by("-at", "-id")
        .values_list("id", "at")
        .first()
    )
    newest_id, newest_at = newest if newest is not None else (0, None)
    at = newest_at.timestamp() if newest_at is not None else 0
    return f"{network.pk}.{network.created_at.timestamp()}:{newest_id}.{at}"


#: This process's own copy of the facts last loaded per network (key -> facts): a warm request
#: neither unpickles the cache's entry nor reads the members again. Checked by the same key.
_LOCAL_FACTS: dict[int, tuple[str, tuple[list[MemberFacts], list[SkillInfo]]]] = {}


def _compact(facts: list[MemberFacts], taxonomy: list[SkillInfo]) -> tuple[list[tuple], list]:
    """Plain tuples for the shared cache: unpickled several times faster than dataclasses."""
    rows = [
        (
            f.org,
            f.name,
            dict(f.skills),
            tuple(f.case_study_skills),
            f.available_from,
            f.min_project_value,
            f.max_project_value,
            f.accepted,
            f.declined,
            f.won,
        )
        for f in facts
    ]
    return rows, [(t.key, t.name) for t in taxonomy]


def _expand(compact: tuple[list[tuple], list]) -> tuple[list[MemberFacts], list[SkillInfo]]:
    rows, skills = compact
    facts = [
        MemberFacts(
            org=org,
            name=name,
            skills=held,
            case_study_skills=frozenset(shown),
            available_from=available,
            min_project_value=low,
            max_project_value=high,
            accepted=accepted,
            declined=declined,
            won=won,
        )
        for org, name, held, shown, available, low, high, accepted, declined, won in rows
    ]
    return facts, [SkillInfo(key, name) for key, name in skills]


def forget_local_facts() -> None:
    """Drop this process's copies (benchmarks, tests): the next read goes to Django's cache."""
    _LOCAL_FACTS.clear()


def member_facts_cached(network: Network) -> tuple[list[MemberFacts], list[SkillInfo]]:
    """`member_facts` through this process's copy, then Django's cache (shared by the processes
    when CACHES is), keyed by `facts_state`: a write to the directory, the members or a
    referral makes a new key; an entry lives FACTS_CACHE_SECONDS at most."""
    key = f"enquiries:member-facts:{facts_state(network)}"
    local = _LOCAL_FACTS.get(network.pk)
    if local is not None and local[0] == key:
        return local[1]
    compact = cache.get(key)
    if compact is not None:
        found = _expand(compact)
    else:
        found = member_facts(network)
        cache.set(key, _compact(*found), FACTS_CACHE_SECONDS)
    if len(_LOCAL_FACTS) >= 16:
        _LOCAL_FACTS.clear()
    _LOCAL_FACTS[network.pk] = (key, found)
    return found


def candidates_for(*, actor: Actor, enquiry_id: int) -> list[Candidate]:
    """Every member ranked for the enquiry's lead (the chair or the coordinator)."""
    enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
    require_chair_or_coordinator(enquiry.network, actor, "see the referral candidates")
    return rank_enquiry(enquiry)


def rank_enquiry(enquiry: Enquiry) -> list[Candidate]:
    facts, taxonomy = member_facts_cached(enquiry.network)
    return rank(lead_facts(enquiry), facts, taxonomy)


# ---------------------------------------------------------------- referring


def referrals_create(*, actor: Actor, enquiry_id: int, org_slugs: Sequence[str]) -> list[Referral]:
    """Refer a lead to members (chair or coordinator). The enquiry must be a lead (409
    otherwise); every slug must be a member (422 naming the others); a member already referred
    this lead is a 409 and nothing is created."""
    enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
    network = enquiry.network
    require_chair_or_coordinator(network, actor, "refer a lead")
    slugs = [str(slug) for slug in org_slugs]
    problems = ProblemList()
    if not slugs:
        problems.add(("orgs",), "Name at least one member organisation.")
    members = dict(
        NetworkMember.objects.filter(
            network=network, left_at__isnull=True, organisation__slug__in=slugs
        ).values_list("organisation__slug", "organisation_id")
    )
    for index, slug in enumerate(slugs):
        if slug not in members:
            problems.add(("orgs", index), f"'{slug[:80]}' is not a member of {network.slug}.")
        elif slug in slugs[:index]:
            problems.add(("orgs", index), f"'{slug}' is named twice.")
    problems.raise_if_any("Nothing was referred.")
    if enquiry.status != EnquiryStatus.LEAD or enquiry.lead_id is None:
        raise Conflict(
            f"Enquiry {enquiry.reference} is {enquiry.status}"
            + (" with no lead in the network's pipeline" if enquiry.lead_id is None else "")
            + ", not a feasible lead: only a lead is referred."
        )
    ranked = {c.org: c for c in rank_enquiry(enquiry)}
    books = network_actor(network, actor)
    created = []
    try:
        with transaction.atomic():
            already = list(
                Referral.objects.filter(
                    enquiry=enquiry, organisation_id__in=members.values()
                ).values_list("organisation__slug", flat=True)
            )
            if already:
                raise Conflict(
                    f"Enquiry {enquiry.reference} was already referred to "
                    f"{', '.join(sorted(already))}."
                )
            for slug in slugs:
                candidate = ranked.get(slug)
                referral = Referral.objects.create(
                    network=network,
                    enquiry=enquiry,
                    organisation_id=members[slug],
                    score=candidate.score if candidate else 0,
                    match_reasons=list(candidate.reasons) if candidate else [],
                    referred_by=actor.user,
                )
                created.append(referral)
                audit.record(
                    actor=books,
                    action="referral_create",
                    obj=enquiry,
                    changes={
                        "referral": [None, referral.pk],
                        "organisation": [None, slug],
                        "status": [None, referral.status],
                    },
                )
    except IntegrityError as exc:  # a referral made by someone else meanwhile
        raise Conflict(f"Enquiry {enquiry.reference} was just referred to one of them.") from exc
    return created


def referral_list(*, actor: Actor, network: Network | None = None) -> QuerySet[Referral]:
    """The referrals of the actor's networks (their status is the network's to see)."""
    networks = member_networks(actor)
    rows = Referral.objects.filter(network__in=networks)
    if network is not None:
        rows = rows.filter(network=network)
    return rows.select_related("enquiry", "organisation", "network").order_by("-referred_at", "pk")


def referral_get_for(*, actor: Actor, referral_id: int) -> Referral:
    referral = referral_list(actor=actor).filter(pk=referral_id).first()
    if referral is None:
        raise NotFound(f"No referral #{referral_id}.")
    return referral


def _claim(*, actor: Actor, referral_id: int, doing: str) -> Referral:
    referral = referral_get_for(actor=actor, referral_id=referral_id)
    if referral.organisation_id != actor.organisation.pk:
        raise PermissionDenied(f"Only the member the lead was referred to may {doing} it.")
    return referral


_DECISION_ACTIONS = {
    ReferralStatus.ACCEPTED: "referral_accept",
    ReferralStatus.DECLINED: "referral_decline",
    ReferralStatus.WITHDRAWN: "referral_withdraw",
}


def _decide(
    referral: Referral,
    *,
    actor: Actor,
    status: ReferralStatus,
    organisation_slug: str,
    reason: str = "",
) -> None:
    """Move an offered referral to `status` with a conditional UPDATE (a second decision, or
    two at once, finds no offered row and is a 409) and record it on the enquiry's trail, in
    the network's books. The caller holds the transaction."""
    now = timezone.now()
    moved = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.OFFERED).update(
        status=status, decided_by=actor.user, decided_at=now, reason=reason
    )
    if moved != 1:
        current = Referral.objects.values_list("status", flat=True).get(pk=referral.pk)
        raise Conflict(f"This referral is already {current}.")
    referral.status, referral.decided_at, referral.reason = status, now, reason
    referral.decided_by = actor.user
    changes: dict[str, list[Any]] = {
        "referral": [referral.pk, referral.pk],
        "organisation": [None, organisation_slug],
        "status": [ReferralStatus.OFFERED, status],
    }
    if reason:
        changes["reason"] = [None, reason]
    audit.record(
        actor=network_actor(referral.network, actor),
        action=_DECISION_ACTIONS[status],
        obj=referral.enquiry,
        changes=changes,
    )


#: The reason recorded on the offered referrals of a member that leaves the network.
LEFT_THE_NETWORK = "member left the network"


def referrals_withdraw_for_leaver(
    *, actor: Actor, network: Network, organisation: Any
) -> list[Referral]:
    """Withdraw every referral still offered to `organisation`, which is leaving `network`,
    with the reason LEFT_THE_NETWORK: the lead is the chair's to refer again. Withdrawn rather
    than declined on its behalf, because the member decided nothing (a decline would count
    against it in the ranking if it came back). Inside the caller's transaction (the leave's);
    the rows are locked first, so an accept at the same moment waits and then finds the
    referral withdrawn (409)."""
    offered = list(
        Referral.objects.select_for_update(of=("self",))
        .filter(network=network, organisation=organisation, status=ReferralStatus.OFFERED)
        .select_related("network", "enquiry")
        .order_by("pk")
    )
    for referral in offered:
        _decide(
            referral,
            actor=actor,
            status=ReferralStatus.WITHDRAWN,
            organisation_slug=organisation.slug,
            reason=LEFT_THE_NETWORK,
        )
    return offered


def referral_accept(*, actor: Actor, referral_id: int) -> tuple[Referral, Any]:
    """The referred member takes the lead: an opportunity in its own pipeline (named from the
    enquiry, with the enquirer as a company and a person in its books when its minimum fields
    allow), made as the accepting user. Accepting twice is a 409."""
    from salesline.pipeline.services import opportunity_create

    referral = _claim(actor=actor, referral_id=referral_id, doing="accept")
    enquiry = referral.enquiry
    with transaction.atomic():
        _decide(
            referral,
            actor=actor,
            status=ReferralStatus.ACCEPTED,
            organisation_slug=actor.organisation.slug,
        )
        data: dict[str, Any] = {"name": _opportunity_name(enquiry)}
        company = _in_our_books(actor, "company", {"name": enquiry.organisation_name})
        if company is not None:
            data["company_id"] = company.pk
        person_data: dict[str, Any] = {"name": enquiry.name, "email": enquiry.email}
        if company is not None:
            person_data["company_id"] = company.pk
        person = _in_our_books(actor, "person", person_data)
        if person is not None:
            data["primary_contact_id"] = person.pk
        opportunity = opportunity_create(actor=actor, data=data)
        Referral.objects.filter(pk=referral.pk).update(opportunity_id=opportunity.pk)
        referral.opportunity_id = opportunity.pk
        audit.record(
            actor=actor,
            action="referral_accept",
            obj=opportunity,
            changes={
                "network": [None, referral.network.slug],
                "enquiry": [None, enquiry.reference],
            },
        )
    return referral, opportunity


def _opportunity_name(enquiry: Enquiry) -> str:
    who = enquiry.organisation_name or enquiry.name or enquiry.email
    subject = enquiry.subject or (enquiry.answers or {}).get("brief") or "referral"
    name = f"{who}: {subject}" if who else str(subject)
    return f"{name[:180]} ({enquiry.reference})"


def _in_our_books(actor: Actor, kind: str, data: dict[str, Any]) -> Any:
    """The enquirer as a company or person in the member's own books: the one it already has
    (the same company name, or the same person's e-mail), else a new one; None when the enquiry
    has too little for the minimum fields (then the opportunity is made without it)."""
    from salesline.core.errors import ValidationFailed
    from salesline.records.fields import KINDS
    from salesline.records.services import record_create

    values = {key: value for key, value in data.items() if value not in ("", None)}
    if not values.get("name"):
        return None
    known = KINDS[kind].model.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=True
    )
    if kind == "company":
        existing = known.filter(name__iexact=values["name"]).order_by("pk").first()
    else:
        email = values.get("email")
        existing = known.filter(email__iexact=email).order_by("pk").first() if email else None
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return record_create(actor=actor, kind=kind, data=values)
    except (ValidationFailed, PermissionDenied):
        return None


def referral_decline(*, actor: Actor, referral_id: int, reason: str) -> Referral:
    reason = (reason or "").strip()
    problems = ProblemList()
    if not reason:
        problems.add(("reason",), "Say why the referral is declined.")
    elif len(reason) > 5000:
        problems.add(("reason",), "Reason must be at most 5,000 characters.")
    problems.raise_if_any("The referral was not declined.")
    referral = _claim(actor=actor, referral_id=referral_id, doing="decline")
    with transaction.atomic():
        _decide(
            referral,
            actor=actor,
            status=ReferralStatus.DECLINED,
            organisation_slug=actor.organisation.slug,
            reason=reason,
        )
    return referral


def referral_withdraw(*, actor: Actor, referral_id: int) -> Referral:
    """The chair or the coordinator takes back an offered referral (withdrawn); a decided one is
    a 409."""
    referral = referral_get_for(actor=actor, referral_id=referral_id)
    require_chair_or_coordinator(referral.network, actor, "withdraw a referral")
    with transaction.atomic():
        _decide(
            referral,
            actor=actor,
            status=ReferralStatus.WITHDRAWN,
            organisation_slug=referral.organisation.slug,
        )
    return referral


# ---------------------------------------------------------------- outcomes, from the pipeline

#: The pipeline's events (pipeline.services) and the outcome each means for a referral.
OUTCOME_EVENTS = {"opportunity_won": "won", "opportunity_lost": "lost"}


def _accepted_referral(event: Any) -> QuerySet[Referral]:
    if event.object_type != "opportunity" or not str(event.object_id).isdigit():
        return Referral.objects.none()
    return Referral.objects.filter(
        organisation_id=event.organisation_id,
        opportunity_id=int(event.object_id),
        status=ReferralStatus.ACCEPTED,
    )


def outcome_wanted(event: Any) -> bool:
    """Cheap: whether the won or lost opportunity came from an accepted referral."""
    return _accepted_referral(event).exists()


def referral_outcome_from_event(event: Any) -> None:
    """An event handler (wiring.py): the member's opportunity made from an accepted referral
    was won or lost — the referral's outcome is set (a conditional UPDATE: the same event twice,
    or two workers, change it once) and audited on the enquiry in the network's books. The
    network sees the outcome, never the opportunity."""
    outcome = OUTCOME_EVENTS.get(event.kind)
    if outcome is None:
        return
    for referral in _accepted_referral(event).select_related("network", "organisation", "enquiry"):
        with transaction.atomic():
            before = referral.outcome
            changed = (
                Referral.objects.filter(pk=referral.pk, status=ReferralStatus.ACCEPTED)
                .exclude(outcome=outcome)
                .update(outcome=outcome)
            )
            if changed != 1:
                continue
            network = referral.network
            audit.record(
                actor=Actor(
                    organisation=network.organisation,
                    user=event.actor,
                    known_roles=frozenset({"admin"}),
                    system_label=event.actor_label or "system",
                ),
                action="referral_outcome",
                obj=referral.enquiry,
                changes={
                    "referral": [referral.pk, referral.pk],
                    "organisation": [None, referral.organisation.slug],
                    "outcome": [before or None, outcome],
                },
            )


def referral_out(
    referral: Referral, actor: Actor, *, inbox_worker: bool | None = None
) -> dict[str, Any]:
    """A referral as the actor may see it: the opportunity id only for the referred member; the
    decline reason for it, the chair and the coordinator (`inbox_worker`, when known)."""
    out: dict[str, Any] = {
        "id": referral.pk,
        "enquiry_id": referral.enquiry_id,
        "enquiry_reference": referral.enquiry.reference,
        "network": referral.network.slug,
        "org": referral.organisation.slug,
        "status": referral.status,
        "score": referral.score,
        "reasons": list(referral.match_reasons or []),
        "referred_at": referral.referred_at,
        "decided_at": referral.decided_at,
    }
    ours = referral.organisation_id == actor.organisation.pk
    if not ours and inbox_worker is None:
        inbox_worker = _works_the_inbox(referral.network, actor)
    for field, value in (
        ("opportunity_id", referral.opportunity_id),
        ("decline_reason", referral.reason),
    ):
        if referral_field_visible(field, ours=ours, inbox_worker=bool(inbox_worker)):
            out[field] = value
    return out


#: What of a referral not every member sees, wherever it is shown (its API answer, the enquiry's
#: timeline): field -> who besides the referred member sees it ("inbox": the chair on duty and
#: the coordinator; "member": nobody else). `reason` is the decline reason as the audit trail
#: names it; `opportunity` any mention of the opportunity in the member's own books.
REFERRAL_PRIVATE: dict[str, str] = {
    "decline_reason": "inbox",
    "reason": "inbox",
    "opportunity_id": "member",
    "opportunity": "member",
}


def referral_field_visible(field: str, *, ours: bool, inbox_worker: bool) -> bool:
    """The one rule: whether a referral's `field` is shown to an actor — `ours` when the
    actor's organisation is the referred member, `inbox_worker` when it is the chair or the
    coordinator."""
    who = REFERRAL_PRIVATE.get(field)
    return who is None or ours or (who == "inbox" and inbox_worker)


def enquiry_timeline(*, actor: Actor, enquiry: Enquiry) -> list[AuditEvent]:
    """The audit trail of an enquiry the actor may see (from `enquiry_get_for`), oldest first,
    as `timeline_for` shows it to them."""
    network = enquiry.network
    events = AuditEvent.objects.filter(
        organisation_id=network.organisation_id,
        object_type="enquiry",
        object_id=str(enquiry.pk),
    ).order_by("at", "pk")
    return timeline_for(events, network, actor)


def timeline_for(events: Iterable[Any], network: Network, actor: Actor) -> list[Any]:
    """An enquiry's audit events as the actor may see them: a referral event's changes without
    what `referral_field_visible` hides (the events are changed in memory, never saved)."""
    inbox_worker: bool | None = None
    shown = []
    for event in events:
        changes = event.changes if isinstance(event.changes, dict) else {}
        if str(event.action).startswith("referral_") and changes:
            organisation = changes.get("organisation")
            slug = organisation[-1] if isinstance(organisation, list) and organisation else None
            ours = slug == actor.organisation.slug
            if not ours and inbox_worker is None:
                inbox_worker = _works_the_inbox(network, actor)
            event.changes = {
                field: change
                for field, change in changes.items()
                if referral_field_visible(field, ours=ours, inbox_worker=bool(inbox_worker))
            }
        shown.append(event)
    return shown


def _works_the_inbox(network: Network, actor: Actor) -> bool:
    return is_coordinator(network, actor) or is_chair(network, actor)


def referrals_out(rows: Iterable[Referral], actor: Actor) -> list[dict[str, Any]]:
    """Many referrals as the actor may see them, asking who works each network's inbox once."""
    workers: dict[int, bool] = {}
    out = []
    for referral in rows:
        if referral.network_id not in workers:
            workers[referral.network_id] = _works_the_inbox(referral.network, actor)
        out.append(referral_out(referral, actor, inbox_worker=workers[referral.network_id]))
    return out
