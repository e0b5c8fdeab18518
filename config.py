"""Voronka CRM configuration, read from the environment.

Environment variables:

DATABASE_URL         SQLAlchemy URL of the database. Default: SQLite file instance/voronka.db.
                     PostgreSQL: postgresql+psycopg://user@host:5432/dbname
SECRET_KEY           Key that signs sessions and tokens. In development, when unset, one is
                     generated once and kept in instance/secret_key. Required when CRM_ENV=production.
CRM_ENV              "development" (default) or "production".
PORT / HOST          Where `make run` (run.py) listens (default 8080 on 127.0.0.1).
CRM_WORKERS          Web processes run.py starts with gunicorn (default: the cores, at most 4).
CRM_THREADS          Requests each web process serves at a time (default 8).
CRM_ADMIN_USER       Login of the first administrator (default: admin).
CRM_ADMIN_PASSWORD   Password of the first administrator. When unset, a generated one is printed once.
CRM_DEMO             "0" skips the demo company on first run (default: "1").
CRM_DEMO_PASSWORD    Password of the demo users (default: demo-Voronka-2026).
CRM_TIMEZONE         The company's time zone for display and "today" (default: Europe/Moscow).
CRM_LIST_MAX_PAGE_SIZE  Largest page size a list or API page may ask for (default: 100).
CRM_LOGIN_LIMIT      Failed logins allowed per user, e.g. "10 per 5 minutes" (the default).
CRM_LOGIN_PAIR_LIMIT Failed logins allowed per user from one client address (default:
                     "10 per 5 minutes"); useful when CRM_LOGIN_LIMIT is set higher.
CRM_LOGIN_IP_LIMIT   Failed logins allowed per client address, whoever they are for (default:
                     "100 per 5 minutes": an office behind one address is one address).
RATELIMIT_STORAGE_URI  Where the login counters live. Unset: in the application's database,
                     shared by every web process. redis://host:6379/0: in Redis, shared by
                     the processes of several hosts; memory://: each process its own.
CRM_LOGIN_LIMIT_KEY_PREFIX  Prefix of the counters' Redis keys (default: voronka-login).
CRM_HTTPS            "1": the site is served over HTTPS; cookies are marked Secure.
CRM_TRUST_PROXY      Number of reverse proxies in front of the app whose X-Forwarded-For,
                     -Proto, -Host and -Port headers are trusted (default: 0, none).
CRM_SESSION_HOURS    Lifetime of a login session, in hours (default: 12).
CRM_PASSWORD_MIN_LENGTH  Minimal length of a new password (default: 10); it also needs an
                     upper-case letter, a lower-case letter and a digit.
CRM_API_TOKEN_MINUTES  Lifetime of an API access token, in minutes (default: 15).
CRM_API_REFRESH_DAYS   Lifetime of an API refresh token, in days (default: 7).
CRM_SCHEDULER        "embedded" (default): `make run` runs the scheduled jobs in one of its web
                     processes; "off": the web processes run none, and `flask crm scheduler`
                     runs them in a process of its own (app.jobs.scheduler).
CRM_JOB_SCHEDULES    Changed schedules of jobs, as JSON: {"reminders_digest": "daily 08:30",
                     "reminders_birthdays": "off"}; "every 10m", "every 1h", "daily HH:MM"
                     (the company's time zone) or "off" (app.jobs).
CRM_SMTP_URL         Where reminders are e-mailed from: smtp://user:password@host:587?starttls=1,
                     smtps://user:password@host:465, smtp://host:25. Unset: no e-mail.
CRM_MAIL_FROM        The sender of those e-mails (default: Voronka CRM <noreply@localhost>).
CRM_BASE_URL         The address users open the CRM at, for the links in e-mails
                     (default: http://HOST:PORT).
CRM_EXPORT_INLINE_ROWS  Exports of up to this many rows are written while the user waits
                     (default: 50000); larger ones are written in the background.
CRM_EXPORT_DIR       Where export files are kept for 7 days (default: instance/exports).
CRM_MAX_REQUEST_MB   Largest request body in megabytes (default: 10), for a form field too;
                     a larger one answers 413. No route takes file uploads today; one that
                     does can allow more for itself (Flask's request.max_content_length).
"""

