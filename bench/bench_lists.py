"""The pages users open on a big database: stock Flask-AppBuilder, Voronka and raw SQL.

    .venv/bin/python bench/bench_lists.py --database-url sqlite:///$PWD/bench/results/sqlite-1m.db
    .venv/bin/python bench/bench_lists.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/voronka_bench

The database is brought to the latest migration (`flask db upgrade`, never create_all); a
new one gets the roles and reference data, and clients are generated while there are
fewer than --clients. The bench changes nothing it did not create: it adds its own
administrator, and its own manager in the department of `manager001` with a role of its own
(the Manager role reading its department and sub-departments, as the department's head
does), logs in as them, and it registers a stock FAB ModelView and ModelRestApi
over the same Client model, under their own routes, with their permissions.

Each request is timed twice: through Flask's test client in this process (with the time
spent in the database driver and the statements run), and over real HTTP against the
same application served by gunicorn in a process of its own (one worker), on a kept-open
connection. A request is warmed up once, then timed in --repeat rounds of five in a row;
the tables show the median in ms, or the HTTP status when the answer was not 200. Stock
and Voronka take turns round by round, so that both meet the same moments of a busy
machine. The raw SQL column is the minimal SELECT of the same page run with the database
driver. Where the two sides do different work, the notes under the table say what
differs. The last line is the verdict: every Voronka figure within 50 ms, and at least
5× faster than stock FAB on the first page, or which figures are not and why.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = f"sqlite:///{ROOT / 'bench' / 'results' / 'bench.db'}"
BENCH_ADMIN = "bench_admin"
BENCH_MANAGER = "bench_manager"
MODEL_MANAGER = "manager001"   # the bench's manager works in this manager's department
BENCH_ROLE = "Bench: department reader"
PAGE = 10_000                  # the deep page, counted from 1 as a person does
MANAGER_PAGE = 5_000           # a manager's deep page (their department has ~200,000)
PAGE_SIZE = 25
NAME_PREFIX = "ООО «Сибирь"
INN_PREFIX = "7707"
NAME_PART = "Логинов"          # a surname inside persons' names
PHONE_PART = "786-76"          # digits from the middle of a number, typed as shown
EMAIL_PART = "loginov"
BURST = 5                      # requests in a row, per round (see time_requests)
TARGET_MS = 50
TARGET_RATIO = 5
NO_SEARCH_INDEX = ("a contains-search reads the whole table until the search indexes "
                   "of the search release exist")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Deliberately not $DATABASE_URL: the bench adds users, permissions and possibly a
    # million clients, and must not do so to a working database by accident.
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="SQLAlchemy URL of a database used for benchmarks only "
                             "(default: %(default)s)")
    parser.add_argument("--clients", type=int, default=1_000_000,
                        help="generate clients until there are at least this many "
                             "(default: %(default)s; 0 = never)")
    parser.add_argument("--repeat", type=int, default=5,
                        help=f"rounds of {BURST} timed runs of each request; the median is "
                             "shown")
    parser.add_argument("--seed", type=int, default=1, help="seed of generated data")
    parser.add_argument("--no-http", action="store_true",
                        help="time through Flask's test client only")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
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

    # CSRF off: the bench logs in by posting the form without reading it first.
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


def views_of(app) -> dict:
    return {type(v).__name__: v for v in app.appbuilder.baseviews}


@dataclass
class Setup:
    clients: int
    admin_password: str
    manager_password: Optional[str]   # None: no model manager, no manager's table
    model_manager_id: Optional[int] = None
    manager_sees: int = 0


def prepare_database(app, clients: int, seed: int) -> Setup:
    """Migrations; roles and reference data on a new database; enough clients; the
    permissions of the stock view and API; the bench's own administrator and manager."""
    import flask_migrate
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Client
    from app.sample_data.generator import generate
    from app.services.setup import ensure_reference_data, sync_roles

    with app.app_context():
        flask_migrate.upgrade()
        sm = app.appbuilder.sm
        if sm.find_role("Manager") is None:  # a new database
            sync_roles()
            ensure_reference_data()
        views = views_of(app)
        for name in ("StockClientView", "StockClientApi"):
            # Adds what is missing only; FAB gives new permissions to the Admin role.
            sm.add_permissions_view(views[name].base_permissions,
                                    views[name].class_permission_name)
        have = db.session.execute(select(func.count()).select_from(Client)).scalar()
        if have < clients:
            print(f"The database has {have:,} clients: generating {clients - have:,} more")
            generate(clients=clients - have, seed=seed + have, echo=print)
            have = db.session.execute(select(func.count()).select_from(Client)).scalar()
        setup = Setup(have, own_user(app, BENCH_ADMIN, "Admin",
                                     [sm.find_role(app.config["AUTH_ROLE_ADMIN"])], None),
                      None)
        model = sm.find_user(username=MODEL_MANAGER)
        if model is not None and model.department_id is not None:
            setup.manager_password = own_user(app, BENCH_MANAGER, "Manager",
                                              [department_reader_role(app)],
                                              model.department_id)
            setup.model_manager_id = model.id
            setup.manager_sees = clients_of_subtree(model.department_id)
        db.session.remove()
    return setup


