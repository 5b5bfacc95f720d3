"""Ids and whole numbers are 64-bit in both databases: the one guard every interface uses.

A number past 64 bits names nothing, and asking the database about it fails (SQLite raises
OverflowError, PostgreSQL DataError), so interfaces refuse it before it gets there.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the largest value of a signed 64-bit column (bigint)


def fits_in_64_bits(number: int) -> bool:
    """Whether a whole number can be compared with a 64-bit column without an error (the
    smallest value, -2**63, is left out so that the bound is symmetric)."""
    return -MAX_ID <= number <= MAX_ID


def is_id(number: int, *, zero: bool = False) -> bool:
    """Whether `number` can be a row's id (`zero`: also 0, a position before every row)."""
    return (0 if zero else 1) <= number <= MAX_ID
