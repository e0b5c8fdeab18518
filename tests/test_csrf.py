"""CSRF: with protection on (as in production), a form post without the token changes
nothing, and a GET never deletes."""

from __future__ import annotations

import re

import pytest

from app.models import Client
from tests.conftest import another_app
from tests.factories import CLIENT
from tests.helpers import form_errors, text_of


@pytest.fixture(scope="module")
def csrf_app(app, database_url):
    """A second application on the same database, with CSRF protection on."""
    with another_app(app, database_url, WTF_CSRF_ENABLED=True) as application:
        yield application


@pytest.fixture
def browser(csrf_app, _session_cookies):
    """The administrator's browser on the CSRF-protected application."""
    client = csrf_app.test_client()
    client.set_cookie("session", _session_cookies["admin"])
    return client


def csrf_token(client, url: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      text_of(client.get(url)))
    assert match, "the form must carry a CSRF token"
    return match.group(1)


def test_add_without_token_is_refused(browser, dbx):
    deps = CLIENT.deps(dbx)
    response = browser.post("/clientview/add", data=CLIENT.form(deps, 1))
    assert response.status_code == 400
    assert dbx.count(Client) == 0
    # The same post with the form's token is accepted.
    token = csrf_token(browser, "/clientview/add")
    response = browser.post("/clientview/add", data={**CLIENT.form(deps, 1), "csrf_token": token})
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.count(Client) == 1


def test_edit_without_token_is_refused(browser, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1)
    response = browser.post(f"/clientview/edit/{pk}",
                            data={**CLIENT.form(deps, 1), "version": "1", "name": "Forged"})
    assert response.status_code in (200, 400)
    assert dbx.get(Client, pk).name == "ООО Ромашка 1"


def test_delete_without_token_is_refused(browser, dbx):
    pk = CLIENT.create(dbx, n=1)
    assert browser.post(f"/clientview/delete/{pk}").status_code == 400
    assert dbx.get(Client, pk) is not None
    token = csrf_token(browser, f"/clientview/edit/{pk}")
    response = browser.post(f"/clientview/delete/{pk}", data={"csrf_token": token})
    assert response.status_code == 302
    assert dbx.get(Client, pk) is None


@pytest.mark.parametrize("which", ["csrf_app", "app"])
def test_get_never_deletes(request, dbx, _session_cookies, which):
    application = request.getfixturevalue(which)
    client = application.test_client()
    client.set_cookie("session", _session_cookies["admin"])
    pk = CLIENT.create(dbx, n=1)
    response = client.get(f"/clientview/delete/{pk}")
    assert response.status_code == 405
    assert dbx.get(Client, pk) is not None


def test_bulk_action_without_token_is_refused(browser, dbx):
    pk = CLIENT.create(dbx, n=1)
    response = browser.post("/clientview/action_post", data={"action": "muldelete",
                                                             "rowid": [str(pk)]})
    assert response.status_code == 400
    assert dbx.get(Client, pk) is not None


def test_login_form_needs_the_token(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login/", data={"username": "admin", "password": "x"})
    assert response.status_code == 400


def test_api_with_a_token_needs_no_csrf(csrf_app, dbx, _api_tokens):
    deps = CLIENT.deps(dbx)
    client = csrf_app.test_client()
    response = client.post("/api/v1/client/", json=CLIENT.json(deps, 1),
                           headers={"Authorization": f"Bearer {_api_tokens['admin']}"})
    assert response.status_code == 201, response.get_json()
    assert dbx.count(Client) == 1


def test_api_with_the_browser_session_takes_only_json(browser, dbx):
    """A cross-site page can post a form with the user's cookie, but not a JSON body."""
    deps = CLIENT.deps(dbx)
    response = browser.post("/api/v1/client/", data=CLIENT.form(deps, 1))
    assert response.status_code in (400, 415)
    response = browser.post("/api/v1/client/", data='{"name": "Forged", "kind": "company"}',
                            content_type="text/plain")
    assert response.status_code in (400, 415)
    assert dbx.count(Client) == 0
