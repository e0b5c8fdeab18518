"""The calendar on a big database: a manager's week and a head's day, on SQLite and
PostgreSQL in one run, next to stock Flask-AppBuilder and raw SQL.

    .venv/bin/python bench/bench_calendar.py
    .venv/bin/python bench/bench_calendar.py --postgres ""   # SQLite only

Each database is made for the bench (migrations, roles, reference data) and filled with
bulk inserts: a department of --managers managers and its head, --clients clients, and
--interactions interactions in all: the busy manager's --busy items planned in this week
(company time), every manager's --per-day items planned on each working day of this week,
and the rest done over the two years before, spread over the managers. Then, logged in
through the login form:

- the busy manager's week: `GET /api/v1/calendar?start=…&end=…` and the calendar screen's
  `GET /calendar/events` (what FullCalendar loads);
- the head's day (the week's Wednesday) and week with the department side by side:
  `GET /calendar/team`.

Each request is warmed up once and timed --repeat times with Flask's test client (server
time: routing, rights, queries, JSON or the template, no network); the median is shown,
with the number of SQL statements. "stock FAB" is a stock ModelRestApi over the
interactions asked for the same rows with its filters (the responsible and the period; for
the head's day the period alone: stock FAB has no access filter and no side by side), as
the administrator; "raw SQL" is the same rows with their type, client and interest read
with the database driver alone. Target: the week and the head's day under 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_board import fresh_database, login, timed  # noqa: E402

PASSWORD = "Bench-Board-Pass-1"  # bench_board.login's
TARGET_MS = 100
BATCH = 10_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default=str(ROOT / "bench" / "results" / "calendar.db"),
                        help="SQLite file, made again (default: %(default)s; '' = skip)")
    parser.add_argument("--postgres",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/voronka_calendar",
                        help="PostgreSQL database, dropped and made again "
                             "(default: %(default)s; '' = skip)")
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--busy", type=int, default=2_000)
    parser.add_argument("--per-day", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=7)
    return parser.parse_args(argv)


# --- the application and its data ------------------------------------------------------------


def build_app(url: str):
    import flask_migrate
    from flask_appbuilder import ModelRestApi
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app import create_app
    from app.database import db
    from app.models import Interaction
    from app.services.setup import ensure_reference_data, sync_roles

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False,
                     RATELIMIT_ENABLED=False, FAB_API_MAX_PAGE_SIZE=5000)

    class StockInteractionApi(ModelRestApi):
        resource_name = "stockinteraction"
        datamodel = SQLAInterface(Interaction)
        list_columns = ["id", "subject", "status", "planned_at", "version", "type.name",
                        "client.name", "interest.title", "responsible.id"]
        allow_browser_login = True

    with app.app_context():
        flask_migrate.upgrade()
        sync_roles()
        ensure_reference_data()
        app.appbuilder.add_api(StockInteractionApi)
        db.session.commit()
    return app


def this_week():
    """Monday 00:00 of this week, company time, and the same as naive UTC."""
    from app.services.clock import local_today, to_utc

    monday = local_today() - dt.timedelta(days=local_today().weekday())
    return monday, to_utc(dt.datetime.combine(monday, dt.time.min))


def fill(app, args) -> dict:
    from sqlalchemy import insert, select

    from app.database import db
    from app.models import Client, Department, DictionaryItem, Interaction

    rng = random.Random(11)
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Manager")
        admin = sm.add_user("bench_admin", "Admin", "Bench", "admin@bench.local",
                            sm.find_role(app.config["AUTH_ROLE_ADMIN"]), password=PASSWORD)
        head = sm.add_user("bench_head", "Head", "Bench", "head@bench.local", role,
                           password=PASSWORD)
        # Only the busy manager logs in: the others' passwords are not worth hashing.
        people = [sm.add_user(f"bench_m{n}", "Manager", f"{n:02d}", f"m{n}@bench.local", role,
                              **({"password": PASSWORD} if n == 0 else
                                 {"hashed_password": "-"}))
                  for n in range(args.managers)]
        department = Department(name="Bench sales", head_id=head.id)
        db.session.add(department)
        db.session.flush()
        for user in [head, *people]:
            user.department_id = department.id
        db.session.commit()
        ids = [user.id for user in people]
        types = db.session.execute(select(DictionaryItem.id).where(
            DictionaryItem.kind == "interaction_type")).scalars().all()
        now = dt.datetime.utcnow().replace(microsecond=0)

        clients = [{"name": f"ООО «Клиент {n}»", "name_search": f"ооо клиент {n}",
                    "kind": "company",
                    "responsible_id": ids[n % len(ids)], "version": 1,
                    "created_on": now, "changed_on": now} for n in range(args.clients)]
        for start in range(0, len(clients), BATCH):
            db.session.execute(insert(Client.__table__), clients[start:start + BATCH])
        client_of = {}
        for client_id, owner in db.session.execute(select(Client.id, Client.responsible_id)):
            client_of.setdefault(owner, []).append(client_id)

        _monday, week_start = this_week()

        def row(user_id, planned_at, status):
            done = status == "done"
            return {"subject": rng.choice(("Звонок", "Встреча", "Письмо", "Презентация")),
                    "type_id": rng.choice(types), "status": status,
                    "client_id": rng.choice(client_of[user_id]),
                    "responsible_id": user_id, "planned_at": planned_at,
                    "done_at": planned_at if done else None,
                    "result": "Поговорили" if done else None, "version": 1,
                    "created_on": now, "changed_on": now}

        planned = []
        for _ in range(args.busy):  # the busy manager's week, 08:00-20:00 company time
            planned.append(row(ids[0], week_start + dt.timedelta(
                days=rng.randrange(7), minutes=5 * rng.randrange(144)) + dt.timedelta(hours=5),
                "planned"))
        for user_id in ids[1:]:
            for day in range(5):
                for _ in range(args.per_day):
                    planned.append(row(user_id, week_start + dt.timedelta(
                        days=day, hours=5, minutes=15 * rng.randrange(48)), "planned"))
        written = 0
        for start in range(0, len(planned), BATCH):
            db.session.execute(insert(Interaction.__table__), planned[start:start + BATCH])
        written += len(planned)
        two_years = 2 * 365 * 24 * 60
        while written < args.interactions:
            batch = [row(rng.choice(ids), week_start - dt.timedelta(
                minutes=rng.randrange(60, two_years)), "done")
                for _ in range(min(BATCH, args.interactions - written))]
            db.session.execute(insert(Interaction.__table__), batch)
            written += len(batch)
        db.session.commit()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        return {"manager": people[0].username, "manager_id": ids[0], "head": head.username,
                "people": ids, "admin": admin.username}


# --- the measures ---------------------------------------------------------------------------

RAW = """
SELECT i.id, i.subject, i.status, i.planned_at, i.planned_minutes, i.version, t.code, t.name,
       c.name, n.title
