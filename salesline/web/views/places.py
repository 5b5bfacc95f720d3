"""Settings → Places: the geocoding table (a town's coordinates) — the list, adding, editing,
removing (after a confirmation) and a CSV upload. Every member sees the table; admins and sales
coordinators change it (the services' rule: anyone else gets the 403 page naming it)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.core.ids import is_id
from salesline.scheduling import places as place_services
from salesline.scheduling import travel
from salesline.scheduling.models import Place

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

PER_PAGE = 25
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class PlaceForm(forms.Form):
    # The service checks every value (the API's rules); the form only bounds the input.
    name = forms.CharField(label="Name", max_length=200, required=False)
    country = forms.CharField(
        label="Country",
        max_length=20,
        required=False,
        help_text="Two letters (ISO 3166), e.g. US or GB; empty: any country.",
    )
    latitude = forms.CharField(
        label="Latitude",
        max_length=40,
        required=False,
        help_text="Decimal degrees, -90 to 90 (north positive), e.g. 41.8781.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    longitude = forms.CharField(
        label="Longitude",
        max_length=40,
        required=False,
        help_text="Decimal degrees, -180 to 180 (east positive), e.g. -87.6298.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class PlacesUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, first line name,country,latitude,longitude. A place already in the "
        "table (same name and country) gets the file's coordinates.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; at most {MAX_UPLOAD_BYTES:,}."
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text: save it as CSV UTF-8 and upload it again."
            ) from None


class TravelTimeForm(forms.Form):
    from_place = forms.TypedChoiceField(label="From", coerce=int)
    to_place = forms.TypedChoiceField(label="To", coerce=int)
    minutes = forms.CharField(
        label="Minutes",
        max_length=10,
        required=False,
        help_text="Door to door, 0 to 1440. Used both ways unless the way back has its own.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, places, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(p.pk, str(p)) for p in places]
        self.fields["from_place"].choices = choices  # type: ignore[attr-defined]
        self.fields["to_place"].choices = choices  # type: ignore[attr-defined]


def _all_places(actor) -> list[Place]:
    return list(place_services.place_rows(actor=actor))


def _travel_input(problem) -> str | None:
    """The form's input a travel-time problem names ((0, "from") is `from_place`)."""
    name = problem.loc[-1] if problem.loc else None
    return {"from": "from_place", "to": "to_place", "minutes": "minutes"}.get(str(name))


def _place_or_404(actor, place_id: int):
    if not is_id(place_id):
        raise Http404("No such place.")
    return place_services.place_get_for(actor=actor, place_id=place_id)


def _list_context(request: HttpRequest, actor, **extra) -> dict:
    search = (request.GET.get("q") or "").strip()[:120]
    page = Paginator(place_services.place_rows(actor=actor, search=search), PER_PAGE).get_page(
        request.GET.get("page")
    )
    travel_rows = Paginator(travel.travel_time_rows(actor=actor), PER_PAGE).get_page(
        request.GET.get("tpage")
    )
    all_places = _all_places(actor) if place_services.may_edit(actor) else []
    if extra.get("travel_refused"):
        extra["general"] = ["The travel time was not saved: see its form under Travel times."]
    if extra.get("upload_refused"):
        extra["general"] = ["Nothing was uploaded: see the form under Upload places."]
    return page_context(
        request,
        actor,
        section="places",
        places=page,
        travel_rows=travel_rows,
        travel_form=extra.pop("travel_form", None) or TravelTimeForm(places=all_places),
        place_count=len(all_places),
        search=search,
        may_edit=place_services.may_edit(actor),
        form=extra.pop("form", None) or PlaceForm(),
        upload_form=extra.pop("upload_form", None) or PlacesUploadForm(),
        **extra,
    )


@member_page
@require_GET
def place_list(request: HttpRequest, actor) -> HttpResponse:
    return render(request, "web/places/list.html", _list_context(request, actor))


def _form_page(request, actor, place, save, done: str) -> HttpResponse:
    initial = (
        {}
        if place is None
        else {
            "name": place.name,
            "country": place.country,
            "latitude": f"{place.latitude:g}",
            "longitude": f"{place.longitude:g}",
        }
    )
    form = PlaceForm(request.POST if request.method == "POST" else None, initial=initial)

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/places/form.html",
            page_context(request, actor, section="places", form=form, place=place),
            status=status,
        )

    if request.method != "POST":
        place_services.require_edit(actor)
        return render_page(200)
    if not form.is_valid():
        return render_page(400)

    def refused(error):
        bind_problems(form, error)
        return render_page(error.status)

    on_refusal(request, refused)
    data = {k: v.strip() for k, v in form.cleaned_data.items()}
    saved = save(data)
    messages.success(request, f"Place “{saved}” {done}.")
    return redirect(f"{reverse('web:settings-places')}?{urlencode({'q': saved.name})}")


