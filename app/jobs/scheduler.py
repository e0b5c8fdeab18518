"""Who runs the schedule: one APScheduler in one process.

- Embedded (CRM_SCHEDULER=embedded, the default): `make run` starts it inside the web
  server. Of several worker processes exactly one runs it: the one holding an exclusive
  lock on instance/scheduler.lock; the others try again every minute, so when that worker
  dies another takes over.
- Dedicated: `flask crm scheduler` runs it in a process of its own; the web processes
  are then started with CRM_SCHEDULER=off and run none.

Either way each run goes through app.jobs.runner, which the database guards: two
schedulers started by mistake, or on two hosts, still run each slot once. On start a
job whose latest slot has not run (the server was down) catches up once, when that slot
is within the job's misfire grace.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from pathlib import Path
from typing import Callable, Optional

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.jobs import BY_ID, JOBS, runner
from app.models import utcnow

log = logging.getLogger(__name__)

RETRY_LOCK_SECONDS = 60


def fire(app: Flask, job_id: str, trigger: str = "schedule") -> None:
    """Run a job for its current slot (APScheduler calls this at each slot)."""
    with app.app_context():
        job = BY_ID[job_id]
        slot = job.schedule.slot_at(utcnow())
        if slot is not None:
            runner.run(job, slot, trigger)


def due_catch_ups(now: dt.datetime) -> list[str]:
    """The jobs whose latest slot, within its misfire grace, has not run."""
    due = []
    for job in JOBS:
        slot = job.schedule.slot_at(now)
        if slot is None or now - slot > job.misfire_grace:
            continue
        if not runner.has_run(job.id, slot):
            due.append(job.id)
    return due


def build(app: Flask, scheduler_class=BackgroundScheduler):
    """A scheduler with every job that is not off, and a catch-up run for those whose
    latest slot did not run."""
    with app.app_context():
        scheduler = scheduler_class(timezone=dt.timezone.utc)
        for job in JOBS:
            schedule = job.schedule
            if schedule.off:
                continue
            scheduler.add_job(fire, trigger=schedule.trigger(), args=(app, job.id), id=job.id,
                              name=job.id, coalesce=True, max_instances=1,
                              misfire_grace_time=int(job.misfire_grace.total_seconds()),
                              replace_existing=True)
        try:
            due = due_catch_ups(utcnow())
        except Exception:  # noqa: BLE001 - the database is away: the slots run on time
            log.exception("the jobs' last runs could not be read; no catch-up this time")
            due = []
        for job_id in due:
            scheduler.add_job(fire, args=(app, job_id, "catch_up"), id=f"catch_up:{job_id}",
                              coalesce=True, max_instances=1, misfire_grace_time=None)
    return scheduler


def run_forever(app: Flask, announce: Callable[[], None] = lambda: None) -> None:
    """`flask crm scheduler`: run the schedule in this process until stopped by Ctrl+C or
    SIGTERM (a service manager's stop). `announce` tells that it runs, once a stop is
    already sure to be clean."""
    state = _stop_on_interrupt_and_terminate()
    announce()
    scheduler = build(app, BlockingScheduler)
    try:
        state["running"] = True
        if state["asked"]:
            return
        log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def _stop_on_interrupt_and_terminate() -> dict:
    """Ctrl+C (SIGINT) and SIGTERM stop the process cleanly. A process started in the
    background by a shell (`flask crm scheduler &`, nohup) inherits SIGINT ignored, and
    Python then leaves it so; SIGTERM would end Python without its clean-up. While the
    schedule is still being built, a stop waits until it is (raised there, it could fall
    in the middle of entering an application context): {"asked", "running"}."""
    state = {"asked": False, "running": False}

    def stop(signum, frame):
        if state["running"]:
            raise SystemExit(0)
        state["asked"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return state


_embedded: dict = {}


def start_embedded(app: Flask, lock_path: Optional[Path] = None) -> None:
    """Start the schedule in this web process if no other process of this installation
    runs it (an exclusive lock on a file in the instance folder); otherwise keep trying,
    so that one takes over when the one that runs it stops."""
    if app.config.get("CRM_SCHEDULER", "embedded") != "embedded" or _embedded:
        return
    lock_path = lock_path or Path(app.config["CRM_INSTANCE_DIR"]) / "scheduler.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the life of the process
    _embedded["handle"] = handle

    def try_lock() -> bool:
        if not _exclusive(handle):
            return False
        try:
            scheduler = build(app)
            scheduler.start()
        except Exception:  # noqa: BLE001 - a web worker never dies of its scheduler
            log.exception("the scheduler could not start in this web process")
            return True
        _embedded["scheduler"] = scheduler
        log.info("scheduler started in this web process")
        return True

    if try_lock():
        return

    def keep_trying():
        stop = _embedded.setdefault("stop", threading.Event())
        while not stop.wait(RETRY_LOCK_SECONDS):
            if try_lock():
                return

    threading.Thread(target=keep_trying, name="voronka-scheduler-standby", daemon=True).start()


def _exclusive(handle) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: one waitress process, nobody to share with
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def stop_embedded() -> None:
    scheduler = _embedded.pop("scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    stop = _embedded.pop("stop", None)
    if stop is not None:
        stop.set()
    handle = _embedded.pop("handle", None)
    if handle is not None:
        handle.close()


def next_run_at(job_id: str) -> Optional[dt.datetime]:
    """When the job runs next by its schedule (naive UTC), or None (off)."""
    return BY_ID[job_id].schedule.next_after(utcnow())
