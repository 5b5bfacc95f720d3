"""Organisations, users, memberships and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import email_validator
import phonenumbers
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from salesline.core.ids import is_id
from salesline.core.text import text_problem

from .auth import user_by_email
from .models import ApiToken, Coordination, Membership, Organisation, Role, User
from .selectors import roles_of

TOKEN_PREFIX = "sl_"  # noqa: S105 - a prefix, not a secret
# Writing last_used_at on every request would turn every read into a write.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def parse_role(text: str) -> str:
    """'Sales coordinator', 'sales-coordinator' and 'sales_coordinator' are one role."""
    key = slugify(text or "").replace("-", "_")
    if key not in Role.values:
        raise ValidationFailed(
            problems=[
                Problem(
                    loc=("role",), msg=f"Unknown role '{text}'. Roles: {', '.join(Role.values)}."
                )
            ]
        )
    return key


def system_actor(organisation: Organisation | None, label: str = "cli") -> Actor:
    """The CLI, the worker and the demo acting as an admin of `organisation` with no user, named
    `label` in the audit trail. None stands for the whole installation (`records_purge`)."""
    return Actor(organisation=organisation, known_roles=frozenset({Role.ADMIN}), system_label=label)


def actor_for(user: User, organisation: Organisation) -> Actor:
    """The actor for a user in an organisation; NotFound if the user is not a member."""
    roles = roles_of(user, organisation)
    if not roles:
        raise NotFound(f"{user.email} is not a member of {organisation.slug}.")
    return Actor(organisation=organisation, user=user, known_roles=roles)


def organisation_get(*, slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise NotFound(f"No organisation '{slug}'.")
    return organisation


def user_get(*, email: str) -> User:
    user = user_by_email(email or "")
    if user is None:
        raise NotFound(f"No user '{email}'.")
    return user


def phone_region_problem(phone_region: str) -> Problem | None:
    """What is wrong with a phone region (upper case, trimmed): it must be a two-letter region
    the phone library reads numbers for, or empty (every number needs its +country code)."""
    if phone_region and phone_region not in phonenumbers.SUPPORTED_REGIONS:
        return Problem(
            loc=("phone_region",),
            msg=f"Phone region '{phone_region[:10]}' is not a country code such as GB or NO.",
        )
    return None


def organisation_problems(*, name: str, phone_region: str = "") -> list[Problem]:
    """What is wrong with an organisation's name and phone region."""
    problems = []
    reason = text_problem(name, max_length=200)
    if not name:
        problems.append(Problem(loc=("name",), msg="A name is required."))
    elif reason:
        problems.append(Problem(loc=("name",), msg=f"Name {reason}."))
    if region_problem := phone_region_problem(phone_region):
        problems.append(region_problem)
    return problems


def organisation_create(
    *, name: str, template: str = "", label: str = "cli", phone_region: str = ""
) -> Organisation:
    """Create an organisation with a unique slug derived from its name. (An organisation with
    a process definition is process.services.organisation_create, which calls this.)"""
    name = (name or "").strip()
    phone_region = (phone_region or "").strip().upper()
    problems = organisation_problems(name=name, phone_region=phone_region)
    if problems:
        raise ValidationFailed(problems=problems)
    base = slugify(name)[:70] or "org"
    with transaction.atomic():
        organisation = _insert_with_free_slug(
            name=name, base=base, template=template, phone_region=phone_region
        )
        actor = system_actor(organisation, label)
        audit.record(actor=actor, action="create", obj=organisation, changes={"name": [None, name]})
    return organisation


def organisation_set_phone_region(*, actor: Actor, phone_region: str) -> Organisation:
    """Change the country phone numbers without +country code are read in, on every later
    write and as the default of imports; "" for none. Admin only. Numbers already stored stay
    as they are (they were stored with their country code)."""
    require_admin(actor, "change the phone region")
    return organisation_update(
        actor=actor,
        data={"phone_region": phone_region},
        message="The phone region was not changed.",
    )


#: The organisation's own settings `organisation_update` changes (the name is fixed at creation).
ORGANISATION_SETTINGS = ("phone_region", "country", "booking_url", "from_email")
BOOKING_URL_MAX = Organisation._meta.get_field("booking_url").max_length or 500
_LABELS = {
    "phone_region": "Phone region",
    "country": "Country",
    "booking_url": "Booking link",
    "from_email": "From address",
}


