"""Sessions: logout voids every copy of the cookie, a deactivated user is out on the next
request, a JWT of a deactivated user is refused, sessions have a bounded lifetime, and the
cookies are HttpOnly, SameSite=Lax and Secure over HTTPS."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, another_app, api_token
from tests.helpers import assert_login_redirect

PROTECTED = "/users/list/"
API_PROTECTED = "/api/v1/security/users/"


@pytest.fixture
def carol(app):
    """A user of our own, an administrator (to reach protected pages and the users API)."""
    from app.database import db

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username="carol", first_name="Carol", last_name="Test",
                           email="carol@test.local", role=sm.find_role("Admin"),
                           password=PASSWORD)
        assert user
        user_id = user.id
        db.session.remove()
    return user_id


def login(app, username="carol", password=PASSWORD):
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302 and "/login/" not in response.headers["Location"]
    return client


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def client_with(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def epoch_of(dbx, user_id: int) -> int:
    from app.models import CrmUser

    return dbx.scalar(select(CrmUser.session_epoch).where(CrmUser.id == user_id))


def set_active(app, user_id: int, active: bool) -> None:
    from app.database import db
    from app.models import CrmUser

    with app.app_context():
        db.session.get(CrmUser, user_id).active = active
        db.session.commit()
        db.session.remove()


# --- logout ----------------------------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_logout(app, carol, dbx):
    client = login(app)
    copied = session_cookie(client)
    assert client_with(app, copied).get(PROTECTED).status_code == 200
    before = epoch_of(dbx, carol)

    assert client.get("/logout/").status_code == 302
    assert epoch_of(dbx, carol) == before + 1

    replay = client_with(app, copied)
    assert_login_redirect(replay.get(PROTECTED))
    # The REST API does not take it either.
    assert client_with(app, copied).get(API_PROTECTED, headers={
        "Accept": "application/json"}).status_code == 401


def test_logout_ends_the_users_other_sessions_too(app, carol):
    first = login(app)
    second = login(app)
    first.get("/logout/")
    assert_login_redirect(second.get(PROTECTED))
    # A new login works as before.
    assert login(app).get(PROTECTED).status_code == 200


def test_a_session_cookie_without_the_epoch_is_refused(app, carol):
    client = login(app)
    with client.session_transaction() as session:
        session.pop("_crm_epoch")
    assert_login_redirect(client.get(PROTECTED))


def test_the_suites_shared_sessions_still_work(admin_client):
    """The fixtures' session cookies, made at the start of the run, carry the epoch."""
    assert admin_client.get(PROTECTED).status_code == 200


# --- deactivation ----------------------------------------------------------------------------


def test_a_deactivated_user_is_out_on_the_next_request(app, carol, dbx):
    client = login(app)
    before = epoch_of(dbx, carol)
    set_active(app, carol, False)
    assert epoch_of(dbx, carol) == before + 1
    assert_login_redirect(client.get(PROTECTED))
    # Reactivated, the old session stays void: a new login is needed.
    set_active(app, carol, True)
    assert_login_redirect(client_with(app, session_cookie(client)).get(PROTECTED))
    assert login(app).get(PROTECTED).status_code == 200


