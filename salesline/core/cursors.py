"""Keyset cursors: where a page of an ordered list ended, for every list (records, the board,
and whatever lists come next).

A position is the last row's value of the ordering column and its id, written
`<value>~<id>` (a date or time in ISO 8601, nothing for None). A list whose URL does not say
how it is ordered binds the cursor to its ordering (`key`) and sends it as URL-safe base64,
so a cursor of one ordering is refused by another. Decoding checks the shape and the id; the
caller turns the value text back into its column's type.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from .ids import is_id

SEPARATOR = "~"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def encode_cursor(value: Any, pk: int, *, key: str | None = None) -> str:
    """The cursor after the row (`value`, `pk`); with a `key`, bound to it and opaque."""
    position = f"{_text(value)}{SEPARATOR}{pk}"
    if key is None:
        return position
    raw = f"{key}{SEPARATOR}{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, key: str | None = None) -> tuple[str, int]:
    """(value text, id) of a cursor made by `encode_cursor` with the same `key`; ValueError
    for anything else (another key, no id, an id past 64 bits)."""
    try:
        if key is not None:
            padded = text + "=" * (-len(text) % 4)
            unwrapped = base64.urlsafe_b64decode(padded.encode()).decode()
            found, _, text = unwrapped.partition(SEPARATOR)
            if found != key:
                raise ValueError
        value, separator, raw_id = text.rpartition(SEPARATOR)
        if not separator or not raw_id.isascii() or not raw_id.isdecimal():
            raise ValueError
        pk = int(raw_id)
        if not is_id(pk, zero=True):
            raise ValueError
        return value, pk
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("is not a cursor of this list and ordering") from None
