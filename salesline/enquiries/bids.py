"""Joint bids (docs/network-directory.md): chosen members, a lead member who carries the risk,
a tender, and the bid pack — a PDF and a ZIP of the source files — with the members' case
studies, skills, policies, rates and accounts, and the PQQ answered from the directory.

A bid is seen by its members and the coordinator; to anyone else it does not exist (404). Naming
a member in a bid does not share its accounts: each member named confirms taking part
(`bid_confirm`, by its own users; the creator's organisation is confirmed at creation) and may
withdraw (`bid_withdraw`). Until it confirms, the pack leaves out its accounts — text, turnover
and accounts documents — and lists "awaiting <member>'s confirmation" under what is missing.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList
from salesline.core.spreadsheets import neutralise
from salesline.core.text import text_problem

from .access import member_networks, network_actor, network_for
from .directory import safe_file_name
from .eligibility import money
from .models import (
    Bid,
    CaseStudy,
    Enquiry,
    MemberDocument,
    MemberProfile,
    MemberSkill,
    NetworkMember,
)
from .pqq import CaseStudyFacts, MemberPack, PqqAnswer, answer_questions

MAX_QUESTIONS = 200


def bid_create(*, actor: Actor, data: Mapping[str, Any]) -> Bid:
    """Any member creates a bid: `members` (slugs), `lead_member` among them, `title`,
    `questions`; optional `network`, `tender`, `deadline`, `enquiry_id`. Every problem at once."""
    network = network_for(actor=actor, slug=data.get("network") or None)
    problems = ProblemList()
    slugs = [str(s) for s in data.get("members") or []]
    lead_slug = str(data.get("lead_member") or "")
    title = str(data.get("title") or "").strip()
    if not title:
        problems.add(("title",), "Title is required.")
    elif reason := text_problem(title, max_length=200):
        problems.add(("title",), f"Title {reason}.")
    tender = str(data.get("tender") or "")
    if reason := text_problem(tender, max_length=50_000, multiline=True):
        problems.add(("tender",), f"Tender {reason}.")
    questions = [str(q).strip() for q in data.get("questions") or []]
    if len(questions) > MAX_QUESTIONS:
        problems.add(("questions",), f"At most {MAX_QUESTIONS} questions.")
    for index, question in enumerate(questions):
        if not question:
            problems.add(("questions", index), "A question is empty.")
        elif reason := text_problem(question, max_length=2000, multiline=True):
            problems.add(("questions", index), f"Question {reason}.")
    members = dict(
        NetworkMember.objects.filter(
            network=network, left_at__isnull=True, organisation__slug__in=slugs
        ).values_list("organisation__slug", "organisation_id")
    )
    if not slugs:
        problems.add(("members",), "Choose at least one member.")
    for index, slug in enumerate(slugs):
        if slug not in members:
            problems.add(("members", index), f"'{slug[:80]}' is not a member of {network.slug}.")
        elif slug in slugs[:index]:
            problems.add(("members", index), f"'{slug}' is named twice.")
    if not lead_slug:
        problems.add(("lead_member",), "The lead member is required.")
    elif lead_slug not in slugs:
        problems.add(("lead_member",), "The lead member must be one of the members.")
    deadline = data.get("deadline")
    if deadline is not None and not isinstance(deadline, date):
        try:
            deadline = date.fromisoformat(str(deadline))
        except ValueError:
            problems.add(("deadline",), "Deadline must be a date YYYY-MM-DD.")
            deadline = None
    enquiry = None
    if data.get("enquiry_id") is not None:
        enquiry = Enquiry.objects.filter(pk=data["enquiry_id"], network=network).first()
        if enquiry is None:
            problems.add(("enquiry_id",), f"No enquiry #{data['enquiry_id']} in {network.slug}.")
    problems.raise_if_any("The bid was not created.")
    with transaction.atomic():
        bid = Bid.objects.create(
            network=network,
            title=title,
            tender=tender,
            deadline=deadline,
            enquiry=enquiry,
            lead_member_id=members[lead_slug],
            questions=questions,
            created_by=actor.user,
        )
        bid.members.set(members[slug] for slug in slugs)
        confirmed = [slug for slug in slugs if members[slug] == actor.organisation.pk]
        if confirmed:
            bid.confirmed_members.add(actor.organisation.pk)
        audit.record(
            actor=network_actor(network, actor),
            action="create",
            obj=bid,
            changes={
                "title": [None, title],
                "members": [None, slugs],
                "lead_member": [None, lead_slug],
                "confirmed_members": [None, confirmed],
            },
        )
    return bid


def _own_part(*, actor: Actor, bid_id: int, doing: str) -> Bid:
    """The bid, when the actor's organisation is named in it: only a member's own users confirm
    or withdraw its part (the coordinator cannot for others)."""
    bid = bid_get_for(actor=actor, bid_id=bid_id)
    if not any(o.pk == actor.organisation.pk for o in bid.members.all()):
        raise PermissionDenied(f"Only a member named in the bid may {doing} taking part.")
    return bid


def bid_confirm(*, actor: Actor, bid_id: int) -> Bid:
    """The actor's organisation confirms taking part: its accounts go into the pack. Confirming
    again changes nothing (and records nothing)."""
    bid = _own_part(actor=actor, bid_id=bid_id, doing="confirm")
    with transaction.atomic():
        through = Bid.confirmed_members.through
        if not through.objects.filter(bid=bid, organisation=actor.organisation).exists():
            bid.confirmed_members.add(actor.organisation)
            audit.record(
                actor=network_actor(bid.network, actor),
                action="bid_confirm",
                obj=bid,
                changes={"confirmed": [None, actor.organisation.slug]},
            )
    return bid


def bid_withdraw(*, actor: Actor, bid_id: int) -> Bid:
    """The actor's organisation withdraws its confirmation: its accounts leave the pack."""
    bid = _own_part(actor=actor, bid_id=bid_id, doing="withdraw from")
    with transaction.atomic():
        removed, _ = Bid.confirmed_members.through.objects.filter(
            bid=bid, organisation=actor.organisation
        ).delete()
        if removed:
            audit.record(
                actor=network_actor(bid.network, actor),
                action="bid_withdraw",
                obj=bid,
                changes={"confirmed": [actor.organisation.slug, None]},
            )
    return bid


