"""Login throttling.

Both login routes -- the HTML form (`/login/`) and the JSON login of the REST API
(`/api/v1/security/login`) -- count failed attempts per user (CRM_LOGIN_LIMIT), per
user and client address together (CRM_LOGIN_PAIR_LIMIT) and per client address
(CRM_LOGIN_IP_LIMIT, much higher: a whole office may share one address), each a
moving window such as "10 per 5 minutes". Once one is used up, an attempt answers 429
with "Too many login attempts. Try again in N s." and a Retry-After header, without
checking the password. A successful login is not counted, and another user's failures
from another address never block anyone. The counters live in the application's
database (crm_login_failure), so every web process counts the same attempts, or in the
storage RATELIMIT_STORAGE_URI names (redis://...: shared by the processes of several
hosts; memory://: each process its own). The check comes before the password is
tested and the failure is counted after, so a burst of simultaneous attempts can
overshoot the limit by the number of requests served at once; the next attempt is
refused. If the storage fails (Redis down), logins are allowed and the error is logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import datetime, timedelta, timezone
from typing import Optional

from flask import (
    Flask,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    request,
)
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from app.database import db
from app.models import LoginFailure

log = logging.getLogger(__name__)

EXTENSION = "crm_login_throttle"


# --- login throttling ------------------------------------------------------------------------


class LoginThrottle:
    """Failed-login counters per user, per user and client address, and per client
    address, each with its own limit in a moving window."""

    storage_uri = ""

    def __init__(self, app: Flask):
        from limits import parse

        self.user_limit = parse(app.config["CRM_LOGIN_LIMIT"])
        self.pair_limit = parse(app.config["CRM_LOGIN_PAIR_LIMIT"])
        self.ip_limit = parse(app.config["CRM_LOGIN_IP_LIMIT"])

    def _checks(self, ip: str, user_key: Optional[str]):
        """(limit, kind, user key or None, address) for each counter an attempt touches."""
        checks = [(self.ip_limit, "ip", None, ip)]
        if user_key:
            checks += [(self.user_limit, "user", user_key, None),
                       (self.pair_limit, "pair", user_key, ip)]
        return checks

    def retry_after(self, ip: str, user_key: Optional[str]) -> Optional[int]:
        """Seconds until an attempt is allowed again, or None when it is allowed now."""
        raise NotImplementedError

    def failed(self, ip: str, user_key: Optional[str]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every counter."""
        raise NotImplementedError


class LimitsLoginThrottle(LoginThrottle):
    """The counters in a storage of the `limits` library: Redis (shared by every process
    on every host that uses it) or the process' memory (`memory://`)."""

    def __init__(self, app: Flask, uri: str):
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        super().__init__(app)
        options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        scheme = uri.split(":", 1)[0]
        if scheme in ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster",
                      "valkey", "valkeys"):
            options.setdefault("key_prefix", app.config["CRM_LOGIN_LIMIT_KEY_PREFIX"])
        if scheme in ("redis", "rediss"):
            # An unreachable Redis must not hang the login: fail fast, then fail open.
            options.setdefault("socket_connect_timeout", 2)
            options.setdefault("socket_timeout", 2)
        self.storage_uri = uri
        self.storage = storage_from_string(uri, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)

    @staticmethod
    def _identifiers(kind: str, user_key: Optional[str], ip: Optional[str]) -> list[str]:
        return [kind, *(part for part in (user_key, ip) if part is not None)]

    def retry_after(self, ip: str, user_key: Optional[str]) -> Optional[int]:
        waits = []
        for limit, kind, user, address in self._checks(ip, user_key):
            identifiers = self._identifiers(kind, user, address)
            if not self.strategy.test(limit, *identifiers):
                reset_at, _remaining = self.strategy.get_window_stats(limit, *identifiers)
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits) if waits else None

    def failed(self, ip: str, user_key: Optional[str]) -> None:
        for limit, kind, user, address in self._checks(ip, user_key):
            self.strategy.hit(limit, *self._identifiers(kind, user, address))

    def reset(self) -> None:
        """Forget every counter (of this key prefix, for Redis)."""
        self.storage.reset()


