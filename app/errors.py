"""Error pages and JSON errors: no request answers with a traceback or a raw database error."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.database import db
from app.web.request_guard import InputRefused, too_large_message

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, message: str):
    if _wants_json():
        return jsonify(message=message), status
    from flask import current_app, g
    from flask_login import current_user

    # Errors raised before FAB's own before_request (a CSRF failure) leave g.user unset,
    # and the page's menu needs it.
    if "user" not in g:
        g.user = current_user

    return (
        render_template("crm/error.html", status=status, message=message,
                        base_template=current_app.appbuilder.base_template,
                        appbuilder=current_app.appbuilder),
        status,
    )


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code and exc.code < 400:
            return exc
        messages = {
            400: _("The request is malformed."),
            403: _("You do not have the right to do this."),
            404: _("Not found."),
            405: _("This method is not allowed here."),
            409: _("The record was changed by someone else."),
            413: too_large_message(),
            429: _("Too many requests. Try again later."),
        }
        if isinstance(exc, InputRefused):
            return _render(400, exc.message)
        return _render(exc.code or 500, messages.get(exc.code, exc.description or ""))

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError):
        log.exception("Database error")
        db.session.rollback()
        return _render(500, _("The database could not complete the request. Nothing was saved."))

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("Unexpected error")
        db.session.rollback()
        return _render(500, _("Something went wrong. Nothing was saved."))
