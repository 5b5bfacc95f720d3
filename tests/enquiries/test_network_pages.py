"""The network pages: my networks, the network at a glance, applications with the vote, the
coordinator's view, and the public join form."""

import pytest
from django.core.cache import cache
from django.test import Client

from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import DomainEvent
from salesline.enquiries import membership
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Application

UK_COOP = {
    "organisation_name": "Digital Commons Co-op",
    "country": "GB",
    "legal_form": "co-operative",
    "email": "hello@commons.test",
    "message": "Hello",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _browser(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_the_networks_entry_is_shown_only_to_members(world):
    page = _browser(world.webarch).get("/networks/")
    assert page.status_code == 200
    assert b'href="/networks/"' in page.content
    assert b"CoTech" in page.content
    outsider = _browser(world.outsider).get("/networks/")
    assert outsider.status_code == 200
    assert b'href="/networks/"' not in outsider.content
    assert b"not a member of any network" in outsider.content


def test_the_network_home_links_the_network_pages(world):
    enquiry_receive(
        network=world.network,
        data={"name": "Eve", "email": "eve@example.test", "message": "A website?"},
        source="api",
    )
    page = _browser(world.webarch).get("/networks/cotech/")
    assert page.status_code == 200
    text = page.content.decode()
    for href in ("enquiries", "rota", "directory", "bids", "applications"):
        assert f'href="/networks/cotech/{href}/"' in text
    assert "/networks/cotech/coordinator/" not in text  # not the coordinator
    assert "Webarchitects" in text and "Outlandish" in text
    assert 'href="/networks/cotech/enquiries/">1</a>' in text
    assert (
        "/networks/cotech/coordinator/"
        in _browser(world.coordinator).get("/networks/cotech/").content.decode()
    )
    assert _browser(world.outsider).get("/networks/cotech/").status_code == 404


def test_vote_from_the_application_page(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    url = f"/networks/cotech/applications/{application.pk}/"
    browser = _browser(world.webarch)
    listing = browser.get("/networks/cotech/applications/")
    assert listing.status_code == 200 and b"Digital Commons Co-op" in listing.content
    page = browser.get(url)
    assert page.status_code == 200
    assert b'name="vote" value="yes"' in page.content
    response = browser.post(url + "vote/", {"vote": "yes"})
    assert response.status_code == 302
    page = browser.get(url)
    assert b"voted <strong>yes</strong>" in page.content
    assert b'name="vote" value="yes"' not in page.content
    again = browser.post(url + "vote/", {"vote": "no"})
    assert again.status_code == 409
    assert b"already voted" in again.content
    assert _browser(world.outsider).get(url).status_code == 404
    assert _browser(world.outsider).post(url + "vote/", {"vote": "yes"}).status_code == 404
    assert application.votes.count() == 1


def test_flag_borderline_from_the_page(world):
    application = membership.application_submit(network=world.network, data=UK_COOP)
    url = f"/networks/cotech/applications/{application.pk}/"
    browser = _browser(world.coordinator)
    refused = browser.post(url + "borderline/", {"facts": "", "action": "flag"})
    assert refused.status_code == 422
    done = browser.post(url + "borderline/", {"facts": "Two of five staff are members."})
    assert done.status_code == 302
    page = _browser(world.outlandish).get(url)
    assert b"Borderline: the facts to weigh" in page.content
    assert b"Two of five staff are members." in page.content


def test_the_coordinators_view_is_for_the_coordinator(world):
    enquiry_receive(
        network=world.network,
        data={"name": "Eve", "email": "eve@example.test", "message": "A website?"},
        source="api",
    )
    page = _browser(world.coordinator).get("/networks/cotech/coordinator/")
    assert page.status_code == 200
    assert b"<svg" in page.content and b"Enquiries by category" in page.content
    assert _browser(world.webarch).get("/networks/cotech/coordinator/").status_code == 403
    assert _browser(world.outsider).get("/networks/cotech/coordinator/").status_code == 404


def test_the_public_join_form_without_javascript(world):
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get("/n/cotech/join")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    without_token = visitor.post("/n/cotech/join", UK_COOP)
    assert without_token.status_code == 403
    response = visitor.post("/n/cotech/join", {**UK_COOP, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/n/cotech/join/thanks"
    thanks = visitor.get(response["Location"])
    assert b"Thank you for applying" in thanks.content
    assert b"the members, who vote" in thanks.content
    application = Application.objects.get()
    assert (application.status, application.organisation) == ("voting", None)
    assert Client().get("/n/nope/join").status_code == 404


def test_the_join_form_names_bad_fields_and_signposts_the_ineligible(world):
    visitor = Client()
    bad = visitor.post("/n/cotech/join", {**UK_COOP, "country": "UK", "email": "x"})
    assert bad.status_code in (400, 422)
    assert b"GB" in bad.content  # the United Kingdom is GB
    assert not Application.objects.exists()
    response = visitor.post("/n/cotech/join", {**UK_COOP, "country": "IE"}, follow=True)
    assert b"outside CoTech" in response.content
    assert Application.objects.get().status == "ineligible"
    (reply,) = DomainEvent.objects.filter(kind=MAIL_REQUESTED)
    assert reply.payload["to"] == ["hello@commons.test"]


def test_the_join_form_honeypot_and_rate_limit(world):
    bot = Client(REMOTE_ADDR="203.0.113.9")
    trapped = bot.post("/n/cotech/join", {**UK_COOP, "website": "http://spam.test"})
    assert trapped.status_code == 400
    assert not Application.objects.exists()
    for _ in range(4):
        bot.post("/n/cotech/join", {**UK_COOP, "website": "x"})
    limited = bot.post("/n/cotech/join", UK_COOP)
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert not Application.objects.exists()
    other = Client(REMOTE_ADDR="203.0.113.10").post("/n/cotech/join", UK_COOP)
    assert other.status_code == 302


def test_the_join_form_refuses_a_second_application_while_voting(world):
    visitor = Client()
    assert visitor.post("/n/cotech/join", UK_COOP).status_code == 302
    again = visitor.post("/n/cotech/join", UK_COOP)
    assert again.status_code == 409
    assert b"has applied already" in again.content
    assert Application.objects.count() == 1


def test_from_an_organisation_in_no_network_the_page_offers_the_switch(world):
    from django.test import Client

    from salesline.accounts import services as accounts

    user = world.webarch.user
    accounts.user_create(
        actor=accounts.system_actor(world.outsider.org), email=user.email, role="salesperson"
    )
    client = Client()
    client.force_login(user)
    client.post("/organisation/", {"organisation": world.outsider.org.pk})
    page = client.get("/networks/").content.decode()
    assert "is not a member of any network" in page
    assert f"Switch to {world.webarch.org.name}" in page
    assert 'href="/networks/">Networks</a>' in page  # the entry shows from here too
    switched = client.post(
        "/organisation/", {"organisation": world.webarch.org.pk, "next": "/networks/cotech/"}
    )
    assert switched.headers["Location"] == "/networks/cotech/"
    assert client.get("/networks/cotech/").status_code == 200
