"""Triage of an enquiry by the chair on duty or the coordinator: its category, the answers to
the category's questions and the sales criteria, the verdict (eligibility.py), the lead in the
network pipeline for a feasible sales enquiry, the decline drafted for one that is not; the
canned replies and the category's next-steps checklist. docs/triage-and-rota.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ValidationFailed
from salesline.core.mail_requests import request_mail
from salesline.core.text import text_problem
from salesline.records.services import record_create

from . import access
from .eligibility import BUDGET_MAX, AbleMember, Assessment, assess_sales, budget_too_big, money
from .intake import reply_values
from .models import (
    Category,
    Enquiry,
    EnquiryStatus,
    MemberProfile,
    MemberSkill,
    Network,
    Skill,
)
from .network_rules import rules_for
from .rules import NetworkRules, TriageCategory, render_reply
from .selectors import enquiry_get_for

#: What the triage answers may hold (the contract's), with their limits.
ANSWER_TEXT_MAX = {"timescale": 500, "technology": 1000, "brief": 10_000}
MAX_SKILLS = 50


@dataclass(frozen=True)
class SuggestedReply:
    template: str
    subject: str
    body: str

    def as_dict(self) -> dict[str, str]:
        return {"template": self.template, "subject": self.subject, "body": self.body}


@dataclass(frozen=True)
class TriageResult:
    enquiry: Enquiry
    eligible: bool
    reasons: tuple[str, ...]
    suggested_reply: SuggestedReply | None
    lead_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "suggested_reply": self.suggested_reply.as_dict() if self.suggested_reply else None,
            "lead_id": self.lead_id,
        }


# ------------------------------------------------------------------------- reads


def able_members(network: Network, skills: Sequence[str]) -> list[AbleMember]:
    """The member organisations with at least one of `skills` (every member when none)."""
    organisations = [member.organisation for member in access.members_of(network)]
    if skills:
        with_skill = set(
            MemberSkill.objects.filter(
                network=network, skill__key__in=list(skills), organisation__in=organisations
            ).values_list("organisation_id", flat=True)
        )
        organisations = [org for org in organisations if org.pk in with_skill]
    profiles = {
        profile.organisation_id: profile
        for profile in MemberProfile.objects.filter(network=network, organisation__in=organisations)
    }
    able = []
    for org in organisations:
        profile = profiles.get(org.pk)
        able.append(
            AbleMember(
                name=org.name,
                min_project_value=profile.min_project_value if profile else None,
                staff_count=profile.staff_count if profile else None,
            )
        )
    return able


def suggested_reply_for(
    network: Network, enquiry: Enquiry, category: TriageCategory | None, key: str
) -> SuggestedReply | None:
    reply = category.reply(key) if category and key else None
    if reply is None:
        return None
    values = reply_values(network, enquiry)
    return SuggestedReply(
        template=reply.key,
        subject=render_reply(reply.subject, values),
        body=render_reply(reply.body, values),
    )


def suggested_key(
    rules: NetworkRules, category: TriageCategory | None, eligible: bool | None, country: str = ""
) -> str:
    """The reply suggested (the pages and the API agree): sales by its verdict (when there is
    one); joining from a country outside the membership rules' countries: their ineligible
    reply (the signpost); else the category's own."""
    if category is None:
        return ""
    if category.key == Category.SALES and eligible is not None:
        return rules.sales.feasible_reply if eligible else rules.sales.decline_reply
    countries = rules.membership.countries
    if (
        category.key == Category.JOINING
        and country
        and countries
        and country.upper() not in countries
        and category.reply(rules.membership.ineligible_reply) is not None
    ):
        return rules.membership.ineligible_reply
    return category.suggested_reply


