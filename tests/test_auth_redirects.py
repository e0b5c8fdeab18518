"""`?next=` after a login stays on the site: other hosts, scheme-relative URLs, backslash and
whitespace tricks all end on the site's own pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

OFF_SITE = [
    "https://evil.example/",
    "http://evil.example/login/",
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    " //evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "http://localhost@evil.example/",
    "http://evil.example\\@localhost/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://localhost/",
    "evil.example",
]

ON_SITE = ["/clientview/list/", "/clientview/list/?_flt_0_name=a&psize_ClientView=25",
           "http://localhost/clientview/list/"]


def assert_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert "\\" not in location and not location.startswith("//"), location
    assert parts.netloc in ("", "localhost"), location
    assert parts.scheme in ("", "http"), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_the_site(app, target):
    client = app.test_client()
    response = client.post("/login/", query_string={"next": target},
                           data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert_on_site(location)
    assert location == "/", location


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_login_page_drops_an_off_site_next(app, target):
    response = app.test_client().get("/login/", query_string={"next": target, "_l_": "en"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?_l_=en"


def test_the_issue_example_ends_on_the_site(app):
    client = app.test_client()
    response = client.get("/login/?next=https://evil.example/", follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/login/"
    response = client.post("/login/?next=https://evil.example/",
                           data={"username": "admin", "password": PASSWORD},
                           follow_redirects=True)
    assert response.status_code == 200
    assert urlsplit(response.request.url).netloc == "localhost"
    assert response.request.path == "/"


def test_an_authenticated_user_sent_to_login_is_not_redirected_off_site(admin_client):
    response = admin_client.get("/login/", query_string={"next": "/\\evil.example/"})
    assert_on_site(response.headers["Location"])


@pytest.mark.parametrize("target", ON_SITE)
def test_login_follows_a_next_on_the_site(app, target):
    response = app.test_client().post("/login/", query_string={"next": target},
                                      data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_a_failed_login_keeps_a_safe_next(app):
    response = app.test_client().post("/login/", query_string={"next": "/clientview/list/"},
                                      data={"username": "admin", "password": "wrong-Passw0rd"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login/"
    assert "clientview" in response.headers["Location"]


def test_back_links_never_point_off_the_site(admin_client):
    """FAB's Back buttons use `next` too: a page asked with an off-site one drops it."""
    response = admin_client.get("/clientview/list/", query_string={
        "next": "https://evil.example/", "psize_ClientView": "25"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/clientview/list/?psize_ClientView=25"


@pytest.mark.parametrize("target", OFF_SITE + ["", None, 42, "/" + "a" * 3000])
def test_is_safe_next_url_refuses(app, target):
    from app.web.auth import is_safe_next_url

    with app.test_request_context("/", base_url="http://localhost"):
        assert not is_safe_next_url(target)


@pytest.mark.parametrize("target", ON_SITE + ["/", "/a?next=/b#frag"])
def test_is_safe_next_url_accepts(app, target):
    from app.web.auth import is_safe_next_url

    with app.test_request_context("/", base_url="http://localhost"):
        assert is_safe_next_url(target)
