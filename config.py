"""Voronka CRM configuration, read from the environment.

Environment variables:

DATABASE_URL         SQLAlchemy URL of the database. Default: SQLite file instance/voronka.db.
                     PostgreSQL: postgresql+psycopg://user@host:5432/dbname
SECRET_KEY           Key that signs sessions and tokens. In development, when unset, one is
                     generated once and kept in instance/secret_key. Required when CRM_ENV=production.
CRM_ENV              "development" (default) or "production".
PORT                 HTTP port of `make run` (default 8080).
CRM_ADMIN_USER       Login of the first administrator (default: admin).
CRM_ADMIN_PASSWORD   Password of the first administrator. When unset, a generated one is printed once.
CRM_DEMO             "0" skips the demo company on first run (default: "1").
CRM_DEMO_PASSWORD    Password of the demo users (default: demo-Voronka-2026).
CRM_TIMEZONE         The company's time zone for display and "today" (default: Europe/Moscow).
CRM_LIST_MAX_PAGE_SIZE  Largest page size a list or API page may ask for (default: 100).
CRM_LOGIN_LIMIT      Failed logins allowed per user, e.g. "10 per 5 minutes" (the default).
CRM_LOGIN_IP_LIMIT   Failed logins allowed per client IP (default: "10 per 5 minutes").
RATELIMIT_STORAGE_URI  Where the login counters live: redis://host:6379/0 so that every web
                     process shares them. Unset: in the memory of each process.
CRM_LOGIN_LIMIT_KEY_PREFIX  Prefix of the counters' Redis keys (default: voronka-login).
CRM_HTTPS            "1": the site is served over HTTPS; cookies are marked Secure.
CRM_TRUST_PROXY      Number of reverse proxies in front of the app whose X-Forwarded-For,
                     -Proto, -Host and -Port headers are trusted (default: 0, none).
CRM_SESSION_HOURS    Lifetime of a login session, in hours (default: 12).
CRM_PASSWORD_MIN_LENGTH  Minimal length of a new password (default: 10); it also needs an
                     upper-case letter, a lower-case letter and a digit.
CRM_MAX_REQUEST_MB   Largest request body in megabytes (default: 10), for a form field too;
                     a larger one answers 413. No route takes file uploads today; one that
                     does can allow more for itself (Flask's request.max_content_length).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", BASE_DIR / "instance"))


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if os.environ.get("CRM_ENV") == "production":
        raise RuntimeError("SECRET_KEY must be set when CRM_ENV=production")
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def normalize_database_url(url: str) -> str:
    """Accept the common short forms of a PostgreSQL URL and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'voronka.db'}"
    return normalize_database_url(url)


def _test_database_url() -> str:
    """TEST_DATABASE_URL, or a SQLite file in the temporary directory, one per process.

    Never `sqlite://`: an in-memory database is one per connection, so the migrations,
    the test code and the requests would each see a different, empty database.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    import tempfile

    return f"sqlite:///{Path(tempfile.gettempdir()) / f'voronka-test-{os.getpid()}.db'}"


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    APP_NAME = "Voronka CRM"
    APP_THEME = ""
    FAB_BASE_TEMPLATE = "crm_base.html"
    FAB_INDEX_VIEW = "app.views.HomeView"

    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_ADD_SECURITY_API = True
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = int(os.environ.get("CRM_LIST_MAX_PAGE_SIZE", "100"))

    # CSRF on every form; FAB reads this to refuse mutations by GET.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    FAB_ALLOW_GET_UNSAFE_MUTATIONS = False

    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    # FAB's catalogue is loaded first and ours over it: ours adds what FAB's lacks.
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = {
        "ru": {"flag": "ru", "name": "Русский"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Cookies: HttpOnly, SameSite=Lax, Secure over HTTPS (app.services.auth also marks the
    # session cookie Secure whenever the request came over HTTPS). A session lasts
    # CRM_SESSION_HOURS after the login at most; logout voids it server-side.
    CRM_HTTPS = os.environ.get("CRM_HTTPS", "0") == "1"
    CRM_TRUST_PROXY = int(os.environ.get("CRM_TRUST_PROXY", "0") or 0)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = CRM_HTTPS
    PERMANENT_SESSION_LIFETIME = timedelta(hours=float(os.environ.get("CRM_SESSION_HOURS", "12")))
    # Flask-Login's "remember me" cookie: FAB never sets it, and it cannot restore a session
    # on its own (app.services.auth); bounded and locked down all the same.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = CRM_HTTPS
    REMEMBER_COOKIE_DURATION = PERMANENT_SESSION_LIFETIME

    # Failed logins per user and per client IP, on the HTML and the API login alike.
    CRM_LOGIN_LIMIT = os.environ.get("CRM_LOGIN_LIMIT", "10 per 5 minutes")
    CRM_LOGIN_IP_LIMIT = os.environ.get("CRM_LOGIN_IP_LIMIT", "10 per 5 minutes")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    CRM_LOGIN_LIMIT_KEY_PREFIX = os.environ.get("CRM_LOGIN_LIMIT_KEY_PREFIX", "voronka-login")

    # New passwords: app.services.auth.password_complexity (set by create_app).
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    CRM_PASSWORD_MIN_LENGTH = int(os.environ.get("CRM_PASSWORD_MIN_LENGTH", "10"))

    # One limit for every request body and form field; larger bodies answer 413.
    MAX_CONTENT_LENGTH = int(float(os.environ.get("CRM_MAX_REQUEST_MB", "10")) * 2**20)
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH

    CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "Europe/Moscow")
    CRM_LIST_MAX_PAGE_SIZE = int(os.environ.get("CRM_LIST_MAX_PAGE_SIZE", "100"))
    CRM_ADMIN_USER = os.environ.get("CRM_ADMIN_USER", "admin")
    CRM_ADMIN_PASSWORD = os.environ.get("CRM_ADMIN_PASSWORD")
    CRM_DEMO = os.environ.get("CRM_DEMO", "1") != "0"
    CRM_DEMO_PASSWORD = os.environ.get("CRM_DEMO_PASSWORD", "demo-Voronka-2026")
    PORT = int(os.environ.get("PORT", "8080"))


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = _test_database_url()
    WTF_CSRF_ENABLED = False
    # Hashing passwords at full strength only slows the suite down.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # The suite shares one application: its counters stay in memory and are generous;
    # tests/test_auth_*.py make their own applications with the real limits.
    RATELIMIT_STORAGE_URI = None
    CRM_LOGIN_LIMIT = "1000 per 5 minutes"
    CRM_LOGIN_IP_LIMIT = "1000 per 5 minutes"
