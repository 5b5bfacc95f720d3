"""Joining a network by the members' vote (docs/networks.md, "Applications and votes").

An application is screened by the network's membership rules first: an ineligible applicant is
answered with the canned reply (the signpost to the international alliance) and, when the rules
say so, the members' admins are asked whether they know a local network for it. An eligible one
is put to the members as a vote with a deadline; `voting.decide` says when it is decided —
early, as soon as the outcome is certain, or at the deadline (the worker's periodic
`applications_close_due`). Approval makes the membership and sends the onboarding message.

Every write here is recorded in the network's own books (`access.network_actor`); mail goes only
through `request_mail`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from salesline.accounts.auth import user_by_email
from salesline.accounts.models import Membership, Role
from salesline.accounts.services import country_problem, system_actor, user_create
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, Problem, ValidationFailed
from salesline.core.mail_requests import request_mail
from salesline.core.text import text_problem
from salesline.process.services import organisation_create

from . import access, voting
from .intake import _label
from .models import Application, ApplicationStatus, Network, Vote
from .network_rules import rules_for
from .network_services import member_add
from .rules import MembershipRules, NetworkRules, render_reply

#: Size limits of what an applicant types (the public form's and the API's).
APPLICATION_LIMITS = {
    "organisation_name": 200,
    "country": 2,
    "legal_form": 80,
    "email": 254,
    "message": 20_000,
}
REQUIRED = ("organisation_name", "country", "legal_form", "email")
BORDERLINE_FACTS_LIMIT = 5_000
#: Where a new member's admin sets a password (the project's password reset flow).
RESET_PAGE = "/password/reset/"  # noqa: S105 (a page, not a secret)
NEW_MEMBER_TEMPLATE = "partnerships"

DEFAULT_SIGNPOST_SUBJECT = "Your application to join {{ network }}"
DEFAULT_SIGNPOST_BODY = (
    "Dear {{ organisation_name }},\n\nThank you for applying to join {{ network }}. We are "
    "sorry that we cannot take your application: {{ reasons }}\n\nThe International "
    "Co-operative Alliance (https://ica.coop) can put you in touch with co-operative networks "
    "where you are.\n"
)
DEFAULT_ONBOARDING_BODY = (
    "Dear {{ organisation_name }},\n\nThe members of {{ network }} have voted to welcome you "
    "as a member.\n"
)
ASK_MEMBERS_SUBJECT = "Do you know a local network for {{ organisation_name }}?"
ASK_MEMBERS_BODY = (
    "{{ organisation_name }} ({{ legal_form }}, {{ country }}) applied to join {{ network }} "
    "but is outside its membership rules: {{ reasons }}\n\nIf you know a network near them, "
    "reply to {{ email }} or tell the coordinator. The application is at "
    "/networks/{{ slug }}/applications/{{ id }}/.\n"
)


@dataclass(frozen=True)
class Tally:
    yes: int
    no: int
    members: int
    outcome: str  # what decide() says now: approved, rejected, undecided

    @property
    def not_voted(self) -> int:
        return max(0, self.members - self.yes - self.no)


# ---------------------------------------------------------------- selectors


def application_list(*, actor: Actor, network: Network) -> QuerySet[Application]:
    """The network's applications, newest first (members only: `network` came from
    `access.network_get_for`)."""
    return (
        Application.objects.filter(network=network)
        .annotate(
            yes_votes=Count("votes", filter=Q(votes__vote="yes")),
            no_votes=Count("votes", filter=Q(votes__vote="no")),
        )
        .order_by("-created_at", "-pk")
    )


def application_get_for(
    *, actor: Actor, application_id: int, applicant: bool = False
) -> Application:
    """One application, for a member of its network; NotFound for anyone else. `applicant`:
    the applicant organisation (the one the application names) may read it too — the caller
    shows it only the status and the reasons (`is_members_view`)."""
    scope = Q(network__in=access.member_networks(actor))
    if applicant:
        scope |= Q(organisation=actor.organisation)
    application = (
        Application.objects.select_related("network", "network__organisation", "organisation")
        .filter(scope, pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(f"No application {application_id}.")
    return application


def is_members_view(application: Application, actor: Actor) -> bool:
    """Whether the actor reads the application as a member of its network (the tallies and
    who voted how) rather than as the applicant (the status and the reasons only)."""
    return access.is_member(application.network, actor.organisation)


def _members_for(application: Application, members_now: int) -> int:
    """The member count a tally is taken against: frozen at the decision once decided."""
    if application.status != ApplicationStatus.VOTING and application.members_at_decision:
        return application.members_at_decision
    return members_now


def _voting_closed(application: Application, now: datetime) -> bool:
    return application.status != ApplicationStatus.VOTING or bool(
        application.voting_closes_at and application.voting_closes_at <= now
    )


def _tally(yes: int, no: int, members: int, rules: MembershipRules, closed: bool) -> Tally:
    outcome = voting.decide(yes, no, members, rules.majority, rules.counted_against, closed=closed)
    return Tally(yes=yes, no=no, members=max(members, yes + no), outcome=outcome)


def tally(application: Application, *, closed: bool | None = None) -> Tally:
    """The votes so far and what they decide now; `closed` None: voting is closed when the
    application is no longer voting or its deadline has passed."""
    counts = {
        row["vote"]: row["n"] for row in application.votes.values("vote").annotate(n=Count("pk"))
    }
    if closed is None:
        closed = _voting_closed(application, timezone.now())
    return _tally(
        counts.get("yes", 0),
        counts.get("no", 0),
        _members_for(application, access.members_of(application.network).count()),
        rules_for(application.network).membership,
        closed,
    )


@dataclass(frozen=True)
class VoteView:
    org: str
    name: str
    vote: str
    at: datetime


@dataclass(frozen=True)
class ApplicationView:
    """An application as members see it: the tally, who voted how, and the actor's vote."""

    application: Application
    tally: Tally
    votes: list[VoteView]
    my_vote: str