def clients_of_subtree(department_id: int) -> int:
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Client, CrmUser
    from app.services.access import subtree

    return db.session.execute(
        select(func.count()).select_from(Client).join(CrmUser, CrmUser.id == Client.responsible_id)
        .where(CrmUser.department_id.in_(sorted(subtree(department_id))))).scalar()


def department_reader_role(app):
    """The bench's own role: the Manager role's permissions and rights, but reading the
    records of the department and its sub-departments, as the head of a sales department
    does. Made on the first run and left as it is."""
    from sqlalchemy import select

    from app.database import db
    from app.models import RoleRight
    from app.services.access import OWNED_ENTITIES, SUBTREE

    sm = app.appbuilder.sm
    role = sm.find_role(BENCH_ROLE)
    if role is not None:
        return role
    manager = sm.find_role("Manager")
    role = sm.add_role(BENCH_ROLE)
    role.permissions = list(manager.permissions)
    for right in db.session.execute(select(RoleRight).where(RoleRight.role_id == manager.id)
                                    ).scalars().all():
        scope = right.scope
        if right.action == "read" and right.entity in OWNED_ENTITIES:
            scope = max(scope, SUBTREE)
        db.session.add(RoleRight(role_id=role.id, entity=right.entity, action=right.action,
                                 scope=scope))
    db.session.commit()
    return role


def own_user(app, username: str, last_name: str, roles, department_id) -> str:
    """The bench's own user, made on the first run; a new password on every run. Returns
    the password."""
    from app.database import db
    from app.models import CrmUser

    sm = app.appbuilder.sm
    password = secrets.token_urlsafe(16) + "Aa1"
    user = sm.find_user(username=username)
    if user is None:
        user = sm.add_user(username=username, first_name="Bench", last_name=last_name,
                           email=f"{username}@bench.voronka.local", role=roles,
                           password=password)
        assert user, f"the bench user {username} could not be created"
    else:
        sm.reset_password(user.id, password)
    crm_user = db.session.get(CrmUser, user.id)
    if crm_user.department_id != department_id or set(crm_user.roles) != set(roles):
        crm_user.department_id = department_id
        crm_user.roles = list(roles)
        db.session.commit()
    return password


# --- the two ways of asking: Flask's test client, real HTTP ------------------------------------


class TestClientSide:
    """Requests through Flask's test client, in this process."""

    name = "test client"

    def __init__(self, app):
        self.client = app.test_client()

    def login(self, username: str, password: str) -> int:
        return self.client.post("/login/", data={"username": username,
                                                 "password": password}).status_code

    def get(self, url: str) -> int:
        response = self.client.get(url)
        response.get_data()
        return response.status_code


class HttpSide:
    """Requests over one kept-open HTTP connection, with the session's cookies."""

    name = "HTTP"

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def _request(self, method: str, url: str, body: Optional[str] = None) -> int:
        return self.fetch(method, url, body)[0]

    def fetch(self, method: str, url: str, body: Optional[str] = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, url, body, headers)
                response = self.connection.getresponse()
                content = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle kept-open connection: open another.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=120)
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value
        return response.status, content

    def login(self, username: str, password: str) -> int:
        return self._request("POST", "/login/", urllib.parse.urlencode(
            {"username": username, "password": password}))

    def get(self, url: str) -> int:
        return self._request("GET", url)


