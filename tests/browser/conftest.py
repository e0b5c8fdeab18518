"""Fixtures of the real-browser tests.

The application runs with waitress in a background thread on 127.0.0.1 (a free port), on a
temporary SQLite file database made by the migrations, with CSRF on as in production. The
browser is Debian's Chromium (/usr/bin/chromium) driven by Playwright; Playwright's own
browser downloads are not used.

Without /usr/bin/chromium the browser tests are skipped, unless the environment variable CI
is set (e.g. CI=true): then a missing browser is a failure, so a CI job cannot go green by
silently skipping them.

Fixture names avoid `app`: tests/conftest.py's autouse clean-up acts on a fixture of that
name and expects the Foundation suite's users.

Screenshots go to a temporary directory (its path is printed at the end of the session) and
also to <repo>/screenshots/ when that directory exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.live_server import serve, stop

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_CHROMIUM = ("chromium not found: install Debian's chromium (apt-get install chromium) "
                    "to run browser tests")

ADMIN_USER = "admin"
ADMIN_PASSWORD = "Admin-Pass-123"

# Playwright timeouts, milliseconds: the app is local, nothing should take long.
ACTION_TIMEOUT = 10_000
NAVIGATION_TIMEOUT = 15_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{MISSING_CHROMIUM} (CI is set, so this is a failure, not a skip)",
                        pytrace=False)
        pytest.skip(MISSING_CHROMIUM)
    return str(CHROMIUM)


# --- the application -------------------------------------------------------------------------


class LiveServer:
    def __init__(self, app, url: str):
        self.app = app
        self.url = url

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _no_fsync(engine) -> None:
    """A throw-away database need not survive a power cut: without fsync on every commit,
    sync_roles() (FAB commits each permission) takes about 3 s instead of about 15 s."""
    from sqlalchemy import event

    def _pragma(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    event.listen(engine, "connect", _pragma)
    engine.dispose()  # a connection opened before the listener would lack the pragma


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    import flask_migrate

    from app import create_app, db
    from app.services import setup

    path = tmp_path_factory.mktemp("browser-db") / "voronka-browser.db"
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
                     WTF_CSRF_ENABLED=True)
    with app.app_context():
        _no_fsync(db.engine)
        flask_migrate.upgrade()
        setup.sync_roles()
        setup.ensure_reference_data()
        setup.ensure_admin(ADMIN_USER, ADMIN_PASSWORD)
        db.session.remove()
    server, thread, url = serve(app, "waitress-browser-tests")
    yield LiveServer(app, url)
    stop(server, thread)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def translate(live_server):
    """translate(msgid) -> {its Russian text, its English text}, as the running app says them."""
    from flask_babel import force_locale, gettext

    def _translate(msgid: str) -> set[str]:
        with live_server.app.test_request_context("/"):
            texts = set()
            for locale in ("ru", "en"):
                with force_locale(locale):
                    texts.add(gettext(msgid))
        return texts

    return _translate


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_executable):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - it is in requirements-dev.txt
        message = "the playwright package is missing: pip install -r requirements-dev.txt"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable,
                                             args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU",
                                  base_url=live_server.url)
    context.set_default_timeout(ACTION_TIMEOUT)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dirs(tmp_path_factory):
    dirs = [tmp_path_factory.mktemp("screenshots")]
    repo_dir = ROOT / "screenshots"
    if repo_dir.is_dir():
        dirs.append(repo_dir)
    yield dirs
    print(f"\nbrowser test screenshots: {', '.join(str(d) for d in dirs)}")


@pytest.fixture
def shot(page, screenshot_dirs, request):
    """shot("step-name"): a full-page screenshot named after the test and the step."""
    counter = iter(range(1, 1000))
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)

    def _shot(step: str) -> None:
        name = f"{test_name}-{next(counter):02d}-{re.sub(r'[^A-Za-z0-9_-]+', '_', step)}.png"
        image = page.screenshot(full_page=True)
        for directory in screenshot_dirs:
            try:
                (directory / name).write_bytes(image)
            except OSError:  # a read-only or vanished screenshots/ must not fail the test
                pass

    return _shot


def log_in(page, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
    """Log a user (the administrator unless told) in through the login form."""
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form[name=login] [type=submit]")
    assert "/login" not in page.url, "login failed: still on the login page"


# The demo company's users' password in the browser tests: the company is made once, by
# the first test that needs it.
DEMO_PASSWORD = "Demo-Loop-Pass-1"


@pytest.fixture(scope="session")
def demo_company(live_server):
    from app.database import db
    from app.sample_data.demo import create_demo_company

    with live_server.app.app_context():
        create_demo_company(DEMO_PASSWORD)
        db.session.remove()
    return live_server


@pytest.fixture
def logged_in(page, live_server):
    """The page, logged in as the administrator through the login form."""
    log_in(page)
    return page
