"""Custom fields: the definitions administrators add to an entity at run time, who may see
and change each, the values records carry in their `custom` column, and the index a
filterable field's filter and sort use.

Every request reads the definitions from a cache kept under the cache stamp
(app.services.stamp): a change of a definition commits a new stamp, and the next request
of every process reads the definitions again, with no query per field per request. What a
type of field reads, stores, shows and compares is its class in app.services.custom_types.

Values are written through `write()` inside a record's command, and checked with the
record (`errors()`, from app.services.records.validate): forms, the API and imports keep
the same rules. A field hidden from all of a user's roles is, for that user, not there:
it is neither shown nor written, and naming it is answered as naming an unknown field.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from flask_babel import gettext
from sqlalchemy import (
    Index,
    String,
    and_,
    cast,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    inspect,
    literal,
    not_,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from app.database import db
from app.models import (
    CUSTOM_FIELD_ENTITIES,
    Client,
    Contact,
    CustomBooking,
    CustomField,
    Inquiry,
    Interaction,
    Interest,
    Product,
    Stage,
)
from app.rules.validation import fold_case
from app.services import actor, principals
from app.services.custom_types import (
    FILES_NEW,
    TYPES,
    FieldSpec,
    Invalid,
    Option,
    file_path,
    is_empty,
    read_value,
)
from app.services.stamp import StampedCache

log = logging.getLogger(__name__)

MODELS = {"client": Client, "contact": Contact, "inquiry": Inquiry, "interest": Interest,
          "interaction": Interaction, "product": Product}
ENTITY_OF_MODEL = {model: name for name, model in MODELS.items()}
assert set(MODELS) == set(CUSTOM_FIELD_ENTITIES)

HIDDEN, READ, EDIT = "hidden", "read", "edit"
ACCESS_LEVELS = (HIDDEN, READ, EDIT)
_RANK = {HIDDEN: 0, READ: 1, EDIT: 2}

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Values are removed from the records of a deleted field this many records at a time.
PURGE_BATCH = 2000

_DEFINITIONS = StampedCache()


# --- the definitions ----------------------------------------------------------------------


def _spec(row: CustomField) -> FieldSpec:
    options = tuple(sorted(
        (Option(value=str(o.get("value", "")), label=str(o.get("label") or o.get("value", "")),
                color=o.get("color") or None, order=int(o.get("order") or 0))
         for o in (row.options or []) if isinstance(o, dict)),
        key=lambda o: o.order))
    return FieldSpec(
        id=row.id, entity=row.entity, code=row.code, label_ru=row.label_ru,
        label_en=row.label_en, type=row.field_type, required=row.required,
        multiple=row.multiple, default=row.default, help_ru=row.help_ru, help_en=row.help_en,
        options=options, sort=row.sort, show_in_list=row.show_in_list,
        filterable=row.filterable, show_on_board=row.show_on_board,
        pipelines=tuple(int(p) for p in row.pipelines or ()),
        required_from=tuple((int(p), int(s)) for p, s in (row.required_from or {}).items()),
        visibility=tuple((int(v["role"]), v["access"]) for v in row.visibility or ()
                         if isinstance(v, dict) and v.get("access") in (HIDDEN, READ)),
        settings=dict(row.settings or {}), version=row.version)


def _read_definitions(entity: str) -> tuple[FieldSpec, ...]:
    # Read while a record is being checked: nothing half-done may be flushed by it.
    with db.session.no_autoflush:
        rows = db.session.execute(
            select(CustomField).where(CustomField.entity == entity)
            .order_by(CustomField.sort, CustomField.id)).scalars().all()
        return tuple(_spec(row) for row in rows if row.field_type in TYPES)


def definitions(entity: str) -> tuple[FieldSpec, ...]:
    """The entity's fields in the form's order, as this request's stamp knows them."""
    return _DEFINITIONS.get(("definitions", entity), lambda: _read_definitions(entity))


def entity_of(model_or_record) -> Optional[str]:
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    return ENTITY_OF_MODEL.get(model)


