"""The organisation's own settings: every member reads them, an admin changes them."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from pydantic import BaseModel

from salesline.accounts import services as accounts

from .common import actor_of
from .schemas import Strict

router = Router(tags=["organisation"])


class OrganisationOut(BaseModel):
    id: int
    name: str
    slug: str
    template: str
    phone_region: str
    country: str
    booking_url: str
    from_email: str


class OrganisationPatch(Strict):
    """The settings to change; those left out stay as they are, "" (or null) clears one."""

    phone_region: str | None = None
    country: str | None = None
    booking_url: str | None = None
    from_email: str | None = None


def _organisation(organisation) -> dict:
    return {name: getattr(organisation, name) for name in OrganisationOut.model_fields}


@router.get(
    "",
    response=OrganisationOut,
    operation_id="get_organisation",
    summary="The organisation's settings",
    description="The settings of the token's organisation: phone region, the country whose "
    "public holidays playbooks skip, the meeting-booking link (`{{ links.booking }}`) and the "
    "default From address of canned messages.",
)
def get_organisation(request: HttpRequest):
    return _organisation(actor_of(request).organisation)


@router.patch(
    "",
    response=OrganisationOut,
    operation_id="update_organisation",
    summary="Change the organisation's settings (admin)",
    description="Only the fields sent change; every problem is answered at once (422, each "
    "naming its field). Audited.",
)
def update_organisation(request: HttpRequest, payload: OrganisationPatch):
    data = payload.model_dump(exclude_unset=True)
    organisation = accounts.organisation_update(actor=actor_of(request), data=data)
    return _organisation(organisation)
