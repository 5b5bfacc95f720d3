"""The skills directory (docs/network-directory.md): the network's skills taxonomy, each
member's skills (and its people's), its profile and documents, and case studies.

Who sees what: every member of the network sees the directory; a member's `accounts` text and
its accounts documents are seen by that member, the coordinator, and through the bids it is in.
A member edits its own entry; the coordinator edits anyone's and keeps the taxonomy. Writes are
audited in the network's books.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ProblemList
from salesline.core.text import text_problem

from .access import is_coordinator, member_networks
from .models import (
    CaseStudy,
    CaseStudyFile,
    MemberDocument,
    MemberProfile,
    MemberSkill,
    Network,
    NetworkMember,
    PersonSkill,
    Skill,
)

MAX_FILE_BYTES = 20 * 1024 * 1024
PROFILE_TEXT = {"summary": 20_000, "rates": 20_000, "policies": 50_000, "accounts": 20_000}
PROFILE_DECIMALS = ("day_rate", "annual_turnover", "min_project_value", "max_project_value")


# ---------------------------------------------------------------- networks and members


def member_get(*, network: Network, slug: str) -> Organisation:
    """A member organisation of `network` by slug (NotFound for anything else)."""
    member = (
        NetworkMember.objects.filter(
            network=network, organisation__slug=str(slug), left_at__isnull=True
        )
        .select_related("organisation")
        .first()
    )
    if member is None:
        raise NotFound(f"No member '{slug}' in {network.slug}.")
    return member.organisation


def _require_editor(network: Network, actor: Actor, organisation: Organisation) -> None:
    if actor.organisation.pk == organisation.pk or is_coordinator(network, actor):
        return
    raise PermissionDenied(
        "Only the member itself or the network coordinator may change its directory entry."
    )


def can_see_accounts(network: Network, actor: Actor, organisation: Organisation) -> bool:
    """A member's accounts: the member itself and the coordinator (bids show them to the bid's
    members through the bid pack)."""
    return actor.organisation.pk == organisation.pk or is_coordinator(network, actor)


def _books(network: Network, actor: Actor) -> Actor:
    from .access import network_actor

    return network_actor(network, actor)


# ---------------------------------------------------------------- the taxonomy


def skill_list(*, network: Network, q: str = "") -> QuerySet[Skill]:
    rows = Skill.objects.filter(network=network).select_related("parent")
    if q:
        rows = rows.filter(Q(key__icontains=q) | Q(name__icontains=q))
    return rows.order_by("key")


def skill_create(
    *,
    actor: Actor,
    network: Network,
    key: str,
    name: str,
    parent_key: str | None = None,
    description: str = "",
) -> Skill:
    """A skill of the taxonomy (the coordinator's); a key already used is a 409."""
    from django.utils.text import slugify

    if not is_coordinator(network, actor):
        raise PermissionDenied("Only the network coordinator keeps the skills taxonomy.")
    problems = ProblemList()
    key = (key or "").strip()
    if not key or slugify(key) != key.lower() or len(key) > 80:
        problems.add(("key",), "Key must be a slug of at most 80 characters (a-z, 0-9, -).")
    key = key.lower()
    name = (name or "").strip()
    if not name:
        problems.add(("name",), "Name is required.")
    elif reason := text_problem(name, max_length=120):
        problems.add(("name",), f"Name {reason}.")
    if reason := text_problem(description or "", max_length=500):
        problems.add(("description",), f"Description {reason}.")
    parent = None
    if parent_key:
        parent = Skill.objects.filter(network=network, key=str(parent_key)).first()
        if parent is None:
            problems.add(("parent",), f"No skill '{parent_key}' in the taxonomy.")
    problems.raise_if_any("The skill was not added.")
    try:
        with transaction.atomic():
            skill = Skill.objects.create(
                network=network, key=key, name=name, parent=parent, description=description or ""
            )
            audit.record(
                actor=_books(network, actor),
                action="create",
                obj=skill,
                changes={"key": [None, key], "name": [None, name]},
            )
    except IntegrityError as exc:
        raise Conflict(f"The skill '{key}' is already in the taxonomy.") from exc
    return skill


# ---------------------------------------------------------------- member skills


def _skills_by_key(network: Network, keys: Sequence[str]) -> dict[str, Skill]:
    return {s.key: s for s in Skill.objects.filter(network=network, key__in=list(keys))}


def _checked_levels(
    network: Network, rows: Sequence[Mapping[str, Any]], problems: ProblemList, prefix: str
) -> list[tuple[int, Skill, int, Mapping[str, Any]]]:
    keys = [str(row.get("skill") or "") for row in rows]
    known = _skills_by_key(network, keys)
    checked = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        key = str(row.get("skill") or "")
        level = row.get("level")
        skill = known.get(key)
        if skill is None:
            problems.add((prefix, index, "skill"), f"Unknown skill '{key[:80]}'.")
        elif key in seen:
            problems.add((prefix, index, "skill"), f"The skill '{key}' is given twice.")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            problems.add((prefix, index, "level"), "Level must be a whole number from 1 to 5.")
        elif skill is not None:
            checked.append((index, skill, level, row))
        seen.add(key)
    return checked


def member_skills_replace(
    *, actor: Actor, network: Network, org_slug: str, skills: Sequence[Mapping[str, Any]]
) -> list[MemberSkill]:
    """Replace a member's skills with `skills` ([{skill: key, level: 1..5}]); every unknown key
    and bad level is named at once and nothing changes."""
    organisation = member_get(network=network, slug=org_slug)
    _require_editor(network, actor, organisation)
    problems = ProblemList()
    checked = _checked_levels(network, skills, problems, "skills")
    problems.raise_if_any("The skills were not saved.")
    with transaction.atomic():
        rows = MemberSkill.objects.filter(network=network, organisation=organisation)
        before = dict(rows.values_list("skill__key", "level"))
        rows.delete()
        created = MemberSkill.objects.bulk_create(
            MemberSkill(network=network, organisation=organisation, skill=skill, level=level)
            for _, skill, level, _ in checked
        )
        after = {skill.key: level for _, skill, level, _ in checked}
        audit.record(
            actor=_books(network, actor),
            action="member_skills_replace",
            object_type="networkmember",
            object_id=organisation.pk,
            object_repr=organisation.slug,
            changes={"skills": [before, after]},
        )
    return created


def member_skills(*, network: Network, organisation: Organisation) -> list[MemberSkill]:
    return list(
        MemberSkill.objects.filter(network=network, organisation=organisation)
        .select_related("skill")
        .order_by("-level", "skill__key")
    )


def person_skills_replace(
    *, actor: Actor, network: Network, org_slug: str, people: Sequence[Mapping[str, Any]]
) -> list[PersonSkill]:
    """Replace the skills of a member's people: [{person: name, skill: key, level: 1..5}]."""
    organisation = member_get(network=network, slug=org_slug)
    _require_editor(network, actor, organisation)
    problems = ProblemList()
    keyed = []
    for index, row in enumerate(people):
        person = str(row.get("person") or "").strip()
        if not person:
            problems.add(("people", index, "person"), "The person's name is required.")
        elif reason := text_problem(person, max_length=200):
            problems.add(("people", index, "person"), f"Name {reason}.")
        keyed.append(person)
    checked = _checked_levels(network, people, ProblemList(), "people")
    level_problems = ProblemList()
    _checked_levels_unique_by_person(network, people, level_problems)
    problems.problems.extend(level_problems.problems)
    problems.raise_if_any("The people's skills were not saved.")
    with transaction.atomic():
        PersonSkill.objects.filter(network=network, organisation=organisation).delete()
        created = PersonSkill.objects.bulk_create(
            PersonSkill(
                network=network,
                organisation=organisation,
                person_name=keyed[index],
                skill=skill,
                level=level,
            )
            for index, skill, level, _ in checked
        )
        audit.record(
            actor=_books(network, actor),
            action="person_skills_replace",
            object_type="networkmember",
            object_id=organisation.pk,
            object_repr=organisation.slug,
            changes={"people": [None, len(created)]},
        )
    return created


def _checked_levels_unique_by_person(
    network: Network, rows: Sequence[Mapping[str, Any]], problems: ProblemList
) -> None:
    known = _skills_by_key(network, [str(row.get("skill") or "") for row in rows])
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        key = str(row.get("skill") or "")
        level = row.get("level")
        if key not in known:
            problems.add(("people", index, "skill"), f"Unknown skill '{key[:80]}'.")
        pair = (str(row.get("person") or "").strip(), key)
        if pair in seen:
            problems.add(("people", index, "skill"), f"{pair[0]} has '{key}' twice.")
        seen.add(pair)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            problems.add(("people", index, "level"), "Level must be a whole number from 1 to 5.")


# ---------------------------------------------------------------- profiles and documents


def profile_of(*, network: Network, organisation: Organisation) -> MemberProfile:
    """The member's profile (an empty, unsaved one when it has written none)."""
    return MemberProfile.objects.filter(
        network=network, organisation=organisation
    ).first() or MemberProfile(network=network, organisation=organisation)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    number = Decimal(str(value).replace(",", ""))
    if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
        raise InvalidOperation
    return number


def profile_update(
    *, actor: Actor, network: Network, org_slug: str, data: Mapping[str, Any]
) -> MemberProfile:
    """Change the fields given of a member's profile (summary, website, staff_count, day_rate,
    currency, rates, policies, accounts, annual_turnover, available_from, min/max project
    value); every problem at once."""
    import datetime as dt

    organisation = member_get(network=network, slug=org_slug)
    _require_editor(network, actor, organisation)
    problems = ProblemList()
    values: dict[str, Any] = {}
    for name, limit in PROFILE_TEXT.items():
        if name in data:
            text = str(data[name] or "")
            if reason := text_problem(text, max_length=limit, multiline=True):
                problems.add((name,), f"{name.capitalize()} {reason}.")
            values[name] = text
    if "website" in data:
        website = str(data["website"] or "").strip()
        if website and not website.startswith(("https://", "http://")):
            problems.add(("website",), "Website must start with https:// or http://.")
        values["website"] = website[:500]
    if "currency" in data:
        currency = str(data["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            problems.add(("currency",), "Currency must be a three-letter ISO code.")
        values["currency"] = currency
    if "staff_count" in data:
        staff = data["staff_count"]
        if staff is not None and (
            isinstance(staff, bool) or not isinstance(staff, int) or not 0 <= staff < 10**6
        ):
            problems.add(("staff_count",), "Staff count must be a whole number.")
        values["staff_count"] = staff
    for name in PROFILE_DECIMALS:
        if name in data:
            try:
                values[name] = _decimal(data[name])
            except (InvalidOperation, ValueError):
                problems.add((name,), f"{name.replace('_', ' ').capitalize()} must be a number.")
    if "available_from" in data:
        raw = data["available_from"]
        if raw in (None, ""):
            values["available_from"] = None
        elif isinstance(raw, dt.date):
            values["available_from"] = raw
        else:
            try:
                values["available_from"] = dt.date.fromisoformat(str(raw))
            except ValueError:
                problems.add(("available_from",), "Available from must be a date YYYY-MM-DD.")
    low = values.get("min_project_value")
    high = values.get("max_project_value")
    if isinstance(low, Decimal) and isinstance(high, Decimal) and low > high:
        problems.add(("max_project_value",), "The maximum is below the minimum project value.")
    problems.raise_if_any("The profile was not saved.")
    with transaction.atomic():
        profile, _ = MemberProfile.objects.select_for_update().get_or_create(
            network=network, organisation=organisation
        )
        changes = {}
        for name, value in values.items():
            before = getattr(profile, name)
            if before != value:
                changes[name] = [_plain(before), _plain(value)]
                setattr(profile, name, value)
        if changes:
            profile.updated_at = timezone.now()
            profile.save(update_fields=[*values, "updated_at"])
            if "accounts" in changes:
                changes["accounts"] = ["(private)", "(private)"]
            audit.record(
                actor=_books(network, actor),
                action="update",
                obj=profile,
                changes=changes,
            )
    return profile


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def document_add(
    *,
    actor: Actor,
    network: Network,
    org_slug: str,
    kind: str,
    title: str,
    file_name: str,
    content: bytes,
    content_type: str = "",
) -> MemberDocument:
    """A file of a member's entry (a policy, its accounts, a rate card), kept in storage."""
    organisation = member_get(network=network, slug=org_slug)
    _require_editor(network, actor, organisation)
    problems = ProblemList()
    if kind not in MemberDocument.Kind.values:
        problems.add(("kind",), f"Kind must be one of {', '.join(MemberDocument.Kind.values)}.")
    title = (title or file_name or "").strip()
    if reason := text_problem(title, max_length=200):
        problems.add(("title",), f"Title {reason}.")
    _file_problems(file_name, content, problems)
    problems.raise_if_any("The document was not added.")
    with transaction.atomic():
        document = MemberDocument(
            network=network,
            organisation=organisation,
            kind=kind,
            title=title,
            file_name=safe_file_name(file_name),
            content_type=(content_type or "")[:255],
        )
        document.file.save(safe_file_name(file_name)[:100], ContentFile(content), save=False)
        document.save(force_insert=True)
        audit.record(
            actor=_books(network, actor),
            action="create",
            obj=document,
            changes={"kind": [None, kind], "title": [None, title]},
        )
    return document


def _file_problems(file_name: str, content: bytes, problems: ProblemList) -> None:
    if not (file_name or "").strip():
        problems.add(("file",), "A file is required.")
    if len(content) > MAX_FILE_BYTES:
        problems.add(("file",), f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")


def safe_file_name(name: str) -> str:
    """A file's name without any directory part or character a ZIP or a disk would mind."""
    base = (name or "file").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isalnum() or c in "._- " else "_" for c in base).strip(" .")
    return cleaned[:200] or "file"


def download_response(content: bytes, content_type: str, file_name: str) -> HttpResponse:
    """A file to download (the API's and the pages' one answer): an attachment under a safe
    name, never sniffed as something else."""
    response = HttpResponse(content, content_type=content_type or "application/octet-stream")
    safe = safe_file_name(file_name).replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def documents_visible(
    *, actor: Actor, network: Network, organisation: Organisation
) -> list[MemberDocument]:
    rows = MemberDocument.objects.filter(network=network, organisation=organisation)
    if not can_see_accounts(network, actor, organisation):
        rows = rows.exclude(kind=MemberDocument.Kind.ACCOUNTS)
    return list(rows.order_by("kind", "title"))


def document_get_for(*, actor: Actor, document_id: int) -> MemberDocument:
    """A document the actor may download (accounts: the member and the coordinator)."""
    document = (
        MemberDocument.objects.filter(pk=document_id, network__in=member_networks(actor))
        .select_related("network", "organisation")
        .first()
    )
    if document is None or (
        document.kind == MemberDocument.Kind.ACCOUNTS
        and not can_see_accounts(document.network, actor, document.organisation)
    ):
        raise NotFound(f"No document #{document_id}.")
    return document


# ---------------------------------------------------------------- case studies


def case_study_create(
    *, actor: Actor, network: Network, data: Mapping[str, Any], org_slug: str | None = None
) -> CaseStudy:
    """A case study of a member (the actor's own organisation unless the coordinator names
    another): client, title, summary, skills (keys), value, currency, year."""
    organisation = member_get(network=network, slug=org_slug or actor.organisation.slug)
    _require_editor(network, actor, organisation)
    problems = ProblemList()
    texts = {}
    for name, limit, required in (
        ("title", 200, True),
        ("client", 200, True),
        ("summary", 20_000, True),
    ):
        text = str(data.get(name) or "").strip()
        if required and not text:
            problems.add((name,), f"{name.capitalize()} is required.")
        elif reason := text_problem(text, max_length=limit, multiline=name == "summary"):
            problems.add((name,), f"{name.capitalize()} {reason}.")
        texts[name] = text
    keys = [str(k) for k in (data.get("skills") or [])]
    known = _skills_by_key(network, keys)
    for index, key in enumerate(keys):
        if key not in known:
            problems.add(("skills", index), f"Unknown skill '{key[:80]}'.")
    value = None
    try:
        value = _decimal(data.get("value"))
    except (InvalidOperation, ValueError):
        problems.add(("value",), "Value must be a number.")
    currency = str(data.get("currency") or "GBP").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.add(("currency",), "Currency must be a three-letter ISO code.")
    year = data.get("year")
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200
    ):
        problems.add(("year",), "Year must be a year such as 2024.")
    problems.raise_if_any("The case study was not added.")
    with transaction.atomic():
        study = CaseStudy.objects.create(
            network=network,
            organisation=organisation,
            value=value,
            currency=currency,
            year=year,
            **texts,
        )
        study.skills.set(known.values())
        audit.record(
            actor=_books(network, actor),
            action="create",
            obj=study,
            changes={"title": [None, texts["title"]], "organisation": [None, organisation.slug]},
        )
    return study


def case_study_get_for(*, actor: Actor, case_study_id: int) -> CaseStudy:
    study = (
        CaseStudy.objects.filter(pk=case_study_id, network__in=member_networks(actor))
        .select_related("network", "organisation")
        .first()
    )
    if study is None:
        raise NotFound(f"No case study #{case_study_id}.")
    return study


def case_study_file_add(
    *, actor: Actor, case_study_id: int, file_name: str, content: bytes, content_type: str = ""
) -> CaseStudyFile:
    study = case_study_get_for(actor=actor, case_study_id=case_study_id)
    _require_editor(study.network, actor, study.organisation)
    problems = ProblemList()
    _file_problems(file_name, content, problems)
    problems.raise_if_any("The file was not added.")
    with transaction.atomic():
        stored = CaseStudyFile(
            case_study=study,
            file_name=safe_file_name(file_name),
            content_type=(content_type or "")[:255],
        )
        stored.file.save(safe_file_name(file_name)[:100], ContentFile(content), save=False)
        stored.save(force_insert=True)
        audit.record(
            actor=_books(study.network, actor),
            action="file_add",
            obj=study,
            changes={"file": [None, stored.file_name]},
        )
    return stored


def case_study_list(
    *,
    network: Network,
    skill: str = "",
    q: str = "",
    org_slug: str = "",
) -> QuerySet[CaseStudy]:
    rows = CaseStudy.objects.filter(network=network).select_related("organisation", "network")
    if skill:
        rows = rows.filter(skills__key=skill)
    if org_slug:
        rows = rows.filter(organisation__slug=org_slug)
    if q:
        rows = rows.filter(
            Q(title__icontains=q)
            | Q(client__icontains=q)
            | Q(summary__icontains=q)
            | Q(skills__name__icontains=q)
        )
    return rows.prefetch_related("skills", "files").distinct().order_by("-year", "title", "pk")


# ---------------------------------------------------------------- the directory


@dataclass
class DirectoryEntry:
    organisation: Organisation
    profile: MemberProfile
    skills: list[MemberSkill] = field(default_factory=list)
    people: list[PersonSkill] = field(default_factory=list)
    case_studies: list[CaseStudy] = field(default_factory=list)
    documents: list[MemberDocument] = field(default_factory=list)
    accounts_visible: bool = False


def directory_list(
    *, actor: Actor, network: Network, skill: str = "", q: str = ""
) -> list[DirectoryEntry]:
    """The members (with their skills, profile and case studies) having `skill` and matching
    `q` (name, summary, skills, case studies); a fixed number of queries."""
    members = NetworkMember.objects.filter(network=network, left_at__isnull=True)
    if skill:
        members = members.filter(
            Q(
                organisation__in=MemberSkill.objects.filter(
                    network=network, skill__key=skill
                ).values("organisation")
            )
            | Q(
                organisation__in=CaseStudy.objects.filter(
                    network=network, skills__key=skill
                ).values("organisation")
            )
        )
    if q:
        members = members.filter(
            Q(organisation__name__icontains=q)
            | Q(organisation__slug__icontains=q)
            | Q(
                organisation__in=MemberProfile.objects.filter(
                    network=network, summary__icontains=q
                ).values("organisation")
            )
            | Q(
                organisation__in=MemberSkill.objects.filter(network=network)
                .filter(Q(skill__name__icontains=q) | Q(skill__key__icontains=q))
                .values("organisation")
            )
            | Q(
                organisation__in=CaseStudy.objects.filter(network=network)
                .filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(client__icontains=q))
                .values("organisation")
            )
        )
    organisations = [
        m.organisation
        for m in members.select_related("organisation").order_by("organisation__name")
    ]
    return _entries(actor=actor, network=network, organisations=organisations)


def _entries(
    *, actor: Actor, network: Network, organisations: list[Organisation]
) -> list[DirectoryEntry]:
    ids = [o.pk for o in organisations]
    profiles = {
        p.organisation_id: p
        for p in MemberProfile.objects.filter(network=network, organisation_id__in=ids)
    }
    entries = {
        o.pk: DirectoryEntry(
            organisation=o,
            profile=profiles.get(o.pk) or MemberProfile(network=network, organisation=o),
            accounts_visible=can_see_accounts(network, actor, o),
        )
        for o in organisations
    }
    for row in (
        MemberSkill.objects.filter(network=network, organisation_id__in=ids)
        .select_related("skill")
        .order_by("-level", "skill__key")
    ):
        entries[row.organisation_id].skills.append(row)
    for person in (
        PersonSkill.objects.filter(network=network, organisation_id__in=ids)
        .select_related("skill")
        .order_by("person_name", "skill__key")
    ):
        entries[person.organisation_id].people.append(person)
    for study in (
        CaseStudy.objects.filter(network=network, organisation_id__in=ids)
        .select_related("organisation", "network")
        .prefetch_related("skills", "files")
        .order_by("-year", "title")
    ):
        entries[study.organisation_id].case_studies.append(study)
    for document in MemberDocument.objects.filter(
        network=network, organisation_id__in=ids
    ).order_by("kind", "title"):
        entry = entries[document.organisation_id]
        if document.kind != MemberDocument.Kind.ACCOUNTS or entry.accounts_visible:
            entry.documents.append(document)
    return [entries[o.pk] for o in organisations]


def directory_entry(*, actor: Actor, network: Network, org_slug: str) -> DirectoryEntry:
    organisation = member_get(network=network, slug=org_slug)
    return _entries(actor=actor, network=network, organisations=[organisation])[0]


def profile_out(profile: MemberProfile, *, accounts_visible: bool) -> dict[str, Any]:
    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "summary": profile.summary,
        "website": profile.website,
        "staff_count": profile.staff_count,
        "day_rate": number(profile.day_rate),
        "currency": profile.currency,
        "rates": profile.rates,
        "policies": profile.policies,
        "accounts": profile.accounts if accounts_visible else None,
        "annual_turnover": number(profile.annual_turnover) if accounts_visible else None,
        "available_from": profile.available_from,
        "min_project_value": number(profile.min_project_value),
        "max_project_value": number(profile.max_project_value),
    }