@functools.cache
def holiday_countries() -> frozenset[str]:
    """ISO 3166 two-letter codes of the countries whose public holidays the `holidays` package
    knows (its "UK" alias is not ISO 3166: the United Kingdom is GB)."""
    import holidays

    return frozenset(
        code for code in holidays.list_supported_countries() if len(code) == 2 and code != "UK"
    )


def country_problem(country: str) -> Problem | None:
    """What is wrong with a country (upper case, trimmed): a two-letter ISO 3166 code whose
    public holidays are known, or empty (the phone region's holidays, if any)."""
    if not country or country in holiday_countries():
        return None
    hint = " (the United Kingdom is GB)" if country == "UK" else ""
    return Problem(
        loc=("country",),
        msg=f"Country '{country[:10]}' is not a country code such as GB or NO whose public "
        f"holidays are known{hint}.",
    )


def booking_url_problem(url: str) -> Problem | None:
    """A meeting-booking link must be an http(s) address (it goes into e-mails as a link)."""
    if not url:
        return None
    if reason := text_problem(url, max_length=BOOKING_URL_MAX):
        return Problem(loc=("booking_url",), msg=f"Booking link {reason}.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        return Problem(
            loc=("booking_url",),
            msg="Booking link must be a web address starting with https:// or http://, "
            "e.g. https://cal.example.com/partnerships.",
        )
    return None


def from_email_problem(address: str) -> tuple[str, Problem | None]:
    """The From address normalised (domain in lower case), and what is wrong with it."""
    if not address:
        return "", None
    try:
        checked = email_validator.validate_email(
            address, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as error:
        return address, Problem(
            loc=("from_email",),
            msg=f"From address '{address[:80]}' is not a valid e-mail address: {error}",
        )
    return checked.normalized, None


def organisation_update(
    *, actor: Actor, data: Mapping[str, Any], message: str = "The settings were not changed."
) -> Organisation:
    """Change some of the organisation's own settings (`ORGANISATION_SETTINGS`; keys left out
    stay as they are). Admin only; every problem is reported at once and nothing is saved
    until there are none; the changed values are audited. "" clears a setting.

    - `phone_region`: the country phone numbers without +country code are read in;
    - `country`: whose public holidays are not working days for due dates;
    - `booking_url`: the meeting-booking link, `{{ links.booking }}` in canned messages;
    - `from_email`: the default From address of canned messages."""
    require_admin(actor, "change the organisation's settings")
    problems: list[Problem] = []
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in ORGANISATION_SETTINGS:
            problems.append(
                Problem(loc=(str(key)[:40],), msg=f"'{str(key)[:40]}' is not a setting.")
            )
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems.append(Problem(loc=(key,), msg=f"{_LABELS[key]} must be text."))
            continue
        value = value.strip()
        problem: Problem | None
        if key in ("phone_region", "country"):
            value = value.upper()
            problem = (phone_region_problem if key == "phone_region" else country_problem)(value)
        elif key == "booking_url":
            problem = booking_url_problem(value)
        else:
            value, problem = from_email_problem(value)
        if problem is not None:
            problems.append(problem)
        values[key] = value
    if problems:
        raise ValidationFailed(message, problems)
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=actor.organisation.pk)
        changes = {
            key: [getattr(organisation, key), value]
            for key, value in values.items()
            if getattr(organisation, key) != value
        }
        if changes:
            for key, (_, value) in changes.items():
                setattr(organisation, key, value)
            organisation.save(update_fields=list(changes))
            audit.record(actor=actor, action="update", obj=organisation, changes=changes)
    # The actor's copy applies the new settings from its next write on (phone numbers read in
    # the new region, say).
    for key, value in values.items():
        setattr(actor.organisation, key, value)
    return organisation


