"""JSON rendering with orjson: a page of 50 records renders several times faster than with the
standard library encoder calling `default()` for every date and decimal."""

from decimal import Decimal
from typing import Any

import orjson
from ninja.renderers import BaseRenderer

from salesline.core.text import scrub_data


def _default(value: Any) -> Any:
    # Money keeps its exact decimal digits as a string, as Django's encoder does.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        try:
            return _dumps(data)
        except orjson.JSONEncodeError:
            # Text stored before the text rule (or written to the database directly) may hold
            # a lone surrogate, which no JSON encoder accepts: answer with U+FFFD in its place
            # rather than fail the whole list for one bad row.
            return _dumps(scrub_data(data))


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
