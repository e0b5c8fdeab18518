"""The answers of the business rules when they say no. Each carries the HTTP status the
API answers with; screens show the message (and per-field errors next to their fields)."""

from __future__ import annotations

from typing import Any, Optional

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule said no. `status` is what the API answers; `code`, when set, names the rule
    for a program (the API answers it as `code`)."""

    status = 400
    code: Optional[str] = "refused"

    def __init__(self, message: Any = "", errors: Optional[dict[str, list[str]]] = None,
                 code: Optional[str] = None):
        super().__init__(str(message))
        self.message = str(message)
        self.errors = errors or {}
        if code is not None:
            self.code = code


class RecordInvalid(DomainError):
    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]):
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}", errors)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    """The record changed since the user read it."""

    code = "stale_version"

    def __init__(self):
        super().__init__(CONFLICT_MESSAGE)


class RuleBroken(DomainError):
    """A rule of the sales process refused the command; `code` names the rule, `offers`
    the commands that get the user out (R4: create the client, link a client)."""

    status = 422

    def __init__(self, code: str, message: Any,
                 errors: Optional[dict[str, list[str]]] = None,
                 offers: tuple[str, ...] = ()):
        super().__init__(message, errors, code=code)
        self.offers = offers


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


CONFLICT_MESSAGE = _l(
    "Someone else has changed this record since you opened it. "
    "Your input is kept below; reload the record to see their changes, then apply yours again."
)
