"""The change log in words, for a record's page and for Settings → History: what was done
to which record (by name, linked to its page), field labels, local times, names of linked
records and words for coded values. A reader sees the names of linked records they may
read only; others keep their number."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import url_for
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import Date, DateTime, Numeric, select
from sqlalchemy import inspect as sa_inspect
from werkzeug.routing import BuildError

from app.database import db
from app.entities import BY_MODEL, ENTITIES, TRACKED_MODELS
from app.labels import LABELS
from app.models import ChangeLog
from app.services import access, custom_fields
from app.services.clock import format_local
from app.services.custom_types import text_of

ENTITY_LABELS = {entity.model.__name__: entity.label for entity in ENTITIES if entity.label}

ACTION_LABELS = {"create": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted")}

MODELS_BY_NAME = {model.__name__: model for model in TRACKED_MODELS}


def _session():
    return db.session


def entity_label(name: str) -> str:
    return str(ENTITY_LABELS.get(name, name))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def change_history(model, record_id: int, limit: int = 100) -> list[dict]:
    """The change log of one record, newest first."""
    rows = _session().execute(
        select(ChangeLog).where(ChangeLog.entity == model.__name__,
                                ChangeLog.record_id == record_id)
        .order_by(ChangeLog.id.desc()).limit(limit)
    ).scalars().all()
    describe = HistoryValues(model)
    return [describe_entry(row, describe) for row in rows]


def describe_entry(row, describe: "HistoryValues | None" = None) -> dict:
    """One change log row in words: when, who, what was done, and each field's old → new."""
    model = MODELS_BY_NAME.get(row.entity)
    if describe is None and model is not None:
        describe = HistoryValues(model)
    changes = []
    if describe is not None:
        shown = custom_fields.visible_changes(row.entity, row.changes)
        changes = [(describe.label(field), describe.value(field, old), describe.value(field, new))
                   for field, (old, new) in sorted(shown.items())]
    return {
        "when": format_local(row.changed_at),
        "who": str(row.user) if row.user else _system_actor(row.actor),
        "action": action_label(row.action),
        "changes": changes,
    }


def system_writers(model, item) -> dict[str, str]:
    """For a record a job created or last changed (its audit columns name no user): the
    job's name as "created_by" / "changed_by", from the record's history."""
    wanted = {"created_by": item.created_by_fk is None, "changed_by": item.changed_by_fk is None}
    if not any(wanted.values()):
        return {}
    rows = _session().execute(
        select(ChangeLog.id, ChangeLog.action, ChangeLog.actor)
        .where(ChangeLog.entity == model.__name__, ChangeLog.record_id == item.id,
               ChangeLog.user_id.is_(None), ChangeLog.actor.is_not(None))
        .order_by(ChangeLog.id)).all()
    writers = {}
    created = next((row for row in rows if row.action == "create"), None)
    if wanted["created_by"] and created is not None:
        writers["created_by"] = _system_actor(created.actor)
    if wanted["changed_by"] and rows:
        writers["changed_by"] = _system_actor(rows[-1].actor)
    return writers


def _system_actor(name) -> str:
    """Who wrote when no user did: the job by its name, or the system."""
    from app.jobs import BY_ID

    if name and name.startswith("job:"):
        job = BY_ID.get(name[4:])
        return gettext("Job: %(job)s", job=job.label if job else name[4:])
    return gettext("Scheduled job or command")


def record_links(rows) -> dict[tuple[str, int], Markup]:
    """(entity, record id) -> the record's name linked to its page, for the records of
    `rows` the user may read (one query per entity); others keep their number."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row.entity, set()).add(row.record_id)
    links = {}
    for entity, ids in wanted.items():
        model = MODELS_BY_NAME.get(entity)
        if model is None:
            continue
        found = _session().execute(
            access.readable(model).where(model.id.in_(ids))).scalars()
        for record in found:
            links[(entity, record.id)] = _link(entity, record.id, str(record))
    return links


def record_link(entity: str, record_id: int, links: dict) -> Markup:
    return links.get((entity, record_id)) or Markup(f"#{int(record_id)}")


def _link(entity: str, record_id: int, text: str) -> Markup:
    try:
        url = url_for(f"{entity}View.show", pk=record_id)
    except BuildError:
        return escape(text)
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')


class HistoryValues:
    """Turns the stored field names and values of a model's change log into words."""

    def __init__(self, model):
        mapper = sa_inspect(model)
        self.relations = {}
        for relation in mapper.relationships:
            if relation.direction.name == "MANYTOONE":
                for column in relation.local_columns:
                    self.relations[column.key] = relation
        self.types = {column.key: column.type for column in mapper.columns}
        entity = BY_MODEL.get(model)
        # Coded values in the words of the model's declaration (app.entities).
        self.choices = {name: choices for name, (choices, _default) in
                        (entity.choices.items() if entity is not None else ())}
        self._cache: dict[tuple, str] = {}
        entity_name = custom_fields.entity_of(model)
        self.custom = {spec.key: spec for spec in custom_fields.readable(entity_name)} \
            if entity_name else {}

    def label(self, field: str) -> str:
        if field in self.custom:
            return self.custom[field].label
        relation = self.relations.get(field)
        key = relation.key if relation is not None else field
        return str(LABELS.get(key, key))

    def value(self, field: str, value):
        if field in self.custom:
            return text_of(self.custom[field], value) or None
        if isinstance(value, list):  # a many-to-many set: the names of its items
            value = ", ".join(str(item) for item in value) or None
        if value is None or value == "":
            return None
        relation = self.relations.get(field)
        if relation is not None:
            return self._linked_name(relation.mapper.class_, value)
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        choices = self.choices.get(field)
        if choices and value in choices:
            return str(choices[value])
        return self._typed(self.types.get(field), value)

    def _linked_name(self, model, value) -> str:
        cache_key = (model, value)
        if cache_key not in self._cache:
            linked = _session().execute(
                access.readable(model).where(model.id == value)).scalar()
            self._cache[cache_key] = str(linked) if linked is not None else f"#{value}"
        return self._cache[cache_key]

    @staticmethod
    def _typed(column_type, value):
        """Times in the company's time zone as the screens show them, dates and money as
        the lists show them; anything unreadable as it was stored."""
        try:
            if isinstance(column_type, DateTime):
                return format_local(dt.datetime.fromisoformat(str(value)))
            if isinstance(column_type, Date):
                return dt.date.fromisoformat(str(value)).strftime("%d.%m.%Y")
            if isinstance(column_type, Numeric):
                return format_decimal(Decimal(str(value)), format="#,##0.00")
        except (ValueError, InvalidOperation):
            pass
        return value
