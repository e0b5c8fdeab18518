"""The reports on a big company, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/bench_reports.py
    .venv/bin/python bench/bench_reports.py --postgres ""   # SQLite only

Each database is made for the bench (migrations, roles, reference data): --clients
generated clients (`flask crm generate`: about 0.5 interests and 1 interaction each), their
interactions topped up with done copies of earlier weeks to --interactions in all, and each
interest's stage history (created in the first stage of its pipeline, then moved or closed
into the stage it is in).

Then, for each report table, the job's time (app.services.report_tables, computed whole,
median of --repeat) next to the raw SQL aggregate that computes the same numbers from the
live tables without writing them (the driver alone: the funnel's counts, sums and times
in stage per month, stage and manager; the motivator's points per manager and day; the
control's indicators added up per manager), and the ratio (target within 1.5×); the time
of a refresh after a working day's changes (the 100 latest interests and the 1,000 latest
done interactions). On PostgreSQL the tables are vacuumed between the runs, as
autovacuum would (the bench's server may run without it).

And each grid's response as the administrator, who sees every figure: the funnel by stages
for a year, by managers, by departments, the motivator for a month, the control and the
quality, drill-downs' first pages; median of --repeat through Flask's test client (server
time: routing, rights, queries, JSON), with its SQL statements (target under 100 ms).
Stock Flask-AppBuilder has no reports: the raw SQL column is what a grid costs without
the report tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_board import build_app, fresh_database, timed  # noqa: E402

PASSWORD = "Bench-Reports-Pass-1"
JOB_RATIO = 1.5
GRID_MS = 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default=str(ROOT / "bench" / "results" / "reports.db"),
                        help="SQLite file, made again (default: %(default)s; '' = skip)")
    parser.add_argument("--postgres",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/voronka_reports",
                        help="PostgreSQL database, dropped and made again "
                             "(default: %(default)s; '' = skip)")
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args(argv)


# --- the data ----------------------------------------------------------------------------------


def _shifted(dialect: str, column: str, days: int) -> str:
    if dialect == "postgresql":
        return f"{column} - interval '{days} days'"
    # As the application writes times on SQLite: with their microseconds.
    return f"strftime('%Y-%m-%d %H:%M:%S.000000', {column}, '-{days} days')"


def top_up_interactions(connection, dialect: str, target: int) -> int:
    """Done copies of the interactions, a week earlier each round, until `target`."""
    from sqlalchemy import text

    from app.models import Interaction

    columns = [c.name for c in Interaction.__table__.columns if c.name != "id"]
    have = connection.execute(text("SELECT count(*) FROM crm_interaction")).scalar()
    week = 1
    while have < target:
        chosen = []
        for name in columns:
            if name in ("planned_at", "created_on", "changed_on"):
                chosen.append(_shifted(dialect, name, 7 * week))
            elif name == "done_at":
                chosen.append(_shifted(dialect, "coalesce(done_at, planned_at)", 7 * week))
            elif name == "status":
                chosen.append("'done'")
            else:
                chosen.append(name)
        limit = target - have
        connection.execute(text(
            f"INSERT INTO crm_interaction ({', '.join(columns)}) "
            f"SELECT {', '.join(chosen)} FROM crm_interaction ORDER BY id LIMIT {limit}"))
        have = connection.execute(text("SELECT count(*) FROM crm_interaction")).scalar()
        week += 1
    return have


FIRST_STAGES = """
SELECT s.pipeline_id, s.id, s.name FROM crm_stage s
WHERE s.kind = 'open' AND s.sort = (SELECT min(t.sort) FROM crm_stage t
                                    WHERE t.pipeline_id = s.pipeline_id AND t.kind = 'open')
