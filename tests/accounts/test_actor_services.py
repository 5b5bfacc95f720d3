"""user_create and token_create act for an actor: the CLI's system actor, an admin, or a member
for their own tokens."""

import pytest

from salesline.accounts import services as accounts
from salesline.accounts.models import Membership
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent


def test_user_create_adds_the_user_to_the_actors_organisation(org):
    user = accounts.user_create(
        actor=accounts.system_actor(org, "cli"), email="Bo@Piql.test", role="salesperson"
    )
    assert user.email == "bo@piql.test"
    assert Membership.objects.filter(user=user, organisation=org, role="salesperson").exists()
    labels = set(AuditEvent.objects.filter(organisation=org).values_list("actor_label", flat=True))
    assert labels == {"cli"}


def test_user_create_needs_an_admin(actor, admin_actor):
    with pytest.raises(PermissionDenied):
        accounts.user_create(actor=actor, email="bo@piql.test", role="salesperson")
    user = accounts.user_create(actor=admin_actor, email="bo@piql.test", role="salesperson")
    event = AuditEvent.objects.get(action="create", object_type="user", object_id=str(user.pk))
    assert event.actor_id == admin_actor.user.pk


def test_a_member_creates_their_own_tokens_only(actor, admin_actor):
    token, _ = accounts.token_create(actor=actor, name="laptop")
    assert (token.user, token.organisation) == (actor.user, actor.organisation)
    with pytest.raises(PermissionDenied):
        accounts.token_create(actor=actor, user=admin_actor.user)
    theirs, _ = accounts.token_create(actor=admin_actor, user=actor.user)
    assert theirs.user == actor.user


def test_a_system_actor_names_the_user(org, user):
    with pytest.raises(ValidationFailed):
        accounts.token_create(actor=accounts.system_actor(org))
    token, _ = accounts.token_create(actor=accounts.system_actor(org, "cli"), user=user)
    event = AuditEvent.objects.get(action="create", object_type="apitoken", object_id=str(token.pk))
    assert event.actor_label == user.email