def serve(url: str) -> None:
    """The bench's application (stock views included) served by gunicorn as run.py
    serves Voronka, one worker; prints the port once it listens."""
    import run
    from app.database import db

    quiet_logs()
    app = build_app(url)
    with app.app_context():
        db.engine.dispose()
    options = {**run.gunicorn_options("127.0.0.1", 0, 1, 4), "keepalive": 300,
               "timeout": 600, "loglevel": "warning"}
    run.serve_with_gunicorn(app, options, on_ready=lambda port: print(port, flush=True))


class Server:
    """`serve` in a process of its own."""

    def __init__(self, url: str):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--database-url", url], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        port: list[int] = []

        def read():
            for line in self.process.stdout:
                if line.strip().isdigit():
                    port.append(int(line))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(120)
        if not port:
            self.stop()
            raise SystemExit("The served application did not start")
        self.port = port[0]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


# --- what is measured ---------------------------------------------------------------------


@dataclass
class Case:
    label: str
    voronka: str
    stock: Optional[str] = None            # the same request to stock FAB, if it has one
    raw: Optional[tuple[str, tuple]] = None
    differs: str = ""                       # keys of DIFFERENCES
    why_slow: Optional[str] = None          # the known reason when it misses 50 ms
    ratio_target: bool = False              # must be TARGET_RATIO× faster than stock


