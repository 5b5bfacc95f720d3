"""Lead conversion: a lead becomes a person and a company — matched, not duplicated — and
optionally an opportunity. The lead's details go with it: a new person takes them, an existing
one gets the lines it lacks. One atomic service; a second conversion is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ValidationFailed
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.process.selectors import definition_for
from salesline.records import matching
from salesline.records import services as record_services
from salesline.records.fields import KINDS
from salesline.records.models import Company, Lead, Person

from .services import opportunity_create


@dataclass(frozen=True)
class ConversionMatches:
    """What a conversion would link to instead of creating (shown before committing)."""

    person: Person | None
    person_reason: str
    company: Company | None
    company_reason: str


def find_matches(*, actor: Actor, lead: Lead) -> ConversionMatches:
    people = Person.objects.filter(organisation=actor.organisation, deleted_at=None)
    companies = Company.objects.filter(organisation=actor.organisation, deleted_at=None)
    company, company_reason = None, ""
    domain = matching.company_domain(lead.email)
    if domain:
        company = companies.filter(email_domain=domain).order_by("id").first()
        company_reason = f"e-mail domain {domain}" if company else ""
    if company is None and lead.company_name.strip():
        key = matching.company_match_name(lead.company_name)
        company = companies.filter(match_name=key).order_by("id").first() if key else None
        company_reason = f"company name '{lead.company_name}'" if company else ""
    person, person_reason = None, ""
    if lead.email.strip():
        email = matching.email_key(lead.email)
        person = people.filter(email=email).order_by("id").first()
        person_reason = f"e-mail {email}" if person else ""
    if person is None and company is not None and lead.name.strip():
        person = (
            people.filter(company=company, search_name=matching.search_key(lead.name))
            .order_by("id")
            .first()
        )
        person_reason = f"name '{lead.name}' at {company.name}" if person else ""
    return ConversionMatches(person, person_reason, company, company_reason)


def lead_company_data(lead: Lead) -> dict[str, Any]:
    """What a new company takes from the lead (the conversion form starts from it)."""
    return {
        "name": lead.company_name,
        "business_unit": lead.business_unit,
        "email_domain": matching.company_domain(lead.email),
    }


def lead_person_data(lead: Lead) -> dict[str, Any]:
    """What a new person takes from the lead: its details too (a second e-mail or phone an
    import kept there, an address, background)."""
    return {
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "business_unit": lead.business_unit,
        "linkedin": lead.linkedin,
        "details": lead.details,
    }


def lead_attribution(lead: Lead) -> dict[str, Any]:
    """The source and campaign an opportunity converted from `lead` is credited to. A campaign
    deleted since is left out (an opportunity cannot point at a deleted campaign)."""
    attribution: dict[str, Any] = {}
    if lead.source:
        attribution["source"] = lead.source
    if (
        lead.campaign_id is not None
        and lead.campaign is not None
        and lead.campaign.deleted_at is None
    ):
        attribution["campaign_id"] = lead.campaign_id
    return attribution


def merged_details(existing: str, incoming: str) -> str:
    """A person's details with the lines of `incoming` they lack added after them: nothing
    the person has is lost or reordered, and a line both hold is kept once."""
    have = {line.strip() for line in existing.splitlines() if line.strip()}
    added = []
    for line in incoming.splitlines():
        if line.strip() and line.strip() not in have:
            have.add(line.strip())
            added.append(line.rstrip())
    if not added:
        return existing
    return "\n".join(part for part in (existing.rstrip(), *added) if part)


def _carry_details(actor: Actor, person: Person, lead_details: str) -> None:
    """Add the lead's details to an existing person's (locked, versioned, audited, announced):
    only the details change, so the person's other fields are not checked again."""
    kind = KINDS["person"]
    person = record_services.lock_for_update(actor=actor, kind=kind, record_id=person.pk)
    details = merged_details(person.details, lead_details)
    problems = record_services.ProblemList()
    changes = record_services.apply_changes(
        actor=actor, kind=kind, obj=person, data={"details": details}, problems=problems
    )
    problems.raise_if_any("The lead was not converted.")
    if changes:
        record_services.save_changed(person, changes, kind)
        audit.record(actor=actor, action="update", obj=person, changes=changes)
        record_services.record_changed(actor=actor, obj=person, change="updated", fields=changes)


def _prefixed(problems: list[Problem], prefix: str) -> list[Problem]:
    return [Problem(loc=(prefix, *p.loc), msg=p.msg, type=p.type, stage=p.stage) for p in problems]


def _validated(actor: Actor, kind: str, data: dict[str, Any], prefix: str) -> None:
    """Raise ValidationFailed (fields prefixed, e.g. company.market) unless `data` would save."""
    kind_def = KINDS[kind]
    probe = kind_def.model(organisation=actor.organisation)
    problems = record_services.ProblemList()
    spec = definition_for(actor.organisation)
    record_services.apply_changes(
        actor=actor, kind=kind_def, obj=probe, data=data, problems=problems, spec=spec
    )
    record_services.add_missing_minimum_fields(
        actor=actor, kind=kind_def, obj=probe, problems=problems, spec=spec
    )
    if problems:
        raise ValidationFailed(problems=_prefixed(problems.problems, prefix))


def _chosen(actor: Actor, model, record_id: Any, field: str, problems: list[Problem]):
    """The live record of the organisation the user chose, or a problem naming `field`."""
    noun = model._meta.verbose_name
    text = str(record_id).strip()
    if not text:
        problems.append(
            Problem(loc=(field,), msg=f"Choose a {noun}, or create a new one.", type="missing")
        )
        return None
    found = None
    if text.isdecimal() and is_id(int(text)):
        found = model.objects.filter(
            organisation=actor.organisation, pk=int(text), deleted_at=None
        ).first()
    if found is None:
        problems.append(Problem(loc=(field,), msg=f"No {noun} with id {text} to link to."))
    return found


