"""The board "My sales" on a big pipeline, on SQLite and PostgreSQL side by side.

    .venv/bin/python bench/bench_board.py
    .venv/bin/python bench/bench_board.py --postgres ""   # SQLite only

Each database is made for the bench (migrations, roles, reference data) and filled with
bulk inserts: a department of --managers managers with --per-manager open interests each
(spread over the open stages, each with its next planned interaction from ten days overdue
to a month ahead, and its stage history), a tenth as many closed in the last 30 days, and
a few hundred new inquiries. Then, logged in through the login form:

- a manager, who sees their own --per-manager open interests;
- the head of the department, who sees the whole subtree (managers × per-manager).

Each request is warmed up once and timed --repeat times in this process with Flask's test
client (server time: routing, rights, queries and the template, no network); the median is
shown, with the number of SQL statements. "raw SQL" is the board's two essential
statements (the grouped totals and the first 20 cards of every column) run with the
database driver alone, for the same user's rows.
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

PASSWORD = "Bench-Board-Pass-1"
TARGETS = {"manager": 150, "head": 300}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default=str(ROOT / "bench" / "results" / "board.db"),
                        help="SQLite file, made again (default: %(default)s; '' = skip)")
    parser.add_argument("--postgres",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/voronka_board",
                        help="PostgreSQL database, dropped and made again "
                             "(default: %(default)s; '' = skip)")
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--per-manager", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    return parser.parse_args(argv)


# --- the database ------------------------------------------------------------------------------


def fresh_database(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return url
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return url


def build_app(url: str):
    import flask_migrate

    from app import create_app
    from app.database import db
    from app.services.setup import ensure_reference_data, sync_roles

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False,
                     RATELIMIT_ENABLED=False)
    with app.app_context():
        flask_migrate.upgrade()
        sync_roles()
        ensure_reference_data()
        db.session.commit()
    return app


def fill(app, managers: int, per_manager: int) -> dict:
    """Users, a department and the interests; {"manager": username, "head": username}."""
    from sqlalchemy import insert, select

    from app.database import db
    from app.models import (
        Department,
        DictionaryItem,
        Inquiry,
        Interaction,
        Interest,
        Pipeline,
        Stage,
        StageChange,
    )

    rng = random.Random(7)
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Manager")
        head = sm.add_user("bench_head", "Head", "Bench", "head@bench.local", role,
                           password=PASSWORD)
        people = [sm.add_user(f"bench_m{n}", "Manager", f"{n}", f"m{n}@bench.local", role,
                              password=PASSWORD) for n in range(managers)]
        department = Department(name="Bench sales", head_id=head.id)
        db.session.add(department)
        db.session.flush()
        for user in [head, *people]:
            user.department_id = department.id
        db.session.commit()

        pipeline = db.session.execute(select(Pipeline).where(
            Pipeline.is_default.is_(True))).scalar_one()
        stages = db.session.execute(select(Stage).where(Stage.pipeline_id == pipeline.id)
                                    .order_by(Stage.sort)).scalars().all()
        open_stages = [s for s in stages if s.kind == "open"]
        closed = [s for s in stages if s.kind != "open"]
        call = db.session.execute(select(DictionaryItem.id).where(
            DictionaryItem.kind == "interaction_type", DictionaryItem.code == "call")).scalar()
        now = dt.datetime.utcnow().replace(microsecond=0)
        interests, plans, changes = [], [], []
        pk = 0
        for user in people:
            for n in range(per_manager + per_manager // 10):
                pk += 1
                is_closed = n >= per_manager
                stage = rng.choice(closed if is_closed else open_stages)
                created = now - dt.timedelta(days=rng.randint(1, 90))
                closed_at = now - dt.timedelta(days=rng.randint(0, 29)) if is_closed else None
                interests.append({
                    "id": pk, "title": f"Поставка {pk}", "title_search": f"поставка {pk}",
                    "pipeline_id": pipeline.id, "stage_id": stage.id,
                    "amount": rng.randint(10, 5000) * 1000, "currency": "RUB",
                    "responsible_id": user.id, "potential_name": f"Клиент {pk}",
                    "flagged": rng.random() < 0.02, "closed_at": closed_at,
                    "closed_by_id": user.id if is_closed else None, "version": 1,
                    "next_at": None,
                    "created_on": created, "changed_on": created})
                changes.append({"interest_id": pk, "action": "close" if is_closed else "move",
                                "to_stage_id": stage.id, "to_stage_name": stage.name,
                                "changed_at": closed_at or created + dt.timedelta(days=1),
                                "changed_by_id": user.id})
                if not is_closed:
                    interests[-1]["next_at"] = now + dt.timedelta(hours=rng.randint(-240, 720))
                    plans.append({
                        "subject": "Звонок", "type_id": call, "interest_id": pk,
                        "responsible_id": user.id, "status": "planned", "version": 1,
                        "planned_at": interests[-1]["next_at"],
                        "created_on": now, "changed_on": now})
        inquiries = [{"channel": "call", "text": f"Запрос {n}", "sender_name": f"Отправитель {n}",
                      "received_at": now - dt.timedelta(hours=n), "status": "new",
                      "manager_id": people[n % len(people)].id, "version": 1,
                      "created_on": now, "changed_on": now} for n in range(300)]
        for table, rows in ((Interest, interests), (Interaction, plans),
                            (StageChange, changes), (Inquiry, inquiries)):
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(table.__table__), rows[start:start + 5000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
        else:
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
        return {"manager": people[0].username, "head": head.username,
                "manager_id": people[0].id, "people": [u.id for u in people]}


# --- timing --------------------------------------------------------------------------------------


def login(app, username: str):
    client = app.test_client()
    answer = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, (username, answer.status_code)
    return client


def timed(app, client, path: str, repeat: int) -> tuple[float, int]:
    from sqlalchemy import event

    from app.database import db

    with app.app_context():
        engine = db.engine
    statements = []

    def count(*_args):
        statements.append(1)

    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    times = []
    for _ in range(repeat):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times), len(statements)


RAW_TOTALS = """
SELECT i.stage_id, count(*), sum(i.amount) FROM crm_interest i
WHERE i.responsible_id IN ({owners}) AND i.pipeline_id = {pipeline}
  AND (i.closed_at IS NULL OR i.closed_at >= :since)