# --- who may see and change a field --------------------------------------------------------


def access_of(spec: FieldSpec) -> str:
    """What the user who acts may do with the field: hidden, read or edit. A role the
    field does not name may edit it; of the user's roles the most generous counts. The
    system (a job, the CLI) may edit every field; nobody (no actor) sees none."""
    who = actor.current()
    if who is None:
        return HIDDEN
    if who.user_id is None:
        return EDIT
    principal = principals.principal()
    if principal.is_admin or not spec.visibility:
        return EDIT
    levels = dict(spec.visibility)
    roles = principal.role_ids or {None}
    return max((levels.get(role, EDIT) for role in roles), key=_RANK.__getitem__)


def belongs(spec: FieldSpec, record) -> bool:
    """Whether the field is one of the record's: an interest's field may belong to some
    pipelines only."""
    if not spec.pipelines or not isinstance(record, Interest):
        return True
    pipeline_id = record.pipeline.id if record.pipeline is not None else record.pipeline_id
    return pipeline_id in spec.pipelines


@dataclass(frozen=True)
class Granted:
    spec: FieldSpec
    access: str

    @property
    def editable(self) -> bool:
        return self.access == EDIT


def granted(entity: str, record=None, *, at_least: str = READ) -> list[Granted]:
    """The entity's fields the user who acts may read (or edit), with what they may do;
    with a record, only the fields that belong to it."""
    found = []
    for spec in definitions(entity):
        level = access_of(spec)
        if _RANK[level] < _RANK[at_least]:
            continue
        if record is not None and not belongs(spec, record):
            continue
        found.append(Granted(spec, level))
    return found


def readable(entity: str, record=None) -> list[FieldSpec]:
    return [g.spec for g in granted(entity, record)]


def values(record) -> list[tuple[FieldSpec, Any]]:
    """The record's fields the user may read, each with its stored value (None: empty)."""
    entity = entity_of(record)
    if entity is None:
        return []
    stored = record.custom or {}
    return [(spec, stored.get(spec.code)) for spec in readable(entity, record)]


def dump(record) -> dict:
    """The record's `custom` object as the API answers it: every field the user may read."""
    return {spec.code: value for spec, value in values(record)}


def visible_changes(model_name: str, changes: Optional[dict]) -> dict:
    """A change log entry's changes without the custom fields the user may not read (nor
    those of a deleted field: nobody can say any more who may read them)."""
    entity = next((name for name, model in MODELS.items() if model.__name__ == model_name),
                  None)
    if not changes or not any(key.startswith("custom.") for key in changes):
        return changes or {}
    readable_codes = {spec.code for spec in readable(entity)} if entity else set()
    return {key: value for key, value in changes.items()
            if not key.startswith("custom.") or key[len("custom."):] in readable_codes}


# --- writing values --------------------------------------------------------------------------


def _written(record) -> set:
    return inspect(record).info.setdefault("custom_written", set())


def write(record, sent: Any, *, typed: bool = False) -> None:
    """Set the record's fields named in `sent` ({code: value}) for the user who acts; a
    value is JSON, or text as a person typed it (`typed`). What cannot be written (an
    unknown, hidden or read-only field, another pipeline's field, a value the field cannot
    take) is reported with the record's other errors when it is checked (`errors()`)."""
    entity = entity_of(record)
    info = inspect(record).info
    problems = info["custom_errors"] = {}
    if not isinstance(sent, dict):
        problems["custom"] = gettext("Send the custom fields as an object.")
        return
    fields = {g.spec.code: g for g in granted(entity, at_least=READ)} if entity else {}
    new_values = dict(record.custom or {})
    for code, value in sent.items():
        key = f"custom.{code}"
        field = fields.get(code)
        if field is None:
            problems[key] = gettext("There is no such field.")
        elif not field.editable:
            problems[key] = gettext("You may not change this field.")
        elif not belongs(field.spec, record):
            problems[key] = gettext("This field belongs to other pipelines than the "
                                    "interest's.")
        elif field.spec.kind.keeps(new_values.get(code), value):
            continue
        else:
            try:
                stored = read_value(field.spec, value, typed=typed)
            except Invalid as error:
                problems[key] = error.message
                continue
            conflict = None if stored is None else \
                field.spec.kind.conflict(field.spec, stored, record)
            if conflict:
                problems[key] = conflict
                continue
            if stored is None:
                new_values.pop(code, None)
            else:
                new_values[code] = stored
            _written(record).add(code)
    # A new object: SQLAlchemy notices a JSON column's change only when it is assigned.
    if new_values != (record.custom or {}):
        record.custom = new_values or None


