"""The Agreement panel of the opportunity page: draft, edit, share, ready, sign (a confirmation
page), invoices. Plain form posts: no JavaScript needed."""

import re
from datetime import date

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_services
from salesline.playbooks.models import Agreement, Invoice

TERMS = {
    "start_date": "2026-01-31",
    "end_date": "2027-01-30",
    "value": "12000",
    "currency": "eur",
    "billing_frequency": "monthly",
    "renewal_notice_days": "60",
}


@pytest.fixture
def partners_browser(partners_org):
    member = accounts.user_create(
        email="pat@partners.test", actor=accounts.system_actor(partners_org), role="salesperson"
    )
    client = Client()
    client.force_login(member)
    client.actor = accounts.actor_for(member, partners_org)
    return client


@pytest.fixture
def prospect(partners_browser):
    actor = partners_browser.actor
    opportunity = opportunity_create(actor=actor, data={"name": "City <library> hub"})
    return opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="prospect", checks=["verbal_close_yes"]
    )


def page(client, opportunity) -> str:
    response = client.get(f"/records/opportunities/{opportunity.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def panel(html: str) -> str:
    return re.search(r'<section class="agreement-panel".*?</section>', html, re.S).group(0)


def test_the_panel_offers_to_draft_an_agreement(partners_browser, prospect):
    html = panel(page(partners_browser, prospect))
    assert "No agreement yet" in html
    assert f'action="/opportunities/{prospect.pk}/agreement/"' in html
    assert 'name="start_date"' in html and 'type="date"' in html


def test_draft_edit_share_ready_and_sign(partners_browser, prospect):
    client = partners_browser
    drafted = client.post(f"/opportunities/{prospect.pk}/agreement/", TERMS)
    assert drafted.status_code == 302
    assert drafted["Location"] == f"/records/opportunities/{prospect.pk}/#agreement"
    agreement = Agreement.objects.get()
    assert (agreement.currency, agreement.value, agreement.status) == ("EUR", 12000, "draft")

    saved = client.post(
        f"/opportunities/{prospect.pk}/agreement/",
        {**TERMS, "value": "15000.50", "version": agreement.version},
    )
    assert saved.status_code == 302
    agreement.refresh_from_db()
    assert str(agreement.value) == "15000.50"

    html = panel(page(client, prospect))
    assert "Draft" in html and "15,000.5" in html
    assert "Signing moves it to Partner." in html

    assert client.post(f"/agreements/{agreement.pk}/share/").status_code == 302
    assert client.post(f"/agreements/{agreement.pk}/ready/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == "ready_to_sign"

    confirm = client.get(f"/agreements/{agreement.pk}/sign/")
    assert confirm.status_code == 200
    text = confirm.content.decode()
    # The opportunity's name is text, escaped like everything users write.
    assert "Signing moves City &lt;library&gt; hub to Partner." in text
    signed = client.post(f"/agreements/{agreement.pk}/sign/", {"signed_on": "2026-01-20"})
    assert signed.status_code == 302
    prospect.refresh_from_db()
    assert prospect.stage.key == "partner"
    agreement.refresh_from_db()
    assert (agreement.status, agreement.signed_on) == ("signed", date(2026, 1, 20))
    html = panel(page(client, prospect))
    assert "Signed" in html and "Sign…" not in html
    assert "No invoice yet" in html
    assert "Edit the terms" not in html  # signed terms cannot change


def test_bad_terms_come_back_beside_their_inputs(partners_browser, prospect):
    response = partners_browser.post(
        f"/opportunities/{prospect.pk}/agreement/",
        {**TERMS, "end_date": "2025-01-01", "value": "-3", "renewal_notice_days": "lots"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "End date cannot be before the start date." in html
    assert "Value cannot be negative." in html
    assert "Renewal notice must be a whole number" in html
    assert 'value="2025-01-01"' in html  # what was typed stays
    assert not Agreement.objects.exists()


def test_signing_refused_by_the_gate_shows_why_and_signs_nothing(partners_browser):
    actor = partners_browser.actor
    lead = opportunity_create(actor=actor, data={"name": "Museum"})
    agreement = agreement_services.agreement_create(actor=actor, opportunity_id=lead.pk, data=TERMS)
    response = partners_browser.post(
        f"/agreements/{agreement.pk}/sign/", {"signed_on": "2026-01-20"}
    )
    assert response.status_code == 422
    assert "Tick &#x27;Verbal close: yes&#x27; to enter Prospect." in response.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == "draft"
    bad_date = partners_browser.post(f"/agreements/{agreement.pk}/sign/", {"signed_on": "soon"})
    assert bad_date.status_code == 422
    assert "Signed on must be a date" in bad_date.content.decode()


def test_invoices_are_listed_with_numbers_dates_and_amounts(partners_browser, prospect):
    actor = partners_browser.actor
    agreement = agreement_services.agreement_create(
        actor=actor, opportunity_id=prospect.pk, data=TERMS
    )
    agreement_services.agreement_sign(
        actor=actor, agreement_id=agreement.pk, signed_on=date(2026, 1, 20)
    )
    Invoice.objects.create(
        organisation=actor.organisation,
        agreement=agreement,
        period=0,
        number="2026-0001",
        issue_date=date(2026, 1, 31),
        amount="1000.00",
        currency="EUR",
    )
    html = panel(page(partners_browser, prospect))
    assert "2026-0001" in html
    assert 'datetime="2026-01-31"' in html
    assert "1,000 EUR" in html or "1,000.00 EUR" in html


def test_another_organisations_agreement_is_404(partners_browser, other_actor):
    opportunity = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    theirs = agreement_services.agreement_create(
        actor=other_actor, opportunity_id=opportunity.pk, data=TERMS
    )
    assert partners_browser.get(f"/agreements/{theirs.pk}/sign/").status_code == 404
    assert partners_browser.post(f"/agreements/{theirs.pk}/share/").status_code == 404
    assert (
        partners_browser.post(f"/opportunities/{opportunity.pk}/agreement/", TERMS).status_code
        == 404
    )


def test_get_is_not_allowed_on_the_actions(partners_browser, prospect):
    assert partners_browser.get(f"/opportunities/{prospect.pk}/agreement/").status_code == 405
