"""The message-template pages: list, editor with preview and merge fields, delete."""

import re

import pytest
from django.urls import reverse

from salesline.core.audit import AuditEvent
from salesline.playbooks import merge
from salesline.playbooks import message_template_services as services
from salesline.playbooks.models import MessageTemplate
from tests.conftest import LEAD

HAIL = {
    "key": "hail-the-lead",
    "name": "Hail the lead",
    "subject": "Hello {{ contact.first_name }}",
    "body": "Dear {{ contact.name }},\nBook: {{ links.booking }}",
}
LIST = "/settings/message-templates/"
NEW = "/settings/message-templates/new/"
PREVIEW = "/settings/message-templates/preview/"


@pytest.fixture
def hail(browser):
    return services.message_template_create(actor=browser.actor, data=HAIL)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_list_has_an_empty_state_and_the_settings_nav_links_it(browser):
    response = browser.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No message templates yet." in page
    assert f'href="{LIST}" aria-current="page"' in page
    assert f'href="{NEW}"' in page


def test_the_list_shows_the_templates(browser, hail):
    page = browser.get(LIST).content.decode()
    assert "Hail the lead" in page and "hail-the-lead" in page
    assert f'href="/settings/message-templates/{hail.pk}/"' in page
    assert f'href="/settings/message-templates/{hail.pk}/delete/"' in page


def test_the_editor_lists_every_merge_field_and_previews_sample_data(browser):
    response = browser.get(NEW)
    assert response.status_code == 200
    page = response.content.decode()
    for name, _ in merge.merge_field_catalogue():
        assert f"<code>{{{{ {name} }}}}</code>" in page
    assert 'hx-post="/settings/message-templates/preview/"' in page
    assert "Rendered with sample data." in page


def test_a_new_template_is_saved_and_audited(browser):
    response = browser.post(
        NEW,
        {
            **HAIL,
            "from_email": "Sales <sales@piql.test>",
            "attachments": "service-description, running-notes",
        },
    )
    assert response.status_code == 302 and response["Location"] == LIST
    template = MessageTemplate.objects.get()
    assert template.attachments == ["service-description", "running-notes"]
    assert template.from_email == "Sales <sales@piql.test>"
    assert AuditEvent.objects.filter(object_type="messagetemplate", action="create").exists()
    assert "Message template “Hail the lead” saved." in text_of(browser.get(LIST))


def test_an_unknown_merge_field_is_shown_beside_the_field_and_nothing_is_saved(browser):
    response = browser.post(
        NEW, {**HAIL, "subject": "Hi {{ contact.nme }}", "body": "{{ company }}", "key": "Bad!"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    subject_problems = re.search(r'id="f-subject-problems"[^>]*>(.*?)</div>', page, re.S)[1]
    assert "unknown merge field &#x27;contact.nme&#x27;" in subject_problems
    body_problems = re.search(r'id="f-body-problems"[^>]*>(.*?)</div>', page, re.S)[1]
    assert "&#x27;company&#x27; is a group of merge fields" in body_problems
    assert 'id="f-subject"' in page and 'aria-invalid="true"' in page
    assert "The message template was not saved" in page
    assert 'href="#f-key"' in page and 'href="#f-subject"' in page
    # What was typed stays in the form.
    assert 'value="Hi {{ contact.nme }}"' in page
    assert not MessageTemplate.objects.exists()


def test_the_preview_button_renders_without_saving(browser, org):
    response = browser.post(NEW, {**HAIL, "action": "preview"})
    assert response.status_code == 200
    page = text_of(response)
    assert "Hello Kari" in page and "Dear Kari Nordmann," in page
    assert not MessageTemplate.objects.exists()


def test_the_live_preview_renders_the_typed_text_with_a_lead(browser, lead):
    response = browser.post(PREVIEW, {**HAIL, "preview_lead": str(lead.pk)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rendered with the lead “Kari Hansen”." in page
    assert '<dd class="mt-preview-subject" data-preview-subject>Hello Kari</dd>' in page
    # The problems beside the fields are swapped out of band: empty now.
    assert 'id="f-subject-problems" aria-live="polite" hx-swap-oob="innerHTML"></div>' in page


def test_the_live_preview_names_unknown_fields_and_escapes_what_it_renders(browser, lead):
    response = browser.post(PREVIEW, {"subject": "{{ contact.nme }}", "body": "x"})
    page = response.content.decode()
    assert "Subject: unknown merge field &#x27;contact.nme&#x27;" in page
    assert re.search(
        r'id="f-subject-problems"[^>]*hx-swap-oob="innerHTML"><p>unknown merge field', page
    )
    response = browser.post(PREVIEW, {"subject": "<b>{{ contact.name }}</b>", "body": "x"})
    assert "&lt;b&gt;Kari Nordmann&lt;/b&gt;" in response.content.decode()


def test_the_preview_cannot_reach_another_organisations_record(browser, other_actor):
    from salesline.records.services import record_create

    foreign = record_create(actor=other_actor, kind="lead", data=LEAD)
    response = browser.post(PREVIEW, {**HAIL, "preview_lead": str(foreign.pk)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kari Hansen" not in page
    assert "The record to preview with is not there any more." in page


def test_edit_saves_with_the_version_and_refuses_a_stale_one(browser, hail):
    url = f"/settings/message-templates/{hail.pk}/"
    page = browser.get(url).content.decode()
    assert 'name="version" value="1"' in page
    response = browser.post(url, {**HAIL, "name": "Hail", "version": "1"})
    assert response.status_code == 302
    assert MessageTemplate.objects.get().name == "Hail"
    response = browser.post(url, {**HAIL, "name": "Stale", "version": "1"})
    assert response.status_code == 412
    assert "changed by someone else" in text_of(response)
    assert MessageTemplate.objects.get().name == "Hail"


def test_delete_asks_then_deletes(browser, hail):
    url = f"/settings/message-templates/{hail.pk}/delete/"
    assert "Delete message template “Hail the lead”?" in browser.get(url).content.decode()
    response = browser.post(url)
    assert response.status_code == 302
    assert not MessageTemplate.objects.exists()


def test_delete_is_refused_while_a_playbook_sends_it(partners_actor):
    from django.test import Client

    client = Client()
    client.force_login(partners_actor.user)
    hail = MessageTemplate.objects.get(
        organisation=partners_actor.organisation, key="hail-the-lead"
    )
    response = client.post(f"/settings/message-templates/{hail.pk}/delete/")
    assert response.status_code == 409
    assert (
        "cannot be deleted: the playbook &#x27;SOP: Hail the lead&#x27; sends it"
        in response.content.decode()
    )
    assert MessageTemplate.objects.filter(pk=hail.pk).exists()


def test_another_organisations_template_is_404(browser, other_actor):
    foreign = services.message_template_create(actor=other_actor, data=HAIL)
    for url in (f"{LIST}{foreign.pk}/", f"{LIST}{foreign.pk}/delete/", f"{LIST}{2**70}/"):
        assert browser.get(url).status_code == 404
    assert browser.post(f"{LIST}{foreign.pk}/", HAIL).status_code == 404


def test_pages_need_a_signed_in_member(client):
    for url in (LIST, NEW):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert client.post(PREVIEW, HAIL).status_code == 302


def test_the_opportunity_and_lead_pickers_search(browser, lead):
    response = browser.get("/pick/leads/?q=kari")
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == ["Kari Hansen"]
