"""List pages on a big database: stock Flask-AppBuilder, Voronka and raw SQL, side by side.

    .venv/bin/python bench/bench_lists.py --database-url sqlite:////tmp/voronka-bench.db
    .venv/bin/python bench/bench_lists.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/voronka_bench

The database is brought to the latest migration (`flask db upgrade`, never create_all),
roles and reference data are synced, and clients are generated when there are fewer than
--clients. A stock FAB ModelView and ModelRestApi over the same Client model are
registered on the same application, under their own routes, for this run only; the stock
view gets the same search form as Voronka's (FAB's default form would load every contact,
interest and interaction into its drop-downs on each page). Every
request goes through Flask's test client (no network) as a logged-in administrator, is
warmed up once and then timed in --repeat rounds of five runs in a row; the table shows
the median in ms, or the HTTP status when the answer was not 200. Stock and Voronka take
turns round by round, so that both sides of a comparison meet the same moments of a busy
machine. The raw SQL column
is the minimal SELECT of the same page run with the database driver: the floor any
framework adds to.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = f"sqlite:///{ROOT / 'bench' / 'results' / 'bench.db'}"
BENCH_USER = "bench_admin"
PAGE = 10_000            # the deep page, counted from 1 as a person does
PAGE_SIZE = 25
NAME_PREFIX = "ООО «Сибирь"
INN_PREFIX = "7707"
BURST = 5                # requests in a row, per round (see time_requests)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Deliberately not $DATABASE_URL: the bench adds a user, permissions and possibly a
    # million clients, and must not do so to a working database by accident.
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="SQLAlchemy URL of a database used for benchmarks only "
                             "(default: %(default)s)")
    parser.add_argument("--clients", type=int, default=1_000_000,
                        help="generate clients until there are at least this many "
                             "(default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help=f"rounds of {BURST} timed runs of each request; the median is "
                             "shown")
    parser.add_argument("--seed", type=int, default=1, help="seed of generated data")
    return parser.parse_args(argv)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database or the SQLite file's folder when missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return
    if parsed.get_backend_name() != "postgresql":
        return
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": parsed.database}).first()
            if not exists:
                print(f"Creating database {parsed.database}")
                connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        server.dispose()


# --- the application with a stock FAB view and API next to Voronka's -----------------------


def build_app(url: str):
    from flask_appbuilder import ModelRestApi, ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app import create_app
    from app.models import Client

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    views = {type(v).__name__: v for v in app.appbuilder.baseviews}
    voronka_view, voronka_api = views["ClientView"], views["ClientApi"]

    class StockClientView(ModelView):
        route_base = "/stockclientview"
        datamodel = SQLAInterface(Client)
        list_columns = ["name", "kind", "inn", "phone", "email", "responsible"]
        # The same search form as Voronka's. FAB's default offers every relation, one-to-
        # many ones included, and fills their drop-downs with every contact, interest and
        # interaction of the database on each list page: not measurable on a million.
        search_columns = list(voronka_view.search_columns)

    class StockClientApi(ModelRestApi):
        resource_name = "stockclient"
        datamodel = SQLAInterface(Client)
        list_columns = list(voronka_api.list_columns)
        page_size = PAGE_SIZE
        allow_browser_login = True  # the bench logs in once, with a session cookie

    with app.app_context():
        app.appbuilder.add_view_no_menu(StockClientView)
        app.appbuilder.add_api(StockClientApi)
    return app


def prepare_database(app, clients: int, seed: int) -> int:
    """Migrations, roles, reference data, the bench administrator, enough clients."""
    import flask_migrate
    from sqlalchemy import func, select

    from app import db
    from app.models import Client
    from app.services.generator import generate
    from app.services.setup import ensure_reference_data, sync_roles

    with app.app_context():
        flask_migrate.upgrade()
        if app.appbuilder.sm.find_role("Manager") is None:  # a fresh database
            sync_roles()
        ensure_reference_data()
        # Permissions of the stock view and API (FAB gives them to the Admin role).
        app.appbuilder.add_permissions(update_perms=True)
        have = db.session.execute(select(func.count()).select_from(Client)).scalar()
        if have < clients:
            print(f"The database has {have:,} clients: generating {clients - have:,} more")
            generate(clients=clients - have, seed=seed + have, echo=print)
            have = db.session.execute(select(func.count()).select_from(Client)).scalar()
        password = secrets.token_urlsafe(16)
        sm = app.appbuilder.sm
        user = sm.find_user(username=BENCH_USER)
        if user is None:
            user = sm.add_user(username=BENCH_USER, first_name="Bench", last_name="Admin",
                               email=f"{BENCH_USER}@voronka.local",
                               role=sm.find_role(app.config["AUTH_ROLE_ADMIN"]),
                               password=password)
            assert user, "the bench administrator could not be created"
        else:
            sm.reset_password(user.id, password)
        db.session.remove()
    app.config["BENCH_PASSWORD"] = password
    return have


def login(app):
    client = app.test_client()
    response = client.post("/login/", data={"username": BENCH_USER,
                                             "password": app.config["BENCH_PASSWORD"]})
    if response.status_code != 302:
        raise SystemExit(f"Login failed: HTTP {response.status_code}")
    return client


# --- what is measured ---------------------------------------------------------------------


def rison_string(value: str) -> str:
    """A rison string literal: quoted, with ! and ' escaped by !."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def html_cases(view: str, route: str) -> dict[str, str]:
    base = f"{route}/list/"
    q = urllib.parse.urlencode
    return {
        "list, first page": base,
        f"list, page {PAGE:,}": f"{base}?{q({f'page_{view}': PAGE - 1})}",
        f"name starts with '{NAME_PREFIX}'": f"{base}?{q({'_flt_0_name': NAME_PREFIX})}",
        f"INN starts with '{INN_PREFIX}'": f"{base}?{q({'_flt_0_inn': INN_PREFIX})}",
        "order by manager": f"{base}?{q({f'_oc_{view}': 'responsible', f'_od_{view}': 'asc'})}",
    }