def bid_list(*, actor: Actor) -> QuerySet[Bid]:
    """The bids the actor's organisation is in, and every bid of a network it coordinates."""
    networks = member_networks(actor)
    coordinated = networks.filter(coordinator=actor.user) if actor.user is not None else None
    condition = Q(members=actor.organisation)
    if coordinated is not None:
        condition |= Q(network__in=coordinated)
    return (
        Bid.objects.filter(network__in=networks)
        .filter(condition)
        .distinct()
        .select_related("network", "lead_member")
        .prefetch_related("members", "confirmed_members")
        .order_by("-created_at", "-pk")
    )


def bid_get_for(*, actor: Actor, bid_id: int) -> Bid:
    bid = bid_list(actor=actor).filter(pk=bid_id).first()
    if bid is None:
        raise NotFound(f"No bid #{bid_id}.")
    return bid


def bid_out(bid: Bid) -> dict[str, Any]:
    return {
        "id": bid.pk,
        "network": bid.network.slug,
        "title": bid.title,
        "tender": bid.tender,
        "deadline": bid.deadline,
        "enquiry_id": bid.enquiry_id,
        "lead_member": bid.lead_member.slug,
        "members": sorted(m.slug for m in bid.members.all()),
        "confirmed_members": sorted(m.slug for m in bid.confirmed_members.all()),
        "questions": list(bid.questions or []),
        "created_at": bid.created_at,
    }


# ---------------------------------------------------------------- the pack