def triage_scripts(network: Network) -> dict[str, Any]:
    """The triage scripts in force for `network` (its rules): per category its guidance
    (Markdown), next-steps checklist, questions to ask and canned replies, and the sales
    criteria. What the enquiry page shows, as data."""
    rules = rules_for(network)
    sales = rules.sales
    return {
        "network": network.slug,
        "categories": [
            {
                "key": category.key,
                "name": category.name,
                "guidance": category.guidance,
                "checklist": [{"key": i.key, "label": i.label} for i in category.checklist],
                "questions": list(category.questions),
                "replies": [
                    {"key": r.key, "subject": r.subject, "body": r.body} for r in category.replies
                ],
                "suggested_reply": category.suggested_reply or None,
            }
            for category in rules.triage
        ],
        "sales_criteria": {
            "required_answers": list(sales.required_answers),
            "value_per_staff": sales.value_per_staff,
            "currency": sales.currency,
            "decline_reply": sales.decline_reply or None,
            "feasible_reply": sales.feasible_reply or None,
        },
        "membership": {
            "countries": list(rules.membership.countries),
            "ineligible_reply": rules.membership.ineligible_reply or None,
        },
    }


# ------------------------------------------------------------------------- validation


def answers_problems(
    network: Network, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """The answers cleaned (text stripped, skills as known keys) and every problem at once."""
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    budget = answers.get("budget")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int | float | str | Decimal):
            problems.append(Problem(loc=("answers", "budget"), msg="Budget must be a number."))
        elif isinstance(budget, str) and (reason := text_problem(budget, max_length=40)):
            problems.append(Problem(loc=("answers", "budget"), msg=f"Budget {reason}."))
        elif budget_too_big(budget):
            problems.append(
                Problem(
                    loc=("answers", "budget"),
                    msg=f"Budget is too big: at most {money(BUDGET_MAX)}.",
                )
            )
        else:
            clean["budget"] = float(budget) if isinstance(budget, Decimal) else budget
    for key, limit in ANSWER_TEXT_MAX.items():
        value = answers.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(loc=("answers", key), msg=f"{key.capitalize()} must be text."))
        elif reason := text_problem(value, max_length=limit, multiline=key == "brief"):
            problems.append(Problem(loc=("answers", key), msg=f"{key.capitalize()} {reason}."))
        else:
            clean[key] = value.strip()
    skills = answers.get("skills")
    if skills is not None:
        if not isinstance(skills, list | tuple) or not all(isinstance(s, str) for s in skills):
            problems.append(
                Problem(loc=("answers", "skills"), msg="Skills must be a list of skill keys.")
            )
        elif len(skills) > MAX_SKILLS:
            problems.append(Problem(loc=("answers", "skills"), msg=f"At most {MAX_SKILLS} skills."))
        else:
            wanted = list(dict.fromkeys(skills))
            known = set(
                Skill.objects.filter(network=network, key__in=wanted).values_list("key", flat=True)
            )
            unknown = [key for key in wanted if key not in known]
            if unknown:
                problems.append(
                    Problem(
                        loc=("answers", "skills"),
                        msg="Unknown skill "
                        + ", ".join(f"'{key[:60]}'" for key in unknown[:10])
                        + " (not in the network's taxonomy).",
                    )
                )
            clean["skills"] = wanted
    return clean, problems


# ------------------------------------------------------------------------- writes


def _bump(enquiry: Enquiry, fields: list[str]) -> None:
    enquiry.updated_at = timezone.now()
    enquiry.version = F("version") + 1
    enquiry.save(update_fields=[*fields, "updated_at", "version"])
    enquiry.refresh_from_db(fields=["version"])


def _lead_for(network: Network, actor: Actor, enquiry: Enquiry, answers: Mapping[str, Any]):
    budget = answers.get("budget")
    description = "\n".join(
        line
        for line in (
            f"Enquiry {enquiry.reference}",
            f"Budget: {budget}" if budget is not None else "",
            f"Timescale: {answers.get('timescale')}" if answers.get("timescale") else "",
            f"Technology: {answers.get('technology')}" if answers.get("technology") else "",
            f"Skills: {', '.join(answers['skills'])}" if answers.get("skills") else "",
            f"Brief: {answers.get('brief')}" if answers.get("brief") else "",
        )
        if line
    )
    return record_create(
        actor=access.network_actor(network, actor),
        kind="lead",
        data={
            "name": (enquiry.name or enquiry.organisation_name or enquiry.email or "")[:255]
            or enquiry.reference,
            "email": enquiry.email,
            "company_name": enquiry.organisation_name,
            "source": "network enquiry",
            "description": description[:10_000],
        },
        minimum_fields=False,
    )


