"""The web pages for running a network: the coordinator hands the role over, a member leaves
(its admin) or is taken out (the coordinator) after a confirmation page listing its open work.
Who sees the actions, the refusals on the page, and forged POSTs that change nothing."""

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.enquiries import access, membership, referrals
from salesline.enquiries.models import Network, Referral, RotaPeriod

from .directory_helpers import lead

pytestmark = pytest.mark.django_db

CHANGE = "/networks/cotech/coordinator/change/"


def _browser(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _leave_url(member) -> str:
    return f"/networks/cotech/members/{member.org.slug}/leave/"


def _admin_of(member):
    return accounts.user_create(
        email=f"admin@{member.org.slug}.test",
        actor=accounts.system_actor(member.org),
        role="admin",
    )


def _coordinator(world) -> Network:
    return Network.objects.select_related("coordinator", "coordinator_home").get(
        pk=world.network.pk
    )


# ------------------------------------------------------------------- who sees what


def test_the_coordinator_sees_the_change_and_take_out_actions(world):
    text = _browser(world.coordinator.user).get("/networks/cotech/").content.decode()
    assert f'href="{CHANGE}"' in text
    for member in (world.webarch, world.outlandish):
        assert f'href="{_leave_url(member)}"' in text
        assert f"Take {member.org.name} out of the network" in text
    assert "Leave the network" in text  # its own organisation's row (Agile)


def test_a_members_admin_sees_leaving_for_its_own_organisation_only(world):
    text = _browser(_admin_of(world.outlandish)).get("/networks/cotech/").content.decode()
    assert f'href="{_leave_url(world.outlandish)}"' in text
    assert "Leave the network" in text
    assert _leave_url(world.webarch) not in text
    assert CHANGE not in text


def test_other_members_see_neither_action(world):
    text = _browser(world.webarch.user).get("/networks/cotech/").content.decode()
    assert CHANGE not in text
    assert "/leave/" not in text
    assert "Leave the network" not in text and "out of the network" not in text


# ------------------------------------------------------------------- the coordinator


def test_the_coordinator_hands_the_role_over_with_a_confirmation(world):
    browser = _browser(world.coordinator.user)
    page = browser.get(CHANGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in text
    assert f'<option value="{world.webarch.org.slug}">Webarchitects</option>' in text
    body = {"email": "bob@webarch.test", "org": world.webarch.org.slug}
    unconfirmed = browser.post(CHANGE, body)
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm the hand-over." in unconfirmed.content.decode()
    assert _coordinator(world).coordinator == world.coordinator.user
    done = browser.post(CHANGE, {**body, "confirm": "on"}, follow=True)
    assert done.redirect_chain == [("/networks/cotech/", 302)]
    text = done.content.decode()
    assert "bob@webarch.test is now the coordinator of CoTech, acting from Webarchitects." in text
    network = _coordinator(world)
    assert (network.coordinator, network.coordinator_home) == (
        world.webarch.user,
        world.webarch.org,
    )
    (event,) = AuditEvent.objects.filter(
        organisation=world.network.organisation, action="coordinator_change"
    )
    assert event.changes["coordinator"] == ["coord@agile.test", "bob@webarch.test"]
    assert event.actor == world.coordinator.user
    # The former coordinator no longer sees the action; the page answers 403.
    assert CHANGE not in done.content.decode().split("At a glance")[1]
    assert browser.get(CHANGE).status_code == 403


@pytest.mark.parametrize(
    ("email", "org", "field", "message"),
    [
        ("nobody@webarch.test", "webarch", "email", "'nobody@webarch.test' is not a user of"),
        ("dan@outsider.test", "outsider", "org", "is not a member of CoTech"),
        ("", "webarch", "email", "This field is required."),
    ],
)
def test_the_services_refusals_are_shown_beside_the_field(world, email, org, field, message):
    slug = {"webarch": world.webarch.org.slug, "outsider": world.outsider.org.slug}[org]
    response = _browser(world.coordinator.user).post(
        CHANGE, {"email": email, "org": slug, "confirm": "on"}
    )
    assert response.status_code in (400, 422)
    text = unescape(response.content.decode())
    assert f'id="{field}-errors"' in text
    assert message in text.split(f'id="{field}-errors"')[1].split("</div>")[0]
    assert _coordinator(world).coordinator == world.coordinator.user
    assert not AuditEvent.objects.filter(action="coordinator_change").exists()


def test_a_forged_change_by_another_member_or_an_outsider_changes_nothing(world):
    body = {"email": "bob@webarch.test", "org": world.webarch.org.slug, "confirm": "on"}
    member = _browser(world.webarch.user)
    assert member.get(CHANGE).status_code == 403
    refused = member.post(CHANGE, body)
    assert refused.status_code == 403
    assert "Only the network coordinator may change the coordinator." in refused.content.decode()
    assert _browser(world.outsider.user).post(CHANGE, body).status_code == 404
    # Without the CSRF token even the coordinator's own POST is refused.
    assert _browser(world.coordinator.user, csrf=True).post(CHANGE, body).status_code == 403
    assert _coordinator(world).coordinator == world.coordinator.user
    assert not AuditEvent.objects.filter(action="coordinator_change").exists()


# ------------------------------------------------------------------- leaving


def test_the_confirmation_page_lists_the_open_work_then_the_coordinator_takes_it_out(world):
    enquiry = lead(world)
    (offered,) = referrals.referrals_create(
        actor=world.coordinator.actor, enquiry_id=enquiry.pk, org_slugs=[world.outlandish.org.slug]
    )
    application = membership.application_submit(
        network=world.network,
        data={
            "organisation_name": "Digital Commons Co-op",
            "country": "GB",
            "legal_form": "co-operative",
            "email": "hello@commons.test",
        },
    )
    membership.vote_cast(actor=world.outlandish.actor, application_id=application.pk, vote="yes")
    browser = _browser(world.coordinator.user)
    page = browser.get(_leave_url(world.outlandish))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Take Outlandish out of CoTech?" in text
    assert enquiry.reference in text and "member left the network" in text
    assert "Digital Commons Co-op: its vote <strong>yes</strong> is removed" in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert '<button type="submit" class="danger">Take Outlandish out</button>' in text
    assert access.is_member(world.network, world.outlandish.org)  # a GET changes nothing
    done = browser.post(_leave_url(world.outlandish), follow=True)
    assert done.redirect_chain == [("/networks/cotech/", 302)]
    assert "Outlandish is no longer a member of CoTech." in done.content.decode()
    assert not access.is_member(world.network, world.outlandish.org)
    assert Referral.objects.get(pk=offered.pk).status == "withdrawn"
    assert not application.votes.filter(organisation=world.outlandish.org).exists()
    assert AuditEvent.objects.filter(action="member_leave").count() == 1
    # Gone: the page of a former member is 404.
    assert browser.get(_leave_url(world.outlandish)).status_code == 404


def test_a_members_admin_leaves_and_lands_on_its_networks(world):
    browser = _browser(_admin_of(world.outlandish))
    page = browser.get(_leave_url(world.outlandish))
    assert "Leave CoTech?" in page.content.decode()
    done = browser.post(_leave_url(world.outlandish), follow=True)
    assert done.redirect_chain == [("/networks/", 302)]
    assert "Outlandish has left CoTech." in done.content.decode()
    assert not access.is_member(world.network, world.outlandish.org)
    assert browser.get("/networks/cotech/").status_code == 404


def test_the_coordinators_home_is_refused_on_the_page(world):
    browser = _browser(world.coordinator.user)
    url = _leave_url(world.agile)
    page = browser.get(url)
    assert page.status_code == 200
    text = unescape(page.content.decode())
    assert "Agile Collective cannot leave yet" in text
    assert "change the coordinator before it leaves" in text
    assert f'href="{CHANGE}"' in text
    assert "Leave CoTech?" in text  # the coordinator acts from Agile: its own organisation
    assert 'class="danger"' not in text  # no button while it is refused
    forged = browser.post(url)
    assert forged.status_code == 409
    assert "Agile Collective has not left" in forged.content.decode()
    assert access.is_member(world.network, world.agile.org)
    assert not AuditEvent.objects.filter(action="member_leave").exists()


def test_a_member_on_the_rota_is_refused_on_the_page(world):
    today = timezone.localdate()
    RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=30),
    )
    response = _browser(world.coordinator.user).post(_leave_url(world.webarch))
    assert response.status_code == 409
    text = response.content.decode()
    assert "Webarchitects has not left" in text
    assert f"is on the rota from {(today - timedelta(days=3)).isoformat()}" in text
    assert access.is_member(world.network, world.webarch.org)


def test_forged_leave_posts_change_nothing(world):
    url = _leave_url(world.outlandish)
    # A salesperson of the member, another member: the 403 page naming the rule.
    for user in (world.outlandish.user, world.webarch.user):
        browser = _browser(user)
        assert browser.get(url).status_code == 403
        refused = browser.post(url)
        assert refused.status_code == 403
        assert "Only the member's admin or the network coordinator" in unescape(
            refused.content.decode()
        )
    assert _browser(world.outsider.user).post(url).status_code == 404
    assert (
        _browser(world.coordinator.user)
        .post("/networks/cotech/members/no-such-org/leave/")
        .status_code
        == 404
    )
    assert _browser(world.coordinator.user, csrf=True).post(url).status_code == 403
    assert access.is_member(world.network, world.outlandish.org)
    assert not AuditEvent.objects.filter(action="member_leave").exists()