def rison_string(value: str) -> str:
    """A rison string literal: quoted, with ! and ' escaped by !."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def filter_index(view, column: str, arg_name: str) -> int:
    """The index of a filter in the list URL (`_flt_<index>_<column>`) on this view."""
    for index, candidate in enumerate(view._filters.get_search_filters()[column]):
        if candidate.arg_name == arg_name:
            return index
    raise LookupError(f"{type(view).__name__} has no {arg_name} filter on {column}")


# What the two sides do differently, by the key the tables show.
DIFFERENCES = {
    "c": "stock FAB counts every matching row (COUNT(*)); Voronka looks at most ten pages "
         "ahead and says \"more than N\" past that (the whole list's length it reads from "
         "the position summary)",
    "o": "stock FAB's list has no order, which is cheaper; Voronka's is by name",
    "p": "stock FAB looks for the text as typed in the phone as stored; Voronka for its "
         "digits in the normalised number",
    "s": "stock FAB shows the client's fields; Voronka's page adds the client's contacts, "
         "interests and interactions, and who can see it and why",
    "a": "stock FAB reads each row's relations one query at a time",
}


def list_url(view, route: str, **params) -> str:
    name = type(view).__name__
    query = {}
    for key, value in params.items():
        if key == "page":
            query[f"page_{name}"] = value - 1
        elif key == "order":
            query[f"_oc_{name}"], query[f"_od_{name}"] = value, "asc"
        else:
            column, arg_name = key.split("__")
            query[f"_flt_{filter_index(view, column, arg_name)}_{column}"] = value
    return f"{route}/list/" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def api_url(resource: str, page: int = 1, starts_with: Optional[str] = None) -> str:
    filters = ""
    if starts_with is not None:
        filters = f"filters:!((col:name,opr:sw,value:{rison_string(starts_with)})),"
    q = f"({filters}page:{page - 1},page_size:{PAGE_SIZE})"
    return f"/api/v1/{resource}/?q={urllib.parse.quote(q, safe='(),:!')}"


def admin_cases(app, show_pk: int) -> list[Case]:
    views = views_of(app)
    voronka, stock = views["ClientView"], views["StockClientView"]
    sql = RawSql(app)

    def both(label, raw=None, differs="c o", why_slow=None, ratio_target=False, **params):
        return Case(label, list_url(voronka, "/clientview", **params),
                    list_url(stock, "/stockclientview", **params), raw, differs, why_slow,
                    ratio_target)

    return [
        both("list, first page", sql.page(), ratio_target=True),
        both(f"list, page {PAGE:,}", sql.page(PAGE), page=PAGE),
        both(f"name starts with '{NAME_PREFIX}'", sql.name_starts(), name__sw=NAME_PREFIX),
        both(f"INN starts with '{INN_PREFIX}'", sql.inn_starts(), inn__sw=INN_PREFIX),
        both(f"name contains '{NAME_PART}'", sql.contains("name", NAME_PART),
             why_slow=NO_SEARCH_INDEX, name__ct=NAME_PART),
        both(f"phone contains '{PHONE_PART}'", sql.contains("phone", PHONE_PART), "c o p",
             NO_SEARCH_INDEX, phone__ct=PHONE_PART),
        both(f"e-mail contains '{EMAIL_PART}'", sql.contains("email", EMAIL_PART),
             why_slow=NO_SEARCH_INDEX, email__ct=EMAIL_PART),
        both(f"order by INN, page {PAGE:,}", sql.page(PAGE, "crm_client.inn, crm_client.name_search, crm_client.id"),
             "c", order="inn", page=PAGE),
        both("order by manager", sql.by_manager(), "c", order="responsible"),
        Case("a client's page", f"/clientview/show/{show_pk}",
             f"/stockclientview/show/{show_pk}", sql.one(show_pk), "s"),
        Case("API list, first page", api_url("client"), api_url("stockclient"),
             sql.page(api=True), "c o a"),
        Case(f"API list, page {PAGE:,}", api_url("client", PAGE),
             api_url("stockclient", PAGE), sql.page(PAGE, api=True), "c o a"),
        Case(f"API name starts with '{NAME_PREFIX}'",
             api_url("client", starts_with=NAME_PREFIX),
             api_url("stockclient", starts_with=NAME_PREFIX),
             sql.name_starts(api=True), "c o a"),
    ]


def manager_cases(app, show_pk: int) -> list[Case]:
    voronka = views_of(app)["ClientView"]

    def page(label, why_slow=None, **params):
        return Case(label, list_url(voronka, "/clientview", **params), why_slow=why_slow)

    return [
        page("list, first page"),
        page(f"list, page {MANAGER_PAGE:,}", page=MANAGER_PAGE),
        page(f"name starts with '{NAME_PREFIX}'", name__sw=NAME_PREFIX),
        page(f"INN starts with '{INN_PREFIX}'", inn__sw=INN_PREFIX),
        page(f"name contains '{NAME_PART}'", NO_SEARCH_INDEX, name__ct=NAME_PART),
        page(f"phone contains '{PHONE_PART}'", NO_SEARCH_INDEX, phone__ct=PHONE_PART),
        page(f"e-mail contains '{EMAIL_PART}'", NO_SEARCH_INDEX, email__ct=EMAIL_PART),
        page(f"order by INN, page {MANAGER_PAGE:,}", order="inn", page=MANAGER_PAGE),
        page("order by manager", order="responsible"),
        Case("a client's page", f"/clientview/show/{show_pk}"),
        Case("API list, first page", api_url("client")),
        Case(f"API list, page {MANAGER_PAGE:,}", api_url("client", MANAGER_PAGE)),
        Case(f"API name starts with '{NAME_PREFIX}'",
             api_url("client", starts_with=NAME_PREFIX)),
    ]


class RawSql:
    """The minimal SELECT of each page, in the view's default order, for the DB driver.

    A naive query is no floor for every page: at page 10,000 it sorts and joins a quarter
    of a million rows to throw them away, which Voronka's deferred join avoids."""

    COLUMNS = ("SELECT crm_client.id, crm_client.name, crm_client.kind, crm_client.inn, "
               "crm_client.phone, crm_client.email, u.first_name, u.last_name "
               "FROM crm_client LEFT JOIN ab_user u ON u.id = crm_client.responsible_id")

    def __init__(self, app):
        from app.database import db

        views = views_of(app)
        with app.app_context():
            dialect = db.engine.dialect
        self.order = self._default_order(views["ClientView"], dialect)
        self.api_order = self._default_order(views["ClientApi"], dialect)

    @staticmethod
    def _default_order(view, dialect) -> str:
        kind, order = view.datamodel.resolve_order(*(view.base_order or ("", "")))
        if kind != "column":
            return "crm_client.id DESC"
        return ", ".join(str(term.compile(dialect=dialect)) for term in order)

    def _select(self, where: str = "", params: tuple = (), page: int = 1, order=None,
                api: bool = False) -> tuple[str, tuple]:
        order = order or (self.api_order if api else self.order)
        offset = f" OFFSET {(page - 1) * PAGE_SIZE}" if page > 1 else ""
        return (f"{self.COLUMNS} {where} ORDER BY {order} LIMIT {PAGE_SIZE}{offset}", params)

    def page(self, page: int = 1, order: Optional[str] = None, api: bool = False):
        return self._select(page=page, order=order, api=api)

    def name_starts(self, api: bool = False):
        from app.entities import SEARCH_SHADOWS
        from app.fab.filters import _next_prefix
        from app.models import Client

        name = SEARCH_SHADOWS[Client]["name"][1](NAME_PREFIX)
        return self._select("WHERE crm_client.name_search >= ? AND crm_client.name_search < ?",
                            (name, _next_prefix(name)), api=api)

    def inn_starts(self):
        from app.fab.filters import _next_prefix

        return self._select("WHERE crm_client.inn >= ? AND crm_client.inn < ?",
                            (INN_PREFIX, _next_prefix(INN_PREFIX)))

    def contains(self, column: str, typed: str):
        from app.entities import SEARCH_SHADOWS
        from app.models import Client

        shadow, normalise = SEARCH_SHADOWS[Client][column]
        value = ("".join(ch for ch in typed if ch.isdigit()) if column == "phone"
                 else normalise(typed))
        return self._select(f"WHERE crm_client.{shadow} LIKE ?", (f"%{value}%",))

    def by_manager(self):
        return self._select(order="u.first_name, u.last_name, u.id, crm_client.id")

    def one(self, pk: int):
        return (f"{self.COLUMNS} WHERE crm_client.id = ?", (pk,))


