"""What every request's input must be before any screen or API sees it.

One place for input that no field could ever accept, whatever the route:

- a body larger than MAX_CONTENT_LENGTH (CRM_MAX_REQUEST_MB) answers 413;
- a NUL character in the path, the query, a form field or a JSON string answers 400:
  PostgreSQL cannot store it in text, and no name, comment or search contains one;
- a lone surrogate in JSON ("\\ud800") answers 400: it is no character, and neither
  database driver can send it;
- a JSON number beyond 64 bits answers 400: no column holds it, and SQLite's driver
  cannot even send it (a number beyond its own column's range is that field's 422);
- JSON nested deeper than MAX_JSON_DEPTH answers 400 (Python's parser would overflow
  its stack on 100,000 levels, and no record is more than a few levels deep);
- an id in a URL (`<pk>`, `<…_id>`) beyond every primary key of the served tables answers
  404 before any query: no record has it, and PostgreSQL would refuse to compare with it;
- a body that is not JSON where a view reads JSON answers 400 (CrmRequest).

The JSON body is parsed once here and cached on the request, so views read it as usual.
"""

from __future__ import annotations

import re

from flask import Flask, Request, abort, current_app, request
from flask_babel import gettext
from sqlalchemy import BigInteger
from werkzeug.exceptions import BadRequest

from app.services import bounds

MAX_JSON_DEPTH = 64
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


class InputRefused(BadRequest):
    """A 400 whose message says what is wrong with the input."""

    def __init__(self, message: str):
        super().__init__(description=message)
        self.message = message

    def __str__(self) -> str:
        # What FAB's API views answer as the message of a BadRequest they catch.
        return self.message


class CrmRequest(Request):
    """A body that is not JSON where a view reads JSON is a 400 that says so. Werkzeug's
    415 for a missing JSON content type reached FAB's API views' catch-all as a 500."""

    def on_json_loading_failed(self, e):
        raise InputRefused(gettext("The request body must be a JSON object.")) from e


def _nul_message() -> str:
    return gettext("The request contains a NUL character (\\0), which no field accepts.")


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise InputRefused(_nul_message())


def _check_json(data) -> None:
    """Walk the parsed JSON without recursion: NUL characters, lone surrogates, numbers
    beyond 64 bits, depth."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputRefused(_too_deep_message())
        if isinstance(value, dict):
            for key, item in value.items():
                _check_json_text(key)
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_json_text(value)
        elif isinstance(value, int) and not bounds.fits(BigInteger(), value):
            raise InputRefused(gettext(
                "The request contains a number beyond %(max)d, which no field holds.",
                max=bounds.INT64[1]))


def _check_json_text(value: str) -> None:
    _check_text(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputRefused(gettext(
            "The request contains an invalid character (a lone UTF-16 surrogate such as "
            "\\ud800), which no field accepts.")) from None


def _too_deep_message() -> str:
    return gettext("The JSON is nested too deeply (more than %(depth)d levels).",
                   depth=MAX_JSON_DEPTH)


def check_input() -> None:
    """before_request: refuse what no route accepts (see the module's docstring)."""
    _check_text(request.path)
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            _check_text(key)
            _check_text(value)
    if request.is_json:
        try:
            data = request.get_json(silent=False)
        except RecursionError:
            raise InputRefused(_too_deep_message()) from None
        except BadRequest:
            # Not JSON at all: each view says so in its own words.
            return
        _check_json(data)


def refuse_keys_beyond_every_table(endpoint, values) -> None:
    """url_value_preprocessor: an id in a URL that no served table can hold is a 404."""
    low, high = current_app.extensions["crm_url_key_range"]
    for name, value in (values or {}).items():
        if name != "pk" and not name.endswith("_id"):
            continue
        if isinstance(value, str):
            if not _INTEGER_TEXT.fullmatch(value.strip()):
                continue  # not a number: the view answers as for any unknown id
            value = bounds.parse_integer(value)
        if isinstance(value, int) and not low <= value <= high:
            abort(404)


def too_large_message() -> str:
    megabytes = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / 2**20
    return gettext("The request is too large: at most %(size)s MB can be sent at once.",
                   size=f"{megabytes:g}")


def install(app: Flask, appbuilder) -> None:
    """Register the checks; call after every screen and API is registered."""
    key_columns = []
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is not None:
            key_columns.append(getattr(datamodel.obj, datamodel.get_pk_name()))
    app.extensions["crm_url_key_range"] = bounds.widest_range(key_columns)
    app.request_class = CrmRequest
    app.url_value_preprocessor(refuse_keys_beyond_every_table)
    app.before_request(check_input)