def application_views(*, actor: Actor, applications: list[Application]) -> list[ApplicationView]:
    """The views of `applications` (all of one network, already scoped to the actor) in a
    fixed number of queries: the votes at once, the member count and the rules once."""
    if not applications:
        return []
    network = applications[0].network
    rules = rules_for(network).membership
    members = access.members_of(network).count()
    votes: dict[int, list[VoteView]] = {application.pk: [] for application in applications}
    for vote in (
        Vote.objects.filter(application__in=applications)
        .select_related("organisation")
        .order_by("at", "pk")
    ):
        votes[vote.application_id].append(
            VoteView(
                org=vote.organisation.slug, name=vote.organisation.name, vote=vote.vote, at=vote.at
            )
        )
    now = timezone.now()
    views = []
    for application in applications:
        cast = votes[application.pk]
        yes = sum(1 for vote in cast if vote.vote == "yes")
        no = len(cast) - yes
        views.append(
            ApplicationView(
                application=application,
                tally=_tally(
                    yes,
                    no,
                    _members_for(application, members),
                    rules,
                    _voting_closed(application, now),
                ),
                votes=cast,
                my_vote=next(
                    (vote.vote for vote in cast if vote.org == actor.organisation.slug), ""
                ),
            )
        )
    return views


# ---------------------------------------------------------------- applying


def application_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of an applicant's fields at once, by field."""
    problems: list[Problem] = []
    for field, limit in APPLICATION_LIMITS.items():
        value = data.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems.append(Problem(loc=(field,), msg=f"{_label(field)} must be text."))
            continue
        value = value.strip()
        if field in REQUIRED and not value:
            problems.append(Problem(loc=(field,), msg=f"{_label(field)} is required."))
            continue
        if field == "country":
            if value and (problem := country_problem(value.upper())) is not None:
                problems.append(problem)
            continue
        if reason := text_problem(value, max_length=limit, multiline=field == "message"):
            problems.append(Problem(loc=(field,), msg=f"{_label(field)} {reason}."))
            continue
        if field == "email" and value:
            try:
                validate_email(value)
            except ValidationError:
                problems.append(
                    Problem(loc=("email",), msg=f"'{value[:80]}' is not an e-mail address.")
                )
    return problems