def api_cases(resource: str) -> dict[str, str]:
    base = f"/api/v1/{resource}/"
    filtered = (f"(filters:!((col:name,opr:sw,value:{rison_string(NAME_PREFIX)})),"
                f"page:0,page_size:{PAGE_SIZE})")
    return {
        "API list, first page": f"{base}?q=(page:0,page_size:{PAGE_SIZE})",
        f"API name starts with '{NAME_PREFIX}'":
            f"{base}?q={urllib.parse.quote(filtered, safe='(),:!')}",
    }


def _default_order(view, dialect) -> str:
    """The ORDER BY of the view's list when the user has not chosen one."""
    kind, order = view.datamodel.resolve_order(*(view.base_order or ("", "")))
    if kind != "column":
        return "crm_client.id DESC"
    return ", ".join(str(term.compile(dialect=dialect)) for term in order)


def raw_sql_cases(view, api, dialect) -> dict[str, tuple[str, tuple]]:
    """The minimal SELECT of each page, in the view's default order, for the DB driver."""
    from app.datamodel import _next_prefix
    from app.models import SEARCH_SHADOWS, Client

    normalise = SEARCH_SHADOWS[Client]["name"][1]
    name = normalise(NAME_PREFIX)
    name_range = ("WHERE crm_client.name_search >= ? AND crm_client.name_search < ?",
                  (name, _next_prefix(name)))
    order_by = _default_order(view, dialect)
    api_order_by = _default_order(api, dialect)
    columns = ("SELECT crm_client.id, crm_client.name, crm_client.kind, crm_client.inn, "
               "crm_client.phone, crm_client.email, u.first_name, u.last_name "
               "FROM crm_client LEFT JOIN ab_user u ON u.id = crm_client.responsible_id")
    page = f"ORDER BY {order_by} LIMIT {PAGE_SIZE}"
    cases = {
        "list, first page": (f"{columns} {page}", ()),
        f"list, page {PAGE:,}": (f"{columns} {page} OFFSET {(PAGE - 1) * PAGE_SIZE}", ()),
        f"name starts with '{NAME_PREFIX}'": (f"{columns} {name_range[0]} {page}",
                                              name_range[1]),
        f"INN starts with '{INN_PREFIX}'": (
            f"{columns} WHERE crm_client.inn >= ? AND crm_client.inn < ? {page}",
            (INN_PREFIX, _next_prefix(INN_PREFIX))),
        "order by manager": (
            f"{columns} ORDER BY u.first_name, u.last_name, u.id, crm_client.id "
            f"LIMIT {PAGE_SIZE}", ()),
    }
    api_page = f"ORDER BY {api_order_by} LIMIT {PAGE_SIZE}"
    cases["API list, first page"] = (f"{columns} {api_page}", ())
    cases[f"API name starts with '{NAME_PREFIX}'"] = (
        f"{columns} {name_range[0]} {api_page}", name_range[1])
    if dialect.name == "postgresql":
        cases = {k: (sql.replace("?", "%s"), params) for k, (sql, params) in cases.items()}
    return cases


