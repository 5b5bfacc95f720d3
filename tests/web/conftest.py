"""Fixtures of the page tests (Django's test client; tests/browser has the real browser)."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts

PASSWORD = "correct horse battery staple"
MEMBER_EMAIL = "ann@piql.test"


@pytest.fixture
def browser(org):
    """A test client signed in as a salesperson of `org`; `browser.actor` is their actor."""
    member = accounts.user_create(
        email=MEMBER_EMAIL, actor=accounts.system_actor(org), role="salesperson", password=PASSWORD
    )
    client = Client()
    client.force_login(member)
    client.actor = accounts.actor_for(member, org)
    return client
