"""Flask-AppBuilder's SQLAInterface, made fit for a million rows.

What differs from FAB's own interface:

- A list page costs a bounded number of statements whatever its size: one for the ids of
  the page (and of the next few pages, which is how the count is bounded), one for the
  rows with their many-to-one relations joined in, one per many-to-many relation shown.
- No full COUNT(*): the page query fetches up to ten pages of ids past the current one;
  the count is exact when fewer came back and reported as "more than N" otherwise.
- Deep pages use the "deferred join": OFFSET runs over a narrow index, then only the
  page's rows are read. A deep page of a whole list in its default order (clients by name)
  does not even skip: it starts from the list's position summary (app.services.positions),
  which also knows the list's exact length.
- Ordering by a many-to-one relation orders by the related record's own sort key, and is
  served by an index on (foreign key, id) when the related table is small (managers,
  stages, dictionary items); unknown columns are ignored instead of failing.
- Every query is restricted by the one access filter (app.services.access): a record
  the user may not read is not listed, counted, ordered or returned by id.
- "Starts with" on text uses the normalised shadow column (see entities.SEARCH_SHADOWS) or
  an index range, never a table scan.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from dataclasses import dataclass
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
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    and_,
    asc,
    desc,
    false,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import RelationshipProperty, aliased, joinedload, selectinload

from app.entities import SEARCH_SHADOWS
from app.rules.validation import phone_search_prefix
from app.services import access, bounds, positions
from app.services.clock import parse_typed

# How many pages past the current one the list looks ahead to bound its count.
LOOKAHEAD_PAGES = 10
# Ordering by a relation uses one index range per related row up to this many rows.
SMALL_RELATED_TABLE = 300
# Offsets beyond what a 64-bit database integer holds find nothing; sent as they are, the
# driver refuses them with an error (a 500). Keys are bounded by app.services.bounds.
LARGEST_OFFSET = 2**62


def _next_prefix(prefix: str) -> Optional[str]:
    """The first text after every text that starts with `prefix`; None when there is none
    (the prefix is all U+10FFFF). Never a surrogate: no database can store one."""
    while prefix:
        last = ord(prefix[-1])
        if last < sys.maxunicode:
            following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


def _bytewise(column) -> bool:
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
    following = _next_prefix(prefix)
    in_range = column >= prefix if following is None else \
        and_(column >= prefix, column < following)
    if _bytewise(column):
        return in_range
    return and_(in_range, column.startswith(prefix, autoescape=True))


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
    """Contains (scans: meant for narrowed lists, not for the first search of a million)."""

    name = _l("Contains")
    arg_name = "ct"

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

@dataclass
class PageResult:
    """A list page: its rows and what is known of the total."""

    rows: list
    count: int
    exact: bool


class CrmInterface(SQLAInterface):
    filter_converter_class = CrmFilterConverter

    def __init__(self, obj, session=None, list_columns: Optional[list[str]] = None):
        super().__init__(obj, session)
        self.eager_columns = list(list_columns or [])
        # FAB's related lists on show pages filter with the interface's own class.
        self.FilterRelationOneToManyEqual = FilterRelationEqual
        self.FilterRelationOneToManyNotEqual = FilterRelationNotEqual

    def get_related_interface(self, col_name: str):
        """FAB builds a new interface for every option of a select box; one per column is
        enough (it holds no per-request state)."""
        cache = self.__dict__.setdefault("_related_interfaces", {})
        if col_name not in cache:
            cache[col_name] = self.__class__(self.get_related_model(col_name), self._session)
        return cache[col_name]

    # --- ordering ------------------------------------------------------------------------

    @staticmethod
    def related_sort_columns(model) -> list:
        """The columns a related record sorts by when a list is ordered by it."""
        names = getattr(model, "__sort_columns__", None)
        if names is None:
            for candidate in (("sort", "name"), ("first_name", "last_name"), ("name",),
                              ("title",)):
                if all(hasattr(model, c) for c in candidate):
                    names = candidate
                    break
            else:
                names = ("id",)
        return [getattr(model, n) for n in names]

    def _relation(self, name: str) -> Optional[RelationshipProperty]:
        prop = self.list_properties.get(name)
        if isinstance(prop, RelationshipProperty) and prop.direction.name == "MANYTOONE":
            return prop
        return None

    def resolve_order(self, order_column: str, order_direction: str):
        """(kind, details) for a requested order; unknown columns fall back to newest first."""
        direction = asc if order_direction == "asc" else desc
        pk = getattr(self.obj, self.get_pk_name())
        if order_column in self.list_columns:
            # A name is ordered by its normalised copy: that is what the index covers.
            shadow = SEARCH_SHADOWS.get(self.obj, {}).get(order_column)
            column = getattr(self.obj, shadow[0] if shadow and shadow[0].endswith("_search")
                             else order_column)
            return "column", [direction(c) for c in self._index_order(column, pk)]
        relation = self._relation(order_column) if order_column else None
        if relation is not None:
            return "relation", (relation, direction)
        return "column", [desc(pk)]

    def _index_order(self, column, pk) -> list:
        """The columns a list ordered by `column` is ordered by: those of the index that
        starts with it, up to the primary key, so that rows with the same value come in the
        index's order and the database walks the index instead of sorting."""
        table = self.obj.__table__
        for index in sorted(table.indexes, key=lambda index: index.name or ""):
            columns = list(index.columns)
            if columns and columns[0].key == column.key \
                    and all(hasattr(self.obj, c.key) for c in columns):
                ordered = [getattr(self.obj, c.key) for c in columns]
                names = [c.key for c in columns]
                if pk.key in names:
                    return ordered[:names.index(pk.key) + 1]
                return ordered + [pk]
        return [column, pk]

    # --- the list query -------------------------------------------------------------------

    def _eager_options(self, query):
        for name in self.eager_columns:
            prop = self.list_properties.get(name)
            if isinstance(prop, RelationshipProperty):
                if prop.uselist:
                    query = query.options(selectinload(getattr(self.obj, name)))
                else:
                    query = query.options(joinedload(getattr(self.obj, name)))
        return query

    def _page_ids(self, base_query, order_column, order_direction, offset, limit) -> list:
        pk = getattr(self.obj, self.get_pk_name())
        kind, details = self.resolve_order(order_column, order_direction)
        if kind == "column":
            query = base_query.with_entities(pk).order_by(*details).offset(offset).limit(limit)
            # Plain keys: executed as a statement, not through the ORM's row handling.
            return list(self.session.execute(query.statement).scalars())
        relation, direction = details
        return self._page_ids_by_relation(base_query, relation, direction, offset, limit)

    def _page_ids_by_relation(self, base_query, relation, direction, offset, limit) -> list:
        pk = getattr(self.obj, self.get_pk_name())
        related = relation.mapper.class_
        fk = list(relation.local_columns)[0]
        sort_columns = self.related_sort_columns(related)
        related_pk = related.id
        related_query = self.session.query(related_pk)
        owner = access.owner_column(self.obj)
        if owner is not None and fk is owner.property.columns[0]:
            # Users none of whose records the reader may see would each cost a scan of
            # their whole index range to find nothing.
            owners = access.possible_owners(self.obj, related_pk)
            if owners is not None:
                related_query = related_query.filter(owners)
        related_ids = [
            row[0] for row in related_query
            .order_by(*[direction(c) for c in sort_columns], direction(related_pk))
            .limit(SMALL_RELATED_TABLE + 1).all()
        ]
        if len(related_ids) > SMALL_RELATED_TABLE:
            alias = aliased(related)
            query = (base_query.outerjoin(alias, getattr(self.obj, relation.key))
                     .with_entities(pk)
                     .order_by(*[direction(getattr(alias, c.key)) for c in sort_columns],
                               direction(pk)))
            return [row[0] for row in query.offset(offset).limit(limit).all()]
        # One index range per related row, concatenated in the related rows' order: the
        # database reads only offset + limit index entries.
        wanted = offset + limit
        groups = [None] + related_ids if direction is desc else related_ids + [None]
        # Built from one Core statement: an ORM query per branch costs milliseconds.
        base = base_query.with_entities(pk.label("id")).statement.order_by(direction(pk))
        selects = []
        for position, related_id in enumerate(groups):
            condition = fk.is_(None) if related_id is None else fk == related_id
            branch = base.where(condition).limit(wanted).subquery()
            # By name: `branch.c` would build the subquery's column collection, per branch.
            selects.append(select(literal_column("id"), literal(position).label("pos"))
                           .select_from(branch))
        ordered = union_all(*selects).subquery()
        statement = (select(ordered.c.id).order_by(ordered.c.pos, direction(ordered.c.id))
                     .offset(offset).limit(limit))
        return [row[0] for row in self.session.execute(statement).all()]

    # --- deep pages of a whole list (app.services.positions) ---------------------------

    def _positioned_list(self) -> Optional[str]:
        for name, positioned in positions.LISTS.items():
            if positioned.model is self.obj:
                return name
        return None

    def _deep_page_start(self, filters, order_column, order_direction, offset, page_size):
        """Where a deep page of the list in its default order starts, from the list's
        position summary: the whole list, or the owners' rows the access filter leaves.
        None for any other page (filtered, otherwise ordered, shallow)."""
        if offset < positions.DEEP_OFFSET:
            return None
        list_name = self._positioned_list()
        if list_name is None or (filters is not None and filters.filters):
            return None
        key = positions.LISTS[list_name].key
        kind, details = self.resolve_order(order_column, order_direction)
        pk = getattr(self.obj, self.get_pk_name())
        wanted = [asc(getattr(self.obj, key)), asc(pk)]
        if kind != "column" or [str(d) for d in details] != [str(w) for w in wanted]:
            return None
        owners = access.readable_owners(self.obj)
        if owners is None:
            return None
        return positions.locate(self.session, list_name, offset, page_size,
                                None if owners is access.EVERY_OWNER else owners)

    def _page_ids_from(self, base_query, start, page_size) -> list:
        key_column = getattr(self.obj, positions.LISTS[self._positioned_list()].key)
        pk = getattr(self.obj, self.get_pk_name())
        query = base_query.with_entities(pk).filter(
            tuple_(key_column, pk) >= tuple_(start.key, start.id))
        if start.end_key is not None:
            query = query.filter(tuple_(key_column, pk) < tuple_(start.end_key, start.end_id))
        query = query.order_by(asc(key_column), asc(pk)).offset(start.skip).limit(page_size)
        return [row[0] for row in query.all()]

    def query_page(self, filters=None, order_column="", order_direction="", page=0,
                   page_size=25, where=None) -> PageResult:
        """A page of the list; `where` narrows it further (a worklist of the start page)."""
        page = max(int(page or 0), 0)
        offset = min(page * page_size, LARGEST_OFFSET)
        base = self.session.query(self.obj).filter(access.condition(self.obj, "read"))
        if filters:
            base = filters.apply_all(base)
        if where is not None:
            base = base.filter(where)
        lookahead = page_size * LOOKAHEAD_PAGES + 1
        start = None if where is not None else \
            self._deep_page_start(filters, order_column, order_direction, offset,
                                  page_size)
        try:
            if start is not None:
                ids = [] if start.past_end else self._page_ids_from(base, start, page_size)
            else:
                ids = self._page_ids(base, order_column, order_direction, offset, lookahead)
        except OverflowError:
            # A filter value beyond any integer the database holds (SQLite's driver refuses
            # to send it): no row can match.
            return PageResult([], 0, True)
        exact = len(ids) < lookahead
        count = offset + len(ids)
        if start is not None:
            count, exact = start.total, True
        elif not ids and offset:
            # Past the end: tell the truth about the total, it is small enough to count.
            count = base.with_entities(getattr(self.obj, self.get_pk_name())).count()
            exact = True
        page_ids = ids[:page_size]
        if not page_ids:
            return PageResult([], count, exact)
        pk = getattr(self.obj, self.get_pk_name())
        rows = self._eager_options(self.session.query(self.obj)).filter(pk.in_(page_ids)).all()
        position = {value: index for index, value in enumerate(page_ids)}
        rows.sort(key=lambda row: position[getattr(row, self.get_pk_name())])
        return PageResult(rows, count, exact)

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        """FAB's signature, for FAB code paths that still call it (API lists, the options
        of select boxes over small tables). Without a page size: every row, in the
        model's natural order."""
        if page_size is None:
            query = self.session.query(self.obj).filter(access.condition(self.obj, "read"))
            if filters:
                query = filters.apply_all(query)
            pk = getattr(self.obj, self.get_pk_name())
            rows = query.order_by(*self.related_sort_columns(self.obj), pk).all()
            return len(rows), rows
        result = self.query_page(filters, order_column, order_direction, page or 0, page_size)
        return result.count, result.rows

    def get_related_obj(self, col_name: str, value: Any):
        """The related record a relation filter names, or None; a key its table cannot hold
        names none (the database would refuse to compare with it)."""
        related = self.get_related_model(col_name)
        if bounds.as_key(related.id, value) is None:
            return None
        return super().get_related_obj(col_name, value)

    def get(self, id, filters=None, select_columns=None, outer_default_load=False,
            action: str = "read"):
        """One record by primary key, if the user may `action` it; else None (a 404)."""
        pk_column = getattr(self.obj, self.get_pk_name())
        pk = bounds.as_key(pk_column, id)
        if pk is None:
            return None
        query = self.session.query(self.obj).filter(
            pk_column == pk, access.condition(self.obj, action))
        if filters:
            query = filters.apply_all(query)
        return query.one_or_none()
