"""The list filters of the screens and the API, fit for a million rows.

- "Starts with" on text uses the normalised shadow column (see entities.SEARCH_SHADOWS) or
  an index range, never a table scan.
- A filter's value is read as its column's type; a value the column cannot hold matches
  nothing instead of failing (a date, a number, a key beyond the database's integers).
- A relation filter compares keys ("responsible is X"), without loading the related
  record; "is not X" also lists the rows without one.
"""


from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from dateutil import parser as date_parser
from flask_appbuilder.exceptions import (
    InvalidColumnFilterFABException,
    InvalidOperationFilterFABException,
)
from flask_appbuilder.models.sqla.filters import (
    FilterContains,
    FilterEqual,
    FilterGreater,
    FilterIn,
    FilterNotEqual,
    FilterNotIn,
    FilterRelationOneToManyEqual,
    FilterRelationOneToManyNotEqual,
    FilterSmaller,
    FilterStartsWith,
    SQLAFilterConverter,
    get_field_setup_query,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    false,
    or_,
)
from sqlalchemy.orm import RelationshipProperty

from app.entities import SEARCH_SHADOWS
from app.rules.validation import phone_search_prefix
from app.services import bounds, client_search
from app.services.clock import parse_typed
from app.services.prefixes import prefix_condition


class _ShadowTextFilter:
    """A text filter that looks at the normalised shadow column of a field when there is one
    (case and "ё" ignored, phones in one form), and at the field itself otherwise."""

    def condition(self, column, value):
        raise NotImplementedError

    def normaliser(self, shadow_column: str, normalise):
        return normalise

    def apply(self, query, value):
        # The API may send a number or a boolean where text is expected: search its text.
        value = "" if value is None else str(value).strip()
        if not value:
            return query
        shadow = SEARCH_SHADOWS.get(self.model, {}).get(self.column_name)
        if shadow:
            column_name, normalise = shadow
            column = getattr(self.model, column_name)
            value = self.normaliser(column_name, normalise)(value)
        else:
            query, column = get_field_setup_query(query, self.model, self.column_name)
        if not value:
            return query
        return query.filter(self.condition(column, value))


class FilterStartsWithIndexed(_ShadowTextFilter, FilterStartsWith):
    """Starts with, served by an index range."""

    name = _l("Starts with")
    arg_name = "sw"

    def normaliser(self, shadow_column: str, normalise):
        return phone_search_prefix if shadow_column == "phone_normalized" else normalise

    def condition(self, column, value):
        return prefix_condition(column, value)


class FilterContainsText(_ShadowTextFilter, FilterContains):
    """Contains. A client's name, and a client's or a contact's phone and e-mail, are looked
    up the client search's indexed ways (app.services.client_search): a word of the name
    starting with each typed word, a phone ending in the typed digits, an e-mail starting
    with the typed text or at the typed domain. Other text is scanned (meant for narrowed
    lists)."""

    name = _l("Contains")
    arg_name = "ct"

    def apply(self, query, value):
        typed = "" if value is None else str(value).strip()
        indexed = client_search.indexed_contains(self.model, self.column_name, typed) \
            if typed else None
        if indexed is not None:
            return query.filter(indexed)
        return super().apply(query, value)

    def normaliser(self, shadow_column: str, normalise):
        if shadow_column == "phone_normalized":
            return lambda typed: "".join(ch for ch in typed if ch.isdigit())
        return normalise

    def condition(self, column, value):
        return column.contains(value, autoescape=True)


def relation_key(column, value) -> Optional[int]:
    """The key a relation filter's value names in the foreign key `column`, or None when it
    names no possible record ("abc", 1e30, a boolean, a number beyond the column)."""
    if hasattr(value, "__table__"):
        value = getattr(value, "id", None)
    return bounds.as_key(column, value)


# What a filter value is for its column (see typed_value).
_VALUE, _ABOVE, _BELOW, _NO_VALUE = "value", "above", "below", "no value"
_TRUE_WORDS = {"y", "yes", "true", "on", "1"}
_FALSE_WORDS = {"", "n", "no", "false", "off", "0"}