def fill_defaults(record) -> None:
    """A new record starts with its fields' defaults, unless given a value."""
    entity = entity_of(record)
    if entity is None:
        return
    current = dict(record.custom or {})
    for spec in definitions(entity):
        if spec.default is not None and spec.code not in current and belongs(spec, record):
            # A copy: the definition is shared by every request of the process.
            current[spec.code] = copy.deepcopy(spec.default)
    record.custom = current or None


def _stage_reached(record: Interest, stage_id: int) -> bool:
    """Whether the interest stands at `stage_id` or a later open or won stage of its
    pipeline (a lost interest needs nothing more)."""
    current = record.stage if record.stage is not None else (
        db.session.get(Stage, record.stage_id) if record.stage_id else None)
    required = db.session.get(Stage, stage_id)
    if current is None or required is None or current.pipeline_id != required.pipeline_id:
        return False
    if current.kind == "lost":
        return False
    return (current.sort, current.id) >= (required.sort, required.id) or current.id == stage_id


def required_now(spec: FieldSpec, record) -> bool:
    """Whether the record cannot be saved without the field: always when required, and an
    interest from the stage its pipeline names on."""
    if spec.required:
        return True
    if isinstance(record, Interest) and spec.required_from:
        pipeline_id = record.pipeline.id if record.pipeline is not None else record.pipeline_id
        stage_id = dict(spec.required_from).get(pipeline_id)
        return stage_id is not None and _stage_reached(record, stage_id)
    return False


def _stage_changed(record) -> bool:
    state = inspect(record)
    return any(state.attrs[name].history.has_changes() for name in ("stage", "stage_id")
               if name in state.attrs)


def errors(record) -> dict[str, str]:
    """The required fields the record lacks, among those the user may edit: checked when
    the record is new, when the field was written now, and for an interest's stage fields
    when the stage changed; and what `write()` could not write."""
    with db.session.no_autoflush:
        return _errors(record)


def _errors(record) -> dict[str, str]:
    entity = entity_of(record)
    if entity is None:
        return {}
    state = inspect(record)
    is_new = state.transient or state.pending
    written = _written(record)
    moved = isinstance(record, Interest) and _stage_changed(record)
    stored = record.custom or {}
    found = dict(state.info.get("custom_errors") or {})
    for field in granted(entity, record, at_least=EDIT):
        spec = field.spec
        if f"custom.{spec.code}" in found or not (
                is_new or spec.code in written or (moved and spec.required_from)):
            continue
        if required_now(spec, record) and is_empty(spec, stored.get(spec.code)):
            found[f"custom.{spec.code}"] = gettext("Fill in \u201c%(label)s\u201d.",
                                                   label=spec.label)
    return found


def stage_fields(record: Interest, stage: Stage) -> list[FieldSpec]:
    """The fields the user must fill in to move the interest to `stage` (the move dialog
    asks for exactly these)."""
    missing = []
    stored = record.custom or {}
    for field in granted("interest", record, at_least=EDIT):
        spec = field.spec
        stage_id = dict(spec.required_from).get(stage.pipeline_id)
        if stage_id is None or not is_empty(spec, stored.get(spec.code)):
            continue
        required = db.session.get(Stage, stage_id)
        if stage.kind != "lost" and required is not None and \
                (stage.sort, stage.id) >= (required.sort, required.id):
            missing.append(spec)
    return missing