"""


def stage_history(connection, dialect: str) -> int:
    from sqlalchemy import text

    later = ("i.created_on + (i.id % 15) * interval '1 day'" if dialect == "postgresql"
             else "strftime('%Y-%m-%d %H:%M:%S.000000', i.created_on, "
                  "'+' || (i.id % 15) || ' days')")
    connection.execute(text(f"""
        INSERT INTO crm_stage_change (interest_id, action, from_stage_id, to_stage_id,
                                      from_stage_name, to_stage_name, changed_at)
        SELECT i.id, 'create', NULL, f.id, NULL, f.name, i.created_on
        FROM crm_interest i JOIN ({FIRST_STAGES}) f ON f.pipeline_id = i.pipeline_id"""))
    connection.execute(text(f"""
        INSERT INTO crm_stage_change (interest_id, action, from_stage_id, to_stage_id,
                                      from_stage_name, to_stage_name, changed_at)
        SELECT i.id, CASE WHEN st.kind = 'open' THEN 'move' ELSE 'close' END, f.id, st.id,
               f.name, st.name, coalesce(i.closed_at, {later})
        FROM crm_interest i JOIN crm_stage st ON st.id = i.stage_id
        JOIN ({FIRST_STAGES}) f ON f.pipeline_id = i.pipeline_id
        WHERE st.id <> f.id"""))
    return connection.execute(text("SELECT count(*) FROM crm_stage_change")).scalar()


def fill(app, args) -> dict:
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Interest
    from app.sample_data.generator import generate

    with app.app_context():
        generate(clients=args.clients, seed=11, echo=lambda *_: None)
        dialect = db.engine.dialect.name
        with db.engine.begin() as connection:
            interactions = top_up_interactions(connection, dialect, args.interactions)
            changes = stage_history(connection, dialect)
            # The company's records were last changed before today: a refresh folds in
            # only what the bench changes itself.
            for table in ("crm_client", "crm_contact", "crm_interest", "crm_interaction"):
                connection.exec_driver_sql(
                    f"UPDATE {table} SET changed_on = {_shifted(dialect, 'changed_on', 1)}")
            # As a database in use would be: its planner knows the tables' sizes.
            connection.exec_driver_sql("ANALYZE")
        interests = db.session.execute(select(func.count()).select_from(Interest)).scalar()
        sm = app.appbuilder.sm
        sm.add_user("bench_reports", "Bench", "Reports", "reports@bench.local",
                    sm.find_role(app.config["AUTH_ROLE_ADMIN"]), password=PASSWORD)
        db.session.commit()
    return {"interests": interests, "interactions": interactions, "changes": changes}


# --- the jobs ----------------------------------------------------------------------------------


def _median_seconds(work, repeat: int, after=None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
        if after is not None:
            after()
    return statistics.median(times)


def vacuum(app, name: str) -> None:
    """On PostgreSQL, what autovacuum does after a table was written whole (the bench's
    server may run without it): the old rows' room given back, the new rows counted."""
    from app.database import db
    from app.services import report_tables

    if db.engine.dialect.name != "postgresql":
        return
    tables = [report_tables.TABLE_MODELS[name].__tablename__]
    if name == "funnel":
        tables.append("crm_report_funnel_month")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")


def raw_funnel_sql(app) -> str:
    """The funnel's numbers straight from the live tables: the job's own SELECTs of each
    interest's course and time in stages, added up per month, pipeline, stage and
    responsible (by the month interests started in, and by the month they were won in)
    instead of written, as literal SQL for the driver."""
    from sqlalchemy import true, union_all

    from app.database import db
    from app.services import report_tables

    with app.app_context():
        facts = report_tables._funnel_rows(None).cte("facts")
        stays = report_tables._stay_rows(None).cte("ended_stays")
        parts = []
        for kind, moment in (("started", facts.c.started_at), ("closed", facts.c.closed_at)):
            parts += report_tables.funnel_sums(kind, true(),
                                               report_tables._local_month(moment, 180),
                                               facts, stays)
        query = union_all(*parts)
        return str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))


def raw_clients_sql(app) -> str:
    """The control's per-manager figures straight from the live tables: each client's
    indicators (the job's own SELECT) added up per responsible, every one of them (a
    column left unused would not be computed)."""
    from sqlalchemy import case, func, select

    from app.database import db
    from app.models import Client
    from app.services import report_tables

    with app.app_context():
        facts = report_tables._client_rows(select(Client.id),
                                           dt.datetime.utcnow()).subquery()
        (_client, responsible, open_interests, overdue, planned, contacts, bare, portrait,
         reachable, duplicate, colour) = list(facts.c)

        def count(condition):
            return func.sum(case((condition, 1), else_=0))

        query = select(
            responsible, func.count(), *(count(colour == name)
                                         for name in ("green", "yellow", "red")),
            count(open_interests > 0), count(overdue > 0), count(portrait.is_(False)),
            count(reachable.is_(False)), count(duplicate.is_(True)), func.sum(open_interests),
            func.sum(overdue), func.sum(planned), func.sum(contacts), func.sum(bare),
        ).group_by(responsible)
        return str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))


def raw_activity_sql(dialect: str, minutes: int) -> str:
    day = (f"CAST(i.done_at + interval '{minutes} minutes' AS date)" if dialect == "postgresql"
           else f"date(i.done_at, '+{minutes} minutes')")
    return f"""SELECT {day}, i.responsible_id, count(*), coalesce(sum(t.points), 0)
               FROM crm_interaction i LEFT JOIN crm_dictionary_item t ON t.id = i.type_id
               WHERE i.status = 'done' AND i.responsible_id IS NOT NULL
               GROUP BY {day}, i.responsible_id"""