def _insert_with_free_slug(
    *, name: str, base: str, template: str, phone_region: str = ""
) -> Organisation:
    # The unique constraint decides, not a look-up first: two organisations created at once
    # with the same name each get their own slug instead of one failing.
    taken = set(Organisation.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    number = 1
    while True:
        slug = base if number == 1 else f"{base}-{number}"
        number += 1
        if slug in taken:
            continue
        try:
            with transaction.atomic():
                return Organisation.objects.create(
                    name=name, slug=slug, template=template, phone_region=phone_region
                )
        except IntegrityError:
            taken.add(slug)


def _checked_email_and_role(email: str, role: str) -> tuple[str, str | None, list[Problem]]:
    """The e-mail normalised, the role's key, and what is wrong with either."""
    problems: list[Problem] = []
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        problems.append(Problem(loc=("email",), msg=f"'{email}' is not a valid e-mail address."))
    role_key = None
    try:
        role_key = parse_role(role)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    return email, role_key, problems


def user_create(
    *,
    actor: Actor,
    email: str,
    role: str,
    password: str | None = None,
    full_name: str = "",
) -> User:
    """Create the user if new and give them `role` in the actor's organisation (idempotent per
    role). The actor is an admin there, e.g. `system_actor(organisation, "cli")`."""
    require_admin(actor, "add users")
    organisation = actor.organisation
    email, role_key, problems = _checked_email_and_role(email, role)
    full_name = (full_name or "").strip()
    if reason := text_problem(full_name, max_length=200):
        problems.append(Problem(loc=("full_name",), msg=f"Name {reason}."))
    if password:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            problems.extend(Problem(loc=("password",), msg=m) for m in exc.messages)
    if problems:
        raise ValidationFailed("The user was not created.", problems)
    with transaction.atomic():
        user = user_by_email(email)
        if user is None:
            user = User.objects.create_user(email, password, full_name=full_name)
            audit.record(actor=actor, action="create", obj=user, changes={"email": [None, email]})
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
            audit.record(
                actor=actor, action="update", obj=user, changes={"password": ["***", "***"]}
            )
        membership, created = Membership.objects.get_or_create(
            user=user, organisation=organisation, role=role_key
        )
        if created:
            audit.record(
                actor=actor, action="create", obj=membership, changes={"role": [None, role_key]}
            )
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, actor: Actor, user: User | None = None, name: str = "") -> tuple[ApiToken, str]:
    """A new token of `user` (the actor's own user when not given) for the actor's
    organisation; the plain text is returned once and only its hash is kept. A member creates
    their own tokens; an admin (the CLI's system actor) creates a member's. The audit trail
    names the token's user, with the actor's label for where it was made."""
    user = user or actor.user
    if user is None:
        raise ValidationFailed(
            "The token was not created.",
            [Problem(loc=("user",), msg="Name the user the token is for.")],
        )
    organisation = actor.organisation
    name = (name or "").strip()
    if reason := text_problem(name, max_length=100):
        raise ValidationFailed(
            "The token was not created.", [Problem(loc=("name",), msg=f"Name {reason}.")]
        )
    if actor.user is not None and actor.user.pk != user.pk:
        require_admin(actor, "create another member's API tokens")
    if not Membership.objects.filter(user=user, organisation=organisation).exists():
        raise PermissionDenied(f"{user.email} is not a member of {organisation.slug}.")
    prefix = secrets.token_hex(4)
    plain = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, organisation=organisation, name=name, prefix=prefix, token_hash=_hash(plain)
        )
        audit.record(
            actor=Actor(organisation=organisation, user=user, system_label=actor.system_label),
            action="create",
            obj=token,
            changes={"prefix": [None, prefix]},
        )
    return token, plain


