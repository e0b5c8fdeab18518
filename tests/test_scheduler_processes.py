"""Two schedulers started by mistake on one database (`flask crm scheduler` twice), with
the overdue reminders every second instead of every ten minutes: each slot runs once, in
one process or the other, and no reminder is made twice. On PostgreSQL the job's lock is
an advisory lock; on SQLite the lease row (the suite runs this on both)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from app.jobs import JOBS
from app.models import Interaction, JobRun, Notification

ROOT = Path(__file__).resolve().parent.parent
RUN_SECONDS = 14


def _scheduler(database_url: str, instance: Path, in_background: bool = False
               ) -> subprocess.Popen:
    """`flask crm scheduler`; `in_background` as a shell starts `… &`: SIGINT ignored."""
    schedules = {job.id: "off" for job in JOBS}
    schedules["reminders_overdue"] = "every 1s"
    env = {**os.environ, "DATABASE_URL": database_url, "CRM_INSTANCE_DIR": str(instance),
           "CRM_JOB_SCHEDULES": json.dumps(schedules), "FLASK_APP": "app:create_app",
           "SECRET_KEY": "scheduler-test-key"}
    ignore_interrupt = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    return subprocess.Popen([sys.executable, "-m", "flask", "crm", "scheduler"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=ignore_interrupt if in_background else None)


def _stopped(*processes: subprocess.Popen) -> list[str]:
    """Their outputs once they stopped. One that does not stop within 30 s is killed (it
    would go on running jobs on the database of the tests after it), the others are still
    waited for, and the test fails."""
    outputs, stuck = [], []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=30)[0])
        except subprocess.TimeoutExpired:
            process.kill()
            stuck.append(process.communicate()[0])
    assert not stuck, "a scheduler did not stop when told to:\n" + "\n".join(stuck)
    return outputs


def test_two_schedulers_run_each_slot_once(app, dbx, database_url, tmp_path):
    now = dt.datetime.utcnow()
    manager = dbx.user_id("manager")
    dbx.insert(Interaction, [{"subject": f"Звонок {i}", "status": "planned",
                              "planned_at": now - dt.timedelta(minutes=i + 1),
                              "responsible_id": manager} for i in range(30)])
    started = dt.datetime.utcnow()
    # The second started as a shell's background job, which stops on SIGINT all the same.
    processes = [_scheduler(database_url, tmp_path / "one"),
                 _scheduler(database_url, tmp_path / "two", in_background=True)]
    try:
        time.sleep(RUN_SECONDS)
        # Overdue work keeps arriving while they run.
        dbx.insert(Interaction, [{"subject": "Ещё звонок", "status": "planned",
                                  "planned_at": dt.datetime.utcnow() - dt.timedelta(seconds=1),
                                  "responsible_id": manager}])
        time.sleep(3)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        outputs = _stopped(*processes)
    runs = dbx.all(select(JobRun).where(JobRun.job_id == "reminders_overdue")
                   .order_by(JobRun.slot))
    slots = [run.slot for run in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    assert {run.status for run in runs} == {"succeeded"}, [r.error for r in runs if r.error]
    # Every second from the first slot to the last has its run (a slot that fell while
    # the previous one was still running is the only one allowed to be missing).
    first, last = slots[0], slots[-1]
    expected = int((last - first).total_seconds()) + 1
    assert len(slots) >= max(10, int(expected * 0.9)), (len(slots), expected, outputs)
    assert first >= started - dt.timedelta(seconds=1)
    # Made once each, whichever process made them: 31 overdue calls and the head's summary.
    assert dbx.count(Notification, Notification.kind == "overdue") == 31
    assert dbx.count(Notification, Notification.kind == "overdue_team") == 1
    print(f"{len(slots)} slots of {expected} seconds; by "
          f"{sorted({run.runner for run in runs})}")


def test_the_scheduler_stops_on_sigterm(app, database_url, tmp_path):
    """As a service manager stops it: the running loop ends and the process exits cleanly."""
    process = _scheduler(database_url, tmp_path, in_background=True)
    output = []
    hung = threading.Timer(60, process.kill)  # one that never starts ends the reading
    hung.start()
    for line in process.stdout:
        output.append(line)
        if line.startswith("Scheduler running"):
            break
    hung.cancel()
    process.terminate()
    output += _stopped(process)
    assert process.returncode == 0, "".join(output)