def lead_convert(
    *,
    actor: Actor,
    lead_id: Any,
    person: Mapping[str, Any] | None = None,
    company: Mapping[str, Any] | None = None,
    pipeline: str | None = None,
    opportunity: Mapping[str, Any] | None = None,
    link_person: bool = True,
    link_company: bool = True,
    person_id: Any = None,
    company_id: Any = None,
) -> Lead:
    """Convert a lead. The payload objects supply what the lead lacks; all missing minimum
    fields of person, company and opportunity are reported together (nothing is written).

    `link_person`/`link_company` False create a new record even when a match exists (the user
    looked at the match and said it is someone else). `person_id`/`company_id` link that
    record of the organisation instead of any match (the user chose another one); given but
    empty, they are a choice not made, and refused."""
    with transaction.atomic():
        # The row lock makes a concurrent second conversion wait, then see converted_at set.
        lead = record_services.lock_for_update(actor=actor, kind=KINDS["lead"], record_id=lead_id)
        if lead.converted_at is not None:
            raise Conflict(
                f"Lead #{lead.pk} was already converted on {lead.converted_at:%Y-%m-%d} "
                f"(person #{lead.converted_person_id}, company #{lead.converted_company_id})."
            )
        matches = find_matches(actor=actor, lead=lead)
        if not link_person:
            matches = replace(matches, person=None, person_reason="")
        if not link_company:
            matches = replace(matches, company=None, company_reason="")
        chosen_problems: list[Problem] = []
        if company_id is not None:
            company_chosen = _chosen(actor, Company, company_id, "company_id", chosen_problems)
            matches = replace(matches, company=company_chosen, company_reason="chosen")
        if person_id is not None:
            person_chosen = _chosen(actor, Person, person_id, "person_id", chosen_problems)
            matches = replace(matches, person=person_chosen, person_reason="chosen")
        if chosen_problems:
            raise ValidationFailed("The lead was not converted.", chosen_problems)
        company_data = {**lead_company_data(lead), **(company or {})}
        person_data = {**lead_person_data(lead), **(person or {})}
        problems: list[Problem] = []
        if matches.company is None:
            try:
                _validated(actor, "company", company_data, "company")
            except ValidationFailed as exc:
                problems.extend(exc.problems)
        if matches.person is None:
            probe_company = matches.company.pk if matches.company else None
            # The company does not exist yet; stand in a real id only for the reference check.
            data = {**person_data, "company_id": probe_company}
            try:
                _validated(actor, "person", data, "person")
            except ValidationFailed as exc:
                problems.extend(
                    p
                    for p in exc.problems
                    if not (p.loc[1:] == ("company_id",) and not probe_company)
                )
        carries_details = matches.person is not None and bool(lead.details.strip())
        if matches.person is not None and carries_details:
            carried = merged_details(matches.person.details, lead.details)
            reason = text_problem(carried, max_length=LONG_TEXT_MAX, multiline=True)
            if reason:
                problems.append(
                    Problem(
                        loc=("person", "details"),
                        msg=f"Details of {matches.person.name} with the lead's added {reason}; "
                        "shorten either first.",
                    )
                )
        if problems:
            raise ValidationFailed("The lead was not converted.", problems)

        target_company = matches.company or cast(
            Company, record_services.record_create(actor=actor, kind="company", data=company_data)
        )
        target_person = matches.person
        if target_person is not None and carries_details:
            _carry_details(actor, target_person, lead.details)
        if target_person is None:
            target_person = cast(
                Person,
                record_services.record_create(
                    actor=actor,
                    kind="person",
                    data={**person_data, "company_id": target_company.pk},
                ),
            )
        created_opportunity = None
        if pipeline or opportunity:
            opportunity_data = {
                "name": f"{target_company.name} - {lead.name}",
                # First touch: the deal is credited to what brought the lead in, unless the
                # payload says otherwise (see docs/metrics.md, "Campaigns and costs").
                **lead_attribution(lead),
                **(opportunity or {}),
                "company_id": target_company.pk,
                "primary_contact_id": target_person.pk,
            }
            if pipeline:
                opportunity_data["pipeline"] = pipeline
            try:
                created_opportunity = opportunity_create(actor=actor, data=opportunity_data)
            except ValidationFailed as exc:
                # A bad top-level `pipeline` is reported where it was given, not under opportunity.
                problems = [
                    p
                    if pipeline and p.loc[:1] == ("pipeline",)
                    else _prefixed([p], "opportunity")[0]
                    for p in exc.problems
                ]
                raise ValidationFailed("The lead was not converted.", problems) from None
        lead.converted_at = timezone.now()
        lead.converted_person = target_person
        lead.converted_company = target_company
        lead.converted_opportunity = created_opportunity
        lead.version += 1
        lead.save(
            update_fields=[
                "converted_at",
                "converted_person",
                "converted_company",
                "converted_opportunity",
                "version",
            ]
        )
        audit.record(
            actor=actor,
            action="convert",
            obj=lead,
            changes={
                "person_id": [None, target_person.pk],
                "company_id": [None, target_company.pk],
                "opportunity_id": [None, created_opportunity.pk if created_opportunity else None],
                "matched": [
                    None,
                    {"person": matches.person_reason, "company": matches.company_reason},
                ],
            },
        )
        events.emit(
            actor=actor,
            kind="lead_converted",
            obj=lead,
            payload={
                "person_id": target_person.pk,
                "company_id": target_company.pk,
                "opportunity_id": created_opportunity.pk if created_opportunity else None,
            },
        )
    return lead