def typed_value(column, value) -> tuple[str, Any]:
    """A filter's value read as its column's type, so that the database is only ever sent
    a value the column can hold: (_VALUE, the value), or (_ABOVE, None) / (_BELOW, None)
    for a number beyond the column's largest / smallest value, or (_NO_VALUE, None) for
    what is no value of the column's kind ("abc" for a number, "x" for a yes/no)."""
    kind = column.type
    python_type = None
    try:
        python_type = kind.python_type
    except NotImplementedError:
        pass
    if python_type is bool:
        word = str(value).strip().lower()
        if value is True or word in _TRUE_WORDS:
            return _VALUE, True
        if value is False or value is None or word in _FALSE_WORDS:
            return _VALUE, False
        return _NO_VALUE, None
    if bounds.integer_range(kind) is not None:
        number = _number(value)
        if number is None or number != number.to_integral_value():
            return _NO_VALUE, None
        low, high = bounds.integer_range(kind)
        if number > high:
            return _ABOVE, None
        if number < low:
            return _BELOW, None
        return _VALUE, int(number)
    if python_type in (Decimal, float):
        number = _number(value)
        if number is None:
            return _NO_VALUE, None
        precision, scale = getattr(kind, "precision", None), getattr(kind, "scale", None) or 0
        if precision and python_type is Decimal:
            if number >= Decimal(10) ** (precision - scale):
                return _ABOVE, None
            if number <= -(Decimal(10) ** (precision - scale)):
                return _BELOW, None
        elif abs(number) > Decimal("1e300"):
            return (_ABOVE if number > 0 else _BELOW), None
        return _VALUE, number if python_type is Decimal else float(number)
    if python_type in (dt.date, dt.datetime):
        return _moment(value, python_type)
    return _VALUE, "" if value is None else str(value)


