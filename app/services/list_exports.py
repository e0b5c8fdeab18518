"""Exports of lists and resources: every field of the records a list holds, as a CSV or XLSX
file (app.services.exports writes the files), recorded in the history of exports.

- What is exported: the record's id, the fields its page shows (a link by the linked
  record's name, a choice by its label, a time in the company's time zone) and the custom
  fields the user may read; a field hidden from the user's roles is left out.
- Which rows: the caller's query, built with the list's filters, narrowed here by the
  access filter with the `export` right, in the list's order. The rows are read from one
  streamed statement in batches; linked records are read per batch, so memory stays flat
  whatever the size.
- An export of up to CRM_EXPORT_INLINE_ROWS rows is written while the user waits; a larger
  one is queued and written in the background (a thread of the web process, and the
  `exports_pending` job for any that a stopped process left), with its progress kept on
  its record, a file to download and a notification when it is ready. Either way it holds
  every row its query found: an export that fails is marked failed, never cut short.
"""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import threading
import traceback
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from flask import current_app
from flask_babel import force_locale, get_locale, gettext
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    any_,
    bindparam,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.types import NullType

from app.database import db
from app.entities import BY_MODEL
from app.models import EXPORT_STATUSES, ExportRun, utcnow
from app.services import access, actor, custom_fields, exports, notifications
from app.services.clock import to_local, to_local_many
from app.services.custom_types import text_of
from app.services.errors import Forbidden, NotFound, RecordInvalid
from app.services.unit_of_work import unit_of_work

FORMATS = ("csv", "xlsx")
BATCH = 1000
MONEY_NAMES = {"amount", "price", "total"}
# How often a background export writes down how far it got.
PROGRESS_EVERY = 5000
# A background export whose process has said nothing for this long is started again.
STALE_AFTER = dt.timedelta(minutes=5)


