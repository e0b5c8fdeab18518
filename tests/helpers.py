"""Small helpers shared by the test modules."""

from __future__ import annotations

import re

from flask import Flask


def route_of(app: Flask, view_class) -> str:
    """The URL prefix of a registered screen, e.g. /clientview."""
    for view in app.appbuilder.baseviews:
        if type(view) is view_class:
            return view.route_base
    raise LookupError(view_class)


def api_base(resource) -> str:
    return f"/api/v1/{resource.resource_name}"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def assert_login_redirect(response) -> None:
    assert response.status_code == 302, response.status_code
    assert "/login/" in response.headers["Location"]


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, (response.status_code, text_of(response)[:2000])


def form_errors(html: str) -> dict[str, str]:
    """{field name: its error text} of a rendered FAB form (errors are shown per field)."""
    import html as html_lib

    errors: dict[str, str] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        names = re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', row)
        messages = re.findall(r'class="alert alert-danger"[^>]*>(.*?)</div>', row, flags=re.S)
        if names and messages:
            text = " ".join(" ".join(m.split()) for m in messages)
            errors[names[0]] = html_lib.unescape(text)
    return errors


def flashed(html: str) -> str:
    """The text of the flashed messages of a page (alerts outside the form rows)."""
    import html as html_lib

    found = re.findall(r'<div class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', html, flags=re.S)
    text = " ".join(" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in found)
    return html_lib.unescape(text.replace("×", " "))


def tr(app, message, **kwargs) -> str:
    """A message as the application shows it (in its default language)."""
    from flask_babel import gettext

    with app.test_request_context("/"):
        return gettext(str(message), **kwargs)


def page_text(response) -> str:
    import html as html_lib

    return html_lib.unescape(" ".join(text_of(response).split()))
