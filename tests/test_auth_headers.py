"""Security headers on every response: a Content-Security-Policy whose script nonce is the
one FAB's templates put on their scripts, nosniff, same-origin referrers, no framing."""

from __future__ import annotations

import re

import pytest

from tests.helpers import text_of

FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    result = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


def assert_security_headers(response) -> dict[str, list[str]]:
    for name, value in FIXED_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    return csp


def script_nonce(csp) -> str | None:
    nonces = [w[len("'nonce-"):-1] for w in csp["script-src"] if w.startswith("'nonce-")]
    assert len(nonces) <= 1
    return nonces[0] if nonces else None


def assert_scripts_carry_the_nonce(response) -> str:
    csp = assert_security_headers(response)
    nonce = script_nonce(csp)
    assert nonce and len(nonce) >= 16
    scripts = re.findall(r"<script\b[^>]*>", text_of(response))
    assert scripts, "the page has scripts"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
    return nonce


@pytest.mark.parametrize("path", ["/login/", "/"])
def test_anonymous_pages(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 200
    assert_scripts_carry_the_nonce(response)


@pytest.mark.parametrize("path", ["/clientview/list/", "/clientview/add", "/swagger/v1"],
                         ids=["list-with-search-filters", "add-form", "swagger-ui"])
def test_pages_with_scripts(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert_scripts_carry_the_nonce(response)


def test_every_response_has_a_new_nonce(anon_client):
    first = script_nonce(directives(anon_client.get("/login/")))
    second = script_nonce(directives(anon_client.get("/login/")))
    assert first != second


def test_api_responses(api, anon_api):
    response = api.get("/api/v1/client/")
    assert response.status_code == 200
    assert_security_headers(response)
    response = anon_api.get("/api/v1/client/")
    assert response.status_code == 401
    assert_security_headers(response)
    response = api.get("/api/v1/_openapi")
    assert response.status_code == 200
    assert_security_headers(response)


def test_api_login_and_errors(app):
    client = app.test_client()
    response = client.post("/api/v1/security/login",
                           json={"username": "admin", "password": "nope", "provider": "db"})
    assert response.status_code == 401
    assert_security_headers(response)
    response = client.get("/api/v1/no-such-thing/", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert_security_headers(response)


def test_error_pages_and_redirects(anon_client, admin_client):
    assert_security_headers(anon_client.get("/clientview/list/"))  # redirect to the login
    response = admin_client.get("/no-such-page/")
    assert response.status_code == 404
    assert_security_headers(response)


def test_static_files(anon_client):
    response = anon_client.get("/static/crm/lookup.js")
    assert response.status_code == 200
    assert_security_headers(response)
    response = anon_client.get("/static/appbuilder/js/ab.js")
    assert response.status_code == 200
    assert_security_headers(response)


def test_no_hsts_over_plain_http(anon_client):
    assert "Strict-Transport-Security" not in anon_client.get("/login/").headers


def test_hsts_over_https(app):
    response = app.test_client().get("/login/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