# --- filtering and sorting -------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def value_expression(model, spec: FieldSpec, dialect: Optional[str] = None):
    """The SQL expression of the field's compared value, as the field's index is made of
    (the path is a literal in the statement, so that the index matches)."""
    dialect = dialect or _dialect()
    kind = spec.kind
    path = (spec.code, *kind.path)
    if dialect == "postgresql":
        element = model.custom
        for part in path[:-1]:
            element = element.op("->", return_type=JSONB)(literal(part, literal_execute=True))
        if kind.compared_as == "number":
            # A number as JSONB: JSONB orders numbers as numbers, and unlike a cast to
            # numeric it cannot fail on a row that holds something else (an index is built
            # over rows deleted but not yet vacuumed too).
            return element.op("->", return_type=JSONB)(literal(path[-1], literal_execute=True))
        return cast(element.op("->>")(literal(path[-1], literal_execute=True)), String)
    json_path = "$." + ".".join(f'"{part}"' for part in path)
    return func.json_extract(model.custom, literal(json_path, literal_execute=True))


def _compared(spec: FieldSpec, stored: Any, dialect: str) -> Any:
    value = spec.kind.compared(stored)
    if spec.kind.compared_as == "bool":
        if dialect == "postgresql":
            return "true" if value else "false"
        return 1 if value else 0
    if spec.kind.compared_as == "number" and dialect == "postgresql":
        return literal(value, type_=JSONB)  # compared with the JSONB expression
    return value


def _contains_condition(model, spec: FieldSpec, stored: Any, dialect: str):
    """A field of several values that holds `stored` among them."""
    if dialect == "postgresql":
        element = model.custom.op("->")(literal(spec.code, literal_execute=True))
        return element.op("@>")(cast(literal([stored], JSONB), JSONB))
    items = func.json_each(model.custom, literal(f'$."{spec.code}"', literal_execute=True)) \
        .table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == stored))


def condition(model, spec: FieldSpec, operator: str, raw: Any):
    """The SQL condition of a filter on the field: `operator` one of its type's, `raw` what
    was typed (a value that is none of the field's matches nothing)."""
    dialect = _dialect()
    if operator == "empty":
        expression = value_expression(model, spec, dialect)
        wanted = str(raw).strip().lower() not in ("0", "false", "no", "n", "нет")
        return expression.is_(None) if wanted else expression.is_not(None)
    if operator in ("sw", "ct"):
        typed = str(raw or "").strip()
        if not typed:
            return true()
        expression = value_expression(model, spec, dialect)
        if spec.multiple:
            expression = cast(model.custom.op("->")(literal(spec.code, literal_execute=True)),
                              String) if dialect == "postgresql" else func.json_extract(
                model.custom, literal(f'$."{spec.code}"', literal_execute=True))
        if operator == "sw" and not spec.multiple:
            return expression.startswith(typed, autoescape=True)
        folded = func.crm_fold(expression) if dialect == "sqlite" else \
            func.replace(func.lower(expression), "ё", "е")
        return folded.contains(fold_case(typed), autoescape=True)
    try:
        stored = spec.kind.filter_value(raw, spec)
    except Invalid:
        return false() if operator != "ne" else true()
    if stored is None:
        return true()
    if spec.multiple:
        holds = _contains_condition(model, spec, stored, dialect)
        return holds if operator == "eq" else not_(holds)
    expression = value_expression(model, spec, dialect)
    value = _compared(spec, stored, dialect)
    if operator == "ne":
        return or_(expression != value, expression.is_(None))
    compare = {"eq": expression.__eq__, "gt": expression.__gt__, "lt": expression.__lt__}
    if operator not in compare:
        return false()
    found = compare[operator](value)
    if dialect != "sqlite" or not spec.filterable:
        return found
    return _planned_for_sqlite(model, found, expression, value, operator)


# SQLite cannot tell how many rows a value or a range of an expression index holds. A list
# ordered by name then either walks its name index looking for the rare matches, or reads
# a common value's every row from the field's index and sorts them all.
FEW_MATCHES = 2000


