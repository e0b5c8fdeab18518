"""Authentication hardening: server-side session invalidation, a bounded session lifetime,
safe `?next=` redirects, password complexity and security headers (the login throttle is
app.web.throttle).

`install(app)` wires it all; create_app calls it once the security manager exists.

Sessions and API tokens
    The login stores the user's `session_epoch` and the login time in the (signed) session
    cookie; the API tokens (access and refresh, made by FAB with Flask-JWT-Extended) carry
    the epoch as a claim. Logging out, deactivating the user and a new password raise the
    epoch (the session that set the password is carried over), so every cookie and token
    issued before -- including a copy -- no longer logs anybody in, and a refresh token no
    longer makes access tokens. A session older than PERMANENT_SESSION_LIFETIME is refused
    whatever its cookie says; access and refresh tokens expire after JWT_ACCESS_TOKEN_EXPIRES
    and JWT_REFRESH_TOKEN_EXPIRES. Flask-Login's "remember me" cookie cannot restore a
    session (it carries no epoch): FAB never sets it, and it is configured HttpOnly,
    SameSite=Lax and bounded anyway. The session cookie is HttpOnly, SameSite=Lax and Secure
    when CRM_HTTPS=1 or when the request came over HTTPS (behind a proxy: CRM_TRUST_PROXY).

API writes from the browser
    The REST API also accepts the browser's session cookie (FAB's allow_browser_login, used
    by Swagger UI). A POST, PUT, PATCH or DELETE that the cookie authenticates must carry
    the page's CSRF token in the X-CSRFToken header; a request with a token in its
    Authorization header is the token's, and the cookie that may come with it is ignored.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Optional
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import NO_VALUE
from werkzeug.datastructures import MultiDict

from app.database import db
from app.models import CrmUser
from app.services import request_scope
from app.web import throttle

log = logging.getLogger(__name__)

EPOCH_KEY = "_crm_epoch"
AUTH_AT_KEY = "_crm_auth_at"
_FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")



# --- configuration ---------------------------------------------------------------------------


def configure_defaults(app: Flask) -> None:
    """Fill in the settings config.py may leave out (an app made from another config)."""
    config = app.config
    config.setdefault("CRM_LOGIN_LIMIT", "10 per 5 minutes")
    config.setdefault("CRM_LOGIN_PAIR_LIMIT", "10 per 5 minutes")
    config.setdefault("CRM_LOGIN_IP_LIMIT", "100 per 5 minutes")
    config.setdefault("CRM_LOGIN_LIMIT_KEY_PREFIX", "voronka-login")
    config.setdefault("CRM_PASSWORD_MIN_LENGTH", 10)
    config.setdefault("CRM_TRUST_PROXY", 0)
    config.setdefault("FAB_PASSWORD_COMPLEXITY_ENABLED", True)
    config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", password_complexity)


# --- password complexity ---------------------------------------------------------------------


def password_problem(password: Optional[str], min_length: int = 10) -> Optional[str]:
    """The reason a new password is too weak, or None. At least `min_length` characters,
    an upper-case letter, a lower-case letter and a digit (any alphabet)."""
    password = password or ""
    if (len(password) >= min_length and any(c.isupper() for c in password)
            and any(c.islower() for c in password) and any(c.isdigit() for c in password)):
        return None
    return _("The password must be at least %(length)s characters long and contain an "
             "upper-case letter, a lower-case letter and a digit.", length=min_length)


def password_complexity(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: FAB calls it for the user form, the password reset
    forms and the security API."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    problem = password_problem(password, int(current_app.config.get("CRM_PASSWORD_MIN_LENGTH", 10)))
    if problem:
        raise PasswordComplexityValidationError(problem)


# --- sessions --------------------------------------------------------------------------------


def _on_user_logged_in(sender, user, **_extra) -> None:
    """Flask-Login's user_logged_in: bind the session to the user's current epoch."""
    session[EPOCH_KEY] = int(user.session_epoch or 0)
    session[AUTH_AT_KEY] = int(time.time())
    session.permanent = True


def _forget_login() -> None:
    for key in (*_FLASK_LOGIN_KEYS, EPOCH_KEY, AUTH_AT_KEY):
        session.pop(key, None)


def session_is_current(user) -> bool:
    """Whether the request's session still stands for `user`: issued at the user's current
    epoch and not older than PERMANENT_SESSION_LIFETIME. A stale session is cleared."""
    if not has_request_context():
        return True
    epoch = session.get(EPOCH_KEY)
    auth_at = session.get(AUTH_AT_KEY)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    current = (isinstance(epoch, int) and epoch == int(user.session_epoch or 0)
               and isinstance(auth_at, (int, float)) and time.time() - auth_at <= lifetime)
    if not current:
        _forget_login()
    return current


def end_sessions(user_id: int) -> int:
    """Void every session of a user (all browsers, all copies of the cookie); commits.
    Returns the new epoch."""

    db.session.execute(update(CrmUser.__table__).where(CrmUser.__table__.c.id == user_id)
                       .values(session_epoch=CrmUser.__table__.c.session_epoch + 1))
    epoch = db.session.execute(select(CrmUser.__table__.c.session_epoch)
                               .where(CrmUser.__table__.c.id == user_id)).scalar_one()
    db.session.commit()
    return epoch


def keep_current_session(user_id: int, epoch: int) -> None:
    """After end_sessions for the logged-in user (a password change): this session lives on."""
    if has_request_context() and str(session.get("_user_id")) == str(user_id):
        session[EPOCH_KEY] = epoch


def current_epoch(user_id) -> int:
    return db.session.execute(select(CrmUser.__table__.c.session_epoch)
                              .where(CrmUser.__table__.c.id == int(user_id))).scalar_one()


def _on_active_set(target, value, oldvalue, _initiator):
    """Deactivating a user voids their sessions and API tokens, even if they are
    reactivated later. FAB's user form and security API may load FAB's own User class,
    which does not map session_epoch: the epoch is raised in SQL when the row is written
    (_after_user_update)."""

    if oldvalue is not NO_VALUE and oldvalue and not value:
        target.__dict__["_crm_end_sessions"] = True


def _on_password_set(target, value, oldvalue, _initiator):
    """A new password voids the user's sessions and API tokens (the session that set it
    is carried over by the security manager's reset_password)."""

    if oldvalue is not NO_VALUE and oldvalue is not None and value != oldvalue:
        target.__dict__["_crm_end_sessions"] = True


