"""Who acts: the one answer that the access filter, the audit columns and the change log
read.

Inside a request the actor is the request's user. A block of code acts as someone else
with `acting_as`: the CLI, the demo data, a job (as a named system actor, or as the user
whose reminders it reads). The actor of a block is held in a context variable, so it is
seen only by the thread (or task) that entered the block: a job acting as one user never
stamps its name on another thread's request.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from flask import has_app_context

from app.database import db
from app.models import CrmUser
from app.services import request_scope


@dataclass(frozen=True)
class Actor:
    """Someone acting: a user (user_id), or a named part of the system with no user (the
    CLI, a job): user_id None, name says which."""

    user_id: Optional[int]
    name: str = ""


_acting: ContextVar[Optional[Actor]] = ContextVar("voronka_actor", default=None)
# The user an acting_as block acts as, once loaded: held for the block, so that the
# session's (weak) identity map does not drop it between two reads of the rights.
_held: ContextVar[Optional[dict]] = ContextVar("voronka_actor_user", default=None)


def _request_user() -> Any:
    user = request_scope.request_user()
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def current() -> Optional[Actor]:
    """Who acts now, or None (nobody: an anonymous request, code outside any block)."""
    acting = _acting.get()
    if acting is not None:
        return acting
    user = _request_user()
    return None if user is None else Actor(user.id, user.username)


def current_user_id() -> Optional[int]:
    """The id of the user on whose behalf the session writes, or None (the system)."""
    acting = current()
    return None if acting is None else acting.user_id


def current_user() -> Any:
    """The user whose rights apply now (a CrmUser), or None."""
    acting = _acting.get()
    if acting is None:
        return _request_user()
    if acting.user_id is None or not has_app_context():
        return None
    held = _held.get()
    user = held.get("user") if held is not None else None
    if user is None or user not in db.session:
        user = db.session.get(CrmUser, acting.user_id)
        if held is not None:
            held["user"] = user
    return user


@contextmanager
def acting_as(who: Any, name: str = "") -> Iterator[Actor]:
    """Act as `who` inside the block: a user, a user's id, or None for the system (then
    `name` says which part of it, e.g. "job:reminders_overdue")."""
    user_id = getattr(who, "id", who)
    actor = Actor(user_id, name or getattr(who, "username", "") or
                  ("system" if user_id is None else f"user:{user_id}"))
    token = _acting.set(actor)
    held = _held.set({})
    try:
        yield actor
    finally:
        _held.reset(held)
        _acting.reset(token)