def test_deactivating_through_the_users_form_ends_the_session(app, carol, dbx, admin_client):
    from app.models import CrmUser

    client = login(app)
    cookie = session_cookie(client)
    with dbx.session() as s:
        user = s.get(CrmUser, carol)
        form = {"first_name": user.first_name, "last_name": user.last_name,
                "username": user.username, "email": user.email,
                "roles": [str(r.id) for r in user.roles]}  # "active" unchecked
    response = admin_client.post(f"/users/edit/{carol}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert dbx.get(CrmUser, carol).active is False
    assert_login_redirect(client_with(app, cookie).get(PROTECTED))


def test_deactivating_through_the_api_ends_the_session(app, carol, dbx, api):
    client = login(app)
    before = epoch_of(dbx, carol)
    response = api.put(f"{API_PROTECTED}{carol}", json={"active": False})
    assert response.status_code == 200, response.get_json()
    assert epoch_of(dbx, carol) == before + 1
    assert_login_redirect(client.get(PROTECTED))


def test_the_jwt_of_a_deactivated_user_is_refused(app, carol):
    from tests.conftest import ApiClient

    token = api_token(app.test_client(), "carol")
    api = ApiClient(app.test_client(), token)
    assert api.get(API_PROTECTED).status_code == 200
    set_active(app, carol, False)
    assert api.get(API_PROTECTED).status_code == 401
    assert api.get("/api/v1/client/").status_code == 401
    # Nor can it log in again.
    response = app.test_client().post("/api/v1/security/login", json={
        "username": "carol", "password": PASSWORD, "provider": "db"})
    assert response.status_code == 401


def test_the_refresh_token_of_a_deactivated_user_is_refused(app, carol):
    response = app.test_client().post("/api/v1/security/login", json={
        "username": "carol", "password": PASSWORD, "provider": "db", "refresh": True})
    refresh = response.get_json()["refresh_token"]
    set_active(app, carol, False)
    response = app.test_client().post("/api/v1/security/refresh",
                                      headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 401


# --- password change -------------------------------------------------------------------------


def test_a_password_change_ends_the_other_sessions_but_not_its_own(app, carol):
    other = login(app)
    client = login(app)
    response = client.post("/resetmypassword/form", data={
        "password": "New-Passw0rd-2026", "conf_password": "New-Passw0rd-2026"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert client.get(PROTECTED).status_code == 200
    assert_login_redirect(other.get(PROTECTED))
    login(app, password="New-Passw0rd-2026")


# --- lifetime --------------------------------------------------------------------------------


def test_a_session_older_than_its_lifetime_is_refused(app, carol):
    client = login(app)
    lifetime = app.permanent_session_lifetime.total_seconds()
    assert lifetime == 12 * 3600
    with client.session_transaction() as session:
        session["_crm_auth_at"] = int(time.time() - lifetime + 60)
    assert client.get(PROTECTED).status_code == 200
    with client.session_transaction() as session:
        session["_crm_auth_at"] = int(time.time() - lifetime - 60)
    assert_login_redirect(client.get(PROTECTED))


# --- cookies ---------------------------------------------------------------------------------


def _login_set_cookie(client, **kwargs) -> str:
    response = client.post("/login/", data={"username": "carol", "password": PASSWORD},
                           **kwargs)
    assert response.status_code == 302
    cookies = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    assert cookies
    return cookies[-1]


def test_the_session_cookie_is_httponly_lax_and_bounded(app, carol):
    cookie = _login_set_cookie(app.test_client())
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    # Plain HTTP without CRM_HTTPS: not Secure (the browser would drop it).
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_over_https(app, carol):
    cookie = _login_set_cookie(app.test_client(), base_url="https://localhost")
    assert "Secure" in cookie


def test_remember_cookie_settings(app):
    config = app.config
    assert config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_DURATION"] == config["PERMANENT_SESSION_LIFETIME"]


def test_a_remember_cookie_alone_does_not_log_in(app, carol):
    """FAB never sets one; a forged or stolen one restores no session (it has no epoch)."""
    from flask_login.utils import _cookie_digest

    with app.test_request_context("/"):
        value = f"{carol}|{_cookie_digest(str(carol))}"
    client = app.test_client()
    client.set_cookie("remember_token", value)
    assert_login_redirect(client.get(PROTECTED))


@pytest.fixture(scope="module")
def https_app(app, database_url):
    """An application configured for HTTPS behind one reverse proxy."""
    with another_app(app, database_url, CRM_HTTPS=True, CRM_TRUST_PROXY=1) as application:
        yield application


def test_crm_https_marks_cookies_secure(https_app, carol):
    assert https_app.config["REMEMBER_COOKIE_SECURE"] is True
    cookie = _login_set_cookie(https_app.test_client())
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_behind_a_trusted_proxy_forwarded_https_is_honoured(https_app, carol):
    client = https_app.test_client()
    response = client.get("/login/?next=https://crm.example/clientview/list/",
                          headers={"X-Forwarded-Proto": "https",
                                   "X-Forwarded-Host": "crm.example",
                                   "X-Forwarded-For": "203.0.113.7"})
    # The forwarded host is this site's name: the absolute `next` is on the site.
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_config_from_the_environment():
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, config; c = config.Config; print(json.dumps([c.SESSION_COOKIE_SECURE, "
            "c.REMEMBER_COOKIE_SECURE, c.CRM_TRUST_PROXY, "
            "c.PERMANENT_SESSION_LIFETIME.total_seconds()]))")
    root = Path(__file__).resolve().parent.parent

    def read(**env):
        base = {k: v for k, v in os.environ.items()
                if k not in ("CRM_HTTPS", "CRM_TRUST_PROXY", "CRM_SESSION_HOURS")}
        output = subprocess.run([sys.executable, "-c", code], cwd=root, env={**base, **env},
                                capture_output=True, text=True, check=True).stdout
        return json.loads(output)

    assert read() == [False, False, 0, 12 * 3600]
    assert read(CRM_HTTPS="1", CRM_TRUST_PROXY="1", CRM_SESSION_HOURS="8") == \
        [True, True, 1, 8 * 3600]