def _after_user_update(mapper, connection, target) -> None:
    if not target.__dict__.pop("_crm_end_sessions", False):
        return
    table = CrmUser.__table__
    connection.execute(update(table).where(table.c.id == target.id)
                       .values(session_epoch=table.c.session_epoch + 1))
    if "session_epoch" in mapper.attrs:
        set_committed_value(target, "session_epoch", connection.execute(
            select(table.c.session_epoch).where(table.c.id == target.id)).scalar_one())


# --- API tokens ------------------------------------------------------------------------------

TOKEN_EPOCH_CLAIM = "epoch"


def token_claims(identity) -> dict:
    """Flask-JWT-Extended's additional claims: the user's epoch when the token is made (FAB
    makes access and refresh tokens with the user's id as the identity)."""
    try:
        return {TOKEN_EPOCH_CLAIM: current_epoch(identity)}
    except (TypeError, ValueError, LookupError):
        return {}


def token_is_current(user, claims: dict) -> bool:
    """A token stands while the user's epoch is the one it was issued at: logging out,
    a new password and deactivation raise the epoch."""
    epoch = claims.get(TOKEN_EPOCH_CLAIM)
    return isinstance(epoch, int) and epoch == int(getattr(user, "session_epoch", 0) or 0)


def token_refused(_jwt_header, _jwt_data):
    """The answer to a token whose user is inactive or whose epoch has passed."""
    from flask_jwt_extended.config import config as jwt_config

    return jsonify({jwt_config.error_msg_key: _(
        "This token is no longer valid: log in again.")}), 401


def request_has_token() -> bool:
    """Whether the request is an API request that brings its own credentials."""
    return (has_request_context() and _is_api_request()
            and bool(request.headers.get("Authorization")))


