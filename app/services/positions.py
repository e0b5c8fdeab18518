"""Where a row stands in a big list's default order, without counting the rows before it.

The list of clients in name order is cut into stretches of about BUCKET_ROWS rows
(crm_list_position: the key each stretch starts at and its row count). The database's
triggers (migration 0005) append +1 or -1 to crm_list_position_change whenever a row
enters or leaves a stretch, whoever writes, so the count of every stretch is exact at any
moment, and writers never wait for one another. Page 10,000 then starts at the key of the
stretch that holds its first row and skips only that stretch's rows before it, instead of
250,000 index entries, and the list knows its exact length.

The summary is built when a deep page is first asked for (and by the data generator); the
changes are folded into the counts when they pile up, and the stretches are cut again
when one has grown too long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import text

from app.models import Client

log = logging.getLogger(__name__)

BUCKET_ROWS = 1000
DEEP_OFFSET = 5000               # shallower pages simply skip their rows
COMPACT_AFTER = 5000             # changes noted since the last fold
REBUILD_OVER = 20 * BUCKET_ROWS  # a stretch this long is cut again

# list name -> (model, key column): the list is ordered by (key, id). The triggers of
# migration 0005 watch the same tables and columns.
LISTS = {"client": (Client, "name_search")}


@dataclass
class Start:
    """Where a page starts: at (key, id), skipping `skip` rows; the list has `total`.
    A page past the end of the list starts nowhere (key and id None)."""

    key: Optional[str]
    id: Optional[int]
    skip: int
    total: int

    @property
    def past_end(self) -> bool:
        return self.key is None


_LOCATE = text("""
WITH counts AS (
    SELECT p.bucket, p.start_key, p.start_id, p.rows + COALESCE(d.delta, 0) AS n
    FROM crm_list_position p
    LEFT JOIN (SELECT bucket, SUM(delta) AS delta FROM crm_list_position_change
               WHERE list_name = :list GROUP BY bucket) d ON d.bucket = p.bucket
    WHERE p.list_name = :list
), placed AS (
    SELECT start_key, start_id, n, SUM(n) OVER (ORDER BY bucket) - n AS before FROM counts
)
SELECT start_key, start_id, :offset - before AS skip,
       (SELECT SUM(n) FROM counts) AS total,
       (SELECT MAX(n) FROM counts) AS longest,
       (SELECT COUNT(*) FROM crm_list_position_change WHERE list_name = :list) AS changes
FROM placed
WHERE before <= :offset AND :offset < before + n
ORDER BY before DESC
LIMIT 1
""")


_TOTAL = text("""
SELECT (SELECT SUM(rows) FROM crm_list_position WHERE list_name = :list)
     + (SELECT COALESCE(SUM(delta), 0) FROM crm_list_position_change WHERE list_name = :list)
