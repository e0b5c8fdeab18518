"""The reminder jobs at a million clients (about a million interactions and half a million
interests), next to the raw SQL that selects the same rows; and what the bell costs a page.

    .venv/bin/python bench/bench_reminders.py
    .venv/bin/python bench/bench_reminders.py --postgres ""      # SQLite only

The databases are bench_lists.py's (brought to the latest migration; clients generated
while there are fewer than --clients). Each job is the service function its scheduled job
calls (app.services.reminders), run as the scheduler runs it, e-mail off:

- first run: the notifications are made (the table is emptied before);
- steady run: the job runs again and finds nothing new, what every run after the first of
  a slot-long period does (the usual case);
- raw SQL: the statements that select the same rows for every user at once, with the same
  "not made yet" condition, without the access filter and without writing: the least any
  implementation must read. It is timed against the state of each run: before the first
  (nothing made yet) and after it.

Each figure is the median of --repeat runs (the first run: of --repeat runs, the
notifications emptied before each). The target is the steady run within 1.5× of its raw
SQL. Stock Flask-AppBuilder has no scheduler to compare with: APScheduler on its own runs a
job once per web worker (the design's notes).

The bell: the statement that reads the request's user (with the cache stamp) with and
without the unread count, for a user with --notifications unread ones (the bell counts up
to 100: "99+"), and the count on its own; the target is under 2 ms added.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_lists  # noqa: E402

TARGET_RATIO = 1.5
TARGET_BELL_MS = 2.0


def parse_args(argv=None):
    parser = bench_lists.both_databases_parser(__doc__.split("\n\n")[0], repeat=5)
    parser.add_argument("--notifications", type=int, default=20_000,
                        help="unread notifications of the bell's user")
    return parser.parse_args(argv)


# The raw statements: every user's rows at once. :now, :since and the others are bound.
RAW = {
    "reminders_overdue": [
        """SELECT i.id, i.responsible_id, i.subject, i.planned_at, c.name
           FROM crm_interaction i LEFT JOIN crm_client c ON c.id = i.client_id
           WHERE i.status = 'planned' AND i.planned_at >= :since AND i.planned_at < :now
             AND i.responsible_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM crm_notification n WHERE n.kind = 'overdue'
                 AND n.entity = 'interaction' AND n.record_id = i.id
                 AND n.user_id = i.responsible_id)""",
        """SELECT i.responsible_id, count(*) FROM crm_interaction i
           WHERE i.status = 'planned' AND i.planned_at < :now
             AND i.responsible_id IS NOT NULL GROUP BY i.responsible_id""",
    ],
    "reminders_digest": [
        """SELECT i.responsible_id, i.id, i.subject, i.planned_at, c.name
           FROM crm_interaction i LEFT JOIN crm_client c ON c.id = i.client_id
           WHERE i.status = 'planned' AND i.planned_at >= :day_start
             AND i.planned_at < :day_end AND i.responsible_id IS NOT NULL
           ORDER BY i.responsible_id, i.planned_at""",
        """SELECT i.responsible_id, count(*) FROM crm_interaction i
           WHERE i.status = 'planned' AND i.planned_at < :day_start
             AND i.responsible_id IS NOT NULL GROUP BY i.responsible_id""",
    ],
    "reminders_no_plan": [
        """SELECT it.id, it.responsible_id, it.title, c.name FROM crm_interest it
           LEFT JOIN crm_client c ON c.id = it.client_id
           WHERE it.closed_at IS NULL AND it.responsible_id IS NOT NULL
             AND it.stage_id IN (SELECT id FROM crm_stage WHERE kind = 'open')
             AND NOT EXISTS (SELECT 1 FROM crm_interaction x WHERE x.interest_id = it.id
                             AND x.status = 'planned')
             AND NOT EXISTS (SELECT 1 FROM crm_notification n WHERE n.kind = 'no_plan'
                 AND n.entity = 'interest' AND n.record_id = it.id
                 AND n.user_id = it.responsible_id AND n.day = :today)""",
    ],
    "reminders_birthdays": [
        """SELECT ct.id, ct.name, ct.birthday_key, c.name,
                  COALESCE(ct.responsible_id, c.responsible_id)
           FROM crm_contact ct JOIN crm_client c ON c.id = ct.client_id
           WHERE ct.birthday_key IN ({keys})
             AND NOT EXISTS (SELECT 1 FROM crm_notification n WHERE n.kind = 'birthday'
                 AND n.entity = 'contact' AND n.record_id = ct.id AND n.day >= :today)""",
        """SELECT c.id, c.name, c.birthday_key, c.responsible_id FROM crm_client c
           WHERE c.kind = 'person' AND c.birthday_key IN ({keys})
             AND NOT EXISTS (SELECT 1 FROM crm_notification n WHERE n.kind = 'birthday'
                 AND n.entity = 'client' AND n.record_id = c.id AND n.day >= :today)""",
    ],
    "reminders_stale_inquiries": [
        """SELECT q.id, q.manager_id, q.sender_company, q.sender_name, q.received_at
           FROM crm_inquiry q
           WHERE q.status = 'new' AND q.received_at < :cutoff
             AND NOT EXISTS (SELECT 1 FROM crm_notification n WHERE n.kind = 'stale_inquiry'
                 AND n.entity = 'inquiry' AND n.record_id = q.id AND n.day = :today)""",
    ],
}


def raw_params(now: dt.datetime) -> dict:
    from app.services import company_settings, reminders
    from app.services.clock import local_day_bounds_utc, to_local

    today = to_local(now).date()
    start, end = local_day_bounds_utc(today)
    keys = sorted(reminders.birthday_days(today, company_settings.value("birthday_days_ahead")))
    return {"now": now, "since": now - reminders.OVERDUE_LOOKBACK, "day_start": start,
            "day_end": end, "today": today, "keys": ", ".join(str(k) for k in keys),
            "cutoff": now - dt.timedelta(hours=company_settings.value("inquiry_stale_hours"))}


def time_raw(job_id: str, params: dict) -> tuple[float, int]:
    """(ms, rows) of the job's raw statements, one run."""
    from sqlalchemy import text

    from app.database import db

    rows = 0
    started = time.perf_counter()
    for statement in RAW[job_id]:
        sql = statement.replace("{keys}", params["keys"])
        values = {k: v for k, v in params.items() if f":{k}" in sql}
        rows += len(db.session.execute(text(sql), values).all())
    elapsed = (time.perf_counter() - started) * 1000
    db.session.rollback()
    return elapsed, rows


