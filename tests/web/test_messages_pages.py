"""The message composer on the record pages (Django's test client; no JavaScript)."""

import pytest

from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery
from salesline.playbooks.models import Message
from tests.playbooks.message_fixtures import make_document, make_opportunity, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(browser, person, org):
    make_template(org)
    return make_opportunity(browser.actor, person)


def compose(browser, deal) -> Message:
    response = browser.post(
        f"/records/opportunities/{deal.pk}/messages/new", {"template": "hail-the-lead"}
    )
    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/messages/{message.pk}/"
    return message


def test_the_record_page_offers_the_templates_and_lists_messages(browser, deal):
    page = browser.get(f"/records/opportunities/{deal.pk}/").content.decode()
    assert 'id="messages"' in page
    assert '<option value="hail-the-lead">Hail the lead</option>' in page
    assert "No messages yet." in page


def test_compose_preview_save_send_and_see_it_sent(browser, deal, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    document = make_document(deal.organisation, opportunity=deal)
    message = compose(browser, deal)
    message.attachments.add(document)

    page = browser.get(f"/messages/{message.pk}/").content.decode()
    assert 'value="ola@acme.no"' in page
    assert 'value="Hello Ola from Piql Archive"' in page
    assert "Service description.pdf" in page

    edited = {
        "to": "ola@acme.no, kari@acme.no",
        "subject": "Hi <b>Ola</b>",
        "body": "Line 1\r\nLine 2",
    }
    preview = browser.post(f"/messages/{message.pk}/", {**edited, "action": "preview"})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "<h2>Preview</h2>" in html
    assert "Hi &lt;b&gt;Ola&lt;/b&gt;" in html and "<b>Ola</b>" not in html
    assert "Line 1<br>Line 2" in html
    message.refresh_from_db()
    assert message.subject == "Hello Ola from Piql Archive"  # a preview saves nothing

    htmx = browser.post(
        f"/messages/{message.pk}/", {**edited, "action": "preview"}, HTTP_HX_REQUEST="true"
    )
    assert htmx.content.decode().lstrip().startswith('<section id="preview"')

    saved = browser.post(f"/messages/{message.pk}/", {**edited, "action": "save"})
    assert saved.status_code == 302
    message.refresh_from_db()
    assert (message.to, message.subject, message.body) == (
        ["ola@acme.no", "kari@acme.no"],
        "Hi <b>Ola</b>",
        "Line 1\nLine 2",
    )

    to_confirm = browser.post(f"/messages/{message.pk}/", {**edited, "action": "send"})
    assert to_confirm["Location"] == f"/messages/{message.pk}/send"
    confirm = browser.get(f"/messages/{message.pk}/send").content.decode()
    assert "Send this message?" in confirm and "Send now" in confirm
    message.refresh_from_db()
    assert message.status == "draft"  # nothing is sent before the confirmation

    sent = browser.post(f"/messages/{message.pk}/send")
    assert sent.status_code == 302
    assert sent["Location"] == f"/records/opportunities/{deal.pk}/#messages"
    run_pending_tasks()
    delivery.close_mail_connection()
    page = browser.get(f"/records/opportunities/{deal.pk}/").content.decode()
    assert "Sent <time" in page
    assert "Hi &lt;b&gt;Ola&lt;/b&gt;" in page
    assert "Service description.pdf" in page
    assert "Sent “Hi &lt;b&gt;Ola&lt;/b&gt;” to ola@acme.no, kari@acme.no" in page  # timeline
    assert browser.post(f"/messages/{message.pk}/send").status_code == 302  # 409 -> a message
    message.refresh_from_db()
    assert message.status == "sent"


def test_bad_input_is_shown_beside_the_fields(browser, deal):
    message = compose(browser, deal)
    response = browser.post(
        f"/messages/{message.pk}/",
        {"to": "nobody, ola@acme.no", "subject": "", "body": "x", "action": "save"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="message-to-errors"' in html and "&#x27;nobody&#x27;" in html
    assert 'id="message-subject-errors"' in html
    assert 'value="nobody, ola@acme.no"' in html  # what was typed is kept


def test_a_failed_message_shows_its_error_and_can_be_retried(browser, deal, settings):
    message = compose(browser, deal)
    browser.post(f"/messages/{message.pk}/send")
    Message.objects.filter(pk=message.pk).update(status="failed", error="550 5.1.1 No such user")

    page = browser.get(f"/records/opportunities/{deal.pk}/").content.decode()
    assert "Failed: 550 5.1.1 No such user" in page
    assert f'href="/messages/{message.pk}/send">Retry…' in page
    assert "Send again" in browser.get(f"/messages/{message.pk}/send").content.decode()
    browser.post(f"/messages/{message.pk}/send")
    message.refresh_from_db()
    assert (message.status, message.error) == ("queued", "")


def test_unknown_template_and_cancel(browser, deal):
    response = browser.post(f"/records/opportunities/{deal.pk}/messages/new", {"template": "nope"})
    assert response.status_code == 302
    assert "No message template" in browser.get(response["Location"]).content.decode()
    message = compose(browser, deal)
    browser.post(f"/messages/{message.pk}/cancel")
    assert not Message.objects.exists()


def test_another_organisations_message_and_record_are_404(browser, deal, other_actor):
    make_template(other_actor.organisation)
    from salesline.pipeline.services import opportunity_create
    from salesline.playbooks import message_services

    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    foreign = message_services.message_draft(
        actor=other_actor, template_key="hail-the-lead", opportunity_id=theirs.pk, to=["x@y.no"]
    )
    assert browser.get(f"/messages/{foreign.pk}/").status_code == 404
    assert browser.get(f"/messages/{foreign.pk}/send").status_code == 404
    assert browser.post(f"/messages/{foreign.pk}/send").status_code == 404
    assert browser.post(f"/messages/{foreign.pk}/cancel").status_code == 404
    response = browser.post(
        f"/records/opportunities/{theirs.pk}/messages/new", {"template": "hail-the-lead"}
    )
    assert response.status_code == 404
    assert Message.objects.filter(organisation=browser.actor.organisation).count() == 0
    assert browser.get(f"/messages/{foreign.pk}/cancel").status_code == 405