def time_sql(engine, sql: str, params: tuple, repeat: int) -> float:
    if engine.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
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

    def __init__(self, ms: float, sql_ms: Optional[float], statements: Optional[int],
                 status: int):
        self.ms, self.sql_ms, self.statements, self.status = ms, sql_ms, statements, status

    @property
    def ok(self) -> bool:
        return self.status == 200

    def cell(self) -> str:
        return f"{self.ms:,.1f}" if self.ok else f"HTTP {self.status}"

    def sql_cell(self) -> str:
        if not self.ok or self.sql_ms is None:
            return ""
        return f"{self.sql_ms:,.1f} / {self.statements}"


def time_requests(sides: dict[str, tuple[object, str]], rounds: int, errors: Errors,
                  sql: Optional[SqlTimer], label: str) -> dict[str, Measure]:
    """Each side's time for its URL: the median over `rounds` of the median of BURST
    requests in a row.

    The sides take turns round by round, so that a slower moment of the machine falls on
    all of them alike. Within a round a URL is requested several times in a row: a request
    pays for the garbage collection of the requests before it, and one stock request
    between two Voronka ones would bill Voronka for stock's garbage."""
    rounds_ms = {name: [] for name in sides}
    rounds_sql = {name: [] for name in sides}
    statements, status = {}, {}
    for name, (client, url) in sides.items():  # warm-up
        errors.current = f"{name} {label}"
        client.get(url)
    for _ in range(rounds):
        for name, (client, url) in sides.items():
            errors.current = f"{name} {label}"
            timings, sql_timings = [], []
            for _ in range(BURST):
                if sql:
                    sql.reset()
                started = time.perf_counter()
                status[name] = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                if sql:
                    sql_timings.append(sql.seconds * 1000)
            rounds_ms[name].append(statistics.median(timings))
            if sql:
                rounds_sql[name].append(statistics.median(sql_timings))
                statements[name] = sql.statements
    return {name: Measure(statistics.median(rounds_ms[name]),
                          statistics.median(rounds_sql[name]) if sql else None,
                          statements.get(name), status[name])
            for name in sides}


# --- the tables ---------------------------------------------------------------------------


class Table:
    def __init__(self, columns: list[tuple[str, int]]):
        self.columns = columns
        print(self.row(title for title, _width in columns))
        print("|" + "|".join("-" * (width + 2) for _title, width in columns) + "|")

    def row(self, values) -> str:
        cells = [f"{value:<{width}}" if index == 0 else f"{value:>{width}}"
                 for index, (value, (_title, width)) in enumerate(zip(values, self.columns, strict=True))]
        return "| " + " | ".join(cells) + " |"

    def print(self, values) -> None:
        print(self.row(values), flush=True)


