"""One number that changes whenever rights, users or directories change, in any process.

Every page needs the same few things that hardly ever change: the permissions of the
user's roles, their rights matrix, the department tree, the rendered search form with its
lists of users and directory items. Each process keeps them in a `StampedCache` under the
number (the stamp) it read at the start of the request, together with the user, in the
same statement (app.fab.security). A transaction that writes to one of the tables they come
from raises the stamp just before it commits, so the next request of every process, in
every worker, reads the new stamp and reads the changed data again.

The stamp is raised for any write the application's engines send, ORM or Core; a change
made by hand outside the application (psql) takes effect with the next write through the
application or a restart.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Hashable, Optional

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import TextClause

from app.models import CacheStamp
from app.services import request_scope

# The tables what the caches hold is read from: FAB's security tables, the rights matrix,
# the departments, the small tables that search forms offer in their select boxes, and the
# custom fields' definitions; and the absences, which lend a deputy an absent employee's
# records.
WATCHED_TABLES = frozenset({
    "ab_user", "ab_role", "ab_user_role", "ab_group", "ab_group_role", "ab_user_group",
    "ab_permission", "ab_view_menu", "ab_permission_view", "ab_permission_view_role",
    "crm_role_right", "crm_department", "crm_department_role",
    "crm_dictionary_item", "crm_pipeline", "crm_stage", "crm_product_group", "crm_product",
    "crm_custom_field", "crm_absence",
})

_WRITTEN = "crm_stamp_written"
_DML = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?',
                  re.IGNORECASE)
_RAISE = f"UPDATE {CacheStamp.__tablename__} SET version = version + 1"


def current_stamp_column():
    """A scalar subquery with the stamp, to be read along with another statement."""
    return select(CacheStamp.version).where(CacheStamp.id == 1).scalar_subquery()


def remember(value: Optional[int]) -> None:
    """The stamp the request has read (with its user)."""
    store = request_scope.request_store()
    if store is not None:
        store["stamp"] = value


def current() -> Optional[int]:
    """The stamp read by this request, or None when it has read none (no user yet, no
    stamp row): the caches are then bypassed."""
    store = request_scope.request_store()
    return None if store is None else store.get("stamp")


# --- raising the stamp -----------------------------------------------------------------------


def _written_table(context, statement: str) -> Optional[str]:
    compiled = getattr(context, "compiled", None)
    if compiled is not None and not isinstance(compiled.statement, TextClause):
        if not (context.isinsert or context.isupdate or context.isdelete):
            return None
        table = getattr(compiled.statement, "table", None)
        return getattr(table, "name", None)
    match = _DML.match(statement)
    return match.group(1).lower() if match else None


def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if not conn.info.get(_WRITTEN) and _written_table(context, statement) in WATCHED_TABLES:
        conn.info[_WRITTEN] = True


def _raise_before_commit(conn) -> None:
    # Raised as the transaction's last statement: the stamp's row lock is then always the
    # last lock a transaction takes, so raising it cannot deadlock with other writers.
    if conn.info.pop(_WRITTEN, False):
        cursor = conn.connection.cursor()
        try:
            cursor.execute(_RAISE)
        finally:
            cursor.close()
        # The rest of this request no longer knows the stamp its data goes with.
        remember(None)


def _forget_on_rollback(conn) -> None:
    conn.info.pop(_WRITTEN, None)


def install() -> None:
    """Watch every engine of the process (idempotent)."""
    for name, listener in (("after_cursor_execute", _note_write),
                           ("commit", _raise_before_commit),
                           ("rollback", _forget_on_rollback)):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


# --- the caches ------------------------------------------------------------------------------


class StampedCache:
    """Values computed from the watched tables, kept while the stamp stays the same.

    A request that read an older stamp than the cache holds (it started before another
    request saw a change) computes its value without touching the cache."""

    def __init__(self):
        self._stamp: Optional[int] = None
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        stamp = current()
        if stamp is None:
            return compute()
        with self._lock:
            if stamp == self._stamp and key in self._values:
                return self._values[key]
        value = compute()
        with self._lock:
            if self._stamp is None or stamp > self._stamp:
                self._stamp, self._values = stamp, {}
            if stamp == self._stamp:
                self._values[key] = value
        return value
