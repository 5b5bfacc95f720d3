"""Members and roles: only admins change them, an organisation always keeps an admin, and
changing your own admin role or leaving needs a confirmation."""

import pytest

from salesline.accounts import selectors, services
from salesline.accounts.models import Membership, User
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent


def roles(user, org) -> set[str]:
    return set(
        Membership.objects.filter(user=user, organisation=org).values_list("role", flat=True)
    )


def test_member_add_creates_a_user_without_a_password(admin_actor, org):
    user = services.member_add(
        actor=admin_actor, email=" Kim@Piql.test", role="Sales coordinator", full_name="Kim"
    )
    assert (user.email, user.full_name, user.has_usable_password()) == (
        "kim@piql.test",
        "Kim",
        False,
    )
    assert roles(user, org) == {"sales_coordinator"}
    event = AuditEvent.objects.get(action="member.add")
    assert (event.actor_label, event.changes) == (
        "boss@piql.test",
        {"roles": [None, ["sales_coordinator"]]},
    )


def test_member_add_joins_an_existing_user_of_another_organisation(admin_actor, org, other_user):
    services.member_add(actor=admin_actor, email=other_user.email, role="salesperson")
    assert roles(other_user, org) == {"salesperson"}
    assert User.objects.filter(email=other_user.email).count() == 1


def test_member_add_reports_every_problem(admin_actor, user):
    with pytest.raises(ValidationFailed) as error:
        services.member_add(actor=admin_actor, email="nope", role="king")
    assert [p.loc for p in error.value.problems] == [("email",), ("role",)]
    with pytest.raises(ValidationFailed) as error:
        services.member_add(actor=admin_actor, email=user.email, role="admin")
    assert "already a member" in error.value.problems[0].msg


def test_only_an_admin_changes_members(actor, admin_user):
    with pytest.raises(PermissionDenied):
        services.member_add(actor=actor, email="x@piql.test", role="admin")
    with pytest.raises(PermissionDenied):
        services.member_set_roles(actor=actor, user_id=actor.user.pk, roles=["admin"])
    with pytest.raises(PermissionDenied):
        services.member_remove(actor=actor, user_id=admin_user.pk)
    assert not User.objects.filter(email="x@piql.test").exists()


def test_set_roles_replaces_them_and_is_audited(admin_actor, user, org):
    after = services.member_set_roles(
        actor=admin_actor, user_id=user.pk, roles=["admin", "Inside sales"]
    )
    assert after == ["admin", "inside_sales"] and roles(user, org) == set(after)
    event = AuditEvent.objects.get(action="member.roles")
    assert event.changes == {"roles": [["salesperson"], ["admin", "inside_sales"]]}


def test_set_roles_needs_a_known_role_and_at_least_one(admin_actor, user, org):
    with pytest.raises(ValidationFailed) as error:
        services.member_set_roles(actor=admin_actor, user_id=user.pk, roles=[])
    assert "at least one role" in error.value.problems[0].msg
    with pytest.raises(ValidationFailed) as error:
        services.member_set_roles(actor=admin_actor, user_id=user.pk, roles=["boss"])
    assert "Unknown role 'boss'" in error.value.problems[0].msg
    assert roles(user, org) == {"salesperson"}


def test_the_last_admin_keeps_the_role_and_stays(admin_actor, admin_user, org):
    with pytest.raises(Conflict, match="last admin"):
        services.member_set_roles(
            actor=admin_actor, user_id=admin_user.pk, roles=["salesperson"], confirm_self=True
        )
    with pytest.raises(Conflict, match="last admin"):
        services.member_remove(actor=admin_actor, user_id=admin_user.pk, confirm_self=True)
    assert roles(admin_user, org) == {"admin"}


def test_giving_up_your_own_admin_role_needs_confirmation(admin_actor, admin_user, user, org):
    services.member_set_roles(actor=admin_actor, user_id=user.pk, roles=["admin"])
    with pytest.raises(ValidationFailed) as error:
        services.member_set_roles(actor=admin_actor, user_id=admin_user.pk, roles=["salesperson"])
    assert error.value.problems[0].loc == ("confirm_self",)
    assert roles(admin_user, org) == {"admin"}
    services.member_set_roles(
        actor=admin_actor, user_id=admin_user.pk, roles=["salesperson"], confirm_self=True
    )
    assert roles(admin_user, org) == {"salesperson"}


def test_adding_a_role_to_yourself_needs_no_confirmation(admin_actor, admin_user, org):
    services.member_set_roles(
        actor=admin_actor, user_id=admin_user.pk, roles=["admin", "salesperson"]
    )
    assert roles(admin_user, org) == {"admin", "salesperson"}


def test_leaving_yourself_needs_confirmation(admin_actor, admin_user, user, org):
    services.member_set_roles(actor=admin_actor, user_id=user.pk, roles=["admin"])
    with pytest.raises(ValidationFailed, match="leave the organisation"):
        services.member_remove(actor=admin_actor, user_id=admin_user.pk)
    services.member_remove(actor=admin_actor, user_id=admin_user.pk, confirm_self=True)
    assert roles(admin_user, org) == set()


def test_remove_revokes_the_members_tokens_here_only(admin_actor, user, org, other_org):
    services.user_create(
        actor=services.system_actor(other_org), email=user.email, role="salesperson"
    )
    here, plain_here = services.token_create(actor=services.system_actor(org), user=user)
    _, plain_there = services.token_create(actor=services.system_actor(other_org), user=user)
    services.member_remove(actor=admin_actor, user_id=user.pk)
    assert roles(user, org) == set()
    # Adding them back does not bring the old token back to life.
    services.member_add(actor=admin_actor, email=user.email, role="salesperson")
    assert services.token_authenticate(plain_here) is None
    assert services.token_authenticate(plain_there) is not None
    event = AuditEvent.objects.get(action="member.remove")
    assert event.changes == {"roles": [["salesperson"], None], "tokens_revoked": 1}


def test_another_organisations_member_is_not_found(admin_actor, other_user):
    with pytest.raises(NotFound):
        services.member_set_roles(actor=admin_actor, user_id=other_user.pk, roles=["admin"])
    with pytest.raises(NotFound):
        services.member_remove(actor=admin_actor, user_id=other_user.pk)
    with pytest.raises(NotFound):
        selectors.member_get_for(actor=admin_actor, user_id=other_user.pk)


def test_member_list_has_each_member_once_with_all_roles(admin_actor, user, other_user):
    services.member_set_roles(actor=admin_actor, user_id=user.pk, roles=["salesperson", "admin"])
    members = selectors.member_list(actor=admin_actor)
    assert [(m.email, m.roles) for m in members] == [
        ("ann@piql.test", ("admin", "salesperson")),
        ("boss@piql.test", ("admin",)),
    ]
    assert members[0].role_labels == ["Admin", "Salesperson"] and members[0].is_admin


def test_token_list_and_get_are_scoped(actor, admin_actor, user, admin_user, org):
    mine, _ = services.token_create(actor=services.system_actor(org), user=user, name="mine")
    theirs, _ = services.token_create(
        actor=services.system_actor(org), user=admin_user, name="theirs"
    )
    assert [t.name for t in selectors.token_list(actor=actor)] == ["mine"]
    assert selectors.token_get_for(actor=actor, token_id=mine.pk) == mine
    with pytest.raises(NotFound):
        selectors.token_get_for(actor=actor, token_id=theirs.pk)
    assert selectors.token_get_for(actor=admin_actor, token_id=mine.pk) == mine