def _number(value) -> Optional[Decimal]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _moment(value, python_type) -> tuple[str, Any]:
    """A date or a time, as FAB reads it (any form dateutil knows); a time with an offset
    becomes the naive UTC time the database keeps."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            # 03.12.2026 14:30 as people type it (day first), else any form dateutil knows.
            moment = parse_typed(str(value))
        except ValueError:
            try:
                moment = date_parser.parse(str(value))
            except (ValueError, OverflowError, TypeError):
                return _NO_VALUE, None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return _VALUE, moment.date() if python_type is dt.date else moment


class _TypedFilter:
    """A comparison filter that reads its value as the column's type first (typed_value):
    a value the column cannot hold reaches no database, it simply matches what it can."""

    def column(self, query):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        return query, field, field.property.columns[0]

    def apply(self, query, value):
        query, field, column = self.column(query)
        return self.compare(query, field, *typed_value(column, value))


class FilterTypedEqual(_TypedFilter, FilterEqual):
    def compare(self, query, field, what, value):
        return query.filter(field == value if what == _VALUE else false())


class FilterTypedNotEqual(_TypedFilter, FilterNotEqual):
    def compare(self, query, field, what, value):
        return query.filter(field != value) if what == _VALUE else query


class FilterTypedGreater(_TypedFilter, FilterGreater):
    def compare(self, query, field, what, value):
        if what == _VALUE:
            return query.filter(field > value)
        return query.filter(false()) if what == _ABOVE else query


class FilterTypedSmaller(_TypedFilter, FilterSmaller):
    def compare(self, query, field, what, value):
        if what == _VALUE:
            return query.filter(field < value)
        return query.filter(false()) if what == _BELOW else query


class FilterTypedIn(_TypedFilter, FilterIn):
    def apply(self, query, value):
        query, field, column = self.column(query)
        values = [typed_value(column, item) for item in
                  (value if isinstance(value, list) else [value])]
        return query.filter(field.in_([v for what, v in values if what == _VALUE]))


class FilterTypedNotIn(_TypedFilter, FilterNotIn):
    def apply(self, query, value):
        query, field, column = self.column(query)
        values = [typed_value(column, item) for item in
                  (value if isinstance(value, list) else [value])]
        kept = [v for what, v in values if what == _VALUE]
        return query.filter(~field.in_(kept)) if kept else query


_TYPED_FILTERS = {
    FilterEqual: FilterTypedEqual,
    FilterNotEqual: FilterTypedNotEqual,
    FilterGreater: FilterTypedGreater,
    FilterSmaller: FilterTypedSmaller,
    FilterIn: FilterTypedIn,
    FilterNotIn: FilterTypedNotIn,
}


class _ForeignKeyFilter:
    """A many-to-one relation filter that compares the foreign key with the value.

    FAB loads the related record first (a statement per filter) and compares with None when
    there is no such record, so a deleted manager's id listed the clients that have no
    manager at all."""

    def foreign_key(self):
        """The mapped foreign key column of the relation, or None when it has no single one."""
        prop = self.datamodel.list_properties.get(self.column_name)
        if not isinstance(prop, RelationshipProperty) or len(prop.local_remote_pairs) != 1:
            return None
        local, remote = prop.local_remote_pairs[0]
        if not remote.primary_key:
            return None
        return getattr(self.model, self.model.__mapper__.get_property_by_column(local).key)


class FilterRelationEqual(_ForeignKeyFilter, FilterRelationOneToManyEqual):
    def apply(self, query, value):
        column = self.foreign_key()
        if column is None:
            return super().apply(query, value)
        key = relation_key(column, value)
        return query.filter(false() if key is None else column == key)


class FilterRelationNotEqual(_ForeignKeyFilter, FilterRelationOneToManyNotEqual):
    def apply(self, query, value):
        column = self.foreign_key()
        if column is None:
            return super().apply(query, value)
        key = relation_key(column, value)
        if key is None:
            return query
        return query.filter(or_(column != key, column.is_(None)))


_RELATION_FILTERS = [FilterRelationEqual, FilterRelationNotEqual]


class CrmFilterConverter(SQLAFilterConverter):
    conversion_table = tuple(
        (kind, [FilterStartsWithIndexed, FilterContainsText, FilterTypedEqual,
                FilterTypedNotEqual])
        if kind in ("is_string", "is_text")
        else (kind, _RELATION_FILTERS)
        if kind in ("is_relation_many_to_one", "is_relation_one_to_one")
        else (kind, filters)
        if kind.startswith("is_relation") or kind == "is_json"
        else (kind, [_TYPED_FILTERS.get(f, f) for f in filters])
        for kind, filters in SQLAFilterConverter.conversion_table
    )


def empty_filters(view_filters):
    """A copy of a view's filters, without active ones, for one request: FAB shares the
    view's object between requests."""
    filters = copy.copy(view_filters)
    filters.clear_filters()
    return filters


def add_api_filters(filters, data: list) -> None:
    """The API's filters ({col, opr, value}) with the column's own filter classes.

    FAB looks the operation up in one global table first, so `sw` on a name became a
    case-insensitive LIKE over the whole table instead of the indexed prefix search the
    screens use."""
    for item in data:
        try:
            column, operation, value = item["col"], item["opr"], item["value"]
        except (KeyError, TypeError):
            raise InvalidOperationFilterFABException(
                "A filter needs col, opr and value") from None
        if column not in filters.search_columns:
            raise InvalidColumnFilterFABException(f"Filter column: {column} not allowed to filter")
        for known in filters.get_search_filters().get(column, []):
            if known.arg_name == operation:
                filters._add_filter(type(known)(column, filters.datamodel), value)
                break
        else:
            raise InvalidOperationFilterFABException(
                f"Filter operation: {operation} not allowed on column: {column}")


def joined_filters(filters, base_filters):
    """`filters` and the view's base filters together. FAB's get_joined_filters builds a
    new Filters object, which converts every column of the model again, on each page."""
    joined = copy.copy(filters)
    joined.filters = filters.filters + base_filters.filters
    joined.values = filters.values + base_filters.values
    return joined
