"""The network's inbox, enquiry and rota pages: members only, filters, overdue, the triage
form, the reply, the hand-over and acknowledgement, all without JavaScript."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import DomainEvent
from salesline.enquiries.intake import enquiry_receive
from salesline.enquiries.models import Enquiry, RotaPeriod
from salesline.records.models import Lead


def _client(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def _enquiry(world, **data) -> Enquiry:
    return enquiry_receive(
        network=world.network,
        data={"name": "Zoe Client", "email": "zoe@client.test", "message": "Hi", **data},
        source="form",
    )


@pytest.fixture
def on_duty(world):
    today = timezone.localdate()
    current = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=10),
    )
    following = RotaPeriod.objects.create(
        network=world.network,
        organisation=world.outlandish.org,
        person=world.outlandish.user,
        starts_on=today + timedelta(days=11),
        ends_on=today + timedelta(days=100),
    )
    return current, following


def test_the_inbox_lists_filters_searches_and_marks_overdue(world, on_duty):
    late = _enquiry(world, name="Late Larry", organisation_name="Slow Co")
    Enquiry.objects.filter(pk=late.pk).update(respond_by=timezone.localdate() - timedelta(days=1))
    _enquiry(world, name="Fresh Fiona")
    url = reverse("web:network_enquiries", args=["cotech"])
    page = _client(world.outlandish).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Late Larry" in html and "Fresh Fiona" in html
    assert html.count("Overdue") == 1
    assert "On duty: <strong>Webarchitects</strong>" in html
    searched = _client(world.outlandish).get(url, {"q": "slow"}).content.decode()
    assert "Late Larry" in searched and "Fresh Fiona" not in searched
    none = _client(world.outlandish).get(url, {"status": "declined"}).content.decode()
    assert "No enquiry matches these filters." in none
    assert _client(world.outlandish).get(url, {"status": "bogus"}).status_code == 400
    chaired = _client(world.outlandish).get(url, {"chair": world.webarch.org.slug})
    assert "Late Larry" in chaired.content.decode()


def test_the_inbox_is_for_members_only(world):
    url = reverse("web:network_enquiries", args=["cotech"])
    assert _client(world.outsider).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    empty = _client(world.webarch).get(url).content.decode()
    assert "No enquiries yet." in empty


def test_the_inbox_pages(world, on_duty):
    for n in range(27):
        _enquiry(world, name=f"Person {n}")
    url = reverse("web:network_enquiries", args=["cotech"])
    first = _client(world.webarch).get(url).content.decode()
    assert 'rel="next"' in first and "Person 26" in first and "Person 0<" not in first
    second = _client(world.webarch).get(url, {"page": "2"}).content.decode()
    assert "Person 0" in second and 'rel="prev"' in second


def test_the_enquiry_page_shows_guidance_and_triages_a_sales_enquiry(world, on_duty):
    enquiry = _enquiry(world)
    url = reverse("web:network_enquiry", args=["cotech", enquiry.pk])
    chair = _client(world.webarch)
    page = chair.get(url, {"category": "sales"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Sales enquiry" in html and "What is your budget" in html
    assert f"/networks/cotech/enquiries/{enquiry.pk}/referrals/" in html
    response = chair.post(
        url,
        {
            "action": "triage",
            "category": "sales",
            "budget": "50000",
            "timescale": "Summer",
            "technology": "Django",
            "brief": "A portal",
        },
    )
    assert response.status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.status == "lead"
    assert Lead.objects.filter(pk=enquiry.lead_id, organisation=world.network.organisation)
    after = chair.get(url).content.decode()
    assert "Feasible" in after
    assert "<strong>triage</strong> by bob@webarch.test" in after  # the timeline
    assert "next_steps" in after


def test_a_member_off_duty_sees_but_cannot_triage(world, on_duty):
    enquiry = _enquiry(world)
    url = reverse("web:network_enquiry", args=["cotech", enquiry.pk])
    page = _client(world.outlandish).get(url).content.decode()
    assert 'name="action" value="triage"' not in page
    refused = _client(world.outlandish).post(url, {"action": "triage", "category": "jobs"})
    assert refused.status_code == 403
    assert _client(world.outsider).get(url).status_code == 404
    other = reverse("web:network_enquiry", args=["cotech", 10**20])
    assert _client(world.webarch).get(other).status_code == 404


def test_the_reply_is_sent_from_the_page(world, on_duty):
    enquiry = _enquiry(world)
    url = reverse("web:network_enquiry", args=["cotech", enquiry.pk])
    chair = _client(world.webarch)
    chair.post(url, {"action": "triage", "category": "jobs"})
    response = chair.post(
        url,
        {"action": "send", "template": "forum_invite", "subject": "Jobs", "body": "See the forum."},
    )
    assert response.status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.status == "replied"
    mail = DomainEvent.objects.filter(kind=MAIL_REQUESTED, payload__subject="Jobs").get()
    assert mail.payload["send"] is True
    bad = chair.post(url, {"action": "send", "template": "nope", "subject": "x", "body": "y"})
    assert bad.status_code == 422
    assert "No reply" in bad.content.decode()


def test_the_rota_page_adds_hands_over_and_acknowledges(world, on_duty):
    current, following = on_duty
    url = reverse("web:network_rota", args=["cotech"])
    coordinator = _client(world.coordinator)
    page = coordinator.get(url).content.decode()
    assert "On duty now: <strong>Webarchitects</strong>" in page
    assert "Next: <strong>Outlandish</strong>" in page
    added = coordinator.post(
        url,
        {
            "action": "add",
            "org": world.agile.org.slug,
            "person": "ann@agile.test",
            "starts_on": (following.ends_on + timedelta(days=1)).isoformat(),
        },
    )
    assert added.status_code == 302
    assert RotaPeriod.objects.count() == 3
    overlap = coordinator.post(
        url,
        {
            "action": "add",
            "org": world.agile.org.slug,
            "person": "ann@agile.test",
            "starts_on": following.starts_on.isoformat(),
        },
    )
    assert overlap.status_code == 422
    assert "It overlaps the period" in overlap.content.decode()
    assert _client(world.webarch).post(url, {"action": "add", "org": "x"}).status_code == 403
    _enquiry(world)
    written = _client(world.webarch).post(
        url, {"action": "handover", "period": current.pk, "notes": "Call Zoe back."}
    )
    assert written.status_code == 302
    incoming = _client(world.outlandish)
    assert "Acknowledge the hand-over" in incoming.get(url).content.decode()
    assert incoming.post(url, {"action": "acknowledge", "period": current.pk}).status_code == 302
    current.refresh_from_db()
    assert current.acknowledged_by == world.outlandish.user
    assert len(current.handover_open_enquiries) == 1
    assert _client(world.outsider).get(url).status_code == 404


def test_the_inbox_and_the_rota_list_take_a_fixed_number_of_queries(world, on_duty):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(world.webarch)
    url = reverse("web:network_enquiries", args=["cotech"])

    def counts():
        client.get(url)  # the session, the token and the definition cache warm up
        world.webarch.api.get("/rota")
        with CaptureQueriesContext(connection) as page:
            client.get(url)
        with CaptureQueriesContext(connection) as api:
            world.webarch.api.get("/rota")
        return len(page), len(api)

    _enquiry(world)
    few = counts()
    for n in range(10):
        _enquiry(world, name=f"More {n}")
    assert counts() == few
