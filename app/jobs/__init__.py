"""The scheduled jobs: what runs when, declared once.

Each job names the service function it calls (given the time it runs at, answering how
many rows it made or changed), its default schedule (app.jobs.schedule) and, where the
schedule's own does not fit, how late a slot may still run (its misfire grace); an
installation changes a schedule with CRM_JOB_SCHEDULES, e.g.
`{"reminders_digest": "daily 08:30", "reminders_birthdays": "off"}`. How a job is run
once per slot is app.jobs.runner's; who runs the schedule, app.jobs.scheduler's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Callable, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.database import db
from app.jobs.schedule import BadSchedule, Schedule
from app.services import (
    absences,
    list_exports,
    notifications,
    positions,
    reminders,
    report_subscriptions,
    report_tables,
)


@dataclass(frozen=True)
class Job:
    id: str
    label: object
    description: object
    default_schedule: str
    work: Callable[[dt.datetime], int]
    # How long the job's lock outlives a process that died holding it (SQLite's lease).
    lease: dt.timedelta = dt.timedelta(minutes=30)
    # How late a slot may still run; by default as its schedule says (app.jobs.schedule).
    grace: Optional[dt.timedelta] = None

    @property
    def schedule(self) -> Schedule:
        return schedule_of(self)

    @property
    def misfire_grace(self) -> dt.timedelta:
        return self.grace or self.schedule.misfire_grace


def _positions_upkeep(_now: dt.datetime) -> int:
    return positions.upkeep(db.session)


JOBS = [
    Job("reminders_overdue", _l("Overdue reminders"),
        _l("Tells each responsible of an interaction or task that became overdue, and each "
           "head of department once a day of the overdue work of the subtree."),
        "every 10m", reminders.overdue),
    Job("reminders_digest", _l("Morning digest"),
        _l("Today's interactions and tasks and the overdue count, to each user, in the "
           "bell and by e-mail."),
        "daily 07:00", reminders.digest),
    Job("reminders_no_plan", _l("Interests without a plan"),
        _l("Finds open interests that have no planned interaction or task (rule R1) and "
           "tells their responsible."),
        "every 1h", reminders.no_plan),
    Job("reminders_birthdays", _l("Birthdays"),
        _l("Announces the birthdays of contacts and of clients who are persons, the set "
           "number of days ahead."),
        "daily 08:00", reminders.birthdays),
    Job("reminders_stale_inquiries", _l("Unprocessed inquiries"),
        _l("Reminds the manager and their head of inquiries still new after the set number "
           "of hours."),
        "every 15m", reminders.stale_inquiries),
    Job("positions_upkeep", _l("Upkeep of the clients list"),
        _l("Folds the day's changes into the summary that finds the deep pages of the "
           "clients list, and cuts it again where it has grown uneven."),
        "daily 03:00", _positions_upkeep, lease=dt.timedelta(hours=2)),
    Job("notifications_cleanup", _l("Clean-up of old notifications"),
        _l("Deletes the notifications read more than 90 days ago; unread ones stay."),
        "daily 03:30", notifications.purge_read),
    Job("exports_pending", _l("Exports in the background"),
        _l("Writes the exports too large to wait for that no web process is writing: "
           "those queued, and those whose process stopped half-way."),
        "every 1m", list_exports.run_pending, lease=dt.timedelta(hours=2)),
    Job("exports_cleanup", _l("Clean-up of old export files"),
        _l("Deletes the files of exports made more than 7 days ago; the history of "
           "exports stays."),
        "daily 04:00", list_exports.purge_old),
    Job("reports_refresh", _l("Report tables"),
        _l("Folds the clients, interests, interactions and contacts changed since the last "
           "run, and the plans become overdue, into the tables the reports read."),
        "every 10m", report_tables.refresh_all),
    Job("reports_rebuild", _l("Report tables, whole"),
        _l("Computes the report tables whole, taking in what a refresh cannot see: a "
           "stage moved in its pipeline, the points of a type changed, a record deleted."),
        "daily 02:30", report_tables.rebuild_all, lease=dt.timedelta(hours=2)),
    Job("reports_subscriptions", _l("Report subscriptions"),
        _l("Sends the subscribed reports whose time has come by e-mail as Excel files, "
           "each as its subscriber sees it, and logs each sending."),
        "every 15m", report_subscriptions.send_due),
    Job("absences", _l("Absences"),
        _l("Hands an absent employee's open work to their deputy on the absence's first "
           "day, and returns what is still open after its last day."),
        "every 10m", absences.run_due),
]
BY_ID = {job.id: job for job in JOBS}


def overrides() -> dict[str, str]:
    """CRM_JOB_SCHEDULES: a JSON object, job id -> schedule."""
    raw = current_app.config.get("CRM_JOB_SCHEDULES") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise BadSchedule(f"CRM_JOB_SCHEDULES is not JSON: {error}") from None
    unknown = sorted(set(raw) - set(BY_ID))
    if unknown:
        raise BadSchedule(f"CRM_JOB_SCHEDULES names no such job: {', '.join(unknown)}")
    return raw


def schedule_of(job: Job) -> Schedule:
    return Schedule.parse(overrides().get(job.id, job.default_schedule))
