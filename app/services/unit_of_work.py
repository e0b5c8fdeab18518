"""One transaction per command: everything a command writes is committed once at its end,
or nothing is.

    with unit_of_work():
        ...  # stage records: records.stage(), records.stage_delete(), other commands

A unit of work inside another joins it: only the outermost commits, and a failure
anywhere rolls back everything the outermost one wrote. A fault of the database is
translated by its kind (the driver's error code) and the constraint it broke into a
DomainError the user can read, logged with its cause when it is not a broken rule.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

from flask_babel import gettext
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from app.database import db
from app.services.errors import DomainError, StaleVersion

log = logging.getLogger(__name__)

_depth: ContextVar[int] = ContextVar("voronka_unit_of_work_depth", default=0)


def _session():
    return db.session


@contextmanager
def unit_of_work(refusal: type[DomainError] = DomainError) -> Iterator[object]:
    """A transaction for the block (see the module). `refusal`: the DomainError class a
    broken database rule becomes (a Conflict when a deletion is refused)."""
    session = _session()
    depth = _depth.get()
    token = _depth.set(depth + 1)
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException as error:
        if depth == 0:
            session.rollback()
        if isinstance(error, SQLAlchemyError):
            raise database_error(error, refusal) from error
        raise
    finally:
        _depth.reset(token)


def in_unit_of_work() -> bool:
    return _depth.get() > 0


# --- What the database said ----------------------------------------------------------------

UNIQUE, FOREIGN_KEY, NOT_NULL, CHECK = "unique", "foreign key", "not null", "check"

_POSTGRESQL_KINDS = {"23505": UNIQUE, "23503": FOREIGN_KEY, "23502": NOT_NULL, "23514": CHECK}
_SQLITE_KINDS = {"SQLITE_CONSTRAINT_UNIQUE": UNIQUE, "SQLITE_CONSTRAINT_PRIMARYKEY": UNIQUE,
                 "SQLITE_CONSTRAINT_FOREIGNKEY": FOREIGN_KEY,
                 "SQLITE_CONSTRAINT_NOTNULL": NOT_NULL, "SQLITE_CONSTRAINT_CHECK": CHECK}


def database_error(error: SQLAlchemyError,
                   refusal: type[DomainError] = DomainError) -> DomainError:
    """The DomainError a fault of the database means for the user."""
    if isinstance(error, StaleDataError):
        return StaleVersion()
    if isinstance(error, IntegrityError):
        kind, columns = broken_rule(error)
        if kind is not None:
            return refusal(_RULE_MESSAGES[kind](), _field_errors(kind, columns))
        log.warning("the database refused a change: %s", error.orig)
        return refusal(gettext("The record breaks a database rule and was not saved."))
    log.error("the database failed", exc_info=error)
    return DomainError(gettext("The database could not make the change. Nothing was changed."))


def broken_rule(error: IntegrityError) -> tuple[Optional[str], list[str]]:
    """(kind of the rule, the columns it covers when the driver says) of a refused write,
    from the driver's error code and the constraint's name, never from the words."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        kind = _POSTGRESQL_KINDS.get(sqlstate)
        diag = getattr(orig, "diag", None)
        columns = _constraint_columns(getattr(diag, "table_name", None),
                                      getattr(diag, "constraint_name", None))
        column = getattr(diag, "column_name", None)
        return kind, columns or ([column] if column else [])
    kind = _SQLITE_KINDS.get(getattr(orig, "sqlite_errorname", ""))
    # SQLite names the columns, not the constraint: "UNIQUE constraint failed: t.a, t.b".
    listed = str(orig).partition(": ")[2] if kind in (UNIQUE, NOT_NULL) else ""
    return kind, [part.rpartition(".")[2] for part in re.split(r",\s*", listed) if part]


def _constraint_columns(table_name: Optional[str], name: Optional[str]) -> list[str]:
    """The columns of the constraint or unique index `name` of a table, from the schema;
    a unique column without a name of its own has PostgreSQL's: <table>_<column>_key."""
    from flask_appbuilder import Model

    table = Model.metadata.tables.get(table_name or "")
    if table is None or not name:
        return []
    for constraint in [*table.constraints, *table.indexes]:
        if constraint.name == name:
            return [column.name for column in constraint.columns]
    for column in table.columns:
        if column.unique and name == f"{table.name}_{column.name}_key":
            return [column.name]
    return []


_RULE_MESSAGES = {
    UNIQUE: lambda: gettext("A record with the same unique value already exists."),
    FOREIGN_KEY: lambda: gettext("The record refers to a record that does not exist, "
                                 "or other records still refer to it."),
    NOT_NULL: lambda: gettext("A required field is empty."),
    CHECK: lambda: gettext("The record breaks a database rule and was not saved."),
}


def _field_errors(kind: str, columns: list[str]) -> dict[str, list[str]]:
    if kind == UNIQUE:
        message = gettext("Already exists.")
    elif kind == NOT_NULL:
        message = gettext("This field is required.")
    else:
        return {}
    return {column: [message] for column in columns if column != "id"}
