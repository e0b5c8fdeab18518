"""The REST API with the browser's session cookie (Flask-AppBuilder's allow_browser_login,
used by Swagger UI): reading needs nothing more, but a write must carry the page's CSRF
token in X-CSRFToken, or a page of another site could make the user's browser change data.
A request with a token in Authorization is the token's: it needs no CSRF token, and the
cookie that comes with it lends it nothing."""

from __future__ import annotations

import re

import pytest

from app.models import Client, Product
from tests.conftest import PASSWORD, another_app
from tests.factories import CLIENT, PRODUCT
from tests.helpers import text_of, tr

MESSAGE = ("A change through the API from the browser session needs the page's CSRF token in "
           "the X-CSRFToken header.")


@pytest.fixture(scope="module")
def csrf_app(app, database_url):
    """A second application on the same database, with CSRF protection on (production)."""
    with another_app(app, database_url, WTF_CSRF_ENABLED=True) as application:
        yield application


def browser(csrf_app, cookies, login: str):
    client = csrf_app.test_client()
    client.set_cookie("session", cookies[login])
    return client


def page_token(client) -> str:
    """The CSRF token a page of the site gives its scripts (Swagger UI's)."""
    match = re.search(r'data-csrf-token="([^"]+)"', text_of(client.get("/swagger/v1")))
    assert match, "the Swagger UI page must carry the CSRF token"
    return match.group(1)


def test_a_cookie_write_without_the_token_is_refused(csrf_app, _session_cookies, dbx):
    client = browser(csrf_app, _session_cookies, "admin")
    deps = CLIENT.deps(dbx)
    response = client.post("/api/v1/client/", json=CLIENT.json(deps, 1))
    assert response.status_code == 400
    assert response.get_json() == {"message": tr(csrf_app, MESSAGE)}
    response = client.post("/api/v1/client/", json=CLIENT.json(deps, 1),
                           headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert dbx.count(Client) == 0


def test_a_cookie_write_with_the_token_is_done(csrf_app, _session_cookies, dbx):
    client = browser(csrf_app, _session_cookies, "admin")
    token = page_token(client)
    deps = CLIENT.deps(dbx)
    response = client.post("/api/v1/client/", json=CLIENT.json(deps, 1),
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    for method, kwargs in (("put", {"json": {"name": "Renamed"}}), ("delete", {})):
        response = getattr(client, method)(f"/api/v1/client/{pk}", **kwargs)
        assert response.status_code == 400, method
        response = getattr(client, method)(f"/api/v1/client/{pk}",
                                           headers={"X-CSRFToken": token}, **kwargs)
        assert response.status_code == 200, (method, response.get_json())
    assert dbx.count(Client) == 0


def test_the_security_api_is_covered_too(csrf_app, _session_cookies, dbx):
    from flask_appbuilder.security.sqla.models import Role

    client = browser(csrf_app, _session_cookies, "admin")
    roles = dbx.count(Role)
    assert client.post("/api/v1/security/roles/", json={"name": "Forged"}).status_code == 400
    assert dbx.count(Role) == roles
    response = client.post("/api/v1/security/roles/", json={"name": "Marketing"},
                           headers={"X-CSRFToken": page_token(client)})
    assert response.status_code == 201, response.get_json()


def test_reading_with_the_cookie_needs_no_token(csrf_app, _session_cookies):
    client = browser(csrf_app, _session_cookies, "admin")
    assert client.get("/api/v1/client/").status_code == 200
    assert client.get("/api/v1/security/users/").status_code == 200


def test_a_bearer_token_needs_no_csrf_token(csrf_app, _api_tokens, dbx):
    deps = PRODUCT.deps(dbx)
    response = csrf_app.test_client().post(
        "/api/v1/product/", json=PRODUCT.json(deps, 1),
        headers={"Authorization": f"Bearer {_api_tokens['admin']}"})
    assert response.status_code == 201, response.get_json()


def test_with_a_bearer_token_the_cookie_does_not_count(csrf_app, _session_cookies,
                                                       _api_tokens, dbx):
    """The manager's browser brings the administrator's session: the manager's token
    decides, and managers may not add products."""
    deps = PRODUCT.deps(dbx)
    client = browser(csrf_app, _session_cookies, "admin")
    response = client.post("/api/v1/product/", json=PRODUCT.json(deps, 1),
                           headers={"Authorization": f"Bearer {_api_tokens['manager']}"})
    assert response.status_code == 403
    client = browser(csrf_app, _session_cookies, "manager")
    response = client.post("/api/v1/product/", json=PRODUCT.json(deps, 2),
                           headers={"Authorization": f"Bearer {_api_tokens['admin']}"})
    assert response.status_code == 201, response.get_json()
    assert dbx.count(Product) == 1


def test_the_json_login_needs_no_csrf_token(csrf_app, _session_cookies):
    client = browser(csrf_app, _session_cookies, "admin")
    response = client.post("/api/v1/security/login", json={
        "username": "manager", "password": PASSWORD, "provider": "db"})
    assert response.status_code == 200


def test_swagger_ui_sends_the_token(csrf_app, _session_cookies):
    page = text_of(browser(csrf_app, _session_cookies, "admin").get("/swagger/v1"))
    assert "requestInterceptor" in page and '"X-CSRFToken"' in page