def ratio(stock: Optional[Measure], voronka: Measure) -> str:
    if stock is None:
        return ""
    if stock.ok and voronka.ok:
        return f"{stock.ms / voronka.ms:.1f}×"
    return "FAB fails" if voronka.ok else "—"


class Verdict:
    """Every Voronka figure within TARGET_MS, the first page TARGET_RATIO× stock FAB's."""

    def __init__(self):
        self.misses: list[tuple[str, str]] = []   # (where and what, why)

    def check(self, where: str, case: Case, voronka: Measure,
              stock: Optional[Measure]) -> None:
        name = f"{where}: {case.label}"
        if not voronka.ok:
            self.misses.append((name, f"HTTP {voronka.status}"))
        elif voronka.ms > TARGET_MS:
            self.misses.append((name, f"{voronka.ms:,.0f} ms"
                                + (f"; {case.why_slow}" if case.why_slow else "")))
        if case.ratio_target and stock is not None and stock.ok and voronka.ok \
                and stock.ms < TARGET_RATIO * voronka.ms:
            self.misses.append((name, f"{stock.ms / voronka.ms:.1f}× stock FAB"))

    def print(self) -> None:
        """The details, then the verdict on the last line."""
        if not self.misses:
            print(f"\nEvery Voronka figure is within {TARGET_MS} ms and at least "
                  f"{TARGET_RATIO}× faster than stock FAB on the first page.")
            return
        print()
        for name, why in self.misses:
            print(f"  {name}: {why}")
        print(f"Off target (≤ {TARGET_MS} ms; ≥ {TARGET_RATIO}× stock FAB on the first page): "
              + ", ".join(name for name, _why in self.misses))


def admin_table(cases: list[Case], sides: dict, engine, args, errors, sql_timer,
                verdict: Verdict) -> None:
    """Stock FAB against Voronka as the bench's administrator, both ways of asking."""
    columns = [("request", 34), ("stock FAB", 9), ("its SQL", 12), ("Voronka", 8),
               ("its SQL", 9), ("raw SQL", 8), ("FAB/Voronka", 11)]
    if "http" in sides:
        columns += [("HTTP stock", 10), ("HTTP Voronka", 12), ("FAB/Voronka", 11)]
    columns.append(("differs", 7))
    table = Table(columns)
    for case in cases:
        local = time_requests({"stock": (sides["local"], case.stock),
                               "Voronka": (sides["local"], case.voronka)},
                              args.repeat, errors, sql_timer, case.label)
        raw_ms = time_sql(engine, *case.raw, args.repeat) if case.raw else None
        values = [case.label, local["stock"].cell(), local["stock"].sql_cell(),
                  local["Voronka"].cell(), local["Voronka"].sql_cell(),
                  "" if raw_ms is None else f"{raw_ms:,.1f}",
                  ratio(local["stock"], local["Voronka"])]
        verdict.check("test client", case, local["Voronka"], local["stock"])
        if "http" in sides:
            served = time_requests({"stock": (sides["http"], case.stock),
                                    "Voronka": (sides["http"], case.voronka)},
                                   args.repeat, errors, None, case.label)
            values += [served["stock"].cell(), served["Voronka"].cell(),
                       ratio(served["stock"], served["Voronka"])]
            verdict.check("HTTP", case, served["Voronka"], served["stock"])
        table.print(values + [case.differs])
    for label, message in errors.seen.items():
        print(f"  {label}: {message}")
    errors.seen.clear()
    used = sorted({key for case in cases for key in case.differs.split()},
                  key=list(DIFFERENCES).index)
    if used:
        print("Where the two sides do different work (\"differs\"):")
        for key in used:
            print(f"  {key}: {DIFFERENCES[key]}")


def manager_table(cases: list[Case], sides: dict, args, errors, sql_timer,
                  verdict: Verdict) -> None:
    columns = [("request", 34), ("Voronka", 8), ("its SQL", 9)]
    if "http" in sides:
        columns.append(("HTTP Voronka", 12))
    table = Table(columns)
    for case in cases:
        local = time_requests({"Voronka": (sides["local"], case.voronka)}, args.repeat,
                              errors, sql_timer, case.label)["Voronka"]
        verdict.check("manager, test client", case, local, None)
        values = [case.label, local.cell(), local.sql_cell()]
        if "http" in sides:
            served = time_requests({"Voronka": (sides["http"], case.voronka)}, args.repeat,
                                   errors, None, case.label)["Voronka"]
            verdict.check("manager, HTTP", case, served, None)
            values.append(served.cell())
        table.print(values)
    for label, message in errors.seen.items():
        print(f"  {label}: {message}")


