"""Booking pages (members), the public booking endpoints (no token) and calendar feeds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Status
from pydantic import BaseModel

from salesline.core import ratelimit
from salesline.core.errors import Problem, ValidationFailed
from salesline.core.ids import MAX_ID
from salesline.scheduling import booking as booking_services
from salesline.scheduling import feeds as feed_services
from salesline.scheduling.models import BookingPage, CalendarFeed

from .common import actor_of
from .schemas import Strict

pages_router = Router(tags=["booking"])
public_router = Router(tags=["booking"], auth=None)
feeds_router = Router(tags=["calendar feeds"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class BookingPageIn(Strict):
    owner_id: Id | None = None
    slug: str
    title: str = ""
    description: str = ""
    duration_minutes: int = 30
    buffer_minutes: int = 0
    days_ahead: int = 14
    minimum_notice_hours: int = 2
    max_per_day: int = Field(4, description="Booked meetings a day at most (0: no limit)")
    kind: str = "call"
    active: bool = True
    team_ids: list[Id] = []


class BookingPagePatch(Strict):
    slug: str | None = None
    title: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    buffer_minutes: int | None = None
    days_ahead: int | None = None
    minimum_notice_hours: int | None = None
    max_per_day: int | None = None
    kind: str | None = None
    active: bool | None = None
    team_ids: list[Id] | None = None


class BookingPageOut(BaseModel):
    id: int
    owner_id: int
    team_ids: list[int]
    slug: str
    url: str
    title: str
    description: str
    duration_minutes: int
    buffer_minutes: int
    days_ahead: int
    minimum_notice_hours: int
    max_per_day: int
    kind: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class BookingPageList(BaseModel):
    items: list[BookingPageOut]
    count: int


class SlotOut(BaseModel):
    starts_at: str
    ends_at: str


class BookIn(Strict):
    starts_at: str | None = None
    name: str | None = None
    email: str | None = None


class BookedOut(BaseModel):
    reference: str
    starts_at: str
    ends_at: str
    title: str
    time_zone: str


class FeedIn(Strict):
    owner_id: Id | None = None
    name: str = ""


class FeedCreated(BaseModel):
    id: int
    url: str
    owner_id: int


class FeedOut(BaseModel):
    id: int
    owner_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class FeedList(BaseModel):
    items: list[FeedOut]
    count: int


def page_out(request: HttpRequest, page: BookingPage) -> dict:
    return {
        "id": page.pk,
        "owner_id": page.owner_id,
        "team_ids": sorted(user.pk for user in page.team.all()),
        "slug": page.slug,
        "url": request.build_absolute_uri(reverse("web:book", args=[page.slug])),
        "title": page.title,
        "description": page.description,
        "duration_minutes": page.duration_minutes,
        "buffer_minutes": page.buffer_minutes,
        "days_ahead": page.days_ahead,
        "minimum_notice_hours": page.minimum_notice_hours,
        "max_per_day": page.max_per_day,
        "kind": page.kind,
        "active": page.active,
        "created_at": page.created_at,
        "updated_at": page.updated_at,
    }


def feed_out(feed: CalendarFeed) -> dict:
    return {
        "id": feed.pk,
        "owner_id": feed.owner_id,
        "name": feed.name,
        "prefix": feed.prefix,
        "created_at": feed.created_at,
        "last_used_at": feed.last_used_at,
        "revoked_at": feed.revoked_at,
    }


def _limit(request: HttpRequest, scope: str) -> None:
    limit, window = settings.SALESLINE_BOOKING_RATE_LIMITS[scope]
    ratelimit.hit(f"booking-{scope}", ratelimit.client_ip(request), limit=limit, window=window)


def register(api) -> None:
    @pages_router.get(
        "", response=BookingPageList, operation_id="list_booking_pages", summary="Booking pages"
    )
    def list_pages(request: HttpRequest):
        """The pages on calendars you manage (yours, those you coordinate; an admin: all)."""
        pages = booking_services.page_list(actor_of(request))
        return {"items": [page_out(request, p) for p in pages], "count": len(pages)}

    @pages_router.post(
        "",
        response={201: BookingPageOut},
        operation_id="create_booking_page",
        summary="Create a booking page",
    )
    def create_page(request: HttpRequest, payload: BookingPageIn):
        """On `owner_id`'s calendar (yours when left out): the owner, their coordinator or an
        admin. `slug` makes the public page /book/<slug>; `team_ids` make it a team page."""
        data = payload.model_dump()
        owner_id = data.pop("owner_id")
        page = booking_services.page_create(actor_of(request), owner_id=owner_id, **data)
        return Status(201, page_out(request, page))

    @pages_router.get(
        "/{page_id}",
        response=BookingPageOut,
        operation_id="get_booking_page",
        summary="A booking page",
    )
    def get_page(request: HttpRequest, page_id: Id):
        return page_out(request, booking_services.page_get_for(actor_of(request), page_id))

    @pages_router.patch(
        "/{page_id}",
        response=BookingPageOut,
        operation_id="update_booking_page",
        summary="Edit or deactivate a booking page",
    )
    def update_page(request: HttpRequest, page_id: Id, payload: BookingPagePatch):
        """`{"active": false}` deactivates it: its public page and slots answer 404."""
        data = payload.model_dump(exclude_unset=True)
        page = booking_services.page_update(actor_of(request), page_id, data)
        return page_out(request, page)

    @public_router.get(
        "/{slug}/slots",
        response=list[SlotOut],
        operation_id="booking_slots",
        summary="Free slots of a day (public)",
    )
    def slots(request: HttpRequest, slug: str, date: str | None = None):
        """No token. `date` (YYYY-MM-DD) is a day in the page owner's time zone; the answer
        lists the free slots with their offset, earliest first."""
        _limit(request, "read")
        page = booking_services.public_page(slug)
        try:
            day = dt.date.fromisoformat(date or "")
        except ValueError:
            raise ValidationFailed(
                "Name a day.",
                [Problem(("query", "date"), "date must be a day as YYYY-MM-DD, e.g. 2027-01-05.")],
            ) from None
        zone = booking_services.page_zone(page)
        return [
            {
                "starts_at": slot.starts_at.astimezone(zone).isoformat(),
                "ends_at": slot.ends_at.astimezone(zone).isoformat(),
            }
            for slot in booking_services.free_slots(page, day)
        ]

    @public_router.post(
        "/{slug}",
        response={201: BookedOut},
        operation_id="book_slot",
        summary="Book a slot (public)",
    )
    def book(request: HttpRequest, slug: str, payload: BookIn):
        """No token. 201 with the reference; 409 when the slot was just taken; 422 naming each
        bad field (a start that is not one of the page's slots, an invalid e-mail)."""
        _limit(request, "book")
        page = booking_services.public_page(slug)
        booked = booking_services.book(page, **payload.model_dump())
        appointment = booked.appointment
        zone = booking_services.page_zone(page)
        return Status(
            201,
            {
                "reference": booked.reference,
                "starts_at": appointment.starts_at.astimezone(zone).isoformat(),
                "ends_at": appointment.ends_at.astimezone(zone).isoformat(),
                "title": appointment.title,
                "time_zone": str(zone),
            },
        )

    @feeds_router.get("", response=FeedList, operation_id="list_calendar_feeds", summary="Feeds")
    def list_feeds(request: HttpRequest):
        """The feeds of calendars you manage; their URLs are shown only when created."""
        feeds = feed_services.feed_list(actor_of(request))
        return {"items": [feed_out(f) for f in feeds], "count": len(feeds)}

    @feeds_router.post(
        "",
        response={201: FeedCreated},
        operation_id="create_calendar_feed",
        summary="Create a private calendar feed",
    )
    def create_feed(request: HttpRequest, payload: FeedIn):
        """`url` is the private iCalendar URL of `owner_id`'s calendar (yours when left out):
        this answer is the only time it is shown. Keep it secret; revoke it with DELETE."""
        feed, token = feed_services.feed_create(
            actor_of(request), owner_id=payload.owner_id, name=payload.name
        )
        url = request.build_absolute_uri(reverse("web:calendar-feed", args=[token]))
        response = api.create_response(
            request, {"id": feed.pk, "url": url, "owner_id": feed.owner_id}, status=201
        )
        response["Cache-Control"] = "no-store"
        return response

    @feeds_router.delete(
        "/{feed_id}",
        response={204: None},
        operation_id="revoke_calendar_feed",
        summary="Revoke a calendar feed",
    )
    def revoke_feed(request: HttpRequest, feed_id: Id):
        """Its URL answers 404 from now on."""
        feed_services.feed_revoke(actor_of(request), feed_id)
        return Status(204, None)

    api.add_router("/booking-pages", pages_router)
    api.add_router("/booking", public_router)
    api.add_router("/calendar-feeds", feeds_router)