@dataclass
class BidPack:
    bid: Bid
    members: list[MemberPack]
    answers: list[PqqAnswer]
    documents: list[MemberDocument]
    case_studies: list[CaseStudy]
    # The members named that have not confirmed taking part (their accounts are left out).
    awaiting: list[str]

    @property
    def missing(self) -> list[str]:
        seen: list[str] = [f"awaiting {name}'s confirmation" for name in self.awaiting]
        for answer in self.answers:
            for item in answer.missing:
                line = f"{answer.question}: {item}"
                if line not in seen:
                    seen.append(line)
        return seen


def bid_pack(*, actor: Actor, bid_id: int) -> BidPack:
    """The bid's members as the directory holds them and the questionnaire answered; a fixed
    number of queries. A member's accounts (text, turnover, accounts documents) are in only
    once it has confirmed taking part."""
    bid = bid_get_for(actor=actor, bid_id=bid_id)
    network = bid.network
    organisations = sorted(bid.members.all(), key=lambda o: (o.pk != bid.lead_member_id, o.name))
    ids = [o.pk for o in organisations]
    confirmed = {o.pk for o in bid.confirmed_members.all()}
    profiles = {
        p.organisation_id: p
        for p in MemberProfile.objects.filter(network=network, organisation_id__in=ids)
    }
    skills: dict[int, list[tuple[str, int]]] = {i: [] for i in ids}
    for org_id, name, level in (
        MemberSkill.objects.filter(network=network, organisation_id__in=ids)
        .order_by("-level", "skill__name")
        .values_list("organisation_id", "skill__name", "level")
    ):
        skills[org_id].append((name, level))
    studies = list(
        CaseStudy.objects.filter(network=network, organisation_id__in=ids)
        .select_related("organisation")
        .prefetch_related("skills", "files")
        .order_by("organisation__name", "-year", "title")
    )
    documents = [
        d
        for d in MemberDocument.objects.filter(network=network, organisation_id__in=ids)
        .select_related("organisation")
        .order_by("organisation__name", "kind", "title")
        if d.organisation_id in confirmed or d.kind != MemberDocument.Kind.ACCOUNTS
    ]
    packs = []
    for organisation in organisations:
        profile = profiles.get(organisation.pk) or MemberProfile()
        shares_accounts = organisation.pk in confirmed
        low, high = profile.min_project_value, profile.max_project_value
        values = ""
        if low is not None or high is not None:
            lowest = money(low, profile.currency) or "any"
            values = f"{lowest} to {money(high, profile.currency) or 'any'}"
        packs.append(
            MemberPack(
                slug=organisation.slug,
                name=organisation.name,
                lead=organisation.pk == bid.lead_member_id,
                confirmed=shares_accounts,
                summary=profile.summary,
                website=profile.website,
                staff_count=profile.staff_count,
                day_rate=money(profile.day_rate, profile.currency),
                rates=profile.rates,
                policies=profile.policies,
                accounts=profile.accounts if shares_accounts else "",
                annual_turnover=(
                    money(profile.annual_turnover, profile.currency) if shares_accounts else ""
                ),
                available_from=profile.available_from.isoformat() if profile.available_from else "",
                project_values=values,
                skills=tuple(skills[organisation.pk]),
                case_studies=tuple(
                    CaseStudyFacts(
                        title=s.title,
                        client=s.client,
                        summary=s.summary,
                        skills=tuple(k.name for k in s.skills.all()),
                        value=money(s.value, s.currency),
                        year=s.year,
                    )
                    for s in studies
                    if s.organisation_id == organisation.pk
                ),
                documents=tuple(
                    (d.kind, d.title) for d in documents if d.organisation_id == organisation.pk
                ),
            )
        )
    answers = answer_questions(list(bid.questions or []), packs)
    return BidPack(
        bid=bid,
        members=packs,
        answers=answers,
        documents=documents,
        case_studies=studies,
        awaiting=[o.name for o in organisations if o.pk not in confirmed],
    )


def pack_html(pack: BidPack) -> str:
    return render_to_string(
        "enquiries/bid_pack.html",
        {"pack": pack, "bid": pack.bid, "generated_at": timezone.now()},
    )