# --- cookie-authenticated API writes ---------------------------------------------------------

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def _check_api_csrf():
    """before_request: an API write that the session cookie authenticates (FAB's
    allow_browser_login) must carry the page's CSRF token in X-CSRFToken, as a form post
    carries it in its body. Requests with a token in Authorization are the token's and
    need none; the JSON login needs none either."""
    from flask_login import current_user
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError

    if request.method not in _UNSAFE_METHODS or not _is_api_request():
        return None
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    if request_has_token() or request.endpoint == "SecurityApi.login":
        return None
    if not current_user.is_authenticated:
        return None
    headers = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    token = next((request.headers[h] for h in headers if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        return jsonify(message=_("A change through the API from the browser session needs "
                                 "the page's CSRF token in the X-CSRFToken header.")), 400
    return None


class CrmSessionInterface(SecureCookieSessionInterface):
    """Secure session cookie when configured or when the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if super().get_cookie_secure(app):
            return True
        return has_request_context() and request.is_secure


# --- redirects -------------------------------------------------------------------------------


def is_safe_next_url(url) -> bool:
    """A `next` target on this site: a path ("/clients/list/") or an http(s) URL of this
    host. Refuses other hosts, scheme-relative "//host", backslashes (browsers read "/\\host"
    as "//host"), control characters and whitespace (browsers drop tabs and newlines)."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        return False
    if "\\" in url or any(ord(c) < 0x21 or ord(c) == 0x7F or c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return has_request_context() and parts.netloc.lower() == request.host.lower()
    return url.startswith("/") and not url.startswith("//")


def safe_next_url(url) -> str:
    if is_safe_next_url(url):
        return url
    if url:
        log.warning("Refused a redirect off the site: %r", url[:200])
    return current_app.appbuilder.get_url_for_index


def _drop_unsafe_next():
    """before_request: a GET or HEAD whose `next` leads off the site is sent to the same
    page without it (FAB also uses `next` for the Back buttons)."""
    if request.method not in ("GET", "HEAD") or "next" not in request.args:
        return None
    if all(is_safe_next_url(v) for v in request.args.getlist("next")):
        return None
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "next"])
    from urllib.parse import urlencode

    query = urlencode(list(args.items(multi=True)))
    return redirect(request.path + (f"?{query}" if query else ""))


# --- security headers ------------------------------------------------------------------------


def csp_nonce() -> str:
    """The request's CSP nonce; FAB's templates put it on their scripts
    (`baselib.get_nonce()` calls `csp_nonce()` when it is defined)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: Optional[str]) -> str:
    script = "script-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'",
        script,
        # FAB's templates and widgets carry style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _security_headers(response):
    nonce = g.get("csp_nonce") if has_request_context() else None
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if has_request_context() and request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# --- wiring ----------------------------------------------------------------------------------


def _request_user():
    return getattr(g, "user", None) if has_request_context() else None


def _request_store():
    return g.setdefault("crm_request_store", {}) if has_request_context() else None


def install(app: Flask) -> None:
    """Called by create_app after AppBuilder is initialised."""
    from flask_appbuilder.security.sqla.models import User
    from flask_login import user_logged_in
    from sqlalchemy import event

    configure_defaults(app)
    request_scope.install(user=_request_user, store=_request_store)
    if app.config.get("CRM_HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    trusted_proxies = int(app.config.get("CRM_TRUST_PROXY") or 0)
    if trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies,
                                x_host=trusted_proxies, x_port=trusted_proxies)
    app.session_interface = CrmSessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(_drop_unsafe_next)
    throttle.install(app)
    app.before_request(_check_api_csrf)
    app.after_request(_security_headers)
    user_logged_in.connect(_on_user_logged_in)
    if not event.contains(User.active, "set", _on_active_set):
        event.listen(User.active, "set", _on_active_set, active_history=True, propagate=True)
        event.listen(User.password, "set", _on_password_set, active_history=True,
                     propagate=True)
        event.listen(User, "after_update", _after_user_update, propagate=True)