# --- the columns --------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column of an export: its heading and kind, and where its value comes from: a
    column of the row (`column`), a linked record by its key (`relation`), a list of
    linked records (`many`), a property of the record (`attribute`) or a custom field
    (`spec`, `part`)."""

    column: exports.ExportColumn
    source: str
    name: str
    choices: Optional[dict] = None
    spec: Any = None
    part: str = ""


def _kind(model, name: str, column) -> str:
    kind = column.type
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Integer) and not column.foreign_keys:
        return "integer"
    if isinstance(kind, Numeric):
        return "money" if name in MONEY_NAMES else "decimal"
    return "text"


CUSTOM_KINDS = {"integer": "integer", "decimal": "decimal", "date": "date",
                "datetime": "datetime", "boolean": "bool"}


def _custom_fields(model) -> list[Field]:
    entity = custom_fields.entity_of(model)
    found = []
    for spec in custom_fields.readable(entity) if entity else ():
        if spec.type == "money" and not spec.multiple:
            found.append(Field(exports.ExportColumn(spec.key, spec.label, "money"),
                               "custom", spec.code, spec=spec, part="amount"))
            found.append(Field(exports.ExportColumn(
                f"{spec.key}.currency", gettext("%(field)s, currency", field=spec.label)),
                "custom", spec.code, spec=spec, part="currency"))
            continue
        kind = "text" if spec.multiple else CUSTOM_KINDS.get(spec.type, "text")
        found.append(Field(exports.ExportColumn(spec.key, spec.label, kind), "custom",
                           spec.code, spec=spec))
    return found


def fields_of(model, labels: dict) -> list[Field]:
    """The columns an export of `model`'s records has, for the user who acts, headed as
    `labels` (a screen's) say."""
    entity = BY_MODEL[model]
    mapper = sa_inspect(model)
    names = ["id", *entity.show]
    if "id" not in entity.show and hasattr(model, "created_on"):
        names += ["created_on", "changed_on"]
    found = []
    for name in dict.fromkeys(names):
        label = "ID" if name == "id" else labels.get(name, name)
        if name in mapper.columns:
            column = mapper.columns[name]
            choices = entity.choices.get(name, (None,))[0]
            kind = "text" if choices else _kind(model, name, column)
            found.append(Field(exports.ExportColumn(name, label, kind), "column", name,
                               choices=choices))
        elif name in mapper.relationships:
            relation = mapper.relationships[name]
            source = "many" if relation.uselist else "relation"
            found.append(Field(exports.ExportColumn(name, label), source, name))
        else:
            kind = "money" if name in MONEY_NAMES else "text"
            found.append(Field(exports.ExportColumn(name, label, kind), "attribute", name))
    return found + _custom_fields(model)


# --- the rows -----------------------------------------------------------------------------


class _Linked:
    """The names of linked records, read per batch and kept while there are few."""

    LIMIT = 50_000

    def __init__(self, session, related):
        self.session, self.related, self.names = session, related, {}

    def read(self, keys) -> None:
        missing = {key for key in keys if key is not None and key not in self.names}
        if not missing:
            return
        if len(self.names) > self.LIMIT:
            self.names.clear()  # the same dict: the export's row function reads it
        for record in self.session.execute(
                select(self.related).where(self.related.id.in_(sorted(missing)))).scalars():
            self.names[record.id] = str(record)



def _custom_value(field: Field, stored: dict) -> Any:
    value = (stored or {}).get(field.name)
    spec = field.spec
    if value is None or value == [] or value == "":
        return None
    if field.part:
        return (Decimal(str(value.get("amount"))) if field.part == "amount"
                else value.get("currency")) if isinstance(value, dict) else None
    kind = field.column.kind
    try:
        if kind == "integer":
            return int(value)
        if kind == "decimal":
            return Decimal(str(value))
        if kind == "date":
            return dt.date.fromisoformat(value)
        if kind == "datetime":
            return to_local(dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                            .replace(tzinfo=None))
        if kind == "bool":
            return bool(value)
    except (TypeError, ValueError, ArithmeticError):
        pass
    return text_of(spec, value)


def _moment(localise):
    """A stored time, local: SQLite's driver gives the text it keeps, PostgreSQL's a
    datetime."""
    def convert(value):
        if value.__class__ is str:
            value = dt.datetime.fromisoformat(value)
        return localise(value)
    return convert


def _day(value):
    return dt.date.fromisoformat(value) if value.__class__ is str else value


# Column types whose values the export reads as the driver gives them (SQLAlchemy would
# turn each into a Python object on the way, a third of the time of reading the rows).
RAW_TYPES = (DateTime, Date, Numeric, Boolean)


def rows(model, query, fields: Sequence[Field], session=None) -> Iterator[tuple]:
    """The values of `fields` for every row of `query` (an ORM query of `model`, in its
    order), read in batches from one streamed statement.

    A million rows of twenty-odd fields are twenty million values: how each field's value
    is had is written once, as one expression per field, and the expressions are compiled
    into one function that makes a row's tuple (no call per value). The source is made of
    positions and names of this module's own, never of anything a user typed."""
    session = session or db.session
    mapper = sa_inspect(model)
    wanted = ["id"]

    def position(name: str) -> int:
        if name not in wanted:
            wanted.append(name)
        return wanted.index(name)

    namespace: dict[str, Any] = {"batch_objects": {}}
    linked: dict[str, _Linked] = {}
    links: dict[str, int] = {}
    batch_lists: dict[str, dict] = {}   # a batch's linked lists' keys, by relation
    expressions = []
    for number, f in enumerate(fields):
        own = f"v{number}"  # this field's helpers in the namespace
        if f.source == "column":
            i = position(f.name)
            kind = f.column.kind
            if f.choices:
                namespace[own] = {key: str(label) for key, label in f.choices.items()}
                expressions.append(f"{own}.get(row[{i}], row[{i}])")
            elif kind == "datetime":
                namespace[own] = _moment(to_local_many())
                expressions.append(f"None if row[{i}] is None else {own}(row[{i}])")
            elif kind == "date":
                namespace[own] = _day
                expressions.append(f"None if row[{i}] is None else {own}(row[{i}])")
            elif kind == "bool":
                expressions.append(f"None if row[{i}] is None else bool(row[{i}])")
            else:
                expressions.append(f"row[{i}]")
        elif f.source == "relation":
            relation: RelationshipProperty = mapper.relationships[f.name]
            (key_column,) = relation.local_columns
            i = links[f.name] = position(key_column.key)
            linked[f.name] = _Linked(session, relation.mapper.class_)
            namespace[own] = linked[f.name].names
            expressions.append(f"{own}.get(row[{i}], '')")
        elif f.source == "many":
            linked[f.name] = _Linked(session, mapper.relationships[f.name].mapper.class_)
            namespace[own] = linked[f.name].names
            namespace[own + "k"] = batch_lists.setdefault(f.name, {})
            expressions.append(f"', '.join([{own}.get(key, '') for key in "
                               f"{own}k.get(row[0], ())])")
        elif f.source == "attribute":
            namespace[own] = f.name
            expressions.append(f"getattr(batch_objects.get(row[0]), {own}, None)")
        else:
            i = position("custom")
            namespace[own] = lambda stored, f=f: _custom_value(f, stored)
            expressions.append(f"{own}(row[{i}])")
    convert = eval("lambda row: (" + ", ".join(expressions) + ",)", namespace)  # noqa: S307

    columns = [getattr(model, name) for name in wanted]
    columns = [type_coerce(column, NullType()) if name != "custom" and
               isinstance(mapper.columns[name].type, RAW_TYPES) else column
               for name, column in zip(wanted, columns, strict=True)]
    statement = query.with_entities(*columns).statement
    with_attributes = any(f.source == "attribute" for f in fields)
    for batch in _read_ahead(session, statement):
        ids = [row[0] for row in batch]
        for name, keys in batch_lists.items():
            keys.clear()
            keys.update(_many(session, model, name, ids))
        for name, reader in linked.items():
            reader.read({key for keys in batch_lists[name].values() for key in keys}
                        if name in batch_lists else {row[links[name]] for row in batch})
        if with_attributes:
            namespace["batch_objects"].clear()
            namespace["batch_objects"].update((obj.id, obj) for obj in session.execute(
                select(model).where(model.id.in_(ids))).scalars())
        yield from map(convert, batch)


_FINISHED = object()


def _read_ahead(session, statement) -> Iterator[list]:
    """The rows of `statement` in batches, read a batch or two ahead by a thread of their
    own on a connection of their own: the database (SQLite's stepping, PostgreSQL's
    answers on the wire, neither holding Python's lock) works while this thread turns
    the previous batch into the file."""
    engine = session.get_bind()
    batches: queue.Queue = queue.Queue(maxsize=3)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with engine.connect() as connection:
                result = connection.execute(statement.execution_options(yield_per=BATCH))
                for batch in result.partitions(BATCH):
                    if not put(batch):
                        return
            put(_FINISHED)
        except BaseException as error:  # handed to the reader of the rows
            put(error)

    reader = threading.Thread(target=read, name="voronka-export-read", daemon=True)
    reader.start()
    try:
        while True:
            item = batches.get()
            if item is _FINISHED:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _many(session, model, name: str, ids) -> dict[int, list[int]]:
    """The keys of the records each of `ids` links to through the list `name`: read from
    the table that keeps the links (a Core statement: no ORM rows for a million links)."""
    relation = sa_inspect(model).relationships[name]
    if relation.secondary is not None:
        ((_, owner),) = relation.synchronize_pairs
        ((_, other),) = relation.secondary_synchronize_pairs
    else:
        ((_, owner),) = relation.synchronize_pairs
        other = relation.mapper.class_.__table__.c.id
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: a thousand ids as a thousand parameters cost PostgreSQL's
        # driver more than the statement itself.
        among = owner == any_(bindparam("ids", ids, type_=postgresql.ARRAY(owner.type)))
    else:
        among = owner.in_(ids)
    found: dict[int, list[int]] = {}
    for owner_id, key in session.execute(
            select(owner, other).where(among).order_by(owner, other)):
        found.setdefault(owner_id, []).append(key)
    return found


def restricted(model, query):
    """`query` narrowed to the rows the user may export."""
    return query.filter(access.condition(model, "export"))


def count(query) -> int:
    return query.order_by(None).with_entities(func.count()).scalar() or 0


# --- who may export -----------------------------------------------------------------------


def refuse_without_right(model) -> None:
    """Forbidden unless the user may export some records of `model`."""
    if not access.can(access.MODEL_ENTITY[model], "export"):
        raise Forbidden(gettext("You may not export these records."))


# --- the files ------------------------------------------------------------------------------


def export_dir() -> Path:
    path = Path(current_app.config["CRM_EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(run: ExportRun) -> Path:
    return export_dir() / f"{run.file_key}.{run.format}"


def file_name(run: ExportRun) -> str:
    stamp = to_local(run.created_at).strftime("%Y-%m-%d_%H-%M")
    title = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in run.title).strip()
    return f"{title or 'export'}_{stamp}.{run.format}"


def write(fmt: str, columns, values: Iterator[tuple], title: str, language: str,
          target: Path, progress: Optional[Callable[[int], None]] = None) -> int:
    """Write the rows to `target` as `fmt`; answers how many rows it holds."""
    written = 0

    def counted():
        nonlocal written
        for row in values:
            written += 1
            if progress is not None and written % PROGRESS_EVERY == 0:
                progress(written)
            yield row

    with open(target, "wb") as handle:
        if fmt == "xlsx":
            exports.write_xlsx(columns, counted(), title, handle)
        else:
            for chunk in exports.csv_chunks(columns, counted(), language):
                handle.write(chunk)
    return written


# --- the history and the runs -------------------------------------------------------------


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise RecordInvalid({"format": [gettext("Choose %(choices)s.",
                                                choices=", ".join(FORMATS))]})
    return fmt


def inline_limit() -> int:
    return int(current_app.config.get("CRM_EXPORT_INLINE_ROWS", 50_000))


def language() -> str:
    locale = get_locale()
    return str(locale.language) if locale is not None else "ru"


@dataclass
class Export:
    """What one export is: where its rows come from (`source`, a name the background
    runner finds it again by, with the request's `arguments`), its title, its columns and
    its query, restricted to what the user may export."""

    source: str
    title: str
    model: type
    fields: list
    query: Any
    arguments: dict

    @property
    def columns(self):
        return [f.column for f in self.fields]


def start(export: Export, fmt: str) -> ExportRun:
    """Count the rows and record the export. Up to the inline limit it is written now
    (the run comes back done, its file ready); above it, it is queued for the background."""
    check_format(fmt)
    total = count(export.query)
    background = total > inline_limit()
    with unit_of_work():
        run = ExportRun(user_id=actor.current_user_id(), source=export.source,
                        title=str(export.title)[:200], format=fmt,
                        arguments=export.arguments, language=language(),
                        background=background, status="queued", total=total,
                        file_key=secrets.token_hex(16))
        db.session.add(run)
    if background:
        _start_thread(run.id)
        return run
    _write_run(run, export)
    return run


def write_rows_now(source: str, title: str, arguments: dict, fmt: str, columns,
                   values: list) -> ExportRun:
    """Record and write at once the export of rows already at hand (a report's grid, its
    drill-down: what is on the screen, never more than a page of people or stages)."""
    check_format(fmt)
    with unit_of_work():
        run = ExportRun(user_id=actor.current_user_id(), source=source, title=title[:200],
                        format=fmt, arguments=arguments, language=language(),
                        background=False, status="running", total=len(values),
                        started_at=utcnow(), file_key=secrets.token_hex(16))
        db.session.add(run)
    target = file_path(run)
    try:
        written = write(fmt, columns, iter(values), title, run.language, target)
    except Exception:
        target.unlink(missing_ok=True)
        _mark(run.id, status="failed", finished_at=utcnow(), error=traceback.format_exc())
        raise
    _mark(run.id, status="done", rows=written, finished_at=utcnow(),
          file_size=target.stat().st_size)
    db.session.refresh(run)
    return run


def _write_run(run: ExportRun, export: Export) -> None:
    """Write the file of `run` from `export`; the run says how it went."""
    run_id = run.id
    _mark(run_id, status="running", started_at=utcnow(), heartbeat_at=utcnow())
    target = file_path(run)
    try:
        written = write(run.format, export.columns, rows(export.model, export.query,
                                                          export.fields),
                        export.title, run.language, target,
                        progress=lambda n: _mark(run_id, rows=n, heartbeat_at=utcnow()))
    except Exception:
        db.session.rollback()
        target.unlink(missing_ok=True)
        _mark(run_id, status="failed", finished_at=utcnow(), error=traceback.format_exc())
        raise
    db.session.rollback()  # ends the read; the run is written apart
    _mark(run_id, status="done", rows=written, finished_at=utcnow(),
          file_size=target.stat().st_size)
    db.session.refresh(run)


def _mark(run_id: int, **values) -> None:
    """Write down how a run stands, in a transaction of its own (the export's read stays
    open meanwhile)."""
    with db.engine.begin() as connection:
        connection.execute(update(ExportRun).where(ExportRun.id == run_id).values(**values))


# Where a background export finds its rows again: source prefix -> (the run, a function
# that rebuilds the Export inside a request like the one that asked for it).
SOURCES: dict[str, Callable[[ExportRun], Export]] = {}


def register_source(prefix: str, rebuild: Callable[[ExportRun], Export]) -> None:
    SOURCES[prefix] = rebuild


def _rebuild(run: ExportRun) -> Export:
    prefix = run.source.split(":", 1)[0]
    if prefix not in SOURCES:
        raise LookupError(f"unknown export source {run.source}")
    return SOURCES[prefix](run)


def _claim(run_id: int) -> bool:
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(ExportRun).where(ExportRun.id == run_id, ExportRun.status == "queued")
            .values(status="running", started_at=utcnow(), heartbeat_at=utcnow()))
        return claimed.rowcount == 1


def run_background(run_id: int) -> bool:
    """Write a queued export as its user; answers whether this call wrote it (another
    process may have taken it first). The user hears of it when it is ready."""
    if not _claim(run_id):
        return False
    run = db.session.get(ExportRun, run_id)
    db.session.refresh(run)
    try:
        with actor.acting_as(run.user), force_locale(run.language):
            export = _rebuild(run)
            # The right is asked again: one taken away since the request gives no file
            # (the access filter alone would write an empty one and call it done).
            refuse_without_right(export.model)
            _write_run(run, export)
    except Exception:
        db.session.rollback()
        if db.session.get(ExportRun, run_id).status != "failed":
            _mark(run_id, status="failed", finished_at=utcnow(),
                  error=traceback.format_exc())
    db.session.expire_all()
    run = db.session.get(ExportRun, run_id)
    notifications.add([{"user_id": run.user_id, "kind": "export", "entity": "export",
                        "record_id": run.id, "day": utcnow().date(),
                        "payload": {"title": run.title, "rows": run.rows,
                                    "status": run.status, "format": run.format}}])
    db.session.commit()
    return True


def _start_thread(run_id: int) -> None:
    if not current_app.config.get("CRM_EXPORT_THREADS", True):
        return
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            try:
                run_background(run_id)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"voronka-export-{run_id}", daemon=True).start()