def jobs(app, args) -> list[tuple]:
    from sqlalchemy import select, update

    from app.database import db
    from app.models import Interaction, Interest
    from app.services import report_tables

    with app.app_context():
        dialect = db.engine.dialect.name
        raws = {"funnel": raw_funnel_sql(app), "activity": raw_activity_sql(dialect, 180),
                "clients": raw_clients_sql(app)}
        rows = []
        for name in ("funnel", "activity", "clients"):
            job = _median_seconds(lambda name=name: report_tables.compute(name, full=True),
                                  args.repeat, after=lambda name=name: vacuum(app, name))
            facts = report_tables.state(name).rows

            def raw(sql=raws[name]):
                with db.engine.connect() as connection:
                    connection.exec_driver_sql(sql).all()

            rows.append((name, facts, job, _median_seconds(raw, args.repeat)))
        # A working day's changes: the interests and interactions most lately touched.
        recent_interests = select(Interest.id).order_by(Interest.id.desc()).limit(100)
        recent_done = select(Interaction.id).where(Interaction.done_at.is_not(None)) \
            .order_by(Interaction.done_at.desc()).limit(1000)
        db.session.execute(update(Interest).where(Interest.id.in_(recent_interests))
                           .values(changed_on=dt.datetime.utcnow()))
        db.session.execute(update(Interaction).where(Interaction.id.in_(recent_done))
                           .values(changed_on=dt.datetime.utcnow()))
        db.session.commit()
        report_tables.refresh_all()  # what the bulk load itself changed, folded in first
        # What autovacuum does a minute after a table is written whole (the bench's
        # PostgreSQL may run without it): the planner learns the report tables' sizes.
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        start = time.perf_counter()
        report_tables.refresh_all()
        refresh = time.perf_counter() - start
    return rows, refresh


# --- the grids ---------------------------------------------------------------------------------


def grids(app, args) -> list[tuple]:
    from sqlalchemy import select

    from app.database import db
    from app.models import Pipeline, Stage

    client = app.test_client()
    answer = client.post("/login/", data={"username": "bench_reports", "password": PASSWORD})
    assert answer.status_code == 302
    with app.app_context():
        pipeline = db.session.execute(select(Pipeline.id).where(
            Pipeline.is_default.is_(True))).scalar()
        stage = db.session.execute(select(Stage.id).where(
            Stage.pipeline_id == pipeline, Stage.kind == "won")).scalar()
    today = dt.date.today()
    year = f"start={today - dt.timedelta(days=365)}&end={today}&pipeline={pipeline}"
    month = f"start={today - dt.timedelta(days=30)}&end={today}"
    paths = [("funnel, a year", f"/api/v1/report/funnel?{year}"),
             ("funnel by managers", f"/api/v1/report/funnel?{year}&view=managers"),
             ("funnel by departments", f"/api/v1/report/funnel?{year}&view=departments"),
             ("funnel page (HTML)", f"/reports/funnel/?{year}"),
             ("motivator, a month", f"/api/v1/report/motivator?{month}"),
             ("motivator page (HTML)", f"/reports/motivator/?{month}"),
             ("drill-down, won", f"/api/v1/report/funnel/drill?{year}&stage={stage}"),
             ("control by clients", "/api/v1/report/control?view=clients"),
             ("control, touches", f"/api/v1/report/control?{month}&view=touches"),
             ("control page (HTML)", "/reports/control/"),
             ("quality", "/api/v1/report/quality"),
             ("drill-down, red", "/api/v1/report/control/drill?check=red")]
    return [(label, *timed(app, client, path, args.repeat)) for label, path in paths]


def bench(url: str, args):
    app = build_app(fresh_database(url))
    sizes = fill(app, args)
    job_rows, refresh = jobs(app, args)
    grid_rows = grids(app, args)
    with app.app_context():
        from app.database import db
        db.engine.dispose()
    return sizes, job_rows, refresh, grid_rows


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    targets = [("SQLite", f"sqlite:///{args.sqlite}" if args.sqlite else ""),
               ("PostgreSQL", args.postgres)]
    verdicts = []
    for name, url in targets:
        if not url:
            continue
        started = time.perf_counter()
        sizes, job_rows, refresh, grid_rows = bench(url, args)
        print(f"\n{name}: {sizes['interests']:,} interests, {sizes['interactions']:,} "
              f"interactions, {sizes['changes']:,} stage changes "
              f"(made and measured in {time.perf_counter() - started:.0f} s)")
        print(f"  {'report table':<14} {'facts':>9} {'job, s':>8} {'raw SQL, s':>10} "
              f"{'ratio':>6}  target ≤ {JOB_RATIO}×")
        for table, facts, job, raw in job_rows:
            ratio = job / raw if raw else float("inf")
            verdicts.append(ratio <= JOB_RATIO)
            print(f"  {table:<14} {facts:>9,} {job:>8.2f} {raw:>10.2f} {ratio:>6.2f}  "
                  f"{'ok' if ratio <= JOB_RATIO else 'MISSED'}")
        print(f"  refresh after a day's changes (100 interests, 1,000 interactions): "
              f"{refresh:.2f} s")
        print(f"  {'grid':<24} {'ms':>7} {'SQL stmts':>9}  target < {GRID_MS} ms")
        for label, ms, statements in grid_rows:
            verdicts.append(ms < GRID_MS)
            print(f"  {label:<24} {ms:>7.1f} {statements:>9}  "
                  f"{'ok' if ms < GRID_MS else 'MISSED'}")
    print("\nverdict:", "every target met" if all(verdicts) else "some targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
