"""Running a job once for a slot, and keeping the record of it.

A run takes the job's lock (app.jobs.locks; a process that finds it held does nothing),
marks runs of the job left "running" by a process that died as interrupted, then claims
the slot by inserting its (job, slot) record: a second process that comes for the same
slot later finds the record and does nothing. The job works as its named system actor
(`job:<id>`), in transactions of its own (app.services.reminders); its record is then
finished with the status, the rows it made and, when it failed, the error with its
traceback. A failure is kept in the record, never raised to the scheduler: the next slot
runs as usual.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback
import uuid
from typing import Optional

from flask import has_request_context
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import db
from app.jobs import Job
from app.jobs.locks import held
from app.models import JobRun, utcnow
from app.services.actor import acting_as

log = logging.getLogger(__name__)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run(job: Job, slot: dt.datetime, trigger: str = "schedule",
        requested_by: Optional[int] = None) -> Optional[JobRun]:
    """Run `job` for `slot` unless it runs elsewhere now or has run for that slot.
    Answers the finished record, or None when it did not run here. Run from a request
    ("run now"), it runs in the request's session; elsewhere in a session of its own."""
    holder = f"{runner_name()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    session = db.session
    try:
        with held(job.id, holder, job.lease) as acquired:
            if not acquired:
                log.info("job %s: running elsewhere, slot %s left to it", job.id, slot)
                return None
            record = _claim(job, slot, trigger, requested_by)
            if record is None:
                return None
            _work(job, record)
            return record
    finally:
        if not has_request_context():
            session.remove()


def _claim(job: Job, slot: dt.datetime, trigger: str,
           requested_by: Optional[int]) -> Optional[JobRun]:
    session = db.session
    now = utcnow()
    # Holding the lock, no run of this job is alive: one still "running" was cut short.
    session.execute(update(JobRun)
                    .where(JobRun.job_id == job.id, JobRun.status == "running")
                    .values(status="interrupted", finished_at=now))
    record = JobRun(job_id=job.id, slot=slot, trigger=trigger, status="running",
                    started_at=now, runner=runner_name(), requested_by_id=requested_by)
    session.add(record)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        log.info("job %s: slot %s has run already", job.id, slot)
        return None
    return record


def _work(job: Job, record: JobRun) -> None:
    session = db.session
    try:
        with acting_as(None, f"job:{job.id}"):
            rows = job.work(record.started_at)
        status, error = "succeeded", None
    except Exception:  # noqa: BLE001 - a failed job is recorded, the scheduler goes on
        session.rollback()
        status, error, rows = "failed", traceback.format_exc(), 0
        log.exception("job %s failed", job.id)
    record_id = record.id
    try:
        session.execute(update(JobRun).where(JobRun.id == record_id).values(
            status=status, finished_at=utcnow(), rows=int(rows or 0), error=error))
        session.commit()
        session.refresh(record)
    except Exception:  # noqa: BLE001 - the database is gone: the next slot tries again
        session.rollback()
        log.exception("job %s: its run could not be recorded", job.id)


def runs(job_id: Optional[str], status: Optional[str], page: int,
         size: int) -> tuple[int, list[JobRun]]:
    """(how many, one page of) the runs, newest first, of one job or status or all."""
    query = select(JobRun)
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    if status:
        query = query.where(JobRun.status == status)
    count = db.session.execute(
        select(db.func.count()).select_from(query.subquery())).scalar()
    found = db.session.execute(
        query.order_by(JobRun.id.desc()).limit(size).offset(page * size)).scalars().all()
    return count, list(found)


def has_run(job_id: str, slot: dt.datetime) -> bool:
    return db.session.execute(select(JobRun.id).where(
        JobRun.job_id == job_id, JobRun.slot == slot)).first() is not None


def last_runs(job_ids) -> dict[str, JobRun]:
    """Each job's latest run."""
    latest = select(JobRun.job_id, db.func.max(JobRun.id).label("id")) \
        .where(JobRun.job_id.in_(list(job_ids))).group_by(JobRun.job_id).subquery()
    rows = db.session.execute(select(JobRun).join(latest, latest.c.id == JobRun.id)).scalars()
    return {row.job_id: row for row in rows}


def last_failures(job_ids) -> dict[str, JobRun]:
    """Each job's latest failed or interrupted run."""
    latest = select(JobRun.job_id, db.func.max(JobRun.id).label("id")) \
        .where(JobRun.job_id.in_(list(job_ids)),
               JobRun.status.in_(("failed", "interrupted"))) \
        .group_by(JobRun.job_id).subquery()
    rows = db.session.execute(select(JobRun).join(latest, latest.c.id == JobRun.id)).scalars()
    return {row.job_id: row for row in rows}


def overview(now: dt.datetime) -> list[dict]:
    """Each job with its schedule, next time, latest run and latest failure, and whether
    it is late: its schedule is on, yet no run started within two periods (a scheduler
    that is not running shows here, not as a missed call)."""
    from app.jobs import JOBS

    ids = [job.id for job in JOBS]
    runs, failures = last_runs(ids), last_failures(ids)
    states = []
    for job in JOBS:
        schedule = job.schedule
        last = runs.get(job.id)
        since = last.started_at if last is not None else None
        late = not schedule.off and (since is None or now - since > 2 * schedule.every)
        states.append({"job": job, "schedule": schedule, "last": last,
                       "failure": failures.get(job.id), "late": late,
                       "next_run_at": schedule.next_after(now)})
    return states