@member_page
@require_http_methods(["GET", "POST"])
def place_create(request: HttpRequest, actor) -> HttpResponse:
    return _form_page(
        request,
        actor,
        None,
        lambda data: place_services.place_create(actor=actor, data=data),
        "added",
    )


@member_page
@require_http_methods(["GET", "POST"])
def place_edit(request: HttpRequest, actor, place_id: int) -> HttpResponse:
    place = _place_or_404(actor, place_id)
    return _form_page(
        request,
        actor,
        place,
        lambda data: place_services.place_update(actor=actor, place_id=place.pk, data=data),
        "saved",
    )


@member_page
@require_http_methods(["GET", "POST"])
def place_delete(request: HttpRequest, actor, place_id: int) -> HttpResponse:
    place = _place_or_404(actor, place_id)
    place_services.require_edit(actor)
    if request.method == "POST":
        place_services.place_delete(actor=actor, place_id=place.pk)
        messages.success(request, f"Place “{place}” removed.")
        return redirect("web:settings-places")
    return render(
        request,
        "web/places/delete.html",
        page_context(request, actor, section="places", place=place),
    )


@member_page
@require_POST
def place_upload(request: HttpRequest, actor) -> HttpResponse:
    """Loads the good rows; the answer lists each bad one by its line number."""
    place_services.require_edit(actor)
    upload_form = PlacesUploadForm(request.POST, request.FILES)
    if not upload_form.is_valid():
        return render(
            request,
            "web/places/list.html",
            _list_context(request, actor, upload_form=upload_form, upload_refused=True),
            status=400,
        )
    result = place_services.places_import_csv(actor=actor, text=upload_form.cleaned_data["file"])
    return render(
        request,
        "web/places/list.html",
        _list_context(request, actor, result=result),
        status=200,
    )


@member_page
@require_POST
def travel_time_set(request: HttpRequest, actor) -> HttpResponse:
    """Adds a journey to the matrix or changes its minutes."""
    place_services.require_edit(actor)
    form = TravelTimeForm(request.POST, places=_all_places(actor))

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/places/list.html",
            _list_context(request, actor, travel_form=form, travel_refused=True),
            status=status,
        )

    if not form.is_valid():
        return render_page(400)

    def refused(error):
        bind_problems(form, error, field_of=_travel_input)
        return render_page(error.status)

    on_refusal(request, refused)
    row = travel.travel_time_set(
        actor=actor,
        from_id=form.cleaned_data["from_place"],
        to_id=form.cleaned_data["to_place"],
        minutes=form.cleaned_data["minutes"],
    )
    messages.success(
        request, f"Travel time from {row.from_place} to {row.to_place} saved: {row.minutes} min."
    )
    return redirect(f"{reverse('web:settings-places')}#travel-heading")


@member_page
@require_http_methods(["GET", "POST"])
def travel_time_delete(request: HttpRequest, actor, entry_id: int) -> HttpResponse:
    place_services.require_edit(actor)
    if not is_id(entry_id):
        raise Http404("No such travel time.")
    row = travel.travel_time_get_for(actor=actor, entry_id=entry_id)
    if request.method == "POST":
        travel.travel_time_delete(actor=actor, entry_id=row.pk)
        messages.success(request, f"Travel time from {row.from_place} to {row.to_place} removed.")
        return redirect(f"{reverse('web:settings-places')}#travel-heading")
    return render(
        request,
        "web/places/travel_time_delete.html",
        page_context(request, actor, section="places", row=row),
    )


urlpatterns = [
    path("settings/places/", place_list, name="settings-places"),
    path("settings/places/new/", place_create, name="settings-place-create"),
    path("settings/places/upload/", place_upload, name="settings-places-upload"),
    path("settings/places/travel-times/", travel_time_set, name="settings-travel-time-set"),
    path(
        "settings/places/travel-times/<int:entry_id>/delete/",
        travel_time_delete,
        name="settings-travel-time-delete",
    ),
    path("settings/places/<int:place_id>/", place_edit, name="settings-place-edit"),
    path("settings/places/<int:place_id>/delete/", place_delete, name="settings-place-delete"),
]
