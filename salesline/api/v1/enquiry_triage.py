"""Triage of a network's enquiries (docs/triage-and-rota.md): the category and answers with the
verdict, the canned replies and the category's next-steps checklist. The chair on duty or the
network coordinator only; a non-member of the network gets 404."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.enquiries import triage_services

from .common import actor_of
from .schemas import Strict

router = Router(tags=["network enquiries"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
CategoryKey = Literal[
    "joining", "setting_up", "jobs", "research", "speaking", "promotion", "sales", "other"
]


class AnswersIn(Strict):
    budget: float | int | str | None = Field(None, description="an amount (e.g. 12000)")
    timescale: str | None = None
    technology: str | None = None
    brief: str | None = None
    skills: list[str] | None = Field(None, description="keys from the network's taxonomy")


class TriageIn(Strict):
    category: CategoryKey
    answers: AnswersIn = Field(default_factory=AnswersIn)


class SuggestedReplyOut(BaseModel):
    template: str
    subject: str
    body: str


class TriageOut(BaseModel):
    eligible: bool
    reasons: list[str]
    suggested_reply: SuggestedReplyOut | None
    lead_id: int | None


class ReplyIn(Strict):
    template: str = Field(..., max_length=60, description="a reply key of the category")
    subject: str | None = Field(None, description="null: the template's, filled in")
    body: str | None = Field(None, description="null: the template's, filled in")
    send: bool = Field(True, description="false: leave a draft to review")


class ChecklistIn(Strict):
    done: list[Annotated[str, Field(max_length=60)]] = Field(..., max_length=100)


class EnquiryStateOut(BaseModel):
    id: int
    reference: str
    status: str
    category: str
    checklist_done: list[str]
    first_response_at: Any


def _state(enquiry) -> dict[str, Any]:
    return {
        "id": enquiry.pk,
        "reference": enquiry.reference,
        "status": enquiry.status,
        "category": enquiry.category,
        "checklist_done": list(enquiry.checklist_done),
        "first_response_at": enquiry.first_response_at,
    }


def register(api) -> None:
    @router.post(
        "/{enquiry_id}/triage",
        response=TriageOut,
        operation_id="enquiry_triage",
        summary="Triage an enquiry: category, answers, verdict",
    )
    def triage(request: HttpRequest, enquiry_id: Id, payload: TriageIn):
        """A sales enquiry is assessed on the network's criteria (every answer given; a budget
        reaching the minimum of the smallest member with one of the `skills`); a feasible one
        becomes a lead in the network pipeline (`lead_id`), one that is not gets the decline
        drafted. Other categories are eligible with the category's suggested reply."""
        result = triage_services.enquiry_triage(
            actor=actor_of(request),
            enquiry_id=enquiry_id,
            category=payload.category,
            answers=payload.answers.model_dump(exclude_none=True),
        )
        return result.as_dict()

    @router.post(
        "/{enquiry_id}/reply",
        response=EnquiryStateOut,
        operation_id="enquiry_reply",
        summary="Send (or draft) one of the category's canned replies",
    )
    def reply(request: HttpRequest, enquiry_id: Id, payload: ReplyIn):
        enquiry = triage_services.enquiry_reply(
            actor=actor_of(request),
            enquiry_id=enquiry_id,
            template=payload.template,
            subject=payload.subject,
            body=payload.body,
            send=payload.send,
        )
        return _state(enquiry)

    @router.put(
        "/{enquiry_id}/checklist",
        response=EnquiryStateOut,
        operation_id="enquiry_checklist",
        summary="Set which of the category's next steps are done",
    )
    def checklist(request: HttpRequest, enquiry_id: Id, payload: ChecklistIn):
        enquiry = triage_services.enquiry_checklist_tick(
            actor=actor_of(request), enquiry_id=enquiry_id, done=payload.done
        )
        return _state(enquiry)

    api.add_router("/enquiries", router)
