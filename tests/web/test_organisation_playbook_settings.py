"""The organisation settings page's Playbooks section: country for working days, booking link,
From address — labelled, explained, each error beside its field, admin only."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent

FORM = {
    "phone_region": "",
    "country": "no",
    "booking_url": "https://cal.example.com/piql",
    "from_email": "partnerships@piql.test",
}


def signed_in(user, org) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(admin_user, org):
    return signed_in(admin_user, org)


@pytest.fixture
def sales(user, org):
    return signed_in(user, org)


def test_the_section_has_labels_and_help(admin, org):
    page = admin.get("/settings/organisation/").content.decode()
    for label, name in (
        ("Country for working days", "country"),
        ("Meeting-booking link", "booking_url"),
        ("From address of canned messages", "from_email"),
    ):
        assert f'<label for="id_{name}">{label}</label>' in page
        assert f'aria-describedby="id_{name}_helptext"' in page
    assert "<legend>Playbooks</legend>" in page
    assert "{{ links.booking }}" in page


def test_an_admin_saves_them(admin, org):
    response = admin.post("/settings/organisation/", FORM)

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.country, org.booking_url, org.from_email) == (
        "NO",
        "https://cal.example.com/piql",
        "partnerships@piql.test",
    )
    event = AuditEvent.objects.get(object_type="organisation", action="update")
    assert set(event.changes) == {"country", "booking_url", "from_email"}
    page = admin.get("/settings/organisation/").content.decode()
    assert "Country for working days saved: NO." in page
    assert 'href="https://cal.example.com/piql"' in page
    assert 'value="partnerships@piql.test"' in page

    page = admin.post("/settings/organisation/", FORM, follow=True).content.decode()
    assert "Nothing changed." in page
    assert AuditEvent.objects.filter(object_type="organisation").count() == 2  # create, update


def test_each_error_is_shown_beside_its_field_and_nothing_is_saved(admin, org):
    response = admin.post(
        "/settings/organisation/",
        {**FORM, "country": "XX", "booking_url": "javascript:alert(1)", "from_email": "nobody"},
    )

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"country", "booking_url", "from_email"}
    page = response.content.decode()
    assert '<div id="id_booking_url-errors"><p class="error">Booking link must' in page
    assert 'value="javascript:alert(1)"' in page  # what was typed stays, to be fixed
    org.refresh_from_db()
    assert (org.country, org.booking_url, org.from_email) == ("", "", "")


def test_a_booking_link_is_never_rendered_as_markup(admin_actor, admin, org):
    accounts.organisation_update(
        actor=admin_actor, data={"booking_url": 'https://x.test/?a="><script>alert(1)</script>'}
    )
    page = admin.get("/settings/organisation/").content.decode()
    assert "<script>alert(1)" not in page


def test_a_salesperson_sees_them_but_cannot_change_them(admin_actor, sales, org):
    accounts.organisation_update(actor=admin_actor, data={"country": "NO"})
    page = sales.get("/settings/organisation/")
    assert page.status_code == 200
    assert b'name="country"' not in page.content and b"NO" in page.content
    response = sales.post("/settings/organisation/", {**FORM, "country": "SE"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.country == "NO"


def test_the_form_needs_the_csrf_token(admin_user, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post("/settings/organisation/", FORM).status_code == 403
    org.refresh_from_db()
    assert org.country == ""
