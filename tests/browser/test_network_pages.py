"""The network's pages in Chromium, on the demo's network (demo_network): each fits desktop and
phone without sideways scroll or console errors and passes axe; the public enquiry form works
without JavaScript and answers with the reference."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from salesline.accounts.models import Organisation, User
from salesline.demo_network import BOOKS, DEMO_EMAIL, network_at_work
from salesline.enquiries import access
from salesline.enquiries.models import Application, Bid, Enquiry, RotaPeriod
from salesline.process.services import organisation_create

from .conftest import DESKTOP, PHONE, axe_violations, with_timeouts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def network(live_server):
    books = organisation_create(name=BOOKS, template="network-enquiries")
    User.objects.create_user(DEMO_EMAIL, "salesline-demo-password")
    return network_at_work([books])


def _sign_in_as_coordinator(page, live_server, network) -> None:
    client = Client()
    client.force_login(network.coordinator)
    home = Organisation.objects.get(pk=network.coordinator_home_id)
    client.post(reverse("web:organisation-switch"), {"organisation": home.pk})
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_every_network_page_fits_and_passes_axe(page, live_server, network):
    _sign_in_as_coordinator(page, live_server, network)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = network.slug
    lead = Enquiry.objects.get(status="lead")
    member = network.members.order_by("pk")[1].organisation
    paths = [
        "/networks/",
        f"/networks/{slug}/",
        f"/networks/{slug}/enquiries/",
        f"/networks/{slug}/enquiries/{lead.pk}/",
        f"/networks/{slug}/enquiries/{lead.pk}/referrals/",
        f"/networks/{slug}/rota/",
        f"/networks/{slug}/directory/",
        f"/networks/{slug}/directory/{member.slug}/",
        f"/networks/{slug}/referrals/",
        f"/networks/{slug}/bids/",
        f"/networks/{slug}/bids/{Bid.objects.get().pk}/",
        f"/networks/{slug}/applications/",
        f"/networks/{slug}/applications/{Application.objects.get(status='voting').pk}/",
        f"/networks/{slug}/coordinator/",
        f"/networks/{slug}/coordinator/change/",
        f"/networks/{slug}/members/{member.slug}/leave/",
        f"/networks/{slug}/quarantine/",
        f"/n/{slug}/enquire",
        f"/n/{slug}/join",
    ]
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{path} is {width} px wide at {viewport['width']}"
            if viewport is DESKTOP:
                assert axe_violations(page) == [], path
    assert errors == []


def test_the_coordinator_takes_a_member_out_after_the_confirmation(page, live_server, network):
    _sign_in_as_coordinator(page, live_server, network)
    on_rota = set(
        RotaPeriod.objects.filter(network=network, ends_on__gte=timezone.localdate()).values_list(
            "organisation_id", flat=True
        )
    )
    member = next(
        row.organisation
        for row in access.members_of(network).order_by("organisation__name")
        if row.organisation_id not in on_rota | {network.coordinator_home_id}
    )
    page.goto(f"/networks/{network.slug}/")
    page.get_by_role("link", name=f"Take {member.name} out of the network").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Take {member.name} out of {network.name}?"
    )
    page.get_by_role("button", name=f"Take {member.name} out").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{member.name} is no longer a member of {network.name}."
    )
    assert not access.is_member(network, member)


def test_the_public_form_works_without_javascript(browser, live_server, network):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = with_timeouts(context.new_page())
    page.goto(f"/n/{network.slug}/enquire")
    page.get_by_label("Your name").fill("Jo Bloggs")
    page.get_by_label("Your e-mail").fill("jo@example.test")
    page.get_by_label("Your organisation").fill("Bloggs Housing")
    page.get_by_label("Your enquiry").fill("We need a new website for our tenants.")
    page.get_by_role("button", name="Send your enquiry").click()
    enquiry = Enquiry.objects.get(email="jo@example.test")
    assert enquiry.reference in page.content()
    assert enquiry.source == "form"
    context.close()