import os
import secrets
import tempfile
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
    return _kept_secret_key(INSTANCE_DIR / "secret_key")


def _kept_secret_key(key_file: Path) -> str:
    """The development key in `key_file`, made once by whichever process comes first.

    Several processes may start at once (web workers, `flask` commands). The key is written
    to a private temporary file and then linked under its name, which only one process can
    do: the others find the name taken and read the winner's complete key, so every
    process signs with the same key and none ever reads a half-written file."""
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".secret_key-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(temporary, key_file)
            except FileExistsError:
                pass  # another process made it first: theirs is the key
        finally:
            os.unlink(temporary)
    key = key_file.read_text().strip()
    if not key:
        raise RuntimeError(f"{key_file} is empty: delete it, or set SECRET_KEY")
    return key


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
    return f"sqlite:///{Path(tempfile.gettempdir()) / f'voronka-test-{os.getpid()}.db'}"


def complete(config) -> None:
    """Fill in what an application needs and the environment did not say: the kept
    development key, the SQLite file under instance/. Called by create_app, so that
    importing this module reads the environment and writes nothing."""
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _secret_key()
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = _database_url()


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("DATABASE_URL") or "") \
        or None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Set on every connection to an SQLite database (app.install_sqlite_pragmas), so that
    # several web processes share one file: in WAL mode readers never wait for a writer and
    # a commit needs no fsync (synchronous=NORMAL; a power cut may lose the last commits,
    # never the file); a writer that meets another writer's lock waits up to 5 s for it.
    CRM_SQLITE_PRAGMAS = {"busy_timeout": 5000, "journal_mode": "WAL", "synchronous": "NORMAL"}

    APP_NAME = "Voronka CRM"
    APP_THEME = ""
    FAB_BASE_TEMPLATE = "crm_base.html"
    FAB_INDEX_VIEW = "app.screens.home.HomeView"

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

    # Cookies: HttpOnly, SameSite=Lax, Secure over HTTPS (app.web.auth also marks the
    # session cookie Secure whenever the request came over HTTPS). A session lasts
    # CRM_SESSION_HOURS after the login at most; logout voids it server-side.
    CRM_HTTPS = os.environ.get("CRM_HTTPS", "0") == "1"
    CRM_TRUST_PROXY = int(os.environ.get("CRM_TRUST_PROXY", "0") or 0)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = CRM_HTTPS
    PERMANENT_SESSION_LIFETIME = timedelta(hours=float(os.environ.get("CRM_SESSION_HOURS", "12")))
    # Flask-Login's "remember me" cookie: FAB never sets it, and it cannot restore a session
    # on its own (app.web.auth); bounded and locked down all the same.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = CRM_HTTPS
    REMEMBER_COOKIE_DURATION = PERMANENT_SESSION_LIFETIME

    # Failed logins per user, per user and client address, and per client address, on the
    # HTML and the API login alike (app.web.throttle).
    CRM_LOGIN_LIMIT = os.environ.get("CRM_LOGIN_LIMIT", "10 per 5 minutes")
    CRM_LOGIN_PAIR_LIMIT = os.environ.get("CRM_LOGIN_PAIR_LIMIT", "10 per 5 minutes")
    CRM_LOGIN_IP_LIMIT = os.environ.get("CRM_LOGIN_IP_LIMIT", "100 per 5 minutes")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    CRM_LOGIN_LIMIT_KEY_PREFIX = os.environ.get("CRM_LOGIN_LIMIT_KEY_PREFIX", "voronka-login")

    # API tokens: Flask-JWT-Extended's lifetimes. Both carry the user's session epoch, so
    # logout, a new password and deactivation end them sooner (app.web.auth).
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(
        minutes=float(os.environ.get("CRM_API_TOKEN_MINUTES", "15")))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(
        days=float(os.environ.get("CRM_API_REFRESH_DAYS", "7")))

    # New passwords: app.web.auth.password_complexity (set by create_app).
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    CRM_PASSWORD_MIN_LENGTH = int(os.environ.get("CRM_PASSWORD_MIN_LENGTH", "10"))

    # One limit for every request body and form field; larger bodies answer 413.
    MAX_CONTENT_LENGTH = int(float(os.environ.get("CRM_MAX_REQUEST_MB", "10")) * 2**20)
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH

    # Files of custom fields: where they are kept, how large and of which kinds they may be.
    CRM_CUSTOM_FILES_DIR = os.environ.get("CRM_CUSTOM_FILES_DIR",
                                          str(INSTANCE_DIR / "custom_files"))
    CRM_CUSTOM_FILE_MAX_MB = float(os.environ.get("CRM_CUSTOM_FILE_MAX_MB", "5"))
    CRM_CUSTOM_FILE_TYPES = tuple(os.environ.get(
        "CRM_CUSTOM_FILE_TYPES",
        "pdf,doc,docx,xls,xlsx,odt,ods,rtf,txt,csv,png,jpg,jpeg,gif,zip").split(","))

    CRM_INSTANCE_DIR = str(INSTANCE_DIR)
    CRM_EXPORT_INLINE_ROWS = int(os.environ.get("CRM_EXPORT_INLINE_ROWS", "50000"))
    CRM_EXPORT_DIR = os.environ.get("CRM_EXPORT_DIR", str(INSTANCE_DIR / "exports"))
    # Background exports start in a thread of the web process at once (and the
    # exports_pending job writes any a stopped process left).
    CRM_EXPORT_THREADS = True
    CRM_SCHEDULER = os.environ.get("CRM_SCHEDULER", "embedded")
    CRM_JOB_SCHEDULES = os.environ.get("CRM_JOB_SCHEDULES") or {}
    CRM_SMTP_URL = os.environ.get("CRM_SMTP_URL") or None
    CRM_MAIL_FROM = os.environ.get("CRM_MAIL_FROM") or "Voronka CRM <noreply@localhost>"
    CRM_BASE_URL = os.environ.get("CRM_BASE_URL") or \
        f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"

    CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "Europe/Moscow")
    CRM_LIST_MAX_PAGE_SIZE = int(os.environ.get("CRM_LIST_MAX_PAGE_SIZE", "100"))
    CRM_ADMIN_USER = os.environ.get("CRM_ADMIN_USER", "admin")
    CRM_ADMIN_PASSWORD = os.environ.get("CRM_ADMIN_PASSWORD")
    CRM_DEMO = os.environ.get("CRM_DEMO", "1") != "0"
    CRM_DEMO_PASSWORD = os.environ.get("CRM_DEMO_PASSWORD", "demo-Voronka-2026")
    PORT = int(os.environ.get("PORT", "8080"))


