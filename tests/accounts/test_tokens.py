"""API tokens: only a hash is stored, a revoked token answers 401, and a token opens exactly one
organisation."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection

from salesline.accounts import services as accounts
from salesline.accounts.models import ApiToken, Membership
from salesline.core.errors import NotFound, PermissionDenied
from salesline.core.models import AuditEvent
from salesline.records.services import record_create
from tests.conftest import COMPANY, ApiClient


def every_stored_text() -> str:
    """All token and audit rows as text, to look for a leaked secret."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        tokens = cursor.fetchall()
    audit = list(AuditEvent.objects.values_list("changes", "object_repr"))
    return repr(tokens) + repr(audit)


def test_only_the_hash_of_a_token_is_stored(user, org):
    token, plain = accounts.token_create(actor=accounts.system_actor(org), user=user, name="laptop")

    stored = ApiToken.objects.get(pk=token.pk)
    assert plain.startswith(f"sl_{stored.prefix}_")
    assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    secret = plain.removeprefix(f"sl_{stored.prefix}_")
    assert secret not in every_stored_text()
    assert plain not in every_stored_text()


def test_each_token_is_different(user, org):
    plains = {
        accounts.token_create(actor=accounts.system_actor(org), user=user)[1] for _ in range(5)
    }

    assert len(plains) == 5


def test_a_token_authenticates_its_user_in_its_organisation(user, org):
    _, plain = accounts.token_create(actor=accounts.system_actor(org), user=user)

    actor = accounts.token_authenticate(plain)

    assert (actor.user, actor.organisation) == (user, org)
    assert actor.roles == frozenset({"salesperson"})


@pytest.mark.parametrize("text", ["", "sl_", "sl_0000_nothing", "Bearer x", "not-even-close"])
def test_unknown_tokens_authenticate_nobody(db, text):
    assert accounts.token_authenticate(text) is None


def test_a_revoked_token_answers_401(actor, company):
    token, plain = accounts.token_create(actor=actor)
    client = ApiClient(plain)
    assert client.get(f"/companies/{company.pk}").status_code == 200

    accounts.token_revoke(actor=actor, token_id=token.pk)

    assert client.get(f"/companies/{company.pk}").status_code == 401
    assert client.patch(f"/companies/{company.pk}", {"market": "Sweden"}).status_code == 401
    company.refresh_from_db()
    assert company.market == "Norway"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_revoking_is_audited_and_idempotent(actor):
    token, _ = accounts.token_create(actor=actor)

    first = accounts.token_revoke(actor=actor, token_id=token.pk)
    second = accounts.token_revoke(actor=actor, token_id=token.pk)

    assert first.revoked_at == second.revoked_at
    assert AuditEvent.objects.filter(action="revoke", object_type="apitoken").count() == 1


def test_only_the_owner_or_an_admin_may_revoke(actor, admin_actor, other_actor):
    admins_token, _ = accounts.token_create(actor=admin_actor)
    members_token, _ = accounts.token_create(actor=actor)

    with pytest.raises(NotFound):
        accounts.token_revoke(actor=actor, token_id=admins_token.pk)
    with pytest.raises(NotFound):
        accounts.token_revoke(actor=other_actor, token_id=members_token.pk)
    accounts.token_revoke(actor=admin_actor, token_id=members_token.pk)

    assert ApiToken.objects.get(pk=admins_token.pk).revoked_at is None
    assert ApiToken.objects.get(pk=members_token.pk).revoked_at is not None


def test_a_token_stops_working_when_its_user_leaves_the_organisation(actor, company):
    _, plain = accounts.token_create(actor=actor)

    Membership.objects.filter(user=actor.user, organisation=actor.organisation).delete()

    assert ApiClient(plain).get("/companies").status_code == 401


def test_a_deactivated_users_token_answers_401(actor):
    _, plain = accounts.token_create(actor=actor)

    actor.user.is_active = False
    actor.user.save(update_fields=["is_active"])

    assert ApiClient(plain).get("/companies").status_code == 401


def test_a_token_is_only_for_a_member(user, other_org):
    with pytest.raises(PermissionDenied):
        accounts.token_create(actor=accounts.system_actor(other_org), user=user)

    assert not ApiToken.objects.filter(organisation=other_org).exists()


def test_a_member_of_two_organisations_sees_only_the_tokens_organisation(
    user, org, other_org, other_actor, company
):
    accounts.user_create(
        actor=accounts.system_actor(other_org), email=user.email, role="salesperson"
    )
    theirs = record_create(
        actor=other_actor, kind="company", data={**COMPANY, "name": "Other Archives"}
    )
    _, plain_a = accounts.token_create(actor=accounts.system_actor(org), user=user)
    _, plain_b = accounts.token_create(actor=accounts.system_actor(other_org), user=user)
    api_a, api_b = ApiClient(plain_a), ApiClient(plain_b)

    assert [c["id"] for c in api_a.get("/companies").json()["items"]] == [company.pk]
    assert [c["id"] for c in api_b.get("/companies").json()["items"]] == [theirs.pk]
    assert api_a.get(f"/companies/{theirs.pk}").status_code == 404
    assert api_a.patch(f"/companies/{theirs.pk}", {"market": "X"}).status_code == 404
    assert api_a.delete(f"/companies/{theirs.pk}").status_code == 404
    assert api_b.get(f"/companies/{company.pk}").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.market, theirs.deleted_at) == ("Norway", None)


def test_roles_come_from_the_tokens_organisation(user, org, other_org):
    accounts.user_create(actor=accounts.system_actor(other_org), email=user.email, role="admin")
    _, plain_a = accounts.token_create(actor=accounts.system_actor(org), user=user)
    _, plain_b = accounts.token_create(actor=accounts.system_actor(other_org), user=user)

    assert accounts.token_authenticate(plain_a).roles == frozenset({"salesperson"})
    assert accounts.token_authenticate(plain_b).roles == frozenset({"admin"})
    assert ApiClient(plain_a).delete("/custom-fields/1").status_code in (403, 404)


def test_last_use_is_written_at_most_every_five_minutes(user, org):
    token, plain = accounts.token_create(actor=accounts.system_actor(org), user=user)
    start = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)

    with time_machine.travel(start, tick=False):
        accounts.token_authenticate(plain)
    with time_machine.travel(start + dt.timedelta(minutes=4), tick=False):
        accounts.token_authenticate(plain)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        accounts.token_authenticate(plain)

    assert first == start
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start + dt.timedelta(minutes=6)