def empty_notifications() -> None:
    from sqlalchemy import text

    from app.database import db

    db.session.execute(text("DELETE FROM crm_notification"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE crm_notification"))
        db.session.commit()


def time_job(job, now: dt.datetime) -> tuple[float, int]:
    from app.database import db
    from app.services.actor import acting_as

    started = time.perf_counter()
    with acting_as(None, f"job:{job.id}"):
        made = job.work(now)
    elapsed = (time.perf_counter() - started) * 1000
    db.session.remove()
    return elapsed, made


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_jobs(app, repeat: int) -> list[tuple]:
    """[(job, first ms, raw before ms, steady ms, raw after ms, made, raw rows)]."""
    from app.jobs import BY_ID
    from app.models import utcnow

    rows = []
    with app.app_context():
        app.config["CRM_SMTP_URL"] = None
        for job_id in RAW:
            job = BY_ID[job_id]
            now = utcnow()
            params = raw_params(now)
            firsts, raw_before, steadies, raw_after = [], [], [], []
            made = raw_rows = 0
            for _ in range(repeat):
                empty_notifications()
                ms, raw_rows = time_raw(job_id, params)
                raw_before.append(ms)
                ms, made = time_job(job, now)
                firsts.append(ms)
            time_job(job, now)                                   # warm
            for _ in range(repeat):
                raw_after.append(time_raw(job_id, params)[0])
                steadies.append(time_job(job, now)[0])
            rows.append((job_id, median(firsts), median(raw_before), median(steadies),
                         median(raw_after), made, raw_rows))
            print(f"  {job_id}: done", flush=True)
        empty_notifications()
    return rows


def bench_bell(app, notifications: int, repeat: int) -> tuple[float, float, float]:
    """(user statement ms, the same with the count ms, the count alone ms) for a user with
    that many unread notifications among everyone's."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import joinedload

    from app.database import db
    from app.models import CrmUser, Notification
    from app.services import notifications as notes
    from app.services import stamp

    with app.app_context():
        user = db.session.execute(select(CrmUser).where(
            CrmUser.username == bench_lists.MODEL_MANAGER)).scalar()
        others = db.session.execute(select(CrmUser.id).where(CrmUser.id != user.id)
                                    .limit(20)).scalars().all()
        empty_notifications()
        today = dt.date.today()
        batch = [{"user_id": owner, "kind": "overdue", "entity": "interaction",
                  "record_id": n, "day": today, "payload": {"subject": "x"},
                  "created_at": dt.datetime.utcnow()}
                 for owner in [user.id, *others] for n in range(notifications)]
        for start in range(0, len(batch), 50_000):
            db.session.execute(Notification.__table__.insert(), batch[start:start + 50_000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE crm_notification"))
            db.session.commit()

        def user_statement(with_count: bool):
            columns = [CrmUser, stamp.current_stamp_column()]
            if with_count:
                columns.append(notes.unread_column(user.id))
            return select(*columns).where(CrmUser.id == user.id).options(
                joinedload(CrmUser.roles), joinedload(CrmUser.groups))

        def timed(statement) -> float:
            times = []
            for _ in range(repeat * 40):
                started = time.perf_counter()
                db.session.execute(statement).unique().all()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            return median(times)

        plain, counted = timed(user_statement(False)), timed(user_statement(True))
        alone = median([_timed_scalar(db, select(notes.unread_column(user.id)))
                        for _ in range(repeat * 40)])
        empty_notifications()
        db.session.remove()
    return plain, counted, alone


def _timed_scalar(db, statement) -> float:
    started = time.perf_counter()
    db.session.execute(statement).scalar()
    elapsed = (time.perf_counter() - started) * 1000
    db.session.rollback()
    return elapsed


def counts(app) -> dict:
    from sqlalchemy import text

    from app.database import db

    with app.app_context():
        found = {table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                 for table in ("crm_client", "crm_contact", "crm_interaction", "crm_interest",
                               "crm_inquiry", "ab_user")}
        db.session.remove()
    return found


def report(name: str, sizes: dict, rows: list[tuple], bell: tuple) -> list[str]:
    misses = []
    print(f"\n{name}: {sizes['crm_interaction']:,} interactions, {sizes['crm_interest']:,} "
          f"interests, {sizes['crm_contact']:,} contacts, {sizes['crm_inquiry']:,} "
          f"inquiries, {sizes['ab_user']:,} users")
    header = (f"{'job':28} {'first run':>10} {'made':>7} {'raw SQL':>9} {'rows':>7} "
              f"{'steady run':>11} {'raw SQL':>9} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for job_id, first, raw_before, steady, raw_after, made, raw_rows in rows:
        ratio = steady / raw_after if raw_after else float("inf")
        print(f"{job_id:28} {first:>8.0f}ms {made:>7,} {raw_before:>7.0f}ms {raw_rows:>7,} "
              f"{steady:>9.0f}ms {raw_after:>7.0f}ms {ratio:>5.2f}×")
        if ratio > TARGET_RATIO:
            misses.append(f"{name} {job_id}: steady run {ratio:.2f}× its raw SQL")
    plain, counted, alone = bell
    added = counted - plain
    print(f"bell: the request's user statement {plain:.2f} ms, with the unread count "
          f"{counted:.2f} ms (+{added:.2f} ms); the count alone {alone:.2f} ms")
    if added > TARGET_BELL_MS:
        misses.append(f"{name}: the bell adds {added:.2f} ms")
    return misses


def main(argv=None) -> int:
    args = parse_args(argv)
    bench_lists.quiet_logs()
    misses: list[str] = []
    for name, url in (("SQLite", args.sqlite and f"sqlite:///{args.sqlite}"),
                      ("PostgreSQL", args.postgres)):
        if not url:
            continue
        bench_lists.ensure_database(url)
        app = bench_lists.build_app(url)
        app.config["CRM_SCHEDULER"] = "off"
        bench_lists.prepare_database(app, args.clients, 1)
        print(f"{name}: timing the jobs", flush=True)
        rows = bench_jobs(app, args.repeat)
        bell = bench_bell(app, args.notifications, args.repeat)
        misses += report(name, counts(app), rows, bell)
    print()
    print("verdict: every steady run within 1.5× its raw SQL, and the bell under 2 ms"
          if not misses else "verdict: missed: " + "; ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