def application_submit(
    *,
    network: Network,
    data: Mapping[str, Any],
    actor: Actor | None = None,
    source: str = "api",
) -> Application:
    """Record an application to join `network` (from the public form, `actor` None, or the API)
    and screen it: ineligible ones are answered at once; eligible ones open the members' vote.
    When a signed-in actor's organisation applies for itself (the organisation name is its
    own), the application names it, and approval makes that organisation the member."""
    problems = application_problems(data)
    if problems:
        raise ValidationFailed("The application was not recorded.", problems)
    values = {field: str(data.get(field) or "").strip() for field in APPLICATION_LIMITS}
    values["country"] = values["country"].upper()
    values["email"] = values["email"].lower()
    applicant_org = None
    if actor is not None and _same_name(values["organisation_name"], actor.organisation.name):
        applicant_org = actor.organisation
        if access.is_member(network, applicant_org):
            raise Conflict(f"{applicant_org.name} is already a member of {network.name}.")
    if Application.objects.filter(
        network=network,
        status=ApplicationStatus.VOTING,
        organisation_name__iexact=values["organisation_name"],
    ).exists():
        raise Conflict(
            f"{values['organisation_name']} has applied already: the members are voting on it."
        )
    rules = rules_for(network)
    membership = rules.membership
    reasons = voting.eligibility_reasons(
        country=values["country"],
        legal_form=values["legal_form"],
        countries=membership.countries,
        legal_forms=membership.legal_forms,
    )
    now = timezone.now()
    books = access.books_actor(network, actor, source)
    with transaction.atomic():
        application = Application(
            network=network,
            organisation=applicant_org,
            status=ApplicationStatus.INELIGIBLE if reasons else ApplicationStatus.VOTING,
            reasons=reasons,
            voting_closes_at=None if reasons else now + timedelta(days=membership.vote_days),
            created_at=now,
            **values,
        )
        application.save(force_insert=True)
        audit.record(
            actor=books,
            action="create",
            obj=application,
            changes={
                "organisation_name": [None, application.organisation_name],
                "status": [None, application.status],
                "source": [None, source],
                **({"reasons": [None, reasons]} if reasons else {}),
            },
        )
        if reasons:
            _answer_ineligible(network, rules, application, books)
    return application


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join((b or "").split()).casefold()


def _values(network: Network, application: Application) -> dict[str, str]:
    return {
        "network": network.name,
        "name": application.organisation_name,
        "organisation_name": application.organisation_name,
        "legal_form": application.legal_form,
        "country": application.country,
        "email": application.email,
        "reasons": " ".join(application.reasons),
        "slug": network.slug,
        "id": str(application.pk),
    }


def _canned(rules: NetworkRules, key: str) -> tuple[str, str] | None:
    """The reply `key` from the membership rules, else from any triage category (the
    signpost lives with the "joining" category's replies)."""
    for reply in rules.membership.replies:
        if reply.key == key:
            return reply.subject, reply.body
    for category in rules.triage:
        if (found := category.reply(key)) is not None:
            return found.subject, found.body
    return None


def _answer_ineligible(
    network: Network, rules: NetworkRules, application: Application, books: Actor
) -> None:
    values = _values(network, application)
    subject, body = _canned(rules, rules.membership.ineligible_reply) or (
        DEFAULT_SIGNPOST_SUBJECT,
        DEFAULT_SIGNPOST_BODY,
    )
    request_mail(
        actor=books,
        to=[application.email],
        subject=render_reply(subject, values),
        body=render_reply(body, values),
        about=application,
    )
    if not rules.membership.ask_members_about_ineligible:
        return
    admins = member_admin_emails(network)
    if admins:
        request_mail(
            actor=books,
            to=admins,
            subject=render_reply(ASK_MEMBERS_SUBJECT, values),
            body=render_reply(ASK_MEMBERS_BODY, values),
            about=application,
        )


def member_admin_emails(network: Network) -> list[str]:
    """The e-mail addresses of the admins of the network's member organisations."""
    return sorted(
        set(
            Membership.objects.filter(
                organisation__in=access.members_of(network).values("organisation"),
                role=Role.ADMIN,
                user__is_active=True,
            ).values_list("user__email", flat=True)
        )
    )


# ---------------------------------------------------------------- voting


def vote_cast(*, actor: Actor, application_id: int, vote: str) -> Application:
    """The actor's organisation votes on an application of its network: once (Conflict for a
    second vote), only while voting (Conflict after). A vote that makes the outcome certain
    decides the application at once."""
    if vote not in ("yes", "no"):
        raise ValidationFailed(
            "The vote was not recorded.", [Problem(loc=("vote",), msg="Vote 'yes' or 'no'.")]
        )
    application = application_get_for(actor=actor, application_id=application_id)
    network = application.network
    now = timezone.now()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != ApplicationStatus.VOTING or (
            locked.voting_closes_at is not None and locked.voting_closes_at <= now
        ):
            raise Conflict(f"Voting on {locked.organisation_name} has closed.")
        try:
            with transaction.atomic():
                Vote.objects.create(
                    application=locked,
                    organisation=actor.organisation,
                    voter=actor.user,
                    vote=vote,
                    at=now,
                )
        except IntegrityError as exc:
            raise Conflict(
                f"{actor.organisation.name} has already voted on {locked.organisation_name}."
            ) from exc
        books = access.network_actor(network, actor)
        audit.record(
            actor=books,
            action="vote",
            obj=locked,
            changes={"vote": [None, vote], "member": [None, actor.organisation.slug]},
        )
        result = tally(locked, closed=False)
        if result.outcome != "undecided":
            _decide(locked, result, books, now)
    locked.network = network
    return locked


