"""How large a number each integer column holds, and what that means for input.

Integer columns are 32-bit (PostgreSQL's `integer`), BigInteger columns 64-bit. A value
outside its column's range must never reach the database: PostgreSQL refuses it with an
error, and SQLite's driver cannot even send a number beyond 64 bits. The bounds are the
schema's, the same on every database, so a record that SQLite accepts also fits PostgreSQL.

- A key outside its column's range names no record: a URL id answers 404, a relation
  names a record that does not exist, a filter finds nothing.
- A value outside its column's range is the field's error (422, or the form's message).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from sqlalchemy import BigInteger, Integer, SmallInteger
from sqlalchemy.types import TypeDecorator, TypeEngine

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


def integer_range(kind: Any) -> Optional[tuple[int, int]]:
    """(smallest, largest) value of an integer column or column type; None for other types."""
    kind = getattr(kind, "type", kind)
    if not isinstance(kind, TypeEngine):
        return None
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    if isinstance(kind, BigInteger):
        return INT64
    if isinstance(kind, SmallInteger):
        return INT16
    if isinstance(kind, Integer):
        return INT32
    return None


def fits(kind: Any, value: int) -> bool:
    """Does the integer `value` fit the integer column (or type) `kind`? True for other
    columns: their own rules judge the value."""
    bounds = integer_range(kind)
    return bounds is None or bounds[0] <= value <= bounds[1]


def as_key(column: Any, value: Any) -> Optional[int]:
    """The key `value` names in an integer key column ("12", 12), or None when it names no
    possible record: not an integer (a boolean, "abc", 1.5) or outside the column's range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        key = value
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        key = parse_integer(value)
    else:
        return None
    return key if fits(column, key) else None


def parse_integer(text: str) -> int:
    """The integer an all-digit text names; one too long for any column is taken as the
    largest 64-bit number plus one (Python refuses to read more than 4,300 digits)."""
    text = text.strip()
    if len(text.lstrip("+-")) > 30:
        return -(INT64[1] + 1) if text.startswith("-") else INT64[1] + 1
    return int(text)


def widest_range(columns: Iterable[Any]) -> tuple[int, int]:
    """The range that holds every value of all these integer columns."""
    ranges = [bounds for bounds in map(integer_range, columns) if bounds is not None]
    if not ranges:
        return INT64
    return min(low for low, _ in ranges), max(high for _, high in ranges)