def pack_pdf(pack: BidPack) -> bytes:
    from salesline.core.pdf import html_to_pdf

    return html_to_pdf(pack_html(pack))


def pqq_csv(pack: BidPack) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "topic", "answer", "missing"])
    for answer in pack.answers:
        writer.writerow(
            [
                neutralise(answer.question),
                neutralise(answer.topic),
                neutralise(answer.answer),
                neutralise("\n".join(answer.missing)),
            ]
        )
    return out.getvalue()


def pqq_markdown(pack: BidPack) -> str:
    lines = [f"# {pack.bid.title}: pre-qualification questionnaire", ""]
    if pack.awaiting:
        lines += [*(f"- awaiting {name}'s confirmation" for name in pack.awaiting), ""]
    for number, answer in enumerate(pack.answers, start=1):
        lines += [f"## {number}. {answer.question}", "", answer.answer or "_Not answered._", ""]
        if answer.missing:
            lines += ["Missing:", *(f"- {item}" for item in answer.missing), ""]
    return "\n".join(lines)


def members_json(pack: BidPack) -> str:
    def member(m: MemberPack) -> dict[str, Any]:
        return {
            "slug": m.slug,
            "name": m.name,
            "lead": m.lead,
            "confirmed": m.confirmed,
            "summary": m.summary,
            "website": m.website,
            "staff_count": m.staff_count,
            "day_rate": m.day_rate,
            "rates": m.rates,
            "policies": m.policies,
            "accounts": m.accounts,
            "annual_turnover": m.annual_turnover,
            "available_from": m.available_from,
            "project_values": m.project_values,
            "skills": [{"skill": name, "level": level} for name, level in m.skills],
            "case_studies": [
                {
                    "title": s.title,
                    "client": s.client,
                    "summary": s.summary,
                    "skills": list(s.skills),
                    "value": s.value,
                    "year": s.year,
                }
                for s in m.case_studies
            ],
            "documents": [{"kind": kind, "title": title} for kind, title in m.documents],
        }

    return json.dumps(
        {
            "bid": {"id": pack.bid.pk, "title": pack.bid.title, "tender": pack.bid.tender},
            "members": [member(m) for m in pack.members],
        },
        indent=2,
        ensure_ascii=False,
    )


def pack_zip(pack: BidPack) -> bytes:
    """The source files: each member's documents and case-study files, pqq.csv, pqq.md,
    members.json and the PDF."""
    buffer = io.BytesIO()
    used: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            stem, dot, ext = name.rpartition(".")
            candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
        used.add(candidate)
        return candidate

    slugs = {m.slug for m in pack.members}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(unique("bid-pack.pdf"), pack_pdf(pack))
        archive.writestr(unique("pqq.csv"), pqq_csv(pack))
        archive.writestr(unique("pqq.md"), pqq_markdown(pack))
        archive.writestr(unique("members.json"), members_json(pack))
        for document in pack.documents:
            slug = document.organisation.slug
            if slug not in slugs:
                continue
            with document.file.open("rb") as handle:
                archive.writestr(
                    unique(f"{slug}/{document.kind}/{safe_file_name(document.file_name)}"),
                    handle.read(),
                )
        for study in pack.case_studies:
            for stored in study.files.all():
                with stored.file.open("rb") as handle:
                    archive.writestr(
                        unique(
                            f"{study.organisation.slug}/case-studies/"
                            f"{safe_file_name(stored.file_name)}"
                        ),
                        handle.read(),
                    )
    return buffer.getvalue()


def bid_pack_downloaded(*, actor: Actor, bid: Bid, kind: str) -> None:
    """Who downloaded a pack is kept (it holds the confirmed members' accounts)."""
    audit.record(
        actor=network_actor(bid.network, actor),
        action="bid_pack_download",
        obj=bid,
        changes={"kind": [None, kind], "by_org": [None, actor.organisation.slug]},
    )
