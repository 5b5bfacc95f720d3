"""The public enquiry form /n/<network>/enquire and the coordinator's quarantine page."""

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from salesline.enquiries.models import Enquiry, InboundMail, InboundStatus

FORM = {
    "name": "Jo Baker",
    "email": "jo@bakery.test",
    "organisation_name": "Bakery Co-op",
    "country": "GB",
    "message": "We would like an online shop.",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _token(visitor: Client) -> str:
    form = visitor.get("/n/cotech/enquire")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'name="website"' in html
    for field in FORM:
        assert f'name="{field}"' in html
    assert "<script" not in html.split("<main", 1)[-1] or "nonce" in html
    return visitor.cookies["csrftoken"].value


def test_the_form_records_an_enquiry_and_thanks_with_the_reference(world):
    visitor = Client(enforce_csrf_checks=True)
    token = _token(visitor)
    refused = Client(enforce_csrf_checks=True).post("/n/cotech/enquire", FORM)
    assert refused.status_code == 403  # no CSRF token
    done = visitor.post("/n/cotech/enquire", {**FORM, "csrfmiddlewaretoken": token})
    assert done.status_code == 200
    enquiry = Enquiry.objects.get()
    assert enquiry.source == "form"
    assert (enquiry.name, enquiry.email, enquiry.organisation_name, enquiry.country) == (
        "Jo Baker",
        "jo@bakery.test",
        "Bakery Co-op",
        "GB",
    )
    assert enquiry.message == FORM["message"]
    assert enquiry.reference in done.content.decode()
    assert "Thank you" in done.content.decode()


def test_an_unknown_network_is_404(world):
    assert Client().get("/n/nope/enquire").status_code == 404
    assert Client().post("/n/nope/enquire", FORM).status_code == 404


def test_errors_are_shown_by_field_with_the_input_kept(world):
    bad = Client().post(
        "/n/cotech/enquire",
        {**FORM, "email": "jo@", "country": "ZZ", "organisation_name": "Keep me"},
    )
    assert bad.status_code in (400, 422)
    html = bad.content.decode()
    assert 'value="Keep me"' in html
    assert "We would like an online shop." in html
    assert "e-mail address" in html.lower()
    assert 'id="id_email-errors"' in html or "id_email" in html
    missing = Client().post("/n/cotech/enquire", {**FORM, "message": ""})
    assert missing.status_code == 400
    assert 'id="id_message-errors"' in missing.content.decode()
    assert not Enquiry.objects.exists()


def test_the_honeypot_pretends_success_records_nothing_and_logs(world, caplog):
    with caplog.at_level(logging.WARNING):
        response = Client().post("/n/cotech/enquire", {**FORM, "website": "http://spam.test"})
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert not Enquiry.objects.exists()
    assert "honeypot" in caplog.text


def test_the_rate_limit_is_per_address_and_network(world, settings):
    settings.SALESLINE_ENQUIRY_FORM_RATE_LIMITS = {"read": (300, 600), "send": (2, 3600)}
    visitor = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(2):
        assert visitor.post("/n/cotech/enquire", {**FORM, "name": f"Jo {n}"}).status_code == 200
    limited = visitor.post("/n/cotech/enquire", FORM)
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert other.post("/n/cotech/enquire", FORM).status_code == 200
    assert Enquiry.objects.count() == 3


def test_a_body_over_the_limit_is_refused_with_a_clear_message(world):
    huge = Client().post("/n/cotech/enquire", {**FORM, "message": "x" * 300_000})
    assert huge.status_code == 413
    assert "too long" in huge.content.decode()
    long_message = Client().post("/n/cotech/enquire", {**FORM, "message": "x" * 20_001})
    assert long_message.status_code == 400
    assert "20000" in long_message.content.decode().replace(",", "")
    assert not Enquiry.objects.exists()


def _signed_in(member) -> Client:
    client = Client()
    client.force_login(member.user)  # each user belongs to one organisation
    return client


def test_the_quarantine_page_releases_and_discards(world):
    network = world.network
    first = InboundMail.objects.create(
        network=network,
        sha256="a" * 64,
        raw=b"Subject: call me\r\n\r\nOn 0113 496 0000\r\n",
        status=InboundStatus.QUARANTINED,
        reason="The message has no From address.",
    )
    second = InboundMail.objects.create(
        network=network,
        sha256="b" * 64,
        raw=b"Subject: spam\r\n\r\nBuy\r\n",
        status=InboundStatus.QUARANTINED,
        reason="The message has no From address.",
    )
    coordinator = _signed_in(world.coordinator)
    page = coordinator.get("/networks/cotech/quarantine/")
    assert page.status_code == 200, page.content[:500]
    assert "The message has no From address." in page.content.decode()
    member = _signed_in(world.webarch)
    assert member.get("/networks/cotech/quarantine/").status_code == 403
    assert _signed_in(world.outsider).get("/networks/cotech/quarantine/").status_code == 404
    released = coordinator.post(
        f"/networks/cotech/quarantine/{first.pk}/release", {"email": "caller@x.test"}
    )
    assert released.status_code == 302
    enquiry = Enquiry.objects.get()
    assert enquiry.email == "caller@x.test" and "0113 496 0000" in enquiry.message
    assert coordinator.post(f"/networks/cotech/quarantine/{second.pk}/discard").status_code == 302
    second.refresh_from_db()
    assert second.status == InboundStatus.DISCARDED
    assert (
        "Nothing is in quarantine"
        in coordinator.get("/networks/cotech/quarantine/").content.decode()
    )