def application_flag_borderline(
    *, actor: Actor, application_id: int, facts: str, borderline: bool = True
) -> Application:
    """Any member (the coordinator, usually) flags an application as borderline with the facts
    the members should weigh when they vote; `borderline=False` clears the flag."""
    facts = (facts or "").strip()
    if reason := text_problem(facts, max_length=BORDERLINE_FACTS_LIMIT, multiline=True):
        raise ValidationFailed(
            "The flag was not saved.", [Problem(loc=("facts",), msg=f"Facts {reason}.")]
        )
    if borderline and not facts:
        raise ValidationFailed(
            "The flag was not saved.",
            [Problem(loc=("facts",), msg="Say what makes the application borderline.")],
        )
    application = application_get_for(actor=actor, application_id=application_id)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        before = (locked.borderline, locked.borderline_facts)
        locked.borderline = borderline
        locked.borderline_facts = facts if borderline else ""
        locked.save(update_fields=["borderline", "borderline_facts"])
        audit.record(
            actor=access.network_actor(application.network, actor),
            action="flag_borderline" if borderline else "clear_borderline",
            obj=locked,
            changes={
                "borderline": [before[0], locked.borderline],
                "borderline_facts": [before[1], locked.borderline_facts],
            },
        )
    locked.network = application.network
    return locked


def _open_votes(network: Network, now: datetime) -> QuerySet[Application]:
    """The network's applications whose vote is still open (voting, deadline not passed)."""
    return Application.objects.filter(network=network, status=ApplicationStatus.VOTING).filter(
        Q(voting_closes_at__isnull=True) | Q(voting_closes_at__gt=now)
    )


def open_votes_lock(*, network: Network, now: datetime) -> list[int]:
    """Lock the network's open applications (by pk) for a member's leaving: before the
    network's row, the order `vote_cast` takes them in (an application, then the network when
    the vote admits a member), so the two never wait on each other."""
    return list(
        _open_votes(network, now).select_for_update().order_by("pk").values_list("pk", flat=True)
    )


#: Why a vote stopped counting, in the application's audit trail.
VOTE_VOID_REASON = "member left the network"


def votes_void_for_leaver(
    *, actor: Actor, network: Network, organisation: Any, now: datetime
) -> tuple[list[Application], list[Application]]:
    """`organisation` has just left `network` (its membership ended in the caller's
    transaction): its vote on every application still open is removed (audited as
    `vote_void`, with the vote it was) — it no longer counts and it is no longer among the
    voters — and every open application is tallied again against the members that remain. One
    whose outcome has become certain is decided now, the way a vote that makes it certain
    decides it (`_decide`: approval admits the applicant); the others wait for more votes or
    the deadline. An application past its deadline is left as it is: the vote was cast by the
    deadline, while it was a member, and the worker decides it on that count.

    Answers (the applications whose vote was removed, the applications decided now)."""
    books = access.network_actor(network, actor)
    voided: list[Application] = []
    decided: list[Application] = []
    for application in (
        _open_votes(network, now)
        .select_for_update(of=("self",))
        .select_related("network", "network__organisation")
        .order_by("pk")
    ):
        vote = Vote.objects.filter(application=application, organisation=organisation).first()
        if vote is not None:
            vote.delete()
            audit.record(
                actor=books,
                action="vote_void",
                obj=application,
                changes={
                    "vote": [vote.vote, None],
                    "member": [organisation.slug, None],
                    "reason": [None, VOTE_VOID_REASON],
                },
            )
            voided.append(application)
        result = tally(application, closed=False)
        if result.outcome != "undecided" and _decide(application, result, books, now):
            decided.append(application)
    return voided, decided


