"""Message templates (canned messages), their previews, and the merge-field catalogue."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router, Status
from pydantic import BaseModel, ConfigDict

from salesline.core.errors import ProblemList
from salesline.core.ids import MAX_ID
from salesline.playbooks import merge
from salesline.playbooks import message_template_selectors as selectors
from salesline.playbooks import message_template_services as services

from .common import actor_of, expected_version, with_etag

router = Router(tags=["message-templates"])
merge_fields = Router(tags=["message-templates"])

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageTemplateIn(_Strict):
    """`key`, `name`, `subject` and `body` are required; the service names every missing one."""

    key: str | None = Field(None, description="Unique per organisation, e.g. hail-the-lead")
    name: str | None = None
    subject: str | None = Field(None, description="One line; merge fields allowed")
    body: str | None = Field(None, description="Merge fields in Django's template syntax")
    from_email: str | None = Field(
        None, description='Blank: the organisation\'s. "a@x.com" or "Name <a@x.com>"'
    )
    attachments: list[str] | None = Field(None, description="Document template keys")


class MessageTemplatePatch(MessageTemplateIn):
    pass


class MessageTemplateOut(BaseModel):
    id: int
    key: str
    name: str
    subject: str
    body: str
    from_email: str
    attachments: list[str]
    version: int


class MessageTemplateList(BaseModel):
    items: list[MessageTemplateOut]
    count: int


class PreviewIn(_Strict):
    """Exactly one of `opportunity_id` and `lead_id`. `subject` and `body`, when given,
    are previewed instead of the saved ones (unsaved edits)."""

    opportunity_id: RecordId | None = None
    lead_id: RecordId | None = None
    subject: str | None = None
    body: str | None = None


class PreviewOut(BaseModel):
    subject: str
    body: str


class MergeFieldOut(BaseModel):
    name: str
    group: str
    description: str


class MergeFieldList(BaseModel):
    items: list[MergeFieldOut]
    count: int


def _out(template) -> dict:
    return {
        "id": template.pk,
        "key": template.key,
        "name": template.name,
        "subject": template.subject,
        "body": template.body,
        "from_email": template.from_email,
        "attachments": list(template.attachments or []),
        "version": template.version,
    }


def register(api) -> None:
    @router.get(
        "",
        response=MessageTemplateList,
        operation_id="list_message_templates",
        summary="List message templates",
    )
    def list_message_templates(request: HttpRequest):
        items = [_out(t) for t in selectors.message_template_list(actor=actor_of(request))]
        return {"items": items, "count": len(items)}

    @router.post(
        "",
        response={201: MessageTemplateOut},
        operation_id="create_message_template",
        summary="Add a message template (an unknown merge field is refused, named)",
    )
    def create_message_template(request: HttpRequest, payload: MessageTemplateIn):
        template = services.message_template_create(
            actor=actor_of(request), data=payload.model_dump(exclude_unset=True)
        )
        return with_etag(api.create_response(request, _out(template), status=201), template)

    @router.get(
        "/{template_id}",
        response=MessageTemplateOut,
        operation_id="get_message_template",
        summary="Get a message template",
    )
    def get_message_template(request: HttpRequest, template_id: RecordId):
        template = selectors.message_template_get_for(
            actor=actor_of(request), template_id=template_id
        )
        return with_etag(api.create_response(request, _out(template), status=200), template)

    @router.patch(
        "/{template_id}",
        response=MessageTemplateOut,
        operation_id="update_message_template",
        summary="Edit a message template (If-Match: its ETag)",
    )
    def update_message_template(
        request: HttpRequest, template_id: RecordId, payload: MessageTemplatePatch
    ):
        template = services.message_template_update(
            actor=actor_of(request),
            template_id=template_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, template_id),
        )
        return with_etag(api.create_response(request, _out(template), status=200), template)

    @router.delete(
        "/{template_id}",
        response={204: None},
        operation_id="delete_message_template",
        summary="Delete a message template no playbook sends",
    )
    def delete_message_template(request: HttpRequest, template_id: RecordId):
        services.message_template_delete(
            actor=actor_of(request),
            template_id=template_id,
            expected_version=expected_version(request, template_id),
        )
        return Status(204, None)

    @router.post(
        "/{template_id}/preview",
        response=PreviewOut,
        operation_id="preview_message_template",
        summary="Render a message template for an opportunity or a lead",
    )
    def preview_message_template(request: HttpRequest, template_id: RecordId, payload: PreviewIn):
        actor = actor_of(request)
        selectors.message_template_get_for(actor=actor, template_id=template_id)
        problems = ProblemList()
        if (payload.opportunity_id is None) == (payload.lead_id is None):
            for name in ("opportunity_id", "lead_id"):
                problems.add((name,), "Give exactly one of 'opportunity_id' and 'lead_id'.")
        problems.raise_if_any("Nothing to preview with.")
        subject, body = selectors.message_template_preview(
            actor=actor,
            template_id=template_id,
            subject=payload.subject,
            body=payload.body,
            opportunity_id=payload.opportunity_id,
            lead_id=payload.lead_id,
        )
        return {"subject": subject, "body": body}

    @merge_fields.get(
        "",
        response=MergeFieldList,
        operation_id="list_merge_fields",
        summary="List the merge fields templates may use",
    )
    def list_merge_fields(request: HttpRequest):
        items = [
            {"name": name, "group": name.partition(".")[0], "description": description}
            for name, description in merge.merge_field_catalogue()
        ]
        return {"items": items, "count": len(items)}
