"""Small helpers shared by the test modules."""

from __future__ import annotations

import re
from contextlib import contextmanager

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
    """{field name: its error text} of a rendered form (crm/widgets/fields.html shows each
    error under its field)."""
    import html as html_lib

    errors: dict[str, str] = {}
    for chunk in html.split('<div class="form-group crm-field crm-field-')[1:]:
        name = re.match(r"[\w-]+", chunk).group(0)
        messages = re.findall(r'class="help-block crm-field-error">(.*?)</span>', chunk,
                              flags=re.S)
        if messages:
            errors[name] = html_lib.unescape(" ".join(" ".join(m.split()) for m in messages))
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


def form_fields(html: str, form_id: str = "model_form") -> dict:
    """What a browser would post from a rendered form: {name: value or [values]}.

    Disabled fields are left out, unticked boxes too; a multiple select gives a list."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.inside = False
            self.fields: dict = {}
            self.select = None  # (name, multiple) of the open select
            self.first_option = None
            self.textarea = None
            self.text: list[str] = []

        def _add(self, name, value, multiple=False):
            if multiple:
                self.fields.setdefault(name, []).append(value)
            else:
                self.fields[name] = value

        def handle_starttag(self, tag, attrs):
            attr = dict(attrs)
            if tag == "form":
                self.inside = attr.get("id") == form_id
                return
            if not self.inside or "disabled" in attr:
                if tag == "select":
                    self.select = None
                return
            name = attr.get("name")
            if tag == "input" and name:
                kind = attr.get("type", "text")
                if kind in ("checkbox", "radio"):
                    if "checked" in attr:
                        self._add(name, attr.get("value", "on"))
                elif kind not in ("submit", "button", "file"):
                    self._add(name, attr.get("value", ""))
            elif tag == "select" and name:
                self.select, self.first_option = (name, "multiple" in attr), None
                if self.select[1]:
                    self.fields.setdefault(name, [])
            elif tag == "option" and self.select:
                if self.first_option is None:
                    self.first_option = attr.get("value", "")
                if "selected" in attr:
                    self._add(self.select[0], attr.get("value", ""), self.select[1])
            elif tag == "textarea" and name:
                self.textarea, self.text = name, []

        def handle_endtag(self, tag):
            if tag == "form":
                self.inside = False
            elif tag == "select":
                if self.select and not self.select[1] and self.select[0] not in self.fields:
                    # A browser posts the first option of a single select left as it is.
                    self.fields[self.select[0]] = self.first_option or ""
                self.select = None
            elif tag == "textarea" and self.textarea:
                text = "".join(self.text)
                # As a browser does: one newline right after <textarea> is not content.
                self.fields[self.textarea] = text[2:] if text.startswith("\r\n") else \
                    text[1:] if text.startswith("\n") else text
                self.textarea = None

        def handle_data(self, data):
            if self.textarea:
                self.text.append(data)

    parser = Parser()
    parser.feed(html)
    return parser.fields


def shown_ids(page, base: str) -> list[int]:
    """The ids a page (its HTML or the response) links to with `<base>/show/<id>`, in
    order, each once."""
    html = text_of(page) if hasattr(page, "get_data") else page
    seen: list[int] = []
    for pk in re.findall(rf"{re.escape(base)}/show/(\d+)", html):
        if int(pk) not in seen:
            seen.append(int(pk))
    return seen


@contextmanager
def as_admin(app: Flask):
    """The default pipeline, in a context of `app` with its administrator acting: for the
    records a browser test makes on its live server through the services."""
    from sqlalchemy import select

    from app.database import db
    from app.models import CrmUser, Pipeline
    from app.services.actor import acting_as

    with app.app_context():
        try:
            admin = db.session.execute(select(CrmUser).where(CrmUser.username == "admin")
                                       ).scalar_one()
            pipeline = db.session.execute(select(Pipeline).where(
                Pipeline.is_default.is_(True))).scalar_one()
            with acting_as(admin):
                yield pipeline
        finally:
            db.session.remove()