""")


def locate(session, list_name: str, offset: int) -> Optional[Start]:
    """Where the row at `offset` (from 0) starts its page, or None when the list has no
    summary (it could not be built). Tidies the summary when it needs it."""
    row = session.execute(_LOCATE, {"list": list_name, "offset": offset}).first()
    if row is None:
        if not _has_summary(session, list_name):
            if not rebuild(session, list_name):
                return None
            row = session.execute(_LOCATE, {"list": list_name, "offset": offset}).first()
        if row is None:
            total = session.execute(_TOTAL, {"list": list_name}).scalar() or 0
            return Start(None, None, 0, int(total))
    if row.longest > REBUILD_OVER:
        rebuild(session, list_name)
    elif row.changes > COMPACT_AFTER:
        compact(session, list_name)
    return Start(row.start_key, int(row.start_id), int(row.skip), int(row.total))


def _has_summary(session, list_name: str) -> bool:
    return session.execute(text("SELECT 1 FROM crm_list_position WHERE list_name = :list"),
                           {"list": list_name}).first() is not None


# --- upkeep: each in a transaction of its own ---------------------------------------------


def _upkeep(session, list_name: str, what: str, work) -> bool:
    """Run `work(connection)` in a transaction of its own. A list busy with writers (a lock
    not granted in two seconds, or SQLite's database lock) is left as it is: the page is
    served without it, and the next deep page tries again. Returns whether it ran."""
    try:
        with session.get_bind().begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            work(connection)
    except Exception as error:  # noqa: BLE001 - only a lock failure is expected here
        if not _is_lock_failure(error):
            raise
        log.info("list positions of %s not %s: %s", list_name, what, error)
        return False
    return True


def rebuild(session, list_name: str) -> bool:
    """Cut the list into stretches again, counting its rows once. Writers of the list wait
    for it (about a second for a million rows); returns False when the list could not be
    locked in time."""
    model, key = LISTS[list_name]
    table = model.__tablename__

    def work(connection):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        # First a write: on SQLite it takes the database's write lock, so no client
        # changes between the count below and the new summary.
        connection.execute(text("DELETE FROM crm_list_position_change "
                                "WHERE list_name = :list"), {"list": list_name})
        connection.execute(text("DELETE FROM crm_list_position WHERE list_name = :list"),
                           {"list": list_name})
        starts = connection.execute(text(f"""
            SELECT {key}, id, rn FROM (
                SELECT {key}, id, ROW_NUMBER() OVER (ORDER BY {key}, id) AS rn
                FROM {table}) numbered
            WHERE (rn - 1) % :size = 0 ORDER BY rn"""), {"size": BUCKET_ROWS}).all()
        total = connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
        buckets = [{"list": list_name, "bucket": index, "key": start_key, "id": start_id,
                    "rows": min(BUCKET_ROWS, total - (rn - 1))}
                   for index, (start_key, start_id, rn) in enumerate(starts)]
        if not buckets:
            buckets.append({"list": list_name, "bucket": 0, "key": "", "id": 0, "rows": 0})
        # The first stretch starts before any possible row.
        buckets[0].update(key="", id=0)
        connection.execute(text(
            "INSERT INTO crm_list_position (list_name, bucket, start_key, start_id, rows) "
            "VALUES (:list, :bucket, :key, :id, :rows)"), buckets)

    return _upkeep(session, list_name, "rebuilt", work)


def compact(session, list_name: str) -> bool:
    """Fold the noted changes into the counts of the stretches."""

    def work(connection):
        if connection.dialect.name == "postgresql":
            # One statement: exactly the changes it deletes are added, even when writers
            # commit new ones meanwhile. The lock keeps two folds from adding twice.
            connection.exec_driver_sql("LOCK TABLE crm_list_position IN EXCLUSIVE MODE")
            connection.execute(text("""
                WITH gone AS (
                    DELETE FROM crm_list_position_change WHERE list_name = :list
                    RETURNING bucket, delta
                ), sums AS (SELECT bucket, SUM(delta) AS delta FROM gone GROUP BY bucket)
                UPDATE crm_list_position p SET rows = p.rows + sums.delta FROM sums
                WHERE p.list_name = :list AND p.bucket = sums.bucket"""), {"list": list_name})
            return
        # SQLite: the first write takes the database's write lock; no change can arrive
        # between the two statements.
        connection.execute(text("""
            UPDATE crm_list_position SET rows = rows + COALESCE(
                (SELECT SUM(delta) FROM crm_list_position_change c
                 WHERE c.list_name = crm_list_position.list_name
                   AND c.bucket = crm_list_position.bucket), 0)
            WHERE list_name = :list"""), {"list": list_name})
        connection.execute(text("DELETE FROM crm_list_position_change WHERE list_name = :list"),
                           {"list": list_name})

    return _upkeep(session, list_name, "compacted", work)


def _is_lock_failure(error: Exception) -> bool:
    message = str(getattr(error, "orig", error)).lower()
    return "lock" in message and ("timeout" in message or "locked" in message)


def rebuild_all(session) -> None:
    for list_name in LISTS:
        rebuild(session, list_name)
