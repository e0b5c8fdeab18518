"""Fixtures of the Foundation suite.

The database is SQLite (a temporary file) unless TEST_DATABASE_URL names another one, e.g.
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/pytest
The schema is made by the migrations only, once per session, after everything in the test
database is dropped. After each test the CRM tables are emptied, the reference data put
back and users made by the test deleted, so tests do not see each other's rows.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import delete, event, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import normalize_database_url  # noqa: E402

PASSWORD = "Test-Passw0rd!"

# login -> FAB role. Admin is FAB's; the others come from app.services.setup.ROLES.
ROLE_USERS = {
    "admin": "Admin",
    "supervisor": "Supervisor",
    "manager": "Manager",
    "manager_b": "Manager",
    "readonly": "Read-only",
}


# The test company: department -> (head, members). Departments are CRM rows, emptied after
# every test and built again. "Regions" is not under "Sales": its manager is outside the
# supervisor's subtree. The administrator belongs to no department.
ORG = {
    "Sales": ("supervisor", ["supervisor", "manager"]),
    "Regions": (None, ["manager_b"]),
    "Back office": (None, ["readonly"]),
}


def build_org(session) -> None:
    from app.models import CrmUser, Department

    users = {u.username: u for u in session.execute(select(CrmUser)).scalars()}
    for name, (head, members) in ORG.items():
        department = Department(name=name, head_id=users[head].id if head else None)
        session.add(department)
        session.flush()
        for username in members:
            users[username].department_id = department.id


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'voronka-test.db'}"


def _drop_everything(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        return
    from sqlalchemy import MetaData

    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("PRAGMA foreign_keys=OFF"))
        metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _enable_loggers() -> None:
    """Alembic's logging set-up disables every logger that exists; the application's
    (app.errors logs the exception behind a 500) must keep reporting."""
    import logging

    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url):
    import flask_migrate

    from app import create_app, db
    from app.services.setup import ensure_reference_data, sync_roles

    application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url)
    with application.app_context():
        _drop_everything(db.engine)
        flask_migrate.upgrade()
        _enable_loggers()
        sync_roles()
        ensure_reference_data()
        sm = application.appbuilder.sm
        for username, role_name in ROLE_USERS.items():
            role = sm.find_role(role_name)
            assert role is not None, role_name
            user = sm.add_user(username=username, first_name=username.capitalize(),
                               last_name="Test", email=f"{username}@test.local", role=role,
                               password=PASSWORD)
            assert user, username
        db.session.commit()
        application.config["TEST_BASELINE_USER_IDS"] = sorted(
            u.id for u in db.session.execute(select(sm.user_model)).scalars())
        # Taken before the company is built: departments are CRM rows, rebuilt every test.
        application.config["TEST_SETUP_SNAPSHOT"] = SetupSnapshot(
            db.session, application.config["TEST_BASELINE_USER_IDS"])
        build_org(db.session)
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def another_app(app, database_url: str, **config):
    """A second application on the suite's database, configured differently (CSRF on,
    HTTPS, production login limits...); the per-test clean-up treats it like `app`."""
    from app import create_app, db

    application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url,
                             **config)
    for key in ("TEST_BASELINE_USER_IDS", "TEST_SETUP_SNAPSHOT"):
        application.config[key] = app.config[key]
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


# Filled by the set-up (roles, their rights and FAB permissions): put back as they were
# when a test changed them, instead of being emptied.
SETUP_TABLES = ("ab_role", "ab_user_role", "ab_permission_view_role", "crm_role_right")
# Only ever rises (app.services.stamp): never emptied or put back.
KEPT_TABLES = ("crm_cache_stamp",)

_CRM_TABLES: list = []


def _crm_tables():
    """The CRM tables a test fills, children first. (ab_user <-> crm_department is a cycle
    that the reset breaks by clearing ab_user.department_id first.)"""
    if not _CRM_TABLES:
        import warnings

        from flask_appbuilder import Model
        from sqlalchemy.exc import SAWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            ordered = list(reversed(Model.metadata.sorted_tables))
        _CRM_TABLES.extend(t for t in ordered
                           if t.name.startswith("crm_") and t.name not in SETUP_TABLES
                           and t.name not in KEPT_TABLES)
    return _CRM_TABLES


class SetupSnapshot:
    """The roles, rights and baseline users as the session set-up left them.

    A cheap fingerprint (counts and sums of the integer and boolean columns) tells after
    each test whether anything changed; only then are the rows written back."""

    def __init__(self, session, user_ids: list[int]):
        from flask_appbuilder import Model

        self.tables = [Model.metadata.tables[name] for name in SETUP_TABLES
                       if name in Model.metadata.tables]
        self.users_table = Model.metadata.tables["ab_user"]
        self.user_ids = user_ids
        self.rows = {t.name: [dict(r) for r in session.execute(select(t)).mappings()]
                     for t in self.tables}
        self.users = [dict(r) for r in session.execute(
            select(self.users_table).where(self.users_table.c.id.in_(user_ids))).mappings()]
        self.fingerprint = self._fingerprint(session)

    def _fingerprint(self, session) -> tuple:
        from sqlalchemy import Boolean, Integer, cast, func

        parts = []
        for table, where in [*((t, None) for t in self.tables),
                             (self.users_table, self.users_table.c.id.in_(self.user_ids))]:
            for column in [None, *table.columns]:
                if column is None:
                    value = func.count()
                elif isinstance(column.type, (Integer, Boolean)):
                    value = func.coalesce(func.sum(cast(column, Integer)), 0)
                else:
                    continue
                query = select(value).select_from(table)
                parts.append((query.where(where) if where is not None else query)
                             .scalar_subquery())
        return tuple(session.execute(select(*parts)).one())

    def restore_if_changed(self, session) -> None:
        if self._fingerprint(session) == self.fingerprint:
            return
        for table in reversed(self.tables):
            session.execute(delete(table))
        for table in self.tables:
            if self.rows[table.name]:
                session.execute(insert(table), self.rows[table.name])
        for row in self.users:
            session.execute(update(self.users_table)
                            .where(self.users_table.c.id == row["id"]).values(**row))


def _drop_custom_field_indexes(session) -> None:
    """The indexes of the custom fields a test made (they go with their fields)."""
    if session.get_bind().dialect.name == "postgresql":
        names = session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix\\_cf\\_%'")).scalars()
    else:
        names = session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix\\_cf\\_%' "
            "ESCAPE '\\'")).scalars()
    for name in list(names):
        session.execute(text(f'DROP INDEX "{name}"'))


def reset_database(app) -> None:
    """Empty the CRM tables, put the reference data, roles, rights and baseline users back,
    drop users a test made."""
    from app.database import db
    from app.models import CrmUser, Department, ProductGroup
    from app.services.setup import ensure_reference_data

    baseline = app.config["TEST_BASELINE_USER_IDS"]
    with app.app_context():
        session = db.session
        session.execute(update(CrmUser.__table__).values(department_id=None))
        session.execute(update(Department.__table__).values(parent_id=None))
        session.execute(update(ProductGroup.__table__).values(parent_id=None))
        for table in _crm_tables():
            session.execute(delete(table))
        _drop_custom_field_indexes(session)
        extra = select(CrmUser.id).where(CrmUser.id.notin_(baseline))
        if session.execute(extra.limit(1)).first() is not None:
            from flask_appbuilder.security.sqla.models import assoc_user_role

            session.execute(delete(assoc_user_role).where(assoc_user_role.c.user_id.in_(extra)))
            session.execute(update(CrmUser.__table__).values(created_by_fk=None,
                                                             changed_by_fk=None))
            session.execute(delete(CrmUser.__table__).where(CrmUser.id.notin_(baseline)))
        # Emptied last: deleting clients above notes changes against the summary.
        for summary in ("crm_list_position_change", "crm_list_position_owner",
                        "crm_list_position"):
            session.execute(text(f"DELETE FROM {summary}"))
        app.config["TEST_SETUP_SNAPSHOT"].restore_if_changed(session)
        build_org(session)
        session.commit()
        ensure_reference_data()
        session.remove()


@pytest.fixture(autouse=True)
def _clean_database(request):
    yield
    if "app" in request.fixturenames:
        reset_database(request.getfixturevalue("app"))


# --- database access from the test code ------------------------------------------------------


class Db:
    """Short-lived app contexts for the test code: each `with dbx.session() as s` is fresh,
    so what a test reads is what the database holds, not a cached object."""

    def __init__(self, app):
        self.app = app

    @contextmanager
    def acting(self, username: str = "manager"):
        """A request of the user's: the application's own session, with the user acting
        (what the services read and write as when a screen calls them)."""
        from app.database import db
        from app.services.actor import acting_as

        with self.app.test_request_context(), acting_as(self.user_id(username)):
            yield db.session
            db.session.remove()

    @contextmanager
    def session(self):
        from app.database import db

        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def get(self, model, pk):
        with self.session() as s:
            obj = s.get(model, pk)
            if obj is not None:
                s.expunge(obj)
            return obj

    def count(self, model, *where) -> int:
        from sqlalchemy import func

        with self.session() as s:
            return s.execute(select(func.count()).select_from(model).where(*where)).scalar()

    def scalar(self, statement):
        with self.session() as s:
            return s.execute(statement).scalar()

    def all(self, statement):
        with self.session() as s:
            return list(s.execute(statement).scalars())

    def user_id(self, username: str) -> int:
        from app.models import CrmUser

        return self.scalar(select(CrmUser.id).where(CrmUser.username == username))

    def add(self, obj, user: str | None = "admin") -> int:
        """Save a record through the application's own service, acting as `user`.

        `obj` is a model instance or a function session -> instance (to load related
        records in the same session)."""
        from app.services import records
        from app.services.actor import acting_as

        user_id = self.user_id(user) if user else None
        with self.session() as s:
            if callable(obj) and not hasattr(obj, "__table__"):
                obj = obj(s)
            with acting_as(user_id):
                records.save(obj, is_new=True)
            return obj.id

    def insert(self, model, rows: list[dict]) -> None:
        """Bulk insert bypassing the application (fast, for volume fixtures)."""
        with self.session() as s:
            s.execute(insert(model), rows)
            s.commit()


@pytest.fixture
def dbx(app):
    return Db(app)


# --- clients -----------------------------------------------------------------------------------


def login(client, username: str, password: str = PASSWORD):
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} failed"
    return client


@pytest.fixture(scope="session")
def _session_cookies(app):
    """Log every role in once; each test's client starts with a copy of that session."""
    cookies = {}
    for username in ROLE_USERS:
        client = app.test_client()
        login(client, username)
        cookie = client.get_cookie("session")
        assert cookie is not None
        cookies[username] = cookie.value
    return cookies


