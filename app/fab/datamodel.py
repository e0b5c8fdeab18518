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
- Filters: app.fab.filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import (
    asc,
    desc,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import RelationshipProperty, aliased, joinedload, selectinload

from app.entities import SEARCH_SHADOWS
from app.fab.filters import CrmFilterConverter, FilterRelationEqual, FilterRelationNotEqual
from app.services import access, bounds, custom_fields, positions

# How many pages past the current one the list looks ahead to bound its count.
LOOKAHEAD_PAGES = 10
# Ordering by a relation uses one index range per related row up to this many rows.
SMALL_RELATED_TABLE = 300
# Offsets beyond what a 64-bit database integer holds find nothing; sent as they are, the
# driver refuses them with an error (a 500). Keys are bounded by app.services.bounds.
LARGEST_OFFSET = 2**62


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
        custom = self._custom_order(order_column)
        if custom is not None:
            return "custom", (custom, direction)
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

    def _custom_order(self, order_column: str):
        """The expression a list is sorted by for `custom.<code>`: a field the user may
        read that holds one value; else None."""
        if not order_column.startswith("custom.") or not hasattr(self.obj, "custom"):
            return None
        entity = custom_fields.entity_of(self.obj)
        code = order_column.removeprefix("custom.")
        for spec in custom_fields.readable(entity) if entity else ():
            if spec.code == code and spec.kind.sortable and not spec.multiple:
                return custom_fields.order_expression(self.obj, spec)
        return None

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
        if kind == "custom":
            return self._page_ids_by_custom(base_query, *details, offset, limit)
        relation, direction = details
        return self._page_ids_by_relation(base_query, relation, direction, offset, limit)

    def _page_ids_by_custom(self, base_query, expression, direction, offset, limit) -> list:
        """Ordered by a custom field: the records that have a value, in the field's index
        order (its value, then the id), then those without one, by id. Most records lack a
        newly added field; read in one index order, its empty values (first on SQLite going
        up, on PostgreSQL going down) would all be passed over before the first value."""
        pk = getattr(self.obj, self.get_pk_name())
        base = base_query.with_entities(pk).statement
        with_value = base.where(expression.is_not(None))
        ids = list(self.session.execute(
            with_value.order_by(direction(expression), direction(pk))
            .offset(offset).limit(limit)).scalars())
        if len(ids) < limit:  # the page reaches the records without a value
            valued = offset + len(ids) if ids else self.session.execute(
                select(func.count()).select_from(with_value.subquery())).scalar()
            ids += self.session.execute(
                base.where(expression.is_(None)).order_by(direction(pk))
                .offset(max(offset - valued, 0)).limit(limit - len(ids))).scalars()
        return ids

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

    def export_query(self, filters=None, order_column="", order_direction="", where=None):
        """Every row of the list the user may export (app.services.list_exports), with its
        filters, in its order: an ORM query, read by the export in batches."""
        query = self.session.query(self.obj).filter(access.condition(self.obj, "export"))
        if filters:
            query = filters.apply_all(query)
        if where is not None:
            query = query.filter(where)
        pk = getattr(self.obj, self.get_pk_name())
        kind, details = self.resolve_order(order_column, order_direction)
        if kind == "column":
            return query.order_by(*details)
        if kind == "custom":
            expression, direction = details
            return query.order_by(direction(expression), direction(pk))
        relation, direction = details
        alias = aliased(relation.mapper.class_)
        return query.outerjoin(alias, getattr(self.obj, relation.key)).order_by(
            *[direction(getattr(alias, c.key))
              for c in self.related_sort_columns(relation.mapper.class_)], direction(pk))

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