GROUP BY i.stage_id"""
RAW_CARDS = """
SELECT id, stage_id, next_at FROM (
  SELECT i.id, i.stage_id, i.next_at,
         row_number() OVER (PARTITION BY i.stage_id ORDER BY i.flagged DESC, i.next_at) AS r
  FROM crm_interest i
  WHERE i.responsible_id IN ({owners}) AND i.pipeline_id = {pipeline}
    AND (i.closed_at IS NULL OR i.closed_at >= :since)) numbered
WHERE r <= 20"""


def raw_sql(app, owners: list[int], repeat: int) -> float:
    from sqlalchemy import select, text

    from app.database import db
    from app.models import Pipeline

    with app.app_context():
        pipeline = db.session.execute(select(Pipeline.id).where(
            Pipeline.is_default.is_(True))).scalar()
        since = dt.datetime.utcnow() - dt.timedelta(days=30)
        owner_list = ", ".join(str(o) for o in owners)
        statements = [text(sql.format(owners=owner_list, pipeline=pipeline))
                      for sql in (RAW_TOTALS, RAW_CARDS)]
        times = []
        with db.engine.connect() as connection:
            for _ in range(repeat + 1):
                start = time.perf_counter()
                for statement in statements:
                    connection.execute(statement, {"since": since}).all()
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times[1:])


def bench(url: str, args) -> list[tuple]:
    app = build_app(fresh_database(url))
    who = fill(app, args.managers, args.per_manager)
    rows = []
    for role, username, owners, seen in (
            ("manager", who["manager"], [who["manager_id"]], args.per_manager),
            ("head", who["head"], who["people"], args.per_manager * args.managers)):
        client = login(app, username)
        page, page_statements = timed(app, client, "/board/", args.repeat)
        api, _ = timed(app, client, "/api/v1/kanban", args.repeat)
        listing, _ = timed(app, client, "/board/?mode=list", args.repeat)
        raw = raw_sql(app, owners, args.repeat)
        rows.append((role, seen, page, page_statements, api, listing, raw))
    with app.app_context():
        from app.database import db
        db.engine.dispose()
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    targets = [("SQLite", f"sqlite:///{args.sqlite}" if args.sqlite else ""),
               ("PostgreSQL", args.postgres)]
    print(f"The board: {args.managers} managers × {args.per_manager} open interests "
          f"(+10 % closed lately), median of {args.repeat}, ms of server time\n")
    print(f"{'database':<11} {'who':<8} {'open seen':>9} {'board page':>10} {'SQL stmts':>9} "
          f"{'kanban API':>10} {'list mode':>9} {'raw SQL':>8}  target")
    verdicts = []
    for name, url in targets:
        if not url:
            continue
        for role, seen, page, statements, api, listing, raw in bench(url, args):
            target = TARGETS[role]
            ok = page < target and api < target
            verdicts.append(ok)
            print(f"{name:<11} {role:<8} {seen:>9,} {page:>10.1f} {statements:>9} {api:>10.1f} "
                  f"{listing:>9.1f} {raw:>8.1f}  < {target} {'ok' if ok else 'MISSED'}")
    print("\nverdict:", "every board within its target" if all(verdicts)
          else "some boards missed their target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
