"""A job's lock in the database, held while one process runs it, so that a second
scheduler (started by mistake, or on another host) never runs the same job at once.

PostgreSQL: a session advisory lock on a connection of its own, taken without waiting;
it goes with the connection, so a process that dies frees it. SQLite has no such locks: a
lease row (crm_job_lease) is taken in a `BEGIN IMMEDIATE` transaction, which no other
writer can enter meanwhile; a lease whose holder died lapses when its time is up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text

from app.database import db
from app.models import utcnow

# Advisory lock keys are one 64-bit space per database: the jobs' keys start from this.
_NAMESPACE = b"voronka-job:"


def advisory_key(job_id: str) -> int:
    digest = hashlib.blake2b(_NAMESPACE + job_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def held(job_id: str, holder: str, lease: dt.timedelta) -> Iterator[bool]:
    """Hold the job's lock for the block if it is free: yields True, or False when another
    process holds it (the block must then do nothing)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with _advisory(engine, job_id) as acquired:
            yield acquired
    else:
        with _lease(engine, job_id, holder, lease) as acquired:
            yield acquired


@contextmanager
def _advisory(engine, job_id: str) -> Iterator[bool]:
    key = advisory_key(job_id)
    with engine.connect() as connection:
        acquired = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": key}).scalar()
        connection.commit()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


def _stamp(value: dt.datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")


@contextmanager
def _lease(engine, job_id: str, holder: str, lease: dt.timedelta) -> Iterator[bool]:
    acquired = _take_lease(engine, job_id, holder, lease)
    try:
        yield acquired
    finally:
        if acquired:
            _immediately(engine, "DELETE FROM crm_job_lease WHERE job_id = ? AND holder = ?",
                         (job_id, holder))


def _take_lease(engine, job_id: str, holder: str, lease: dt.timedelta) -> bool:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            now = utcnow()
            row = cursor.execute("SELECT holder, expires_at FROM crm_job_lease WHERE job_id = ?",
                                 (job_id,)).fetchone()
            if row is not None and row[0] != holder and \
                    dt.datetime.fromisoformat(str(row[1])) > now:
                raw.rollback()
                return False
            cursor.execute(
                "INSERT INTO crm_job_lease (job_id, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at", (job_id, holder, _stamp(now + lease)))
            raw.commit()
            return True
        except BaseException:
            raw.rollback()
            raise
    finally:
        raw.close()


def _immediately(engine, statement: str, values: tuple) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(statement, values)
        raw.commit()
    finally:
        raw.close()