def applications_close_due(*, now: datetime | None = None, label: str = "worker") -> int:
    """Decide every application whose voting deadline has passed (the worker's periodic call).
    Each is claimed by a conditional UPDATE inside its own transaction, so two workers never
    decide one twice. Answers how many were decided."""
    now = now or timezone.now()
    due = list(
        Application.objects.filter(
            status=ApplicationStatus.VOTING, voting_closes_at__lte=now
        ).values_list("pk", flat=True)[:500]
    )
    decided = 0
    for pk in due:
        with transaction.atomic():
            application = (
                Application.objects.select_related("network", "network__organisation")
                .filter(pk=pk, status=ApplicationStatus.VOTING)
                .first()
            )
            if application is None:
                continue
            result = tally(application, closed=True)
            books = system_actor(application.network.organisation, label)
            if _decide(application, result, books, now):
                decided += 1
    return decided


def _decide(application: Application, result: Tally, books: Actor, now: datetime) -> bool:
    """Record the outcome (claimed by a conditional UPDATE: False if someone else did) and, on
    approval, make the membership and send the onboarding message. Inside the caller's
    transaction."""
    outcome = result.outcome
    if outcome == "undecided":
        return False
    status = ApplicationStatus.APPROVED if outcome == "approved" else ApplicationStatus.REJECTED
    reason = (
        f"{outcome.capitalize()} by the members' vote: {result.yes} yes, {result.no} no "
        f"of {result.members} members."
    )
    claimed = Application.objects.filter(pk=application.pk, status=ApplicationStatus.VOTING).update(
        status=status, decided_at=now, reasons=[reason], members_at_decision=result.members
    )
    if claimed != 1:
        return False
    application.status, application.decided_at, application.reasons = status, now, [reason]
    application.members_at_decision = result.members
    audit.record(
        actor=books,
        action="decide",
        obj=application,
        changes={
            "status": [ApplicationStatus.VOTING, status],
            "yes": [None, result.yes],
            "no": [None, result.no],
            "members_at_decision": [None, result.members],
        },
    )
    if status == ApplicationStatus.APPROVED:
        _admit(application, books)
    return True


def _admit(application: Application, books: Actor) -> None:
    network = application.network
    rules = rules_for(network).membership
    account = "existing_org"
    organisation = application.organisation
    if organisation is None:
        organisation = organisation_create(
            name=application.organisation_name, template=NEW_MEMBER_TEMPLATE, label=books.label
        )
        # A new user gets a password nobody knows: they set their own by the password reset
        # flow (Django's reset form skips accounts without a usable password). Someone who
        # already uses Salesline keeps theirs and is made the new organisation's admin.
        existing = user_by_email(application.email)
        user_create(
            actor=system_actor(organisation, books.label),
            email=application.email,
            role=Role.ADMIN,
            password=None if existing is not None else secrets.token_urlsafe(32),
        )
        account = "existing_user" if existing is not None else "new_user"
        Application.objects.filter(pk=application.pk).update(organisation=organisation)
        application.organisation = organisation
    member_add(actor=books, network=network, organisation=organisation, joined_by="vote")
    request_mail(
        actor=books,
        to=[application.email],
        subject=render_reply(rules.onboarding_subject, _values(network, application)),
        body=onboarding_body(network, rules, application, account=account),
        about=application,
    )


def onboarding_body(
    network: Network, rules: MembershipRules, application: Application, *, account: str
) -> str:
    """The onboarding message, and how to sign in: `account` is "new_user" (a new
    organisation and a new user, who sets a password), "existing_user" (a new organisation
    whose admin already uses Salesline) or "existing_org" (the applicant's own organisation)."""
    body = render_reply(
        rules.onboarding_body or DEFAULT_ONBOARDING_BODY, _values(network, application)
    ).rstrip()
    if account == "new_user":
        return (
            f"{body}\n\nWe have made {application.organisation_name} an account in "
            f"Salesline with {application.email} as its admin. Choose your password at "
            f"{RESET_PAGE} (enter this address), then sign in to see "
            f"{network.name}'s enquiries, rota and directory under Networks.\n"
        )
    if account == "existing_user":
        return (
            f"{body}\n\n{application.organisation_name} is in Salesline now, with "
            f"{application.email} as its admin: sign in as usual, choose it, and find "
            f"{network.name} under Networks.\n"
        )
    return f"{body}\n\nSign in to Salesline as usual and find {network.name} under Networks.\n"
