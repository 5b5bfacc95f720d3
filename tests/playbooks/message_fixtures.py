"""Rows the message tests share: a template, an opportunity with a contact, a stored document."""

from django.core.files.base import ContentFile

from salesline.pipeline.services import opportunity_create
from salesline.playbooks.models import Document, MessageTemplate

HAIL = {
    "key": "hail-the-lead",
    "name": "Hail the lead",
    "subject": "Hello {{ contact.first_name }} from {{ organisation.name }}",
    "body": "Dear {{ contact.name }},\n\nAbout {{ opportunity.name }}: book a meeting at "
    "{{ links.booking }}.\n\n{{ sender.name }}",
}


def make_template(organisation, **values) -> MessageTemplate:
    return MessageTemplate.objects.create(organisation=organisation, **{**HAIL, **values})


def make_opportunity(actor, person, name="Archive project"):
    return opportunity_create(actor=actor, data={"name": name, "primary_contact_id": person.pk})


def make_document(
    organisation,
    *,
    opportunity=None,
    lead=None,
    template="service-description",
    content=b"%PDF-1.4 a service description",
    file_name="Service description.pdf",
    content_type="application/pdf",
    version=1,
) -> Document:
    document = Document(
        organisation=organisation,
        template=template,
        format="pdf",
        version=version,
        opportunity=opportunity,
        lead=lead,
        file_name=file_name,
        content_type=content_type,
        size=len(content),
    )
    document.file.save(file_name, ContentFile(content), save=False)
    document.save()
    return document
