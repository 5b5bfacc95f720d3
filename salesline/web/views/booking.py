"""The public booking page (/book/<slug>: no sign-in, works without JavaScript), the private
calendar feed, and the settings pages where members manage booking pages and feeds."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings as django_settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from salesline.accounts import selectors as account_selectors
from salesline.accounts.selectors import may_manage_calendar
from salesline.core import ratelimit
from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.ids import is_id
from salesline.scheduling import booking as booking_services
from salesline.scheduling import feeds as feed_services
from salesline.scheduling import ics
from salesline.scheduling.models import Appointment

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

# ---------------------------------------------------------------- public pages


def _limited(request: HttpRequest, scope: str) -> HttpResponse | None:
    """The 429 page when the visitor's address is over the limit of `scope`."""
    limit, window = django_settings.SALESLINE_BOOKING_RATE_LIMITS[scope]
    try:
        ratelimit.hit(f"booking-{scope}", ratelimit.client_ip(request), limit=limit, window=window)
    except ratelimit.RateLimited as error:
        response = render(
            request, "web/booking/rate_limited.html", {"message": str(error)}, status=429
        )
        response["Retry-After"] = str(error.retry_after)
        return response
    return None


def _public_page_or_404(slug: str):
    try:
        return booking_services.public_page(slug)
    except NotFound as error:
        raise Http404(str(error)) from error


class BookForm(forms.Form):
    starts_at = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.CharField(
        label="Your e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="The confirmation and a calendar file are sent here.",
    )
    # A honeypot: hidden from people (and from assistive technology), filled in by bots.
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"


