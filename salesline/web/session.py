"""Which organisation a signed-in user is working in: one of their memberships, kept in the
session and switchable; every page builds its Actor from it."""

from __future__ import annotations

from django.http import HttpRequest

from salesline.accounts.models import Membership, Organisation
from salesline.accounts.services import actor_for
from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.records.fields import KINDS

SESSION_KEY = "salesline_organisation"


def organisations_of(user) -> list[Organisation]:
    ids = Membership.objects.filter(user=user).values_list("organisation_id", flat=True)
    return list(Organisation.objects.filter(pk__in=ids).order_by("name"))


def current_actor(request: HttpRequest) -> Actor | None:
    """The actor for the session's organisation (the first joined when none is chosen);
    None for a user who belongs to no organisation."""
    user = request.user
    chosen = request.session.get(SESSION_KEY)
    organisations = organisations_of(user)
    if not organisations:
        return None
    if chosen not in {o.pk for o in organisations}:
        # The organisation the user joined first, not the first by name.
        chosen = (
            Membership.objects.filter(user=user)
            .order_by("id")
            .values_list("organisation_id", flat=True)[0]
        )
    organisation = next(o for o in organisations if o.pk == chosen)
    request.session[SESSION_KEY] = organisation.pk
    return actor_for(user, organisation)


def switch_organisation(request: HttpRequest, organisation_id: int) -> Organisation:
    """Work in another of the user's organisations; NotFound for any other."""
    organisation = next(
        (o for o in organisations_of(request.user) if o.pk == organisation_id), None
    )
    if organisation is None:
        raise NotFound(f"No organisation with id {organisation_id}.")
    request.session[SESSION_KEY] = organisation.pk
    return organisation


RECENT_KEY = "salesline_recent"
RECENT_LIMIT = 8


def remember_viewed(request: HttpRequest, *, actor: Actor, kind: str, obj) -> None:
    """Put a record at the front of this organisation's recently viewed list (kept in the
    session, newest first, at most RECENT_LIMIT)."""
    per_organisation = request.session.get(RECENT_KEY, {})
    key = str(actor.organisation.pk)
    entry = {
        "kind": kind,
        "plural": KINDS[kind].plural,
        "id": obj.pk,
        "name": str(getattr(obj, "name", "") or obj.pk),
    }
    others = [e for e in per_organisation.get(key, []) if (e["kind"], e["id"]) != (kind, obj.pk)]
    per_organisation[key] = [entry, *others][:RECENT_LIMIT]
    request.session[RECENT_KEY] = per_organisation


def recently_viewed(request: HttpRequest, *, actor: Actor) -> list[dict]:
    return request.session.get(RECENT_KEY, {}).get(str(actor.organisation.pk), [])
