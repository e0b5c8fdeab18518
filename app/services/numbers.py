"""Numbers and money as people type them and as the lists show them: in Russian
`1 200 000,00` (ordinary, no-break or narrow no-break spaces between the thousands) or
`1200000.50`; in English `1,200,000.00`. Typed the other language's way they mean the same:
`1 200 000,00` is never read as 120 million."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
_SHAPE = re.compile(r"[+-]?[\d.,]*\d[\d.,]*|[+-]?[.,]\d+")
_GROUPED = re.compile(r"\d{1,3}(?:X\d{3})+")


class UnreadableNumber(ValueError):
    """The text is not a number in any form people write them."""


def _decimal_separator(digits: str, group_symbol: str):
    """Which of "," and "." separates the decimals in `digits` (None: no decimals)."""
    found = [c for c in digits if c in ",."]
    if not found:
        return None
    if len(set(found)) == 2:
        return found[-1]  # 1,200,000.00 and 1.200.000,00: the last one
    symbol = found[0]
    if len(found) > 1:
        return None  # 1,200,000: digit groups only
    whole, _, fraction = digits.partition(symbol)
    # One separator: a group separator of the language before three digits (1,500 in
    # English), else the decimal separator (1,5 and 1.500 in Russian).
    if symbol == group_symbol and len(fraction) == 3 and whole.lstrip("+-"):
        return None
    return symbol


def parse_decimal(text: str, decimal_symbol: str = ",", group_symbol: str = "\u00a0") -> Decimal:
    """The number a person typed, in a language whose decimal and group symbols are given."""
    compact = _SPACES.sub("", text or "")
    if not _SHAPE.fullmatch(compact):
        raise UnreadableNumber(text)
    separator = _decimal_separator(compact, group_symbol)
    whole, _, fraction = compact.partition(separator) if separator else (compact, "", "")
    sign = whole[:1] if whole[:1] in "+-" else ""
    whole = whole[len(sign):]
    if "," in whole or "." in whole:
        grouped = whole.replace(",", "X").replace(".", "X")
        if not _GROUPED.fullmatch(grouped) or len(set(c for c in whole if c in ",.")) > 1:
            raise UnreadableNumber(text)
        whole = grouped.replace("X", "")
    if "," in fraction or "." in fraction or (not whole and not fraction):
        raise UnreadableNumber(text)
    try:
        number = Decimal(f"{sign}{whole or '0'}.{fraction or '0'}")
    except InvalidOperation:
        raise UnreadableNumber(text) from None
    return number