def _client_for(app, cookies, username):
    client = app.test_client()
    client.set_cookie("session", cookies[username])
    return client


@pytest.fixture
def anon_client(app):
    return app.test_client()


@pytest.fixture
def admin_client(app, _session_cookies):
    return _client_for(app, _session_cookies, "admin")


@pytest.fixture
def supervisor_client(app, _session_cookies):
    return _client_for(app, _session_cookies, "supervisor")


@pytest.fixture
def manager_client(app, _session_cookies):
    return _client_for(app, _session_cookies, "manager")


@pytest.fixture
def readonly_client(app, _session_cookies):
    return _client_for(app, _session_cookies, "readonly")


@pytest.fixture
def client_as(app, _session_cookies):
    """client_as("manager") -> a logged-in test client for that role's user."""
    return lambda username: _client_for(app, _session_cookies, username)


# --- the REST API ------------------------------------------------------------------------------


def api_token(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/security/login",
                           json={"username": username, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


class ApiClient:
    """A test client that sends a JWT with every request and speaks JSON."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        result = {"Accept": "application/json"}
        if self.token:
            result["Authorization"] = f"Bearer {self.token}"
        result.update(headers or {})
        return result

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)),
                                **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)),
                               **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture(scope="session")
def _api_tokens(app):
    client = app.test_client()
    return {username: api_token(client, username) for username in ROLE_USERS}


@pytest.fixture
def api_token_admin(_api_tokens):
    return _api_tokens["admin"]


@pytest.fixture
def api(app, _api_tokens):
    """The API as the administrator."""
    return ApiClient(app.test_client(), _api_tokens["admin"])


@pytest.fixture
def api_as(app, _api_tokens):
    return lambda username: ApiClient(app.test_client(), _api_tokens[username])


@pytest.fixture
def anon_api(app):
    return ApiClient(app.test_client(), None)


# --- counting SQL statements -------------------------------------------------------------------


class StatementCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def dump(self) -> str:
        return "\n---\n".join(self.statements)


@pytest.fixture
def count_queries(app):
    """with count_queries() as counter: ... ; counter.count is the number of statements."""
    from app.database import db

    @contextmanager
    def counting():
        with app.app_context():
            engine = db.engine
        counter = StatementCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


def json_of(response):
    try:
        return response.get_json()
    except Exception:  # pragma: no cover - a failing assertion shows the body instead
        return json.loads(response.get_data(as_text=True) or "null")