def _planned_for_sqlite(model, found, expression, value, operator):
    """The filter as SQLite should run it: the field's index gives the ids when at most
    FEW_MATCHES records match (counted on that index); otherwise the index is kept out of
    it (coalesce() is not the indexed expression) and the list's own order leads."""
    matches = db.session.execute(select(func.count()).select_from(
        select(model.id).where(found).limit(FEW_MATCHES + 1).subquery())).scalar()
    if matches <= FEW_MATCHES:
        return model.id.in_(select(model.id).where(found))
    unindexed = func.coalesce(expression, null())
    return {"eq": unindexed == value, "gt": unindexed > value,
            "lt": unindexed < value}[operator]


def order_expression(model, spec: FieldSpec):
    return value_expression(model, spec)


# --- indexes -------------------------------------------------------------------------------


def index_name(spec_or_entity, code: Optional[str] = None) -> str:
    if code is None:
        return f"ix_cf_{spec_or_entity.entity}_{spec_or_entity.code}"
    return f"ix_cf_{spec_or_entity}_{code}"


def _index(spec: FieldSpec, dialect: str) -> Optional[Index]:
    """The index a filterable field's filter and sort use: its compared value and the id
    (one value: a b-tree; several values on PostgreSQL: GIN over the field's array)."""
    model = MODELS[spec.entity]
    if spec.multiple:
        if dialect != "postgresql":
            return None
        element = model.custom.op("->")(literal(spec.code, literal_execute=True))
        return Index(index_name(spec), element, postgresql_using="gin")
    if not spec.kind.sortable and spec.kind.operators == ("ct", "empty"):
        return None
    return Index(index_name(spec), value_expression(model, spec, dialect), model.id)


def index_exists(connection, name: str) -> bool:
    """Whether the index exists (reflection skips SQLite's expression indexes)."""
    if connection.dialect.name == "postgresql":
        query = "SELECT 1 FROM pg_indexes WHERE indexname = :name"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
    return connection.execute(text(query), {"name": name}).first() is not None