class DatabaseLoginThrottle(LoginThrottle):
    """The counters in the application's database (crm_login_failure): one row per failed
    attempt, counted in each limit's window. Every web process of every host on the same
    database counts the same attempts. Read and written on a connection of its own, so the
    request's unit of work is never committed or rolled back by the throttle."""

    storage_uri = "database"

    def __init__(self, app: Flask):
        super().__init__(app)
        with app.app_context():
            self.engine = db.engine
        self.longest_window = max(limit.get_expiry()
                                  for limit in (self.user_limit, self.pair_limit,
                                                self.ip_limit))

    @staticmethod
    def _address_key(ip: str) -> str:
        return hashlib.sha256(f"ip:{ip}".encode("utf-8")).hexdigest()[:32]

    @staticmethod
    def _now() -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)

    def retry_after(self, ip: str, user_key: Optional[str]) -> Optional[int]:
        now = self._now()
        address_key = self._address_key(ip)
        waits = []
        with self.engine.connect() as connection:
            for limit, _kind, user, address in self._checks(ip, user_key):
                window = timedelta(seconds=limit.get_expiry())
                query = select(LoginFailure.failed_at).where(LoginFailure.failed_at > now - window)
                if user is not None:
                    query = query.where(LoginFailure.user_key == user)
                if address is not None:
                    query = query.where(LoginFailure.address_key == address_key)
                # The newest `amount` failures: with that many in the window, the attempt
                # waits until the oldest of them leaves it.
                times = connection.execute(query.order_by(LoginFailure.failed_at.desc())
                                           .limit(limit.amount)).scalars().all()
                if len(times) >= limit.amount:
                    free_at = times[-1] + window
                    waits.append(max(1, math.ceil((free_at - now).total_seconds())))
        return max(waits) if waits else None

    def failed(self, ip: str, user_key: Optional[str]) -> None:
        now = self._now()
        with self.engine.begin() as connection:
            connection.execute(insert(LoginFailure).values(
                failed_at=now, user_key=user_key, address_key=self._address_key(ip)))
            connection.execute(delete(LoginFailure).where(
                LoginFailure.failed_at < now - timedelta(seconds=self.longest_window)))

    def reset(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(LoginFailure))


def make_throttle(app: Flask) -> LoginThrottle:
    """RATELIMIT_STORAGE_URI names a `limits` storage (redis://..., memory://); unset, the
    counters are kept in the application's database."""
    uri = app.config.get("RATELIMIT_STORAGE_URI")
    if uri:
        return LimitsLoginThrottle(app, uri)
    return DatabaseLoginThrottle(app)


def throttle(app: Optional[Flask] = None) -> LoginThrottle:
    return (app or current_app).extensions[EXTENSION]


def _user_key(username) -> Optional[str]:
    """The user an attempt is for: the account's id when the login or e-mail names one
    (so switching between the two does not double the attempts), else the name itself.
    Hashed: no login names in the limiter's storage."""
    if not isinstance(username, str) or not username.strip():
        return None
    name = username.strip()[:256]
    user = None
    try:
        sm = current_app.appbuilder.sm
        user = sm.find_user(username=name) or sm.find_user(email=name)
    except Exception:  # pragma: no cover - a lookup problem must not break the login
        log.exception("Looking up the user of a login attempt failed")

        db.session.rollback()
    ident = f"id:{user.id}" if user is not None else f"name:{name.casefold()}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]


def _login_endpoints(app: Flask) -> dict[str, str]:
    sm = app.appbuilder.sm
    endpoints = {"SecurityApi.login": "api"}
    if sm.auth_view is not None:
        endpoints[f"{sm.auth_view.endpoint}.login"] = "html"
    return endpoints


def _submitted_username(kind: str):
    if kind == "api":
        payload = request.get_json(silent=True)
        return payload.get("username") if isinstance(payload, dict) else None
    return request.form.get("username")


def too_many_attempts_message(seconds: int) -> str:
    return _("Too many login attempts. Try again in %(seconds)s s.", seconds=seconds)


def _check_login_attempt():
    """before_request: refuse a login POST once its IP or user is over the limit."""
    if request.method != "POST":
        return None
    kind = current_app.extensions["crm_login_endpoints"].get(request.endpoint or "")
    if kind is None:
        return None
    ip = request.remote_addr or "unknown"
    user_key = _user_key(_submitted_username(kind))
    try:
        wait = throttle().retry_after(ip, user_key)
    except Exception:
        log.exception("The login rate limiter's storage failed: the attempt is allowed")
        return None
    if wait is None:
        g.crm_login_attempt = (ip, user_key)
        return None
    log.warning("Login attempt refused, too many failures (ip %s)", ip)
    message = too_many_attempts_message(wait)
    headers = {"Retry-After": str(wait)}
    if kind == "api":
        return jsonify(message=message), 429, headers
    return _render_login_form(message), 429, headers


def _render_login_form(message: str):
    from flask_appbuilder.security.forms import LoginForm_db

    view = current_app.appbuilder.sm.auth_view
    flash(message, "danger")
    form = LoginForm_db()
    return view.render_template(view.login_template, title=view.title, form=form,
                                appbuilder=view.appbuilder)


def login_failed() -> None:
    """Count a failed attempt of the current login request (called by the security
    manager when the password check fails)."""
    attempt = g.pop("crm_login_attempt", None) if has_request_context() else None
    if attempt is None:
        return
    try:
        throttle().failed(*attempt)
    except Exception:
        log.exception("The login rate limiter's storage failed: the failure is not counted")


def install(app: Flask) -> None:
    """The throttle of the application's storage, and its check before every login."""
    app.extensions[EXTENSION] = make_throttle(app)
    app.extensions["crm_login_endpoints"] = _login_endpoints(app)
    app.before_request(_check_login_attempt)
