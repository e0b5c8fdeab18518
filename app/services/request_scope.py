"""What the rules may know of the web request they serve, without reaching into Flask's
request globals: the request's user, and a store that lives as long as the request.

The web layer installs both (app.web.auth.install). Outside a request (the CLI, a job)
there is no request user and no store.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

_request_user: Callable[[], Any] = lambda: None  # noqa: E731
_request_store: Callable[[], Optional[dict]] = lambda: None  # noqa: E731


def install(user: Callable[[], Any], store: Callable[[], Optional[dict]]) -> None:
    """How the request's user and store are found (the web layer's)."""
    global _request_user, _request_store
    _request_user, _request_store = user, store


def request_user() -> Any:
    """The user of the request being served, or None."""
    return _request_user()


def request_store() -> Optional[dict]:
    """A dictionary kept for the request being served, or None outside a request."""
    return _request_store()