def sync_index(spec: Optional[FieldSpec], entity: str, code: str) -> None:
    """Make the field's index exist when it is filterable, and not otherwise (a deleted
    field: spec None). Within the current transaction."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    name = index_name(entity, code)
    present = index_exists(connection, name)
    wanted = _index(spec, dialect) if spec is not None and spec.filterable else None
    if present and wanted is None:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    elif wanted is not None and not present:
        wanted.create(connection)
    if wanted is not None:
        # Made, not declared: the models' tables stay what the migrations made.
        wanted.table.indexes.discard(wanted)


# --- records that use a value ------------------------------------------------------------


def count_using(entity: str, code: str, values: Iterable[str]) -> int:
    """How many records hold one of `values` in the field (a list's options)."""
    model = MODELS[entity]
    values = list(values)
    if not values:
        return 0
    dialect = _dialect()
    if dialect == "postgresql":
        element = model.custom.op("->")(literal(code, literal_execute=True))
        single = model.custom.op("->>")(literal(code, literal_execute=True))
        held = or_(single.in_(values),
                   *[element.op("@>")(cast(literal([v], JSONB), JSONB)) for v in values])
    else:
        path = literal(f'$."{code}"', literal_execute=True)
        items = func.json_each(model.custom, path).table_valued("value")
        held = or_(func.json_extract(model.custom, path).in_(values),
                   and_(func.json_type(model.custom, path) == "array",
                        exists(select(1).select_from(items).where(items.c.value.in_(values)))))
    return db.session.execute(select(func.count()).select_from(model).where(held)).scalar()


# --- bookings --------------------------------------------------------------------------------


def _sync_bookings(session, flush_context) -> None:
    """Keep crm_custom_booking as the booking fields' values say, in the flush that writes
    them (so that the next booking in the transaction sees them)."""
    changed = [(obj, False) for obj in (*session.new, *session.dirty)
               if entity_of(obj) is not None and inspect(obj).attrs.custom.history.has_changes()]
    changed += [(obj, True) for obj in session.deleted if entity_of(obj) is not None]
    for obj, deleted in changed:
        entity = entity_of(obj)
        specs = [spec for spec in definitions(entity) if spec.type == "booking"]
        if not specs and not deleted:
            continue
        where = (CustomBooking.entity == entity) & (CustomBooking.record_id == obj.id)
        if deleted:
            session.execute(delete(CustomBooking).where(where))
            continue
        for spec in specs:
            session.execute(delete(CustomBooking).where(where & (CustomBooking.code == spec.code)))
            value = (obj.custom or {}).get(spec.code)
            if isinstance(value, dict) and value.get("resource"):
                start, end = TYPES["booking"].span(value)
                session.execute(insert(CustomBooking).values(
                    resource_id=value["resource"], starts_at=start, ends_at=end,
                    entity=entity, record_id=obj.id, code=spec.code))


# --- files ------------------------------------------------------------------------------------

# session.info's key of the files a transaction no longer holds (removed once it commits);
# FILES_NEW, of those it stored (removed if it rolls back), is the file type's.
FILES_GONE = "crm_custom_files_gone"


def _file_keys(spec: FieldSpec, value) -> set[str]:
    return {value["id"]} if spec.type == "file" and isinstance(value, dict) \
        and isinstance(value.get("id"), str) else set()


def _note_files_gone(session, flush_context) -> None:
    """The files that the records flushed no longer hold: replaced, removed, or of a
    deleted record."""
    gone = session.info.setdefault(FILES_GONE, set())
    for obj in (*session.dirty, *session.deleted):
        entity = entity_of(obj)
        if entity is None:
            continue
        state = inspect(obj)
        history = state.attrs.custom.history
        deleted = obj in session.deleted
        if not deleted and not history.has_changes():
            continue
        old = (history.deleted[0] if history.deleted else state.dict.get("custom")) or {}
        new = {} if deleted else (state.dict.get("custom") or {})
        for spec in definitions(entity):
            gone |= _file_keys(spec, old.get(spec.code)) - _file_keys(spec, new.get(spec.code))


def _remove_files(keys) -> None:
    for key in keys:
        try:
            file_path(key).unlink(missing_ok=True)
        except (OSError, ValueError):
            log.warning("a custom field's file could not be removed: %s", key)


def _after_commit(session) -> None:
    session.info.pop(FILES_NEW, None)
    _remove_files(session.info.pop(FILES_GONE, ()))


def _after_rollback(session) -> None:
    session.info.pop(FILES_GONE, None)
    _remove_files(session.info.pop(FILES_NEW, ()))


def install(session_class) -> None:
    """Attach the upkeep of bookings and files to a session class (the app's session)."""
    for name, listener in (("after_flush", _sync_bookings), ("after_flush", _note_files_gone),
                           ("after_commit", _after_commit),
                           ("after_rollback", _after_rollback)):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)


def purge_values(entity: str, code: str) -> int:
    """Remove the field's values from every record, a batch of records at a time (within
    the current transaction); how many records held one."""
    model = MODELS[entity]
    dialect = _dialect()
    if dialect == "postgresql":
        has = model.custom.op("?")(literal(code, literal_execute=True))
        removed = model.custom.op("-")(literal(code, literal_execute=True))
    else:
        path = literal(f'$."{code}"', literal_execute=True)
        has = func.json_type(model.custom, path).is_not(None)
        removed = func.json_remove(model.custom, path)
    db.session.execute(delete(CustomBooking).where(CustomBooking.entity == entity,
                                                   CustomBooking.code == code))
    total = 0
    while True:
        rows = db.session.execute(select(model.id, model.custom).where(has)
                                  .limit(PURGE_BATCH)).all()
        ids = [row.id for row in rows]
        if not ids:
            return total
        db.session.info.setdefault(FILES_GONE, set()).update(
            value["id"] for row in rows
            if isinstance(value := (row.custom or {}).get(code), dict)
            and isinstance(value.get("id"), str))
        db.session.execute(update(model.__table__).where(model.id.in_(ids))
                           .values(custom=removed))
        total += len(ids)
