"""API tokens follow the user's session epoch: logging out, a new password (the user's own,
one set by an administrator, one set through the API) and deactivation end the access token
and the refresh token, which no longer makes new access tokens. A new login works at once.
The tokens' lifetimes come from the configuration, with a refresh token of 7 days."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, ApiClient, login

USERS = "/api/v1/security/users/"
CLIENTS = "/api/v1/client/"
NEW_PASSWORD = "New-Passw0rd-2026"


@pytest.fixture
def quinn(app):
    """A manager of our own: their tokens and sessions end in these tests."""
    from app.database import db

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username="quinn", first_name="Quinn", last_name="Test",
                           email="quinn@test.local", role=sm.find_role("Manager"),
                           password=PASSWORD)
        pk = user.id
        db.session.remove()
    return pk


def tokens(app, username="quinn", password=PASSWORD) -> tuple[str, str]:
    response = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["access_token"], body["refresh_token"]


def works(app, access: str) -> bool:
    status = ApiClient(app.test_client(), access).get(CLIENTS).status_code
    assert status in (200, 401), status
    return status == 200


def refreshes(app, refresh: str) -> bool:
    response = app.test_client().post("/api/v1/security/refresh",
                                      headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code in (200, 401), response.status_code
    if response.status_code == 200:
        assert works(app, response.get_json()["access_token"])
    return response.status_code == 200


def assert_ended(app, access: str, refresh: str) -> None:
    assert not works(app, access)
    assert not refreshes(app, refresh)


def test_the_tokens_carry_the_epoch(app, quinn):
    from flask_jwt_extended import decode_token

    access, refresh = tokens(app)
    with app.test_request_context("/"):
        assert decode_token(access)["epoch"] == 0
        assert decode_token(refresh)["epoch"] == 0
    assert works(app, access) and refreshes(app, refresh)


def test_logging_out_of_the_browser_ends_the_tokens(app, quinn):
    access, refresh = tokens(app)
    browser = login(app.test_client(), "quinn")
    assert browser.get("/logout/").status_code == 302
    assert_ended(app, access, refresh)
    assert works(app, tokens(app)[0])


def test_a_new_password_of_ones_own_ends_the_tokens(app, quinn):
    access, refresh = tokens(app)
    browser = login(app.test_client(), "quinn")
    response = browser.post("/resetmypassword/form", data={
        "password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert_ended(app, access, refresh)
    # The browser session that set it goes on; the new password gives new tokens.
    assert browser.get("/users/userinfo/").status_code == 200
    assert works(app, tokens(app, password=NEW_PASSWORD)[0])


def test_a_password_set_by_the_administrator_ends_the_tokens(app, quinn, admin_client):
    access, refresh = tokens(app)
    response = admin_client.post(f"/resetpassword/form?pk={quinn}", data={
        "password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert_ended(app, access, refresh)
    # The administrator's own session is not touched.
    assert admin_client.get("/users/list/").status_code == 200


def test_a_password_set_through_the_api_ends_the_tokens(app, quinn, api):
    access, refresh = tokens(app)
    browser = login(app.test_client(), "quinn")
    response = api.put(f"{USERS}{quinn}", json={"password": NEW_PASSWORD})
    assert response.status_code == 200, response.get_json()
    assert_ended(app, access, refresh)
    assert browser.get("/users/userinfo/").status_code == 302
    # Another change of the user ends nothing.
    access, refresh = tokens(app, password=NEW_PASSWORD)
    assert api.put(f"{USERS}{quinn}", json={"first_name": "Q"}).status_code == 200
    assert works(app, access) and refreshes(app, refresh)


def test_deactivation_ends_the_tokens_for_good(app, quinn, api):
    access, refresh = tokens(app)
    assert api.put(f"{USERS}{quinn}", json={"active": False}).status_code == 200
    assert_ended(app, access, refresh)
    assert api.put(f"{USERS}{quinn}", json={"active": True}).status_code == 200
    assert_ended(app, access, refresh)
    assert works(app, tokens(app)[0])


def test_a_token_without_the_epoch_is_refused(app, quinn):
    from flask_jwt_extended import create_access_token, create_refresh_token

    with app.test_request_context("/"):
        access = create_access_token(identity=str(quinn), additional_claims={"epoch": None})
        refresh = create_refresh_token(identity=str(quinn), additional_claims={"epoch": "0"})
    assert_ended(app, access, refresh)
    response = ApiClient(app.test_client(), access).get(CLIENTS)
    assert response.get_json() == {"msg": _tr(app, "This token is no longer valid: log in "
                                                   "again.")}


def _tr(app, message):
    from tests.helpers import tr

    return tr(app, message)


def test_the_suites_shared_tokens_still_work(api, api_as):
    assert api.get(USERS).status_code == 200
    assert api_as("manager").get(CLIENTS).status_code == 200


def test_the_lifetimes(app, quinn):
    from datetime import timedelta

    from flask_jwt_extended import decode_token

    from config import Config

    assert Config.JWT_ACCESS_TOKEN_EXPIRES == timedelta(minutes=15)
    assert Config.JWT_REFRESH_TOKEN_EXPIRES == timedelta(days=7)
    assert app.config["JWT_REFRESH_TOKEN_EXPIRES"] == timedelta(days=7)
    access, refresh = tokens(app)
    with app.test_request_context("/"):
        access_claims, refresh_claims = decode_token(access), decode_token(refresh)
    # The suite's own configuration lets access tokens outlive a slow run (config.TestConfig).
    access_lifetime = app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()
    assert access_claims["exp"] - access_claims["iat"] == access_lifetime
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600


def test_the_lifetimes_come_from_the_environment():
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, config; c = config.Config; print(json.dumps(["
            "c.JWT_ACCESS_TOKEN_EXPIRES.total_seconds(), "
            "c.JWT_REFRESH_TOKEN_EXPIRES.total_seconds()]))")
    root = Path(__file__).resolve().parent.parent
    base = {k: v for k, v in os.environ.items()
            if k not in ("CRM_API_TOKEN_MINUTES", "CRM_API_REFRESH_DAYS")}

    def read(**env):
        output = subprocess.run([sys.executable, "-c", code], cwd=root, env={**base, **env},
                                capture_output=True, text=True, check=True).stdout
        return json.loads(output)

    assert read() == [15 * 60, 7 * 24 * 3600]
    assert read(CRM_API_TOKEN_MINUTES="5", CRM_API_REFRESH_DAYS="1") == [5 * 60, 24 * 3600]

