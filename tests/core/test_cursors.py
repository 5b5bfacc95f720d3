"""The one cursor codec and the one 64-bit guard: pure, no database."""

import datetime as dt

import pytest

from salesline.core.cursors import decode_cursor, encode_cursor
from salesline.core.ids import MAX_ID, fits_in_64_bits, is_id


def test_max_id_is_the_largest_bigint():
    assert MAX_ID == 9223372036854775807


@pytest.mark.parametrize(
    "number, an_id, fits",
    [
        (1, True, True),
        (MAX_ID, True, True),
        (MAX_ID + 1, False, False),
        (0, False, True),
        (-MAX_ID, False, True),
        (-MAX_ID - 1, False, False),
    ],
)
def test_the_64_bit_guard(number, an_id, fits):
    assert is_id(number) is an_id
    assert fits_in_64_bits(number) is fits


def test_zero_is_a_position_but_not_an_id():
    assert is_id(0, zero=True) and not is_id(0)


@pytest.mark.parametrize(
    "value, text",
    [
        (None, ""),
        (dt.date(2027, 1, 5), "2027-01-05"),
        (dt.datetime(2027, 1, 5, 10, tzinfo=dt.UTC), "2027-01-05T10:00:00+00:00"),
        ("Acme ~ Sons", "Acme ~ Sons"),
        (42, "42"),
    ],
)
def test_a_position_round_trips_with_and_without_a_key(value, text):
    assert decode_cursor(encode_cursor(value, 7)) == (text, 7)
    assert decode_cursor(encode_cursor(value, 7, key="-name"), key="-name") == (text, 7)


def test_an_unkeyed_position_is_readable_and_a_keyed_one_url_safe():
    assert encode_cursor(dt.date(2027, 1, 5), 7) == "2027-01-05~7"
    keyed = encode_cursor("a/b+c&d é", 7, key="name")
    assert keyed.isascii() and not set(keyed) & set("/+=&~ ")


@pytest.mark.parametrize(
    "text", ["", "garbage", "x~", "x~-1", "x~+1", "x~1.5", f"x~{MAX_ID + 1}", "x~٣"]
)
def test_a_bad_position_is_refused(text):
    with pytest.raises(ValueError, match="is not a cursor"):
        decode_cursor(text)


def test_a_keyed_cursor_is_refused_by_another_key_and_unwrapped_text():
    cursor = encode_cursor("Acme", 3, key="name")
    for key in ("-name", "created_at"):
        with pytest.raises(ValueError):
            decode_cursor(cursor, key=key)
    for text in ("Acme~3", "!!!", "bmFtZQ"):  # plain, not base64, base64 of "name" alone
        with pytest.raises(ValueError):
            decode_cursor(text, key="name")
