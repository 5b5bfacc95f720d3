"""The message-template editor in a real browser: an unknown merge field named as it is
typed, the live preview following the text and a chosen lead, inserting a merge field, saving,
and accessibility."""

from playwright.sync_api import expect

from salesline.playbooks.models import MessageTemplate
from salesline.records.services import record_create
from tests.conftest import LEAD

from .conftest import axe_violations, pick


def test_write_a_template_with_the_live_preview(signed_in, member, org):
    from salesline.accounts import services as accounts

    lead = record_create(actor=accounts.actor_for(member, org), kind="lead", data=LEAD)
    page = signed_in
    page.goto("/settings/message-templates/")
    expect(page.get_by_text("No message templates yet.")).to_be_visible()
    page.get_by_role("link", name="Add a message template").click()
    page.get_by_label("Name").fill("Hail the lead")
    page.get_by_label("Key").fill("hail-the-lead")
    subject = page.get_by_label("Subject")
    body = page.get_by_label("Body")
    preview = page.locator("#preview-content")

    # An unknown field: named beside the subject and in the preview, as it is typed.
    subject.fill("Hello {{ contact.nme }}")
    problems = page.locator("#f-subject-problems")
    expect(problems).to_have_text("unknown merge field 'contact.nme'")
    expect(preview).to_contain_text("Subject: unknown merge field 'contact.nme'")

    # Fixed: the preview renders it with the sample data, and the problem is gone.
    subject.fill("Hello {{ contact.first_name }}")
    expect(problems).to_have_text("")
    expect(page.locator("[data-preview-subject]")).to_have_text("Hello Kari")
    body.fill("Dear {{ contact.name }},\n\nWe met at the expo.\n")
    # The preview grows with the body and moves the merge-field list below it: wait for it,
    # or a click aimed at a button can land where the button was a moment before.
    expect(page.locator("[data-preview-body]")).to_contain_text("We met at the expo.")

    # A merge field inserted at the cursor by its button; the preview follows.
    body.press("End")
    page.get_by_role("button", name="Insert {{ sender.name }}").click()
    expect(body).to_have_value("Dear {{ contact.name }},\n\nWe met at the expo.\n{{ sender.name }}")
    expect(page.locator("[data-preview-body]")).to_contain_text("sam@piql.test")

    # With a real lead chosen in its picker.
    pick(page, "Or a lead", "Kari", "Kari Hansen")
    expect(preview).to_contain_text("Rendered with the lead “Kari Hansen”.")
    expect(page.locator("[data-preview-body]")).to_contain_text("Dear Kari Hansen,")

    assert axe_violations(page) == []
    page.get_by_role("button", name="Add template").click()
    expect(page.get_by_role("status")).to_contain_text("Message template “Hail the lead” saved.")
    expect(page.get_by_role("link", name="Hail the lead", exact=True)).to_be_visible()
    template = MessageTemplate.objects.get(organisation=org)
    assert template.subject == "Hello {{ contact.first_name }}"
    assert lead.pk  # the preview's record, never saved with the template


def test_a_refused_save_is_accessible(signed_in):
    page = signed_in
    page.goto("/settings/message-templates/new/")
    page.get_by_label("Subject").fill("{{ contact.nme }}")
    # The live preview puts the problem under the subject and pushes the buttons down: a
    # click aimed before that shift lands where the button was (a flaky failure in CI).
    expect(page.locator("#f-subject-problems")).to_have_text("unknown merge field 'contact.nme'")
    page.get_by_role("button", name="Add template").click()
    expect(page.get_by_role("alert")).to_contain_text("The message template was not saved")
    expect(page.locator("#f-subject-problems")).to_have_text("unknown merge field 'contact.nme'")
    expect(page.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
