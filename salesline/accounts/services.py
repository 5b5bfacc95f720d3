"""Organisations, users, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, Problem, ValidationFailed

from .models import ApiToken, Membership, Organisation, Role, User

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


def system_actor(organisation: Organisation, label: str = "cli") -> Actor:
    return Actor(organisation=organisation, known_roles=frozenset({Role.ADMIN}), system_label=label)


def actor_for(user: User, organisation: Organisation) -> Actor:
    """The actor for a user in an organisation; NotFound if the user is not a member."""
    roles = frozenset(
        Membership.objects.filter(user=user, organisation=organisation).values_list(
            "role", flat=True
        )
    )
    if not roles:
        raise NotFound(f"{user.email} is not a member of {organisation.slug}.")
    return Actor(organisation=organisation, user=user, known_roles=roles)


def organisation_get(*, slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise NotFound(f"No organisation '{slug}'.")
    return organisation


def user_get(*, email: str) -> User:
    user = User.objects.filter(email=(email or "").strip().lower()).first()
    if user is None:
        raise NotFound(f"No user '{email}'.")
    return user


def organisation_create(*, name: str, template: str, label: str = "cli") -> Organisation:
    """Create an organisation with a unique slug and load its process definition template."""
    from salesline.pipeline.definitions import template_names
    from salesline.pipeline.services import process_load

    name = (name or "").strip()
    if not name:
        raise ValidationFailed(problems=[Problem(loc=("name",), msg="A name is required.")])
    if template not in template_names():
        raise ValidationFailed(
            problems=[
                Problem(
                    loc=("template",),
                    msg=f"Unknown template '{template}'. Templates: {', '.join(template_names())}.",
                )
            ]
        )
    from salesline.pipeline.definitions import template_text

    base = slugify(name)[:70] or "org"
    with transaction.atomic():
        slug, n = base, 1
        while Organisation.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        organisation = Organisation.objects.create(name=name, slug=slug, template=template)
        actor = system_actor(organisation, label)
        audit.record(actor=actor, action="create", obj=organisation, changes={"name": [None, name]})
        process_load(actor=actor, text=template_text(template))
    return organisation


def user_create(
    *,
    email: str,
    organisation: Organisation,
    role: str,
    password: str | None = None,
    full_name: str = "",
    label: str = "cli",
) -> User:
    """Create the user if new and give them `role` in the organisation (idempotent per role)."""
    problems = []
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
    if password:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            problems.extend(Problem(loc=("password",), msg=m) for m in exc.messages)
    if problems:
        raise ValidationFailed("The user was not created.", problems)
    actor = system_actor(organisation, label)
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
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


def token_create(
    *, user: User, organisation: Organisation, name: str = "", label: str = "cli"
) -> tuple[ApiToken, str]:
    """A new token; the plain text is returned once and only its hash is kept."""
    if not Membership.objects.filter(user=user, organisation=organisation).exists():
        raise PermissionDenied(f"{user.email} is not a member of {organisation.slug}.")
    prefix = secrets.token_hex(4)
    plain = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, organisation=organisation, name=name, prefix=prefix, token_hash=_hash(plain)
        )
        audit.record(
            actor=Actor(organisation=organisation, user=user, system_label=label),
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
