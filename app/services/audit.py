"""Audit columns, search shadows and the change log, from one place: session events.

Every flush of the application's session passes through `before_flush` (stamps who and
when, refreshes the normalised search columns) and `after_flush` (writes one ChangeLog row
per created, updated or deleted tracked record, with the changed fields old -> new).
Forms, the REST API, imports and jobs therefore cannot forget either.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import event, inspect
from sqlalchemy.orm import MANYTOONE, Session

from app.entities import SEARCH_KEYS, SEARCH_SHADOWS, TRACKED_MODELS
from app.models import (
    AUDIT_STAMPS,
    AuditMixin,
    ChangeLog,
    utcnow,
)
from app.services.actor import current, current_user_id

# Columns that say nothing a reader of the history needs.
_UNLOGGED = {*AUDIT_STAMPS, "version",
             "name_search", "title_search", "phone_normalized", "email_normalized",
             "phone_tail", "email_domain", "birthday_key"}

def _refresh_search_shadows(obj: Any) -> None:
    for source, (shadow, normalise) in SEARCH_SHADOWS.get(type(obj), {}).items():
        value = normalise(getattr(obj, source) or "")
        # name/title shadows are NOT NULL; phone/e-mail shadows stay NULL when empty.
        setattr(obj, shadow, value if value or shadow.endswith("_search") else None)
    for source, keys in SEARCH_KEYS.get(type(obj), {}).items():
        for column, normalise in keys:
            setattr(obj, column, normalise(getattr(obj, source) or "") or None)


def _stamp(session: Session, flush_context, instances) -> None:
    user_id = current_user_id()
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, AuditMixin):
            obj.created_on = obj.created_on or now
            obj.changed_on = now
            obj.created_by_fk = user_id
            obj.changed_by_fk = user_id
        _refresh_search_shadows(obj)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=True):
            continue
        if isinstance(obj, AuditMixin):
            obj.changed_on = now
            obj.changed_by_fk = user_id
        elif isinstance(obj, User):
            # FAB stamps a user's change only in its own views; cached search forms that
            # list users (app.fab.widgets) watch this column. Local time, as FAB writes it.
            obj.changed_on = dt.datetime.now()
        _refresh_search_shadows(obj)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a column value for the change log."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _same(old: Any, new: Any) -> bool:
    """Equal as a person reads them: an empty text is no value, and times that differ
    below a second (a form shows and sends whole seconds) are the same time."""
    if old in (None, "") and new in (None, ""):
        return True
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return old.replace(microsecond=0) == new.replace(microsecond=0)
    return _plain(old) == _plain(new)


def _custom_changes(old: Any, new: Any) -> dict[str, list]:
    """The custom fields' values (one JSON column) field by field: `custom.<code>`."""
    old, new = old or {}, new or {}
    return {f"custom.{code}": [old.get(code), new.get(code)]
            for code in sorted({*old, *new}) if old.get(code) != new.get(code)}


def _column_changes(obj: Any, only_changed: bool, deleted: bool = False) -> dict[str, list]:
    """Field -> [old, new]: what changed, or every value of a created (None -> value) or a
    deleted (value -> None) record."""
    state = inspect(obj)
    changes: dict[str, list] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _UNLOGGED:
            continue
        history = state.attrs[key].history
        if only_changed:
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if key == "custom":
                changes.update(_custom_changes(old, new))
                continue
            if _same(old, new):
                continue
            changes[key] = [_plain(old), _plain(new)]
        else:
            value = state.attrs[key].value
            if key == "custom":
                changes.update(_custom_changes(value, None) if deleted
                               else _custom_changes(None, value))
                continue
            if value is not None:
                value = _plain(value) if key != "id" else value
                changes[key] = [value, None] if deleted else [None, value]
    if only_changed:
        changes.update(_relation_key_changes(state, changes))
    for rel in state.mapper.relationships:
        if not rel.uselist or rel.secondary is None:
            continue
        history = state.attrs[rel.key].history
        if history.has_changes():
            unchanged = tuple(history.unchanged or ())
            changes[rel.key] = [
                sorted(str(x) for x in unchanged + tuple(history.deleted or ())),
                sorted(str(x) for x in unchanged + tuple(history.added or ())),
            ]
    return changes


def _relation_key_changes(state, seen: dict) -> dict[str, list]:
    """Foreign keys changed by setting a relation (forms and the API set `client`, not
    `client_id`): before the flush the key column still holds the old value."""
    changes: dict[str, list] = {}
    for rel in state.mapper.relationships:
        if rel.direction is not MANYTOONE:
            continue
        history = state.attrs[rel.key].history
        if not history.has_changes():
            continue
        target = history.added[0] if history.added else None
        for local, remote in rel.local_remote_pairs:
            key = state.mapper.get_property_by_column(local).key
            if key in seen or key in changes or key in _UNLOGGED:
                continue
            old = state.attrs[key].value
            new = getattr(target, remote.key) if target is not None else None
            if old != new:
                changes[key] = [_plain(old), _plain(new)]
    return changes


def _collect(session: Session, flush_context, instances) -> None:
    """Before the flush, remember what changed: after it, the history is gone."""
    pending = session.info.setdefault("crm_changelog_pending", [])
    for obj in session.dirty:
        if isinstance(obj, TRACKED_MODELS) and session.is_modified(obj):
            changes = _column_changes(obj, only_changed=True)
            if changes:
                pending.append(("update", obj, changes))
    for obj in session.deleted:
        if isinstance(obj, TRACKED_MODELS):
            pending.append(("delete", obj,
                            _column_changes(obj, only_changed=False, deleted=True)))
    for obj in session.new:
        if isinstance(obj, TRACKED_MODELS):
            pending.append(("create", obj, None))


def _write(session: Session, flush_context) -> None:
    pending = session.info.pop("crm_changelog_pending", [])
    if not pending:
        return
    acting = current()
    user_id = None if acting is None else acting.user_id
    # A job or a command names itself where no user acts.
    actor_name = acting.name[:80] if acting is not None and user_id is None else None
    now = utcnow()
    rows = []
    for action, obj, changes in pending:
        if action == "create":
            changes = {k: v for k, v in _column_changes(obj, only_changed=False).items()
                       if k != "id"}
        record_id = inspect(obj).identity[0] if inspect(obj).identity else obj.id
        rows.append({
            "entity": type(obj).__name__,
            "record_id": record_id,
            "action": action,
            "changes": changes,
            "changed_at": now,
            "user_id": user_id,
            "actor": actor_name,
        })
    session.execute(ChangeLog.__table__.insert(), rows)


def install(session_class) -> None:
    """Attach the hooks to a session class (the app's scoped session factory)."""
    if getattr(session_class, "_crm_audit_installed", False):
        return
    event.listen(session_class, "before_flush", _stamp)
    event.listen(session_class, "before_flush", _collect)
    event.listen(session_class, "after_flush", _write)
    session_class._crm_audit_installed = True
