"""Where a row stands in a big list's default order, without counting the rows before it.

The list of clients in name order is cut into stretches of about BUCKET_ROWS rows
(crm_list_position: the key each stretch starts at and its row count; crm_list_position_owner:
how many of those rows each owner has). The database's triggers (migrations 0005, 0009)
append +1 or -1 to crm_list_position_change whenever a row enters or leaves a stretch or
changes owner, whoever writes, so the counts are exact at any moment, and writers never
wait for one another. Page 10,000 then starts at the key of the stretch that holds its
first row and skips only that stretch's rows before it, instead of 250,000 index entries,
and the list knows its exact length. A list the access filter narrows to some owners (a
manager's, a department's) adds up only their counts, and finds its deep pages the same way.

The summary is built when a deep page is first asked for (and by the data generator); the
nightly upkeep job (app.jobs: positions_upkeep) folds the day's changes into the counts
and cuts the stretches again where one has grown too long, so no page a user waits for
does that work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import bindparam, text

from app.entities import POSITIONED, owner_column

log = logging.getLogger(__name__)

BUCKET_ROWS = 1000
DEEP_OFFSET = 5000               # shallower pages simply skip their rows
REBUILD_OVER = 20 * BUCKET_ROWS  # a stretch this long is cut again


@dataclass(frozen=True)
class PositionedList:
    """A list ordered by (key, id) whose rows belong to their entity's responsible user
    (app.entities). The triggers of migration 0009 watch the same table and columns."""

    model: type
    key: str

    @property
    def owner(self) -> str:
        return owner_column(self.model).key


# The lists whose declarations ask for a position summary (app.entities).
LISTS = {name: PositionedList(entity.model, entity.positioned_by)
         for name, entity in POSITIONED.items()}


@dataclass
class Start:
    """Where a page starts: at (key, id), skipping `skip` rows, and the (key, id) it ends
    before (None: the page reaches the end of the list); the list has `total` rows.
    A page past the end of the list starts nowhere (key and id None)."""

    key: Optional[str]
    id: Optional[int]
    skip: int
    total: int
    end_key: Optional[str] = None
    end_id: Optional[int] = None

    @property
    def past_end(self) -> bool:
        return self.key is None


# Rows per stretch: of the whole list, and (`n`) of the rows the page is asked for.
_WHOLE_COUNTS = """
    SELECT p.bucket, p.start_key, p.start_id, p.rows + COALESCE(d.delta, 0) AS whole,
           p.rows + COALESCE(d.delta, 0) AS n
    FROM crm_list_position p
    LEFT JOIN (SELECT bucket, SUM(delta) AS delta FROM crm_list_position_change
               WHERE list_name = :list GROUP BY bucket) d ON d.bucket = p.bucket
    WHERE p.list_name = :list
"""

_OWNERS_COUNTS = """
    SELECT p.bucket, p.start_key, p.start_id, p.rows + COALESCE(d.delta, 0) AS whole,
           COALESCE(o.rows, 0) + COALESCE(d.owners_delta, 0) AS n
    FROM crm_list_position p
    LEFT JOIN (SELECT bucket, SUM(delta) AS delta,
                      SUM(CASE WHEN owner_id IN :owners THEN delta ELSE 0 END) AS owners_delta
               FROM crm_list_position_change
               WHERE list_name = :list GROUP BY bucket) d ON d.bucket = p.bucket
    LEFT JOIN (SELECT bucket, SUM(rows) AS rows FROM crm_list_position_owner
               WHERE list_name = :list AND owner_id IN :owners GROUP BY bucket) o
           ON o.bucket = p.bucket
    WHERE p.list_name = :list
"""

_LOCATE = """
WITH counts AS ({counts}), placed AS (
    SELECT bucket, start_key, start_id, n, SUM(n) OVER (ORDER BY bucket) - n AS before
    FROM counts
), page_start AS (
    SELECT start_key, start_id, :offset - before AS skip FROM placed
    WHERE before <= :offset AND :offset < before + n
    ORDER BY before DESC, bucket DESC LIMIT 1
), page_end AS (
    SELECT start_key AS end_key, start_id AS end_id FROM placed
    WHERE before >= :offset + :size ORDER BY bucket LIMIT 1
)
SELECT page_start.start_key, page_start.start_id, page_start.skip,
       page_end.end_key, page_end.end_id,
       (SELECT SUM(n) FROM counts) AS total,
       (SELECT MAX(whole) FROM counts) AS longest,
       (SELECT COUNT(*) FROM crm_list_position_change WHERE list_name = :list) AS changes,
       (SELECT COUNT(*) FROM counts) AS stretches
