"""A network's skills directory, hand-over of leads by skills and joint bids
(docs/network-directory.md): /skills, /members/{slug}/skills|profile|people-skills|documents,
/directory, /case-studies, /enquiries/{id}/referral-candidates|referrals, /referrals, /bids.

Network-level: for members of the network only; anyone else gets 404. When the caller's
organisation is a member of several networks, `network` (a query parameter, or a body field
where there is a body) names the one meant; with one network it may be left out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import BaseModel

from salesline.core.errors import ProblemList
from salesline.enquiries import access, directory, referrals
from salesline.enquiries import bids as bid_services
from salesline.enquiries.selectors import enquiry_get_for

from .common import actor_of
from .schemas import Strict

skills_router = Router(tags=["network directory"])
member_directory = Router(tags=["network directory"])
directory_router = Router(tags=["network directory"])
case_studies = Router(tags=["network directory"])
enquiry_referrals = Router(tags=["referrals"])
referrals_router = Router(tags=["referrals"])
bids_router = Router(tags=["joint bids"])


# ---------------------------------------------------------------- schemas


class NetworkQuery(Schema):
    network: str | None = Field(None, description="the network's slug (when several)")


class SkillQuery(Schema):
    network: str | None = None
    q: str = Field("", max_length=200)


class SkillIn(Strict):
    key: str = Field(..., max_length=200)
    name: str = Field(..., max_length=500)
    parent: str | None = Field(None, description="the broader skill's key")
    description: str = Field("", max_length=2000)
    network: str | None = None


class SkillOut(BaseModel):
    key: str
    name: str
    parent: str | None
    description: str


class SkillList(BaseModel):
    items: list[SkillOut]
    count: int


class LevelIn(Strict):
    skill: str = Field(..., max_length=200)
    level: Any = Field(..., description="1 (some) to 5 (expert)")


class MemberSkillsIn(Strict):
    skills: list[LevelIn] = Field(..., max_length=1000)
    network: str | None = None


class MemberSkillOut(BaseModel):
    skill: str
    name: str
    level: int


class MemberSkillsOut(BaseModel):
    org: str
    skills: list[MemberSkillOut]


class PersonLevelIn(Strict):
    person: str = Field(..., max_length=500)
    skill: str = Field(..., max_length=200)
    level: Any = None


class PeopleSkillsIn(Strict):
    people: list[PersonLevelIn] = Field(..., max_length=5000)
    network: str | None = None


class ProfileIn(Strict):
    summary: str | None = None
    website: str | None = None
    staff_count: Any = None
    day_rate: Any = None
    currency: str | None = None
    rates: str | None = None
    policies: str | None = None
    accounts: str | None = Field(None, description="seen by the member, coordinator and bids")
    annual_turnover: Any = None
    available_from: Any = None
    min_project_value: Any = None
    max_project_value: Any = None
    network: str | None = None


class DirectoryQuery(Schema):
    network: str | None = None
    skill: str = Field("", max_length=200)
    q: str = Field("", max_length=200)


class CaseStudyQuery(Schema):
    network: str | None = None
    skill: str = Field("", max_length=200)
    q: str = Field("", max_length=200)
    org: str = Field("", max_length=200)


class CaseStudyIn(Strict):
    title: str = Field(..., max_length=1000)
    client: str = Field(..., max_length=1000)
    summary: str = Field(..., max_length=50_000)
    skills: list[str] = Field([], max_length=200)
    value: Any = None
    currency: str = "GBP"
    year: Any = None
    org: str | None = Field(None, description="the member (default: the caller's organisation)")
    network: str | None = None


class ReferralsIn(Strict):
    orgs: list[str] = Field(..., max_length=500)


class DeclineIn(Strict):
    reason: str = Field("", max_length=10_000)


class ReferralQuery(Schema):
    network: str | None = None
    to_us: bool = Field(False, description="only the referrals to the caller's organisation")


class BidIn(Strict):
    members: list[str] = Field(..., max_length=500)
    lead_member: str = Field(..., max_length=200)
    title: str = Field(..., max_length=1000)
    questions: list[str] = Field([], max_length=1000)
    network: str | None = None
    tender: str = Field("", max_length=100_000)
    deadline: dt.date | None = None
    enquiry_id: int | None = Field(None, ge=1, le=2**63 - 1)


# ---------------------------------------------------------------- helpers


def _skill_out(skill) -> dict[str, Any]:
    return {
        "key": skill.key,
        "name": skill.name,
        "parent": skill.parent.key if skill.parent_id else None,
        "description": skill.description,
    }


def _member_skills_out(org_slug: str, rows) -> dict[str, Any]:
    return {
        "org": org_slug,
        "skills": [{"skill": r.skill.key, "name": r.skill.name, "level": r.level} for r in rows],
    }


def _case_study_out(study) -> dict[str, Any]:
    return {
        "id": study.pk,
        "org": study.organisation.slug,
        "network": study.network.slug,
        "title": study.title,
        "client": study.client,
        "summary": study.summary,
        "skills": sorted(s.key for s in study.skills.all()),
        "value": None if study.value is None else float(study.value),
        "currency": study.currency,
        "year": study.year,
        "files": [
            {"id": f.pk, "file_name": f.file_name, "content_type": f.content_type}
            for f in study.files.all()
        ],
    }


def _document_out(document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "kind": document.kind,
        "title": document.title,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "created_at": document.created_at,
    }


def _entry_out(entry: directory.DirectoryEntry) -> dict[str, Any]:
    return {
        "org": entry.organisation.slug,
        "name": entry.organisation.name,
        "skills": [
            {"skill": r.skill.key, "name": r.skill.name, "level": r.level} for r in entry.skills
        ],
        "people": [
            {"person": p.person_name, "skill": p.skill.key, "level": p.level} for p in entry.people
        ],
        "profile": directory.profile_out(entry.profile, accounts_visible=entry.accounts_visible),
        "case_studies": [_case_study_out(s) for s in entry.case_studies],
        "documents": [_document_out(d) for d in entry.documents],
    }


def _read(upload: UploadedFile) -> bytes:
    if upload.size and upload.size > directory.MAX_FILE_BYTES:
        problems = ProblemList()
        problems.add(("file",), "The file is larger than 20 MB.")
        problems.raise_if_any("The file was not added.")
    return upload.read()


# ---------------------------------------------------------------- routes


def register(api) -> None:
    @skills_router.get("", response=SkillList, operation_id="list_skills", summary="Skills")
    def list_skills(request: HttpRequest, query: Query[SkillQuery]):
        """The network's skills taxonomy by key; `q` searches keys and names."""
        network = access.network_for(actor=actor_of(request), slug=query.network)
        rows = [_skill_out(s) for s in directory.skill_list(network=network, q=query.q)]
        return {"items": rows, "count": len(rows)}

    @skills_router.post(
        "",
        response={201: SkillOut},
        operation_id="create_skill",
        summary="Add a skill to the taxonomy (coordinator)",
    )
    def create_skill(request: HttpRequest, payload: SkillIn, query: Query[NetworkQuery]):
        """A key already in the taxonomy is a 409; an unknown `parent` a 422."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=payload.network or query.network)
        skill = directory.skill_create(
            actor=actor,
            network=network,
            key=payload.key,
            name=payload.name,
            parent_key=payload.parent,
            description=payload.description,
        )
        return Status(201, _skill_out(skill))

    @member_directory.get(
        "/{slug}/skills",
        response=MemberSkillsOut,
        operation_id="get_member_skills",
        summary="A network member's skills",
    )
    def get_member_skills(request: HttpRequest, slug: str, query: Query[NetworkQuery]):
        network = access.network_for(actor=actor_of(request), slug=query.network)
        organisation = directory.member_get(network=network, slug=slug)
        rows = directory.member_skills(network=network, organisation=organisation)
        return _member_skills_out(organisation.slug, rows)

    @member_directory.put(
        "/{slug}/skills",
        response=MemberSkillsOut,
        operation_id="replace_member_skills",
        summary="Replace a network member's skills (the member or the coordinator)",
    )
    def replace_member_skills(
        request: HttpRequest, slug: str, payload: MemberSkillsIn, query: Query[NetworkQuery]
    ):
        """`{"skills": [{"skill": key, "level": 1-5}]}` replaces them all; an unknown key or a
        bad level is a 422 naming each, and nothing changes."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=payload.network or query.network)
        directory.member_skills_replace(
            actor=actor,
            network=network,
            org_slug=slug,
            skills=[row.model_dump() for row in payload.skills],
        )
        organisation = directory.member_get(network=network, slug=slug)
        rows = directory.member_skills(network=network, organisation=organisation)
        return _member_skills_out(organisation.slug, rows)

    @member_directory.put(
        "/{slug}/people-skills",
        response=dict[str, Any],
        operation_id="replace_member_people_skills",
        summary="Replace the skills of a member's people",
    )
    def replace_people_skills(
        request: HttpRequest, slug: str, payload: PeopleSkillsIn, query: Query[NetworkQuery]
    ):
        """`{"people": [{"person": name, "skill": key, "level": 1-5}]}`."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=payload.network or query.network)
        rows = directory.person_skills_replace(
            actor=actor,
            network=network,
            org_slug=slug,
            people=[row.model_dump() for row in payload.people],
        )
        return {
            "org": slug,
            "people": [
                {"person": r.person_name, "skill": r.skill.key, "level": r.level} for r in rows
            ],
        }

    @member_directory.get(
        "/{slug}/profile",
        response=dict[str, Any],
        operation_id="get_member_profile",
        summary="A network member's directory entry",
    )
    def get_member_profile(request: HttpRequest, slug: str, query: Query[NetworkQuery]):
        """Skills, people, profile (summary, staff, rates, policies, capacity; `accounts` and
        `annual_turnover` are null unless the caller is the member or the coordinator), case
        studies and documents (accounts documents likewise)."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=query.network)
        return _entry_out(directory.directory_entry(actor=actor, network=network, org_slug=slug))

    @member_directory.put(
        "/{slug}/profile",
        response=dict[str, Any],
        operation_id="update_member_profile",
        summary="Change a network member's profile (the member or the coordinator)",
    )
    def update_member_profile(
        request: HttpRequest, slug: str, payload: ProfileIn, query: Query[NetworkQuery]
    ):
        """Only the fields sent change."""
        actor = actor_of(request)
        data = payload.model_dump(exclude_unset=True)
        network = access.network_for(actor=actor, slug=data.pop("network", None) or query.network)
        directory.profile_update(actor=actor, network=network, org_slug=slug, data=data)
        return _entry_out(directory.directory_entry(actor=actor, network=network, org_slug=slug))

    @member_directory.post(
        "/{slug}/documents",
        response={201: dict[str, Any]},
        operation_id="add_member_document",
        summary="Add a document (policy, accounts, rates, other) to a member's entry",
    )
    def add_member_document(
        request: HttpRequest,
        slug: str,
        file: File[UploadedFile],
        kind: Form[str],
        title: Form[str] = "",
        network: Form[str | None] = None,
    ):
        """Multipart: `file`, `kind` (policy, accounts, rates, other), `title`."""
        actor = actor_of(request)
        chosen = access.network_for(actor=actor, slug=network or request.GET.get("network"))
        document = directory.document_add(
            actor=actor,
            network=chosen,
            org_slug=slug,
            kind=kind,
            title=title,
            file_name=file.name or "document",
            content=_read(file),
            content_type=file.content_type or "",
        )
        return Status(201, _document_out(document))

    @member_directory.get(
        "/{slug}/documents/{document_id}",
        operation_id="download_member_document",
        summary="Download a member's document",
        response={200: None},
    )
    def download_member_document(request: HttpRequest, slug: str, document_id: int):
        document = directory.document_get_for(actor=actor_of(request), document_id=document_id)
        if document.organisation.slug != slug:
            from salesline.core.errors import NotFound

            raise NotFound(f"No document #{document_id}.")
        with document.file.open("rb") as handle:
            content = handle.read()
        return directory.download_response(content, document.content_type, document.file_name)

    @directory_router.get(
        "", response=dict[str, Any], operation_id="network_directory", summary="The directory"
    )
    def list_directory(request: HttpRequest, query: Query[DirectoryQuery]):
        """Members with their skills, profile, case studies and documents; `skill` (a key)
        and `q` (names, summaries, skills, case studies) narrow it."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=query.network)
        entries = directory.directory_list(
            actor=actor, network=network, skill=query.skill, q=query.q
        )
        return {"items": [_entry_out(e) for e in entries], "count": len(entries)}

    @case_studies.get(
        "", response=dict[str, Any], operation_id="list_case_studies", summary="Case studies"
    )
    def list_case_studies(request: HttpRequest, query: Query[CaseStudyQuery]):
        """`skill` (a key), `q` (title, client, summary, skill names), `org` (a member)."""
        network = access.network_for(actor=actor_of(request), slug=query.network)
        rows = [
            _case_study_out(s)
            for s in directory.case_study_list(
                network=network, skill=query.skill, q=query.q, org_slug=query.org
            )
        ]
        return {"items": rows, "count": len(rows)}

    @case_studies.post(
        "",
        response={201: dict[str, Any]},
        operation_id="create_case_study",
        summary="Add a case study (the member's own; the coordinator's for anyone)",
    )
    def create_case_study(request: HttpRequest, payload: CaseStudyIn, query: Query[NetworkQuery]):
        """`skills` are taxonomy keys; files are added with `POST /case-studies/{id}/files`."""
        actor = actor_of(request)
        data = payload.model_dump()
        network = access.network_for(actor=actor, slug=data.pop("network") or query.network)
        study = directory.case_study_create(
            actor=actor, network=network, data=data, org_slug=data.pop("org")
        )
        return Status(201, _case_study_out(study))

    @case_studies.get(
        "/{case_study_id}",
        response=dict[str, Any],
        operation_id="get_case_study",
        summary="A case study",
    )
    def get_case_study(request: HttpRequest, case_study_id: int):
        return _case_study_out(
            directory.case_study_get_for(actor=actor_of(request), case_study_id=case_study_id)
        )

    @case_studies.post(
        "/{case_study_id}/files",
        response={201: dict[str, Any]},
        operation_id="add_case_study_file",
        summary="Attach a file to a case study (multipart `file`)",
    )
    def add_case_study_file(request: HttpRequest, case_study_id: int, file: File[UploadedFile]):
        stored = directory.case_study_file_add(
            actor=actor_of(request),
            case_study_id=case_study_id,
            file_name=file.name or "file",
            content=_read(file),
            content_type=file.content_type or "",
        )
        return Status(
            201,
            {"id": stored.pk, "file_name": stored.file_name, "content_type": stored.content_type},
        )

    @case_studies.get(
        "/{case_study_id}/files/{file_id}",
        operation_id="download_case_study_file",
        summary="Download a case study's file",
        response={200: None},
    )
    def download_case_study_file(request: HttpRequest, case_study_id: int, file_id: int):
        from salesline.core.errors import NotFound

        study = directory.case_study_get_for(actor=actor_of(request), case_study_id=case_study_id)
        stored = study.files.filter(pk=file_id).first()
        if stored is None:
            raise NotFound(f"No file #{file_id}.")
        with stored.file.open("rb") as handle:
            content = handle.read()
        return directory.download_response(content, stored.content_type, stored.file_name)

    # ------------------------------------------------------------ referrals

    @enquiry_referrals.get(
        "/{enquiry_id}/referral-candidates",
        response=list[dict[str, Any]],
        operation_id="enquiry_referral_candidates",
        summary="Members ranked for a lead, with the reasons (chair or coordinator)",
    )
    def referral_candidates(request: HttpRequest, enquiry_id: int):
        """`[{"org": slug, "score": s, "reasons": [...]}]`, best first."""
        candidates = referrals.candidates_for(actor=actor_of(request), enquiry_id=enquiry_id)
        return [{"org": c.org, "score": c.score, "reasons": list(c.reasons)} for c in candidates]

    @enquiry_referrals.post(
        "/{enquiry_id}/referrals",
        response={201: dict[str, Any]},
        operation_id="create_enquiry_referrals",
        summary="Refer a lead to members (chair or coordinator)",
    )
    def create_referrals(request: HttpRequest, enquiry_id: int, payload: ReferralsIn):
        """`{"orgs": [slug, ...]}`. The enquiry must be a lead (status `lead`), else 409; a
        member already referred this lead is a 409 (nothing is created)."""
        actor = actor_of(request)
        created = referrals.referrals_create(
            actor=actor, enquiry_id=enquiry_id, org_slugs=payload.orgs
        )
        rows = referrals.referrals_out(created, actor)
        return Status(201, {"items": rows, "count": len(rows)})

    @enquiry_referrals.get(
        "/{enquiry_id}/referrals",
        response=dict[str, Any],
        operation_id="list_enquiry_referrals",
        summary="A lead's referrals and their status",
    )
    def list_enquiry_referrals(request: HttpRequest, enquiry_id: int):
        actor = actor_of(request)
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
        rows = referrals.referrals_out(
            referrals.referral_list(actor=actor).filter(enquiry=enquiry), actor
        )
        return {"items": rows, "count": len(rows)}

    @referrals_router.get(
        "", response=dict[str, Any], operation_id="list_referrals", summary="Referrals"
    )
    def list_referrals(request: HttpRequest, query: Query[ReferralQuery]):
        """The referrals of the caller's networks; `to_us=true`: those to its organisation."""
        actor = actor_of(request)
        network = access.network_for(actor=actor, slug=query.network) if query.network else None
        rows = referrals.referral_list(actor=actor, network=network)
        if query.to_us:
            rows = rows.filter(organisation=actor.organisation)
        items = referrals.referrals_out(rows[:500], actor)
        return {"items": items, "count": len(items)}

    @referrals_router.get(
        "/{referral_id}", response=dict[str, Any], operation_id="get_referral", summary="A referral"
    )
    def get_referral(request: HttpRequest, referral_id: int):
        """`opportunity_id` is shown to the referred member only."""
        actor = actor_of(request)
        return referrals.referral_out(
            referrals.referral_get_for(actor=actor, referral_id=referral_id), actor
        )

    @referrals_router.post(
        "/{referral_id}/accept",
        response=dict[str, Any],
        operation_id="accept_referral",
        summary="Accept a referral: an opportunity in your own pipeline",
    )
    def accept_referral(request: HttpRequest, referral_id: int):
        """A user of the referred member; answers the new `opportunity_id`. Twice: 409."""
        actor = actor_of(request)
        referral, opportunity = referrals.referral_accept(actor=actor, referral_id=referral_id)
        return {**referrals.referral_out(referral, actor), "opportunity_id": opportunity.pk}

    @referrals_router.post(
        "/{referral_id}/decline",
        response=dict[str, Any],
        operation_id="decline_referral",
        summary="Decline a referral, saying why",
    )
    def decline_referral(request: HttpRequest, referral_id: int, payload: DeclineIn):
        """`{"reason": "..."}` (required: 422 without)."""
        actor = actor_of(request)
        referral = referrals.referral_decline(
            actor=actor, referral_id=referral_id, reason=payload.reason
        )
        return referrals.referral_out(referral, actor)

    @referrals_router.post(
        "/{referral_id}/withdraw",
        response=dict[str, Any],
        operation_id="withdraw_referral",
        summary="Withdraw an offered referral (chair or coordinator)",
    )
    def withdraw_referral(request: HttpRequest, referral_id: int):
        """An offered referral becomes `withdrawn`; a decided one is a 409."""
        actor = actor_of(request)
        referral = referrals.referral_withdraw(actor=actor, referral_id=referral_id)
        return referrals.referral_out(referral, actor)

    # ------------------------------------------------------------ bids

    @bids_router.post(
        "", response={201: dict[str, Any]}, operation_id="create_bid", summary="Start a joint bid"
    )
    def create_bid(request: HttpRequest, payload: BidIn):
        """Any member: `members` (slugs), `lead_member` among them, `title`, `questions`
        (the PQQ); optional `network`, `tender`, `deadline`, `enquiry_id`. 422 names every
        problem."""
        bid = bid_services.bid_create(actor=actor_of(request), data=payload.model_dump())
        return Status(201, bid_services.bid_out(bid))

    @bids_router.get("", response=dict[str, Any], operation_id="list_bids", summary="Joint bids")
    def list_bids(request: HttpRequest):
        """The bids the caller's organisation is in (the coordinator: all of the network's)."""
        rows = [bid_services.bid_out(b) for b in bid_services.bid_list(actor=actor_of(request))]
        return {"items": rows, "count": len(rows)}

    @bids_router.get(
        "/{bid_id}", response=dict[str, Any], operation_id="get_bid", summary="A joint bid"
    )
    def get_bid(request: HttpRequest, bid_id: int):
        """With the PQQ answered from the directory (`pqq`) and what is `missing`."""
        pack = bid_services.bid_pack(actor=actor_of(request), bid_id=bid_id)
        return {
            **bid_services.bid_out(pack.bid),
            "pqq": [
                {
                    "question": a.question,
                    "topic": a.topic,
                    "answer": a.answer,
                    "missing": list(a.missing),
                }
                for a in pack.answers
            ],
            "missing": pack.missing,
        }

    @bids_router.post(
        "/{bid_id}/confirm",
        response=dict[str, Any],
        operation_id="confirm_bid",
        summary="Confirm your organisation takes part in a bid (shares its accounts in the pack)",
    )
    def confirm_bid(request: HttpRequest, bid_id: int):
        """By a user of a member named in the bid, for its own organisation only (403
        otherwise; the coordinator cannot confirm for others). Again: no change."""
        bid = bid_services.bid_confirm(actor=actor_of(request), bid_id=bid_id)
        return bid_services.bid_out(
            bid_services.bid_get_for(actor=actor_of(request), bid_id=bid.pk)
        )

    @bids_router.post(
        "/{bid_id}/withdraw",
        response=dict[str, Any],
        operation_id="withdraw_bid",
        summary="Withdraw your organisation's confirmation (its accounts leave the pack)",
    )
    def withdraw_bid(request: HttpRequest, bid_id: int):
        bid = bid_services.bid_withdraw(actor=actor_of(request), bid_id=bid_id)
        return bid_services.bid_out(
            bid_services.bid_get_for(actor=actor_of(request), bid_id=bid.pk)
        )

    @bids_router.get(
        "/{bid_id}/pack.pdf",
        operation_id="bid_pack_pdf",
        summary="The bid pack (PDF)",
        response={200: None},
    )
    def bid_pack_pdf(request: HttpRequest, bid_id: int):
        actor = actor_of(request)
        pack = bid_services.bid_pack(actor=actor, bid_id=bid_id)
        content = bid_services.pack_pdf(pack)
        bid_services.bid_pack_downloaded(actor=actor, bid=pack.bid, kind="pdf")
        return directory.download_response(content, "application/pdf", f"bid-{bid_id}-pack.pdf")

    @bids_router.get(
        "/{bid_id}/pack.zip",
        operation_id="bid_pack_zip",
        summary="The bid pack's source files (ZIP)",
        response={200: None},
    )
    def bid_pack_zip(request: HttpRequest, bid_id: int):
        """Each member's documents and case-study files, pqq.csv, pqq.md, members.json and
        the PDF."""
        actor = actor_of(request)
        pack = bid_services.bid_pack(actor=actor, bid_id=bid_id)
        content = bid_services.pack_zip(pack)
        bid_services.bid_pack_downloaded(actor=actor, bid=pack.bid, kind="zip")
        return directory.download_response(content, "application/zip", f"bid-{bid_id}-pack.zip")

    api.add_router("/skills", skills_router)
    api.add_router("/members", member_directory)
    api.add_router("/directory", directory_router)
    api.add_router("/case-studies", case_studies)
    api.add_router("/enquiries", enquiry_referrals)
    api.add_router("/referrals", referrals_router)
    api.add_router("/bids", bids_router)