def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .filter(organisation=actor.organisation, pk=token_id)
            .first()
        )
        if token is None:
            raise NotFound(f"No token with id {token_id}.")
        if actor.user != token.user and not actor.has_role(Role.ADMIN):
            raise NotFound(f"No token with id {token_id}.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="revoke", obj=token)
    return token


# Every API request runs this, so it is one hand-written query: the ORM spends longer building
# the join and EXISTS than the database spends answering them. Revocation stays immediate.
_BEARER_LOOKUP_SQL = """
    SELECT t.id, t.last_used_at, u.id, u.email, u.full_name, o.id, o.name, o.slug
    FROM accounts_apitoken t
    JOIN accounts_user u ON u.id = t.user_id
    JOIN accounts_organisation o ON o.id = t.organisation_id
    WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active
      AND EXISTS (SELECT 1 FROM accounts_membership m
                  WHERE m.user_id = t.user_id AND m.organisation_id = t.organisation_id)
"""


def token_authenticate(plain: str) -> Actor | None:
    """The actor a bearer token stands for, or None for an unknown or revoked token, or one whose
    user has left the organisation. Roles are read later, only if a permission check needs them."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_BEARER_LOOKUP_SQL, [_hash(plain)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used_at, user_id, email, full_name, org_id, org_name, slug = row
    # Instances with only these fields loaded; any other field is fetched if ever read.
    user = User.from_db(connection.alias, ["id", "email", "full_name"], [user_id, email, full_name])
    organisation = Organisation.from_db(
        connection.alias, ["id", "name", "slug"], [org_id, org_name, slug]
    )
    now = timezone.now()
    if isinstance(last_used_at, str):  # SQLite returns text from a raw cursor
        last_used_at = datetime.fromisoformat(last_used_at)
    if last_used_at is not None and last_used_at.tzinfo is None:
        last_used_at = last_used_at.replace(tzinfo=UTC)
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return Actor(organisation=organisation, user=user)


# ---------------------------------------------------------------- members and roles


def require_admin(actor: Actor, doing: str = "do that") -> None:
    """The rule for every organisation-wide setting: only an admin may change it."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(f"Only an admin of {actor.organisation.name} can {doing}.")


def _lock_organisation(organisation: Organisation) -> None:
    # Role changes of one organisation run one at a time, so two admins demoting each other
    # at once cannot both succeed and leave the organisation with no admin.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def _roles_of(organisation: Organisation, user_id: int) -> list[str]:
    return sorted(
        Membership.objects.filter(organisation=organisation, user_id=user_id).values_list(
            "role", flat=True
        )
    )


def _member_or_404(organisation: Organisation, user_id: object) -> tuple[User, list[str]]:
    user = None
    if isinstance(user_id, int) and is_id(user_id):
        user = User.objects.filter(pk=user_id).first()
    roles = _roles_of(organisation, user.pk) if user is not None else []
    if user is None or not roles:
        raise NotFound(f"No member with id {user_id}.")
    return user, roles


def _keeps_an_admin(organisation: Organisation, user: User, roles_after: set[str]) -> None:
    if Role.ADMIN in roles_after:
        return
    others = (
        Membership.objects.filter(organisation=organisation, role=Role.ADMIN)
        .exclude(user=user)
        .exists()
    )
    if not others:
        raise Conflict(
            f"{user.email} is the last admin of {organisation.name}: make another member an "
            "admin first, or nobody could manage the organisation."
        )


def _confirm_self(actor: Actor, user: User, confirmed: bool, what: str) -> None:
    if actor.user is not None and actor.user.pk == user.pk and not confirmed:
        raise ValidationFailed(
            f"Confirm that you want to {what}.",
            [
                Problem(
                    loc=("confirm_self",),
                    msg=f"This is your own account: you would {what}. Tick the box to confirm.",
                    type="confirm",
                )
            ],
        )


def member_add(*, actor: Actor, email: str, role: str, full_name: str = "") -> User:
    """Give a user a role in the actor's organisation, creating the user if the e-mail is new
    (with no password: they choose one through "Forgot your password?"). Admin only."""
    require_admin(actor, "add members")
    email, role_key, problems = _checked_email_and_role(email, role)
    full_name = (full_name or "").strip()
    if len(full_name) > 200:
        problems.append(Problem(loc=("full_name",), msg="A name has at most 200 characters."))
    elif reason := text_problem(full_name):
        problems.append(Problem(loc=("full_name",), msg=f"Name {reason}."))
    if problems:
        raise ValidationFailed("The member was not added.", problems)
    organisation = actor.organisation
    with transaction.atomic():
        _lock_organisation(organisation)
        user = user_by_email(email)
        if user is not None and _roles_of(organisation, user.pk):
            raise ValidationFailed(
                "The member was not added.",
                [
                    Problem(
                        loc=("email",),
                        msg=f"{email} is already a member of {organisation.name}: change their "
                        "roles instead.",
                    )
                ],
            )
        if user is None:
            user = User.objects.create_user(email, None, full_name=full_name)
            audit.record(actor=actor, action="create", obj=user, changes={"email": [None, email]})
        membership = Membership.objects.create(user=user, organisation=organisation, role=role_key)
        audit.record(
            actor=actor,
            action="member.add",
            obj=membership,
            object_type="membership",
            object_id=user.pk,
            object_repr=email,
            changes={"roles": [None, [role_key]]},
        )
    return user


def member_set_roles(
    *, actor: Actor, user_id: int, roles: list[str], confirm_self: bool = False
) -> list[str]:
    """Replace a member's roles. Admin only; the last admin keeps the admin role, and taking
    your own admin role away needs `confirm_self`."""
    require_admin(actor, "change roles")
    wanted: set[str] = set()
    problems: list[Problem] = []
    for text in roles:
        try:
            wanted.add(parse_role(text))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if not roles:
        problems.append(
            Problem(
                loc=("roles",),
                msg="Choose at least one role (to take every role away, remove the member).",
            )
        )
    if problems:
        raise ValidationFailed("The roles were not changed.", problems)
    organisation = actor.organisation
    with transaction.atomic():
        _lock_organisation(organisation)
        user, before = _member_or_404(organisation, user_id)
        if Role.ADMIN in before and Role.ADMIN not in wanted:
            _keeps_an_admin(organisation, user, wanted)
            _confirm_self(actor, user, confirm_self, "give up your admin role")
        if set(before) == wanted:
            return before
        Membership.objects.filter(organisation=organisation, user=user).exclude(
            role__in=wanted
        ).delete()
        Membership.objects.bulk_create(
            [
                Membership(user=user, organisation=organisation, role=role)
                for role in sorted(wanted - set(before))
            ]
        )
        after = sorted(wanted)
        audit.record(
            actor=actor,
            action="member.roles",
            object_type="membership",
            object_id=user.pk,
            object_repr=user.email,
            changes={"roles": [before, after]},
        )
    return after


def member_remove(*, actor: Actor, user_id: int, confirm_self: bool = False) -> User:
    """Take every role of a member away and revoke their API tokens for this organisation
    (so that adding them back later does not bring old tokens back to life). Admin only;
    never the last admin; removing yourself needs `confirm_self`."""
    require_admin(actor, "remove members")
    organisation = actor.organisation
    with transaction.atomic():
        _lock_organisation(organisation)
        user, before = _member_or_404(organisation, user_id)
        _keeps_an_admin(organisation, user, set())
        _confirm_self(actor, user, confirm_self, "leave the organisation")
        Membership.objects.filter(organisation=organisation, user=user).delete()
        revoked = ApiToken.objects.filter(
            organisation=organisation, user=user, revoked_at=None
        ).update(revoked_at=timezone.now())
        audit.record(
            actor=actor,
            action="member.remove",
            object_type="membership",
            object_id=user.pk,
            object_repr=user.email,
            changes={"roles": [before, None], "tokens_revoked": revoked},
        )
    return user


def coordination_set(*, actor: Actor, coordinator_id: int, salesperson_ids: list[int]) -> list[int]:
    """Make `coordinator_id` the sales coordinator of exactly `salesperson_ids` (an admin's
    decision). A salesperson has one coordinator: one taken from another coordinator moves.
    Returns the ids now coordinated."""
    require_admin(actor, "assign coordinators")
    with transaction.atomic():
        _lock_organisation(actor.organisation)
        coordinator, roles = _member_or_404(actor.organisation, coordinator_id)
        problems: list[Problem] = []
        if Role.SALES_COORDINATOR not in roles:
            problems.append(
                Problem(
                    ("id",),
                    f"{coordinator.email} is not a sales coordinator: give them that role first.",
                )
            )
        wanted: list[int] = []
        for index, salesperson_id in enumerate(salesperson_ids):
            if salesperson_id in wanted:
                continue
            roles_there = (
                _roles_of(actor.organisation, salesperson_id)
                if isinstance(salesperson_id, int) and is_id(salesperson_id)
                else []
            )
            if Role.SALESPERSON not in roles_there:
                problems.append(
                    Problem(
                        ("salesperson_ids", index),
                        f"Member {salesperson_id} is not a salesperson of "
                        f"{actor.organisation.name}.",
                    )
                )
            wanted.append(salesperson_id)
        if problems:
            raise ValidationFailed("The coordination was not changed.", problems)
        before = set(
            Coordination.objects.filter(
                organisation=actor.organisation, coordinator=coordinator
            ).values_list("salesperson_id", flat=True)
        )
        Coordination.objects.filter(
            organisation=actor.organisation, coordinator=coordinator
        ).exclude(salesperson_id__in=wanted).delete()
        for salesperson_id in wanted:
            Coordination.objects.update_or_create(
                organisation=actor.organisation,
                salesperson_id=salesperson_id,
                defaults={"coordinator": coordinator},
            )
        if before != set(wanted):
            audit.record(
                actor=actor,
                action="coordinate",
                obj=coordinator,
                changes={"salesperson_ids": [sorted(before), sorted(wanted)]},
            )
    return sorted(wanted)