def logged_in(side, username: str, password: str):
    status = side.login(username, password)
    if status != 302:
        raise SystemExit(f"Login of {username} over {side.name} failed: HTTP {status}")
    return side


def pages_to_show(app, setup: Setup) -> tuple[int, Optional[int]]:
    """A client with interests in the middle of the table, for the administrator's client
    page; one of the model manager's clients, for the bench manager's."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Client, Interest

    with app.app_context():
        interests = db.session.execute(select(func.max(Interest.id))).scalar() or 0
        admin_pk = db.session.execute(
            select(Interest.client_id).where(Interest.client_id.is_not(None),
                                             Interest.id >= interests // 2)
            .order_by(Interest.id).limit(1)).scalar()
        if admin_pk is None:
            admin_pk = db.session.execute(select(func.min(Client.id))).scalar()
        manager_pk = None
        if setup.model_manager_id is not None:
            manager_pk = db.session.execute(
                select(Client.id).where(Client.responsible_id == setup.model_manager_id)
                .order_by(Client.id).limit(1)).scalar()
        db.session.remove()
    return admin_pk, manager_pk


def both_databases_parser(description: str, repeat: int) -> argparse.ArgumentParser:
    """The arguments of the benches that run on SQLite and PostgreSQL in one go: the two
    databases (each may be skipped with ''), the clients to have, the repetitions."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sqlite", default=str(ROOT / "bench" / "results" / "sqlite-1m.db"),
                        help="SQLite file (default: %(default)s; '' = skip)")
    parser.add_argument("--postgres",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/voronka_bench",
                        help="PostgreSQL database (default: %(default)s; '' = skip)")
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def quiet_logs() -> None:
    logging.basicConfig(level=logging.ERROR)
    for name in ("flask_appbuilder", "app", "werkzeug"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv=None) -> int:
    from config import normalize_database_url

    args = parse_args(argv)
    url = normalize_database_url(args.database_url)
    if args.serve:
        serve(url)
        return 0
    quiet_logs()
    ensure_database(url)
    app = build_app(url)
    app.logger.setLevel(logging.CRITICAL)
    setup = prepare_database(app, args.clients, args.seed)
    errors = Errors()
    admin_pk, manager_pk = pages_to_show(app, setup)

    from app.database import db

    with app.app_context():
        engine = db.engine
    dialect = engine.dialect.name
    sql_timer = SqlTimer(engine)
    server = None if args.no_http else Server(url)
    verdict = Verdict()
    try:
        sides = {"local": logged_in(TestClientSide(app), BENCH_ADMIN, setup.admin_password)}
        if server:
            sides["http"] = logged_in(HttpSide(server.port), BENCH_ADMIN, setup.admin_password)
        print(f"\nVoronka list benchmark: {dialect}, {setup.clients:,} clients; median of "
              f"{args.repeat} rounds of {BURST} runs in ms, HTTP 200 unless another status "
              "is shown; \"its SQL\" = ms in the database driver / statements; \"HTTP\" = "
              "over a kept-open connection to gunicorn (one worker)")
        admin_table(admin_cases(app, admin_pk), sides, engine, args, errors, sql_timer,
                    verdict)
        if setup.manager_password and manager_pk is not None:
            sides = {"local": logged_in(TestClientSide(app), BENCH_MANAGER,
                                        setup.manager_password)}
            if server:
                sides["http"] = logged_in(HttpSide(server.port), BENCH_MANAGER,
                                          setup.manager_password)
            print(f"\nA department's lists as its manager sees them ({BENCH_MANAGER}, in "
                  f"the department of {MODEL_MANAGER}, reading {setup.manager_sees:,} "
                  "clients; the access filter on):")
            manager_table(manager_cases(app, manager_pk), sides, args, errors, sql_timer,
                          verdict)
        else:
            print(f"\n(no user {MODEL_MANAGER}: the manager's figures are skipped)")
    finally:
        if server:
            server.stop()
    verdict.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