FROM (SELECT 1 AS one) anchor
LEFT JOIN page_start ON 1 = 1
LEFT JOIN page_end ON 1 = 1
"""


def _locate_statement(owners: Optional[frozenset]):
    if owners is None:
        return text(_LOCATE.format(counts=_WHOLE_COUNTS))
    return text(_LOCATE.format(counts=_OWNERS_COUNTS)).bindparams(
        bindparam("owners", expanding=True))


def locate(session, list_name: str, offset: int, page_size: int,
           owners: Optional[Iterable[int]] = None) -> Optional[Start]:
    """Where the page of `page_size` rows from `offset` (from 0) starts and ends, or None
    when the list has no summary (it could not be built). `owners`: only the rows of
    these users (0 for rows without an owner), or all rows."""
    wanted = None if owners is None else frozenset(owners)
    statement = _locate_statement(wanted)
    values = {"list": list_name, "offset": offset, "size": page_size}
    if wanted is not None:
        values["owners"] = sorted(wanted) or [-1]
    row = session.execute(statement, values).one()
    if not row.stretches:
        if not rebuild(session, list_name):
            return None
        row = session.execute(statement, values).one()
    if row.start_key is None:
        return Start(None, None, 0, int(row.total or 0))
    return Start(row.start_key, int(row.start_id), int(row.skip), int(row.total),
                 row.end_key, None if row.end_id is None else int(row.end_id))


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
    for it (a few seconds for a million rows); returns False when the list could not be
    locked in time."""
    positioned = LISTS[list_name]
    table, key, owner = positioned.model.__tablename__, positioned.key, positioned.owner
    numbered = (f"SELECT {key}, id, COALESCE({owner}, 0) AS owner_id, "
                f"ROW_NUMBER() OVER (ORDER BY {key}, id) AS rn FROM {table}")

    def work(connection):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        # First a write: on SQLite it takes the database's write lock, so no row changes
        # between the counts below and the new summary.
        for summary in ("crm_list_position_change", "crm_list_position_owner",
                        "crm_list_position"):
            connection.execute(text(f"DELETE FROM {summary} WHERE list_name = :list"),
                               {"list": list_name})
        starts = connection.execute(text(
            f"SELECT {key}, id, rn FROM ({numbered}) numbered "
            "WHERE (rn - 1) % :size = 0 ORDER BY rn"), {"size": BUCKET_ROWS}).all()
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
        connection.execute(text(
            "INSERT INTO crm_list_position_owner (list_name, bucket, owner_id, rows) "
            f"SELECT :list, (rn - 1) / :size, owner_id, COUNT(*) FROM ({numbered}) numbered "
            "GROUP BY (rn - 1) / :size, owner_id"), {"list": list_name, "size": BUCKET_ROWS})

    return _upkeep(session, list_name, "rebuilt", work)


def compact(session, list_name: str) -> bool:
    """Fold the noted changes into the counts of the stretches and of their owners."""

    def work(connection):
        if connection.dialect.name == "postgresql":
            # One statement: exactly the changes it deletes are added, even when writers
            # commit new ones meanwhile. The lock keeps two folds from adding twice.
            connection.exec_driver_sql("LOCK TABLE crm_list_position IN EXCLUSIVE MODE")
            connection.execute(text("""
                WITH gone AS (
                    DELETE FROM crm_list_position_change WHERE list_name = :list
                    RETURNING bucket, COALESCE(owner_id, 0) AS owner_id, delta
                ), sums AS (SELECT bucket, SUM(delta) AS delta FROM gone GROUP BY bucket
                ), whole AS (
                    UPDATE crm_list_position p SET rows = p.rows + sums.delta FROM sums
                    WHERE p.list_name = :list AND p.bucket = sums.bucket
                )
                INSERT INTO crm_list_position_owner AS o (list_name, bucket, owner_id, rows)
                SELECT :list, bucket, owner_id, SUM(delta) FROM gone GROUP BY bucket, owner_id
                ON CONFLICT (list_name, bucket, owner_id)
                DO UPDATE SET rows = o.rows + EXCLUDED.rows"""), {"list": list_name})
            return
        # SQLite: the first write takes the database's write lock; no change can arrive
        # between the statements.
        connection.execute(text("""
            UPDATE crm_list_position SET rows = rows + COALESCE(
                (SELECT SUM(delta) FROM crm_list_position_change c
                 WHERE c.list_name = crm_list_position.list_name
                   AND c.bucket = crm_list_position.bucket), 0)
            WHERE list_name = :list"""), {"list": list_name})
        connection.execute(text("""
            INSERT INTO crm_list_position_owner (list_name, bucket, owner_id, rows)
            SELECT list_name, bucket, COALESCE(owner_id, 0), SUM(delta)
            FROM crm_list_position_change WHERE list_name = :list
            GROUP BY bucket, COALESCE(owner_id, 0)
            ON CONFLICT (list_name, bucket, owner_id) DO UPDATE SET rows = rows + excluded.rows
            """), {"list": list_name})
        connection.execute(text("DELETE FROM crm_list_position_change WHERE list_name = :list"),
                           {"list": list_name})

    return _upkeep(session, list_name, "compacted", work)


def _is_lock_failure(error: Exception) -> bool:
    message = str(getattr(error, "orig", error)).lower()
    return "lock" in message and ("timeout" in message or "locked" in message)


def rebuild_all(session) -> None:
    for list_name in LISTS:
        rebuild(session, list_name)


def upkeep(session) -> int:
    """Fold each summarised list's noted changes into its counts, and cut its stretches
    again when one has grown past REBUILD_OVER rows. A list with no summary yet is left
    for its first deep page. Answers how many noted changes were folded."""
    folded = 0
    for list_name in LISTS:
        stretches, longest = session.execute(text(
            "SELECT COUNT(*), MAX(rows) FROM crm_list_position WHERE list_name = :list"),
            {"list": list_name}).one()
        if not stretches:
            continue
        changes = session.execute(text(
            "SELECT COUNT(*) FROM crm_list_position_change WHERE list_name = :list"),
            {"list": list_name}).scalar()
        session.commit()  # the folds below run in transactions of their own
        if changes and not compact(session, list_name):
            continue
        folded += changes
        longest = session.execute(text(
            "SELECT MAX(rows) FROM crm_list_position WHERE list_name = :list"),
            {"list": list_name}).scalar()
        session.commit()
        if (longest or 0) > REBUILD_OVER:
            rebuild(session, list_name)
    return folded