class Errors(logging.Handler):
    """The first line of each exception a request raised, to explain an HTTP 500.

    The application's error handlers log the exception and answer with an error page; this
    handler keeps the exception's first line instead of printing the traceback.
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen: dict[str, str] = {}
        self.current = ""
        for name in ("app.errors", "flask_appbuilder"):
            logger = logging.getLogger(name)
            logger.setLevel(logging.ERROR)
            logger.propagate = False
            logger.disabled = False
            logger.handlers = [self]

    def emit(self, record: logging.LogRecord) -> None:
        exception = record.exc_info[1] if record.exc_info else None
        text = (f"{type(exception).__name__}: {exception}" if exception
                else record.getMessage())
        self.seen.setdefault(self.current, text.splitlines()[0][:200])


class SqlTimer:
    """Time spent in the database driver, and statements run, during one request."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.seconds = 0.0
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.seconds += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.statements += 1

    def reset(self) -> None:
        self.seconds, self.statements = 0.0, 0


class Measure:
    """Median time of a request, the database's share of it, its status."""

    def __init__(self, ms: float, sql_ms: float, statements: int, status: int):
        self.ms, self.sql_ms, self.statements, self.status = ms, sql_ms, statements, status

    @property
    def ok(self) -> bool:
        return self.status == 200

    def cell(self) -> str:
        return f"{self.ms:,.1f}" if self.ok else f"HTTP {self.status}"

    def sql_cell(self) -> str:
        return f"{self.sql_ms:,.1f} / {self.statements}" if self.ok else ""


def time_requests(client, urls: dict[str, str], rounds: int, errors: Errors, sql: SqlTimer,
                  label: str) -> dict[str, Measure]:
    """Each URL's time: the median over `rounds` of the median of BURST requests in a row.

    The URLs take turns round by round, so that a slower moment of the machine falls on
    all of them alike. Within a round a URL is requested several times in a row: a request
    pays for the garbage collection of the requests before it, and one stock request
    between two Voronka ones would bill Voronka for stock's garbage."""
    rounds_ms = {name: [] for name in urls}
    rounds_sql = {name: [] for name in urls}
    statements, status = {}, {}
    for name, url in urls.items():  # warm-up
        errors.current = f"{name} {label}"
        client.get(url).get_data()
    for _ in range(rounds):
        for name, url in urls.items():
            errors.current = f"{name} {label}"
            timings, sql_timings = [], []
            for _ in range(BURST):
                sql.reset()
                started = time.perf_counter()
                response = client.get(url)
                response.get_data()
                timings.append((time.perf_counter() - started) * 1000)
                sql_timings.append(sql.seconds * 1000)
            rounds_ms[name].append(statistics.median(timings))
            rounds_sql[name].append(statistics.median(sql_timings))
            statements[name], status[name] = sql.statements, response.status_code
    return {name: Measure(statistics.median(rounds_ms[name]),
                          statistics.median(rounds_sql[name]), statements[name], status[name])
            for name in urls}


def time_sql(engine, sql: str, params: tuple, repeat: int) -> float:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql, params)
        cursor.fetchall()
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return statistics.median(timings)


COLUMNS = [("request", 38), ("stock FAB", 9), ("its SQL", 11), ("Voronka", 8),
           ("its SQL", 10), ("raw SQL", 8), ("FAB/Voronka", 11)]


def row(values) -> str:
    cells = [f"{value:<{width}}" if index == 0 else f"{value:>{width}}"
             for index, (value, (_title, width)) in enumerate(zip(values, COLUMNS))]
    return "| " + " | ".join(cells) + " |"


MANAGER = "manager001"


