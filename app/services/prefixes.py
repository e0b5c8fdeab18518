"""Looking text up by its beginning with a b-tree index: `LIKE 'prefix%'` written as a range
the index serves, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import sys
from typing import Optional

from sqlalchemy import and_, true


def next_prefix(prefix: str) -> Optional[str]:
    """The first text after every text that starts with `prefix`; None when there is none
    (the prefix is all U+10FFFF). Never a surrogate: no database can store one."""
    while prefix:
        last = ord(prefix[-1])
        if last < sys.maxunicode:
            following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


def bytewise(column) -> bool:
    """Is the column compared byte by byte on every database (models.SearchString)?"""
    variant = getattr(column.type, "_variant_mapping", {}).get("postgresql")
    return getattr(variant, "collation", None) == "C"


def prefix_condition(column, prefix: str):
    """`column LIKE 'prefix%'`, written so that a b-tree index on the column serves it.

    On a byte-wise compared column the range alone is exact; elsewhere (a locale
    collation) the LIKE keeps it exact and the range keeps it indexed. Without the LIKE
    the planner also estimates the number of matches right.
    """
    if not prefix:
        return true()
    following = next_prefix(prefix)
    in_range = column >= prefix if following is None else \
        and_(column >= prefix, column < following)
    if bytewise(column):
        return in_range
    return and_(in_range, column.startswith(prefix, autoescape=True))