class TestConfig(Config):
    TESTING = True
    # Tests run jobs themselves; a test of the scheduler starts its own.
    CRM_SCHEDULER = "off"
    CRM_SMTP_URL = None
    SQLALCHEMY_DATABASE_URI = _test_database_url()
    WTF_CSRF_ENABLED = False
    CRM_CUSTOM_FILES_DIR = tempfile.mkdtemp(prefix="voronka-test-files-")
    CRM_EXPORT_DIR = tempfile.mkdtemp(prefix="voronka-test-exports-")
    # Tests write background exports themselves (list_exports.run_pending).
    CRM_EXPORT_THREADS = False
    # A throw-away database need not survive a power cut: no fsync at all.
    CRM_SQLITE_PRAGMAS = {**Config.CRM_SQLITE_PRAGMAS, "synchronous": "OFF"}
    # Hashing passwords at full strength only slows the suite down.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # The suite shares one application: its counters (in the database) are generous;
    # tests/test_auth_*.py make their own applications with the real limits.
    RATELIMIT_STORAGE_URI = None
    CRM_LOGIN_LIMIT = "1000 per 5 minutes"
    CRM_LOGIN_PAIR_LIMIT = "1000 per 5 minutes"
    CRM_LOGIN_IP_LIMIT = "1000 per 5 minutes"
    # The suite logs each role in to the API once; on a busy machine it runs longer than
    # the production lifetime of a token.
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(hours=6)
