"""JSON rendering with orjson: a page of 50 records renders several times faster than with the
standard library encoder calling `default()` for every date and decimal."""

from decimal import Decimal
from typing import Any

import orjson
from ninja.renderers import BaseRenderer


def _default(value: Any) -> Any:
    # Money keeps its exact decimal digits as a string, as Django's encoder does.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return orjson.dumps(
            data, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
        )