def enquiry_triage(
    *, actor: Actor, enquiry_id: int, category: str, answers: Mapping[str, Any]
) -> TriageResult:
    """Record the category, the answers and the verdict. Sales: a feasible enquiry becomes a
    lead in the network pipeline (once, however often it is triaged again); one that is not
    feasible gets the decline drafted (a draft for the chair to review, never sent here)."""
    if category not in Category.values:
        raise ValidationFailed(
            "The enquiry was not triaged.",
            [Problem(loc=("category",), msg=f"Unknown category '{str(category)[:40]}'.")],
        )
    with transaction.atomic():
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id, lock=True)
        network = enquiry.network
        access.require_chair_or_coordinator(network, actor, "triage an enquiry")
        if enquiry.status == EnquiryStatus.CLOSED:
            raise Conflict(f"Enquiry {enquiry.reference} is closed.")
        clean, problems = answers_problems(network, answers or {})
        if problems:
            raise ValidationFailed("The enquiry was not triaged.", problems)
        rules = rules_for(network)
        triage_category = rules.category(category)
        assessment: Assessment | None = None
        if category == Category.SALES:
            assessment = assess_sales(
                clean, rules.sales, able_members(network, clean.get("skills") or [])
            )
            eligible, reasons = assessment.eligible, assessment.reasons
        else:
            eligible, reasons = True, ()
        if enquiry.lead_id is not None and not (category == Category.SALES and eligible):
            raise Conflict(
                f"Enquiry {enquiry.reference} is already lead {enquiry.lead_id} in the network's "
                "pipeline: it cannot be triaged "
                + ("as not feasible" if category == Category.SALES else f"as {category}")
                + "; close or decline the lead itself instead."
            )
        before = {
            "category": enquiry.category,
            "status": enquiry.status,
            "eligible": enquiry.eligible,
        }
        books_actor = access.network_actor(network, actor)
        decline_drafted = False
        status: str
        if category == Category.SALES:
            if eligible:
                if enquiry.lead_id is None:
                    enquiry.lead = _lead_for(network, actor, enquiry, clean)
                status = EnquiryStatus.LEAD
            else:
                decline_drafted = enquiry.status != EnquiryStatus.DECLINED
                status = EnquiryStatus.DECLINED
        elif enquiry.status in (EnquiryStatus.NEW, EnquiryStatus.TRIAGED):
            status = EnquiryStatus.TRIAGED
        elif enquiry.status == EnquiryStatus.DECLINED:
            status = EnquiryStatus.TRIAGED  # a declined sales enquiry re-triaged out of sales
        else:
            status = enquiry.status
        enquiry.category = category
        enquiry.answers = clean
        enquiry.eligible = eligible
        enquiry.reasons = list(reasons)
        enquiry.status = status
        enquiry.triaged_at = timezone.now()
        enquiry.triaged_by = actor.user
        if before["category"] != category:
            enquiry.checklist_done = []
        _bump(
            enquiry,
            [
                "category",
                "answers",
                "eligible",
                "reasons",
                "status",
                "triaged_at",
                "triaged_by",
                "lead",
                "checklist_done",
            ],
        )
        suggested = suggested_reply_for(
            network,
            enquiry,
            triage_category,
            suggested_key(rules, triage_category, eligible, enquiry.country),
        )
        if decline_drafted and suggested is not None and enquiry.email:
            request_mail(
                actor=books_actor,
                to=[enquiry.email],
                subject=suggested.subject,
                body=suggested.body,
                send=False,
                about=enquiry,
            )
        audit.record(
            actor=books_actor,
            action="triage",
            obj=enquiry,
            changes={
                "category": [before["category"] or None, category],
                "status": [before["status"], status],
                "eligible": [before["eligible"], eligible],
                "reasons": [None, list(reasons)],
                "lead_id": [None, enquiry.lead_id],
                "decline_drafted": [None, decline_drafted],
            },
        )
    return TriageResult(
        enquiry=enquiry,
        eligible=eligible,
        reasons=tuple(reasons),
        suggested_reply=suggested,
        lead_id=enquiry.lead_id,
    )