def manager_table(app, repeat: int, errors, sql_timer) -> list[str]:
    """The same lists as a manager sees them: only their own clients (the access filter)."""
    from app import db

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=MANAGER)
        if user is None:
            print(f"\n(no user {MANAGER}: the manager's figures are skipped)")
            return []
        password = secrets.token_urlsafe(16) + "Aa1"
        sm.reset_password(user.id, password)
        from app.models import Client
        from sqlalchemy import func, select

        owned = db.session.execute(select(func.count()).select_from(Client)
                                   .where(Client.responsible_id == user.id)).scalar()
        db.session.remove()
    client = app.test_client()
    response = client.post("/login/", data={"username": MANAGER, "password": password})
    if response.status_code != 302:
        print(f"\n(login as {MANAGER} failed: HTTP {response.status_code})")
        return []
    q = urllib.parse.urlencode
    cases = {
        "list, first page": "/clientview/list/",
        "list, page 100": f"/clientview/list/?{q({'page_ClientView': 99})}",
        f"name starts with '{NAME_PREFIX}'": f"/clientview/list/?{q({'_flt_0_name': NAME_PREFIX})}",
        f"INN starts with '{INN_PREFIX}'": f"/clientview/list/?{q({'_flt_0_inn': INN_PREFIX})}",
        "order by manager": f"/clientview/list/?{q({'_oc_ClientView': 'responsible', '_od_ClientView': 'asc'})}",
        **api_cases("client"),
    }
    print(f"\nA manager's own clients ({MANAGER}, {owned:,} of them; the access filter on):")
    print("| request                                |  Voronka |    its SQL |")
    print("|----------------------------------------|----------|------------|")
    failures = []
    for label, url in cases.items():
        result = time_requests(client, {"manager": url}, repeat, errors, sql_timer,
                               label)["manager"]
        if not result.ok or result.ms > 50:
            failures.append("manager: " + label)
        print(f"| {label:<38} | {result.cell():>8} | {result.sql_cell():>10} |", flush=True)
    return failures


def main(argv=None) -> int:
    from config import normalize_database_url

    args = parse_args(argv)
    url = normalize_database_url(args.database_url)
    logging.basicConfig(level=logging.ERROR)
    for name in ("flask_appbuilder", "app", "werkzeug"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ensure_database(url)
    app = build_app(url)
    app.logger.setLevel(logging.CRITICAL)
    clients = prepare_database(app, args.clients, args.seed)
    errors = Errors()
    client = login(app)

    from app import db

    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        views = {type(v).__name__: v for v in app.appbuilder.baseviews}
        sql_cases = raw_sql_cases(views["ClientView"], views["ClientApi"], engine.dialect)
    stock_html = html_cases("StockClientView", "/stockclientview")
    voronka_html = html_cases("ClientView", "/clientview")
    stock_api = api_cases("stockclient")
    voronka_api = api_cases("client")
    labels = list(voronka_html) + list(voronka_api)
    stock_urls = {**stock_html, **stock_api}
    voronka_urls = {**voronka_html, **voronka_api}

    sql_timer = SqlTimer(engine)
    print(f"\nVoronka list benchmark: {dialect}, {clients:,} clients; median of "
          f"{args.repeat} rounds of {BURST} runs in ms, HTTP 200 unless another status is shown; \"its SQL\" = ms in the "
          "database driver / statements")
    print(row(title for title, _width in COLUMNS))
    print("|" + "|".join("-" * (width + 2) for _title, width in COLUMNS) + "|")
    failures = []
    for label in labels:
        measures = time_requests(client, {"stock": stock_urls[label],
                                          "Voronka": voronka_urls[label]},
                                 args.repeat, errors, sql_timer, label)
        stock, voronka = measures["stock"], measures["Voronka"]
        sql, params = sql_cases[label]
        with app.app_context():
            raw_ms = time_sql(engine, sql, params, args.repeat)
        if stock.ok and voronka.ok:
            ratio = f"{stock.ms / voronka.ms:.1f}×"
        else:
            ratio = "FAB fails" if voronka.ok else "—"
        if not voronka.ok or voronka.ms > 50 or (stock.ok and stock.ms < 5 * voronka.ms):
            failures.append(label)
        print(row([label, stock.cell(), stock.sql_cell(), voronka.cell(), voronka.sql_cell(),
                   f"{raw_ms:,.1f}", ratio]), flush=True)
    for label, message in errors.seen.items():
        print(f"  {label}: {message}")
    failures += manager_table(app, args.repeat, errors, sql_timer)
    if failures:
        print("\nOff target (≤ 50 ms and ≥ 5× faster than stock FAB): " + ", ".join(failures))
    else:
        print("\nEvery Voronka figure is within 50 ms and at least 5× faster than stock FAB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