def _day_param(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


def _slot_view(slot, zone) -> dict:
    start = slot.starts_at.astimezone(zone)
    return {"start": start, "end": slot.ends_at.astimezone(zone), "value": start.isoformat()}


def _public_context(request, page, *, day=None, chosen=None, form=None, notice="") -> dict:
    zone = booking_services.page_zone(page)
    days = booking_services.bookable_days(page)
    slots = [_slot_view(s, zone) for s in booking_services.free_slots(page, day)] if day else []
    return {
        "page": page,
        "zone": str(zone),
        "days": days,
        "day": day,
        "slots": slots,
        "chosen": chosen,
        "form": form,
        "notice": notice,
        "owner_name": page.owner.full_name or page.owner.email,
    }


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the days with free slots; `?day=` that day's slots; `&start=` the form for that
    slot. POST: book it (then the thank-you page)."""
    if limited := _limited(request, "book" if request.method == "POST" else "read"):
        return limited
    page = _public_page_or_404(slug)
    template = "web/booking/public.html"
    zone = booking_services.page_zone(page)
    if request.method == "POST":
        form = BookForm(request.POST)
        start = booking_services.parse_start(request.POST.get("starts_at", ""))
        day = start.astimezone(zone).date() if start else None
        chosen = start.astimezone(zone) if start else None
        if request.POST.get("website"):
            return render(
                request,
                template,
                _public_context(
                    request, page, notice="The form could not be sent. Please try again."
                ),
                status=400,
            )
        if not form.is_valid():
            context = _public_context(request, page, day=day, chosen=chosen, form=form)
            return render(request, template, context, status=400)
        try:
            done = booking_services.book(
                page,
                starts_at=form.cleaned_data["starts_at"],
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
            )
        except Conflict:
            context = _public_context(
                request,
                page,
                day=day,
                notice="Sorry, that time was just taken. Please pick another.",
            )
            return render(request, template, context, status=409)
        except ValidationFailed as error:
            if any(p.loc == ("starts_at",) for p in error.problems):
                context = _public_context(request, page, day=day, notice=error.problems[0].msg)
                return render(request, template, context, status=422)
            bind_problems(form, error)
            context = _public_context(request, page, day=day, chosen=chosen, form=form)
            return render(request, template, context, status=422)
        return redirect("web:book-done", slug=page.slug, reference=done.reference)
    day = _day_param(request.GET.get("day"))
    chosen = None
    form = None
    start = booking_services.parse_start(request.GET.get("start", ""))
    if start is not None:
        day = start.astimezone(zone).date()
        if any(s.starts_at == start for s in booking_services.free_slots(page, day)):
            chosen = start.astimezone(zone)
            form = BookForm(initial={"starts_at": chosen.isoformat()})
    context = _public_context(request, page, day=day, chosen=chosen, form=form)
    if start is not None and chosen is None:
        context["notice"] = "That time is no longer free. Please pick another."
    return render(request, template, context)


def _booking_or_404(slug: str, reference: str):
    page = _public_page_or_404(slug)
    try:
        return page, booking_services.booking_get(page, reference)
    except NotFound as error:
        raise Http404(str(error)) from error


@require_GET
def book_done(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    if limited := _limited(request, "read"):
        return limited
    page, booked = _booking_or_404(slug, reference)
    zone = booking_services.page_zone(page)
    meeting = booked.appointment
    return render(
        request,
        "web/booking/done.html",
        {
            "page": page,
            "booking": booked,
            "start": meeting.starts_at.astimezone(zone),
            "end": meeting.ends_at.astimezone(zone),
            "zone": str(zone),
            "cancelled": meeting.cancelled_at is not None,
        },
    )


@require_GET
def book_ics(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    if limited := _limited(request, "read"):
        return limited
    _, booked = _booking_or_404(slug, reference)
    response = HttpResponse(
        ics.calendar_text([booked.appointment], private=False),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{booked.reference}.ics"'
    return response


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed: no sign-in, the token in the URL; 404 once revoked."""
    try:
        feed = feed_services.feed_by_token(token)
    except NotFound as error:
        raise Http404(str(error)) from error
    response = HttpResponse(
        feed_services.feed_text(feed),
        content_type="text/calendar; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-cache"
    return response


# ---------------------------------------------------------------- settings: booking pages


def _manageable_members(actor) -> list[tuple[int, str]]:
    """The members whose calendars the actor manages, for the owner and team pickers."""
    return [
        (row.user_id, row.label)
        for row in account_selectors.member_list(actor=actor)
        if row.is_active and may_manage_calendar(actor, row.user_id)
    ]


class BookingPageForm(forms.Form):
    owner_id = forms.TypedChoiceField(label="Whose calendar", coerce=int)
    slug = forms.CharField(
        label="Link",
        max_length=80,
        help_text="The page is /book/<link>: lower-case letters, digits and hyphens.",
    )
    title = forms.CharField(label="Title", max_length=200, required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    duration_minutes = forms.IntegerField(label="Length (minutes)", initial=30)
    buffer_minutes = forms.IntegerField(
        label="Buffer (minutes)",
        initial=0,
        help_text="Kept free before and after every other appointment.",
    )
    days_ahead = forms.IntegerField(label="Days ahead", initial=14)
    minimum_notice_hours = forms.IntegerField(label="Minimum notice (hours)", initial=2)
    max_per_day = forms.IntegerField(
        label="Bookings a day at most",
        initial=4,
        help_text="A day with this many booked meetings offers no more slots (0: no limit).",
    )
    kind = forms.ChoiceField(
        label="Booked as",
        choices=Appointment.Kind.choices,
        initial=Appointment.Kind.CALL,
        help_text="Business-development meetings count against the daily and weekly limits.",
    )
    team_ids = forms.TypedMultipleChoiceField(
        label="Team (round robin with the owner)",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    active = forms.BooleanField(label="Active (the link takes bookings)", required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = members  # type: ignore[attr-defined]
        self.fields["team_ids"].choices = members  # type: ignore[attr-defined]


def _page_form_page(request, actor, page=None) -> HttpResponse:
    members = _manageable_members(actor)
    if page is None:
        initial = {"active": True, "owner_id": actor.user.pk if actor.user else None}
    else:
        initial = {
            name: getattr(page, name)
            for name in (
                "owner_id",
                "slug",
                "title",
                "description",
                "duration_minutes",
                "buffer_minutes",
                "days_ahead",
                "minimum_notice_hours",
                "max_per_day",
                "kind",
                "active",
            )
        }
        initial["team_ids"] = [u.pk for u in page.team.all()]
    form = BookingPageForm(
        request.POST if request.method == "POST" else None, initial=initial, members=members
    )
    if page is not None:
        form.fields["owner_id"].disabled = True

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/booking/page_form.html",
            page_context(request, actor, section="booking", form=form, booking_page=page),
            status=status,
        )

    if request.method != "POST":
        return render_page(200)
    if not form.is_valid():
        return render_page(400)

    def refused(error):
        bind_problems(form, error)
        return render_page(error.status)

    on_refusal(request, refused)
    data = dict(form.cleaned_data)
    owner_id = data.pop("owner_id")
    if page is None:
        page = booking_services.page_create(actor, owner_id=owner_id, **data)
        messages.success(request, f"Booking page /book/{page.slug} created.")
    else:
        page = booking_services.page_update(actor, page.pk, data)
        messages.success(request, f"Booking page /book/{page.slug} saved.")
    return redirect("web:settings-booking-pages")


@member_page
@require_GET
def booking_page_list(request: HttpRequest, actor) -> HttpResponse:
    pages = booking_services.page_list(actor)
    rows = [
        {"page": p, "url": request.build_absolute_uri(reverse("web:book", args=[p.slug]))}
        for p in pages
    ]
    return render(
        request,
        "web/booking/pages.html",
        page_context(request, actor, section="booking", rows=rows),
    )


@member_page
@require_http_methods(["GET", "POST"])
def booking_page_create(request: HttpRequest, actor) -> HttpResponse:
    return _page_form_page(request, actor)


@member_page
@require_http_methods(["GET", "POST"])
def booking_page_edit(request: HttpRequest, actor, page_id: int) -> HttpResponse:
    if not is_id(page_id):
        raise Http404("No such booking page.")
    return _page_form_page(request, actor, booking_services.page_get_for(actor, page_id))


# ---------------------------------------------------------------- settings: calendar feeds


class FeedForm(forms.Form):
    owner_id = forms.TypedChoiceField(label="Whose calendar", coerce=int)
    name = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="To recognise the feed later, e.g. “phone calendar”.",
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_id"].choices = members  # type: ignore[attr-defined]


@member_page
@require_http_methods(["GET", "POST"])
def feed_list(request: HttpRequest, actor) -> HttpResponse:
    """The feeds, and a form to create one; its URL is shown in the answer to the POST only."""
    members = _manageable_members(actor)
    form = FeedForm(
        request.POST if request.method == "POST" else None,
        initial={"owner_id": actor.user.pk if actor.user else None},
        members=members,
    )
    context: dict = {}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            feed, token = feed_services.feed_create(
                actor, owner_id=form.cleaned_data["owner_id"], name=form.cleaned_data["name"]
            )
            context = {
                "created": feed,
                "url": request.build_absolute_uri(reverse("web:calendar-feed", args=[token])),
            }
            form = FeedForm(initial={"owner_id": feed.owner_id}, members=members)
        else:
            status = 400
    response = render(
        request,
        "web/booking/feeds.html",
        page_context(
            request,
            actor,
            section="feeds",
            form=form,
            feeds=feed_services.feed_list(actor),
            **context,
        ),
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@member_page
@require_http_methods(["GET", "POST"])
def feed_revoke(request: HttpRequest, actor, feed_id: int) -> HttpResponse:
    if not is_id(feed_id):
        raise Http404("No such feed.")
    feed = feed_services.feed_get_for(actor, feed_id)
    if request.method == "POST":
        feed_services.feed_revoke(actor, feed.pk)
        messages.success(request, "Feed revoked: its address no longer shows the calendar.")
        return redirect("web:settings-calendar-feeds")
    return render(
        request,
        "web/booking/feed_revoke.html",
        page_context(request, actor, section="feeds", feed=feed),
    )


urlpatterns = [
    path("book/<slug:slug>", book, name="book"),
    path("book/<slug:slug>/booked/<str:reference>.ics", book_ics, name="book-ics"),
    path("book/<slug:slug>/booked/<str:reference>", book_done, name="book-done"),
    path("calendar/feed/<str:token>.ics", calendar_feed, name="calendar-feed"),
    path("settings/booking-pages/", booking_page_list, name="settings-booking-pages"),
    path("settings/booking-pages/new/", booking_page_create, name="settings-booking-page-create"),
    path(
        "settings/booking-pages/<int:page_id>/",
        booking_page_edit,
        name="settings-booking-page-edit",
    ),
    path("settings/calendar-feeds/", feed_list, name="settings-calendar-feeds"),
    path(
        "settings/calendar-feeds/<int:feed_id>/revoke/",
        feed_revoke,
        name="settings-calendar-feed-revoke",
    ),
]
