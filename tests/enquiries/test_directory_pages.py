"""The directory, referral and bid pages: members only, edits through the services, plain
forms that work without JavaScript."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from salesline.enquiries.models import MemberSkill, Referral

from .directory_helpers import lead, skills, taxonomy

pytestmark = pytest.mark.django_db


def _browser(member):
    client = Client()
    client.force_login(member.user)
    return client


def test_directory_pages_search_and_isolation(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5})
    skills(world, world.outlandish, {"python": 4})
    url = reverse("web:network_directory", args=[world.network.slug])
    page = _browser(world.agile).get(url, {"skill": "drupal"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Webarchitects" in html
    assert "Outlandish" not in html.split("<h2>Case studies</h2>")[0]
    assert _browser(world.outsider).get(url).status_code == 404
    member_url = reverse("web:network_member", args=[world.network.slug, world.webarch.org.slug])
    assert _browser(world.outsider).get(member_url).status_code == 404
    assert "Drupal" in _browser(world.outlandish).get(member_url).content.decode()


def test_member_edits_its_own_entry(world):
    taxonomy(world)
    slug = world.webarch.org.slug
    url = reverse("web:network_member", args=[world.network.slug, slug])
    own = _browser(world.webarch)
    page = own.get(url)
    assert "Edit skills" in page.content.decode()
    response = own.post(url, {"form": "skills", "level-drupal": "4", "level-hosting": ""})
    assert response.status_code == 302
    assert dict(
        MemberSkill.objects.filter(organisation=world.webarch.org).values_list(
            "skill__key", "level"
        )
    ) == {"drupal": 4}
    response = own.post(
        url,
        {
            "form": "profile",
            "summary": "Hosting",
            "accounts": "secret 600k",
            "min_project_value": "x",
        },
    )
    assert response.status_code == 422
    assert "min_project_value" in response.content.decode()
    own.post(url, {"form": "profile", "summary": "Hosting co-op", "accounts": "secret 600k"})
    assert "secret 600k" in own.get(url).content.decode()
    other_view = _browser(world.outlandish).get(url).content.decode()
    assert "Hosting co-op" in other_view
    assert "secret 600k" not in other_view
    assert "Edit skills" not in other_view
    assert _browser(world.outlandish).post(url, {"form": "skills"}).status_code == 403
    response = own.post(
        url,
        {
            "form": "case_study",
            "title": "Portal",
            "client": "Council",
            "summary": "Built it",
            "skills": ["drupal"],
            "year": "2024",
            "file": SimpleUploadedFile("portal.txt", b"P"),
        },
    )
    assert response.status_code == 302
    assert "Portal" in own.get(url).content.decode()
    response = own.post(
        url,
        {
            "form": "document",
            "kind": "policy",
            "title": "Equality policy",
            "file": SimpleUploadedFile("eq.pdf", b"EQ"),
        },
    )
    assert response.status_code == 302


def test_referral_pages(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5})
    enquiry = lead(world)
    url = reverse("web:network_referrals", args=[world.network.slug, enquiry.pk])
    coordinator = _browser(world.coordinator)
    page = coordinator.get(url)
    assert page.status_code == 200
    assert "Has Drupal at level 5 of 5." in page.content.decode()
    assert _browser(world.webarch).get(url).status_code == 403
    assert _browser(world.outsider).get(url).status_code == 404
    assert coordinator.post(url, {"orgs": [world.webarch.org.slug]}).status_code == 302
    referral = Referral.objects.get(enquiry=enquiry)
    to_us = reverse("web:network_referrals_to_us", args=[world.network.slug])
    webarch = _browser(world.webarch)
    assert enquiry.reference in webarch.get(to_us).content.decode()
    assert enquiry.reference not in _browser(world.outlandish).get(to_us).content.decode()
    decline = reverse("web:network_referral_decline", args=[world.network.slug, referral.pk])
    webarch.post(decline, {"reason": ""})
    referral.refresh_from_db()
    assert referral.status == "offered"
    accept = reverse("web:network_referral_accept", args=[world.network.slug, referral.pk])
    # Another member's POST is refused; the referred member's makes the opportunity.
    _browser(world.outlandish).post(accept)
    referral.refresh_from_db()
    assert referral.status == "offered"
    assert webarch.post(accept).status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.opportunity_id is not None
    assert f"#{referral.opportunity_id}" not in coordinator.get(url).content.decode()


def test_bid_pages(world):
    url = reverse("web:network_bids", args=[world.network.slug])
    webarch = _browser(world.webarch)
    assert webarch.get(url).status_code == 200
    bad = webarch.post(url, {"title": "", "members": [world.webarch.org.slug]})
    assert bad.status_code == 422
    response = webarch.post(
        url,
        {
            "title": "Framework",
            "members": [world.webarch.org.slug, world.outlandish.org.slug],
            "lead_member": world.webarch.org.slug,
            "questions": "Do you have an equality policy?\nWhat are your rates?",
        },
    )
    assert response.status_code == 302
    bid_url = response["Location"]
    page = _browser(world.outlandish).get(bid_url)
    assert page.status_code == 200
    assert "Do you have an equality policy?" in page.content.decode()
    assert "no equality policy in the directory" in page.content.decode()
    assert _browser(world.agile).get(bid_url).status_code == 404
    assert _browser(world.outsider).get(bid_url).status_code == 404
    zipped = webarch.get(bid_url + "pack.zip")
    assert zipped.status_code == 200
    assert zipped["Content-Type"] == "application/zip"