def run_pending(_now: Optional[dt.datetime] = None) -> int:
    """The `exports_pending` job: start again the background exports whose process went
    away, and write every queued one. Answers how many it wrote."""
    stale = utcnow() - STALE_AFTER
    with db.engine.begin() as connection:
        connection.execute(
            update(ExportRun).where(ExportRun.status == "running",
                                    ExportRun.background.is_(True),
                                    ExportRun.heartbeat_at < stale)
            .values(status="queued", rows=0))
    queued = list(db.session.execute(
        select(ExportRun.id).where(ExportRun.status == "queued")
        .order_by(ExportRun.id)).scalars())
    db.session.rollback()
    return sum(run_background(run_id) for run_id in queued)


def purge_old(_now: Optional[dt.datetime] = None, days: int = 7) -> int:
    """The files of exports older than `days` days are deleted; their history stays."""
    border = utcnow() - dt.timedelta(days=days)
    old = db.session.execute(
        select(ExportRun).where(ExportRun.created_at < border,
                                ExportRun.file_key.is_not(None))).scalars().all()
    for run in old:
        file_path(run).unlink(missing_ok=True)
        run.file_key = None
    db.session.commit()
    return len(old)


# --- reading the history ------------------------------------------------------------------


def history(everyone: bool = False):
    """A SELECT of the exports the user may see (their own; everybody's for those who may
    read the settings, when `everyone`), newest first."""
    query = access.readable(ExportRun)
    if not everyone:
        query = query.where(ExportRun.user_id == actor.current_user_id())
    return query.order_by(ExportRun.id.desc())


def one(run_id: int) -> ExportRun:
    run = db.session.execute(access.readable(ExportRun).where(ExportRun.id == run_id)).scalar()
    if run is None:
        raise NotFound(gettext("The export does not exist."))
    return run


def download_path(run: ExportRun) -> Path:
    """The file of a finished export of the user's own (others' are not for download)."""
    if run.user_id != actor.current_user_id():
        raise NotFound(gettext("The export does not exist."))
    if run.status != "done" or not run.file_key or not file_path(run).exists():
        raise NotFound(gettext("The file of this export is not available."))
    return file_path(run)


def as_json(run: ExportRun, download_url: Optional[str] = None) -> dict:
    return {"id": run.id, "title": run.title, "format": run.format, "status": run.status,
            "status_label": str(EXPORT_STATUSES[run.status]), "total": run.total,
            "rows": run.rows, "background": run.background,
            "created_at": run.created_at, "finished_at": run.finished_at,
            "download_url": download_url if run.status == "done" and run.file_key
            else None}

