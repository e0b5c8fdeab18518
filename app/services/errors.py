"""The answers of the business rules when they say no. Each carries the HTTP status the
API answers with; screens show the message (and per-field errors next to their fields)."""

from __future__ import annotations

from typing import Any, Optional

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule said no. `status` is what the API answers."""

    status = 400

    def __init__(self, message: Any = "", errors: Optional[dict[str, list[str]]] = None):
        super().__init__(str(message))
        self.message = str(message)
        self.errors = errors or {}


class RecordInvalid(DomainError):
    status = 422

    def __init__(self, errors: dict[str, list[str]]):
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}", errors)


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


CONFLICT_MESSAGE = _l(
    "Someone else has changed this record since you opened it. "
    "Your input is kept below; reload the record to see their changes, then apply yours again."
)
