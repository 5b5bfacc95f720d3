"""The geocoding table: places (a town's coordinates) that addresses without coordinates are
located by. Every member reads; admins and sales coordinators write."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from salesline.scheduling import places, travel

from .common import actor_of
from .schemas import Strict

router = Router(tags=["places"])


class PlaceIn(Strict):
    name: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class PlaceOut(BaseModel):
    id: int
    name: str
    country: str
    latitude: float
    longitude: float


class PlaceList(BaseModel):
    items: list[PlaceOut]
    count: int
    limit: int
    offset: int


class PlaceQuery(Schema):
    q: str | None = None
    limit: str | None = None
    offset: str | None = None


def register(api) -> None:
    @router.get("", response=PlaceList, operation_id="list_places", summary="Places")
    def list_places(request: HttpRequest, query: Query[PlaceQuery]):
        """By name, then country; `q` matches the start of a name; `limit` (default 50, at
        most 500) and `offset`."""
        raw = query.dict()
        limit, offset = places.parse_paging(raw)
        items, count = places.place_list(
            actor=actor_of(request), limit=limit, offset=offset, search=(raw.get("q") or "")[:120]
        )
        return {
            "items": [places.place_out(p) for p in items],
            "count": count,
            "limit": limit,
            "offset": offset,
        }

    @router.post("", response={201: PlaceOut}, operation_id="create_place", summary="Add a place")
    def create_place(request: HttpRequest, payload: PlaceIn):
        """`name`, `latitude` (-90..90) and `longitude` (-180..180) are required; `country` is
        a two-letter ISO 3166 code or blank. A second place of the same name and country
        answers 422 naming `name`."""
        place = places.place_create(
            actor=actor_of(request), data=payload.model_dump(exclude_unset=True)
        )
        return Status(201, places.place_out(place))

    @router.get("/{place_id}", response=PlaceOut, operation_id="get_place", summary="A place")
    def get_place(request: HttpRequest, place_id: int):
        return places.place_out(places.place_get_for(actor=actor_of(request), place_id=place_id))

    @router.patch(
        "/{place_id}", response=PlaceOut, operation_id="update_place", summary="Edit a place"
    )
    def update_place(request: HttpRequest, place_id: int, payload: PlaceIn):
        place = places.place_update(
            actor=actor_of(request),
            place_id=place_id,
            data=payload.model_dump(exclude_unset=True),
        )
        return places.place_out(place)

    @router.delete(
        "/{place_id}", response={204: None}, operation_id="delete_place", summary="Remove a place"
    )
    def delete_place(request: HttpRequest, place_id: int):
        places.place_delete(actor=actor_of(request), place_id=place_id)
        return Status(204, None)

    api.add_router("/places", router)


travel_router = Router(tags=["places"])


class TravelTimeIn(Strict):
    from_: int = Field(..., alias="from", description="A place's id")
    to: int = Field(..., description="A place's id")
    minutes: int = Field(..., description="Door to door, 0 to 1440")


class TravelTimeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: int = Field(..., alias="from")
    to: int
    minutes: int


def register_travel_times(api) -> None:
    @travel_router.get(
        "",
        response=list[TravelTimeOut],
        by_alias=True,
        operation_id="list_travel_times",
        summary="The travel-time matrix",
    )
    def list_travel_times(request: HttpRequest):
        """Minutes between places (ids), as entered: an entry without its reverse also counts
        for the way back."""
        return [travel.entry_out(r) for r in travel.travel_time_rows(actor=actor_of(request))]

    @travel_router.put(
        "",
        response=list[TravelTimeOut],
        by_alias=True,
        operation_id="replace_travel_times",
        summary="Replace the travel-time matrix",
    )
    def replace_travel_times(request: HttpRequest, payload: list[TravelTimeIn]):
        """The whole matrix: `[{"from": place id, "to": place id, "minutes": m}]` (an empty list
        clears it). The planner uses an entry when both ends of a journey are within 2 km of
        its places; otherwise the haversine distance at the person's speed. Admins and sales
        coordinators; 422 naming each bad item (unknown place, the same place twice, a repeated
        journey, minutes outside 0-1440)."""
        items = [item.model_dump(by_alias=True) for item in payload]
        rows = travel.travel_times_replace(actor=actor_of(request), items=items)
        return [travel.entry_out(r) for r in rows]

    api.add_router("/travel-times", travel_router)