FROM crm_interaction i
LEFT JOIN crm_dictionary_item t ON t.id = i.type_id
LEFT JOIN crm_client c ON c.id = i.client_id
LEFT JOIN crm_interest n ON n.id = i.interest_id
WHERE i.responsible_id IN ({owners}) AND i.planned_at >= :start AND i.planned_at < :end
ORDER BY i.responsible_id, i.planned_at"""


def raw_sql(app, owners: list[int], start, end, repeat: int) -> tuple[float, int]:
    from sqlalchemy import text

    from app.database import db

    statement = text(RAW.format(owners=", ".join(str(o) for o in owners)))
    with app.app_context():
        times, count = [], 0
        with db.engine.connect() as connection:
            for _ in range(repeat + 1):
                began = time.perf_counter()
                count = len(connection.execute(statement, {"start": start, "end": end}).all())
                times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times[1:]), count


def stock_query(start, end, owner=None) -> str:
    filters = [f"(col:planned_at,opr:ge,value:'{start.isoformat()}')",
               f"(col:planned_at,opr:lt,value:'{end.isoformat()}')"]
    if owner is not None:
        filters.insert(0, f"(col:responsible,opr:rel_o_m,value:{owner})")
    return (f"/api/v1/stockinteraction/?q=(filters:!({','.join(filters)}),"
            f"order_column:planned_at,order_direction:asc,page_size:5000)")


def stock_permissions(app) -> None:
    with app.app_context():
        views = {type(v).__name__: v for v in app.appbuilder.baseviews}
        view = views["StockInteractionApi"]
        app.appbuilder.sm.add_permissions_view(view.base_permissions,
                                               view.class_permission_name)


def bench(url: str, args) -> list[tuple]:
    app = build_app(fresh_database(url))
    began = time.perf_counter()
    who = fill(app, args)
    filled = time.perf_counter() - began
    stock_permissions(app)
    with app.app_context():
        monday, week_start = this_week()
        from app.services.clock import to_utc

        # The head's day is the week's Wednesday: a working day whatever day the bench runs.
        today = monday + dt.timedelta(days=2)
        day_start = to_utc(dt.datetime.combine(today, dt.time.min))
    week_end = week_start + dt.timedelta(days=7)
    day_end = day_start + dt.timedelta(days=1)
    next_monday = monday + dt.timedelta(days=7)
    manager, head = login(app, who["manager"]), login(app, who["head"])
    admin = login(app, who["admin"])
    rows = []
    week_raw, week_rows = raw_sql(app, [who["manager_id"]], week_start, week_end, args.repeat)
    stock_week, _ = timed(app, admin, stock_query(week_start, week_end, who["manager_id"]),
                          args.repeat)
    for label, client, path, stock, raw, count in [
        ("my week, API", manager,
         f"/api/v1/calendar?start={monday}&end={next_monday}", stock_week, week_raw,
         week_rows),
        ("my week, screen", manager,
         f"/calendar/events?start={monday}T00:00:00&end={next_monday}T00:00:00",
         stock_week, week_raw, week_rows),
    ]:
        ms, statements = timed(app, client, path, args.repeat)
        rows.append((label, count, ms, statements, stock, raw, True))
    day_raw, day_rows = raw_sql(app, who["people"], day_start, day_end, args.repeat)
    stock_day, _ = timed(app, admin, stock_query(day_start, day_end), args.repeat)
    ms, statements = timed(app, head, f"/calendar/team?day={today}", args.repeat)
    rows.append(("head's day", day_rows, ms, statements, stock_day, day_raw, True))
    team_raw, team_rows = raw_sql(app, who["people"], week_start, week_end, args.repeat)
    stock_team, _ = timed(app, admin, stock_query(week_start, week_end), args.repeat)
    ms, statements = timed(app, head, f"/calendar/team?span=week&day={today}", args.repeat)
    rows.append(("head's week", team_rows, ms, statements, stock_team, team_raw, False))
    with app.app_context():
        from app.database import db

        db.engine.dispose()
    return rows, filled


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    targets = [("SQLite", f"sqlite:///{args.sqlite}" if args.sqlite else ""),
               ("PostgreSQL", args.postgres)]
    print(f"The calendar: {args.interactions:,} interactions, {args.managers} managers and "
          f"their head; the busy manager has {args.busy:,} items planned this week, the "
          f"others {args.per_day} a working day; median of {args.repeat}, ms of server "
          f"time\n")
    print(f"{'database':<11} {'page':<16} {'items':>6} {'Voronka':>8} {'SQL stmts':>9} "
          f"{'stock FAB':>9} {'raw SQL':>8}  target")
    verdicts = []
    for name, url in targets:
        if not url:
            continue
        rows, filled = bench(url, args)
        for label, count, ms, statements, stock, raw, targeted in rows:
            verdict = ""
            if targeted:
                ok = ms < TARGET_MS
                verdicts.append(ok)
                verdict = f"< {TARGET_MS} {'ok' if ok else 'MISSED'}"
            print(f"{name:<11} {label:<16} {count:>6,} {ms:>8.1f} {statements:>9} "
                  f"{stock:>9.1f} {raw:>8.1f}  {verdict}")
        print(f"{'':<11} (filled in {filled:.0f} s)")
    print("\nverdict:", "every target met" if all(verdicts) else "some targets missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
