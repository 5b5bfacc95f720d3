"""Signing in is case-insensitive in the e-mail, and so is its lockout (django-axes)."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.accounts.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture
def member(org):
    return accounts.user_create(
        email="Ann@Piql.test",
        actor=accounts.system_actor(org),
        role="salesperson",
        password=PASSWORD,
    )


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/login/", {"username": email, "password": password})


def test_a_new_user_s_email_is_stored_lower_cased(member):
    assert member.email == "ann@piql.test"


@pytest.mark.parametrize("typed", ["ann@piql.test", "ANN@PIQL.TEST", " Ann@Piql.Test "])
def test_sign_in_takes_the_email_in_any_case(member, typed):
    response = sign_in(Client(), typed)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_legacy_mixed_case_email_still_signs_in_in_any_case(org):
    legacy = User.objects.create(email="Bo.Berg@Piql.test")  # stored before lower-casing
    legacy.set_password(PASSWORD)
    legacy.save()
    accounts.user_create(email="bo.berg@piql.test", actor=accounts.system_actor(org), role="admin")

    assert sign_in(Client(), "Bo.Berg@Piql.test").status_code == 302
    assert sign_in(Client(), "bo.berg@piql.test").status_code == 302
    # user_create found the legacy user instead of making a second one.
    assert User.objects.filter(email__iexact="bo.berg@piql.test").count() == 1


def test_a_wrong_password_still_fails_in_any_case(member):
    response = sign_in(Client(), "ANN@piql.test", "wrong")

    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session


def test_changing_the_case_does_not_buy_more_attempts(member):
    client = Client()
    for typed in ["ann@piql.test", "ANN@piql.test", "Ann@Piql.test", "aNN@piql.test"]:
        assert sign_in(client, typed, "wrong").status_code == 200

    locked = sign_in(client, "ANN@PIQL.TEST", "wrong")

    assert locked.status_code == 429
    assert sign_in(client, "ann@piql.test").status_code == 429


def test_a_member_added_with_a_capitalised_email_is_the_existing_user(org, member):
    actor = accounts.system_actor(org)
    again = accounts.user_create(email="ANN@PIQL.TEST", actor=actor, role="admin")

    assert again.pk == member.pk