def enquiry_reply(
    *,
    actor: Actor,
    enquiry_id: int,
    template: str,
    subject: str | None = None,
    body: str | None = None,
    send: bool = True,
) -> Enquiry:
    """Send (or leave as a draft) one of the category's canned replies to the enquirer; the
    chair may edit the subject and body. Sending is the first response: status `replied`."""
    with transaction.atomic():
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id, lock=True)
        network = enquiry.network
        access.require_chair_or_coordinator(network, actor, "reply to an enquiry")
        if not enquiry.email:
            raise Conflict(f"Enquiry {enquiry.reference} has no e-mail address to reply to.")
        rules = rules_for(network)
        category = rules.category(enquiry.category) if enquiry.category else None
        reply = suggested_reply_for(network, enquiry, category, template)
        if reply is None:
            known = [r.key for r in category.replies] if category else []
            raise ValidationFailed(
                "The reply was not sent.",
                [
                    Problem(
                        loc=("template",),
                        msg=f"No reply '{str(template)[:60]}' for this enquiry's category"
                        + (f" (use {', '.join(known)})." if known else " (triage it first)."),
                    )
                ],
            )
        problems: list[Problem] = []
        subject = reply.subject if subject is None else subject.strip()
        body = reply.body if body is None else body
        if reason := text_problem(subject, max_length=255):
            problems.append(Problem(loc=("subject",), msg=f"Subject {reason}."))
        elif not subject:
            problems.append(Problem(loc=("subject",), msg="Subject is required."))
        if reason := text_problem(body, max_length=20_000, multiline=True):
            problems.append(Problem(loc=("body",), msg=f"Body {reason}."))
        elif not body.strip():
            problems.append(Problem(loc=("body",), msg="Body is required."))
        if problems:
            raise ValidationFailed("The reply was not sent.", problems)
        books_actor = access.network_actor(network, actor)
        request_mail(
            actor=books_actor,
            to=[enquiry.email],
            subject=subject,
            body=body,
            send=send,
            lead_id=enquiry.lead_id,
            about=enquiry,
        )
        fields: list[str] = []
        before_status = enquiry.status
        if send:
            if enquiry.first_response_at is None:
                enquiry.first_response_at = timezone.now()
                fields.append("first_response_at")
            if enquiry.status in (EnquiryStatus.NEW, EnquiryStatus.TRIAGED):
                enquiry.status = EnquiryStatus.REPLIED
                fields.append("status")
        if fields:
            _bump(enquiry, fields)
        audit.record(
            actor=books_actor,
            action="reply_sent" if send else "reply_drafted",
            obj=enquiry,
            changes={
                "template": [None, reply.template],
                "subject": [None, subject],
                "status": [before_status, enquiry.status],
            },
        )
    return enquiry


def enquiry_checklist_tick(*, actor: Actor, enquiry_id: int, done: Sequence[str]) -> Enquiry:
    """Set which of the category's next steps are done (the keys given; others not done)."""
    with transaction.atomic():
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id, lock=True)
        network = enquiry.network
        access.require_chair_or_coordinator(network, actor, "work an enquiry's checklist")
        category = rules_for(network).category(enquiry.category) if enquiry.category else None
        if category is None:
            raise Conflict(f"Enquiry {enquiry.reference} has no category yet: triage it first.")
        known = [item.key for item in category.checklist]
        unknown = [key for key in done if key not in known]
        if unknown:
            raise ValidationFailed(
                "The checklist was not saved.",
                [
                    Problem(
                        loc=("done",),
                        msg="Unknown step "
                        + ", ".join(f"'{str(key)[:60]}'" for key in unknown[:10])
                        + f" (use {', '.join(known)}).",
                    )
                ],
            )
        ticked = [key for key in known if key in set(done)]
        before = list(enquiry.checklist_done)
        if ticked != before:
            enquiry.checklist_done = ticked
            _bump(enquiry, ["checklist_done"])
            audit.record(
                actor=access.network_actor(network, actor),
                action="checklist",
                obj=enquiry,
                changes={"checklist_done": [before, ticked]},
            )
    return enquiry
