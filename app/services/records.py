"""Saving and deleting CRM records: validation, version conflicts, references.

Forms, the REST API, imports and jobs all save through `save()` and delete through
`delete()`: one unit of work that commits once or rolls back, and domain errors that
callers turn into a form message or a JSON 4xx.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterator, Optional

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, Numeric, func, inspect, select

from app.database import db
from app.entities import BY_MODEL, ENTITIES, checks
from app.models import Client, Interaction, Model
from app.rules import validation as v
from app.services import bounds, custom_fields, duplicates, plans
from app.services.clock import utcnow
from app.services.errors import (  # noqa: F401 - the errors every caller of records knows
    CONFLICT_MESSAGE,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RecordInvalid,
    RuleBroken,
    StaleVersion,
)
from app.services.unit_of_work import unit_of_work

# --- Validation ----------------------------------------------------------------------------


def _field_rules(obj) -> dict[str, Callable[[Any, Any], None]]:
    """The declared rules of the record's fields (app.entities): each field with choices
    holds one of them, then the field's own rule."""
    entity = BY_MODEL.get(type(obj))
    if entity is None:
        return {}
    rules = {name: checks.one_of(choices) for name, (choices, _default) in
             entity.choices.items()}
    rules.update(entity.rules)
    return rules


def _record_rules(obj) -> dict[str, str]:
    """Rules that involve more than one field."""
    entity = BY_MODEL.get(type(obj))
    return entity.check(obj) if entity is not None and entity.check else {}


def _required_errors(obj) -> dict[str, str]:
    errors = {}
    mapper = inspect(type(obj))
    # A required foreign key is filled when its relation is set (forms and the API set the
    # related object; the key itself is only copied over at flush time).
    relations: dict[str, list[str]] = {}
    for rel in mapper.relationships:
        if rel.direction.name == "MANYTOONE":
            for column in rel.local_columns:
                relations.setdefault(column.key, []).append(rel.key)
    for column in mapper.columns:
        if column.nullable or column.primary_key or column.default is not None:
            continue
        if column.key in ("created_on", "changed_on", "version", "name_search", "title_search"):
            continue
        if any(getattr(obj, rel, None) is not None for rel in relations.get(column.key, ())):
            continue
        value = getattr(obj, column.key, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[column.key] = gettext("This field is required.")
    return errors


def validate(obj) -> None:
    """Raise RecordInvalid with every field's message, or return when the record is valid."""
    errors: dict[str, list[str]] = {}
    for field, message in _required_errors(obj).items():
        errors.setdefault(field, []).append(message)
    for field, rule in _field_rules(obj).items():
        if field in errors:
            continue
        value = getattr(obj, field, None)
        if isinstance(value, str):
            value = value.strip()
        try:
            rule(obj, value)
        except v.ValidationError as exc:
            errors.setdefault(field, []).append(gettext(exc.message))
        except (InvalidOperation, ValueError, TypeError):
            errors.setdefault(field, []).append(gettext("Value must be a number"))
    for field, message in _record_rules(obj).items():
        errors.setdefault(field, []).append(message)
    for field, message in _column_errors(obj).items():
        if field not in errors:
            errors[field] = [message]
    for field, message in custom_fields.errors(obj).items():
        errors.setdefault(field, []).append(message)
    if errors:
        raise RecordInvalid(errors)


def _column_errors(obj) -> dict[str, str]:
    """Values that do not fit their column: an integer beyond the column's range, a number
    with more whole digits than the column's precision holds (the database would refuse
    either with an error)."""
    errors = {}
    for column in inspect(type(obj)).columns:
        kind = column.type
        integer_range = bounds.integer_range(kind)
        if integer_range is not None:
            value = getattr(obj, column.key, None)
            if isinstance(value, int) and not bounds.fits(kind, value):
                errors[column.key] = gettext("The number must be from %(min)d to %(max)d.",
                                             min=integer_range[0], max=integer_range[1])
            continue
        if not isinstance(kind, Numeric) or isinstance(kind, Float) or not kind.precision:
            continue
        value = getattr(obj, column.key, None)
        try:
            number = Decimal(str(value).strip()) if value is not None else None
        except (InvalidOperation, ValueError):
            continue  # the field's own rule reports it
        if number is None or not number.is_finite():
            continue
        if abs(number) >= Decimal(10) ** (kind.precision - (kind.scale or 0)):
            errors[column.key] = gettext("The number is too large.")
    return errors


# --- Saving and deleting -------------------------------------------------------------------


def _session():
    return db.session


def check_version(obj, seen_version) -> None:
    """Refuse a save based on an older version of the record than the one stored."""
    if seen_version in (None, ""):
        return
    try:
        seen = int(seen_version)
    except (TypeError, ValueError):
        raise RecordInvalid({"version": [gettext("Not a valid integer value.")]}) from None
    if getattr(obj, "version", None) is not None and seen != obj.version:
        raise StaleVersion()


def _complete(obj) -> None:
    """What a record's state implies: an interaction marked done was done now unless the
    user says when, one planned again or cancelled has not been done."""
    if isinstance(obj, Interaction):
        if obj.status == "done" and obj.done_at is None:
            obj.done_at = utcnow()
        elif obj.status in ("planned", "cancelled"):
            obj.done_at = None


# --- Rules that guard a change against the record as it was ------------------------------

_commanding: ContextVar[bool] = ContextVar("voronka_commanding", default=False)


@contextmanager
def by_command() -> Iterator[None]:
    """Inside the block a process's command (app.services.sales) changes the fields that
    only commands may change (an entity's `commanded`)."""
    token = _commanding.set(True)
    try:
        yield
    finally:
        _commanding.reset(token)


def effective(obj, column: str) -> Any:
    """A column's value as the record has it now: a key set through its relation counts,
    though it is copied into the column only when the record is flushed."""
    state = inspect(obj)
    for relation in state.mapper.relationships:
        if relation.direction.name == "MANYTOONE" and relation.key in state.dict and \
                any(local.key == column for local in relation.local_columns):
            related = state.dict[relation.key]
            return None if related is None else related.id
    return state.dict[column] if column in state.dict else getattr(obj, column, None)


def snapshot(obj) -> dict[str, Any]:
    """The record's column values before a change, for the guards below."""
    return {column.key: effective(obj, column.key)
            for column in inspect(type(obj)).column_attrs}


def _refuse_commanded_change(obj, before: dict[str, Any]) -> None:
    entity = BY_MODEL.get(type(obj))
    if entity is None or not entity.commanded or _commanding.get():
        return
    changed = [name for name, column in zip(entity.commanded, entity.commanded_columns,
                                            strict=True)
               if effective(obj, column) != before.get(column)]
    if changed:
        raise RuleBroken("use_command", entity.commanded_by,
                         {name: [str(entity.commanded_by)] for name in changed})


def _guard(obj, before: Optional[dict[str, Any]], *, deleting: bool = False) -> None:
    """The rules that judge a change by the other records and by what the record was
    `before` (None: a new record)."""
    if isinstance(obj, Client) and not deleting:
        duplicates.refuse_repeating(obj, before)  # R8
    if before is None:
        return
    if not deleting:
        _refuse_commanded_change(obj, before)
    if isinstance(obj, Interaction):
        plans.refuse_leaving_without_plan(obj, before, deleting=deleting)  # R1


def stage(obj, *, is_new: bool, before: Optional[dict[str, Any]] = None) -> Any:
    """Complete and validate one record and write it into the current unit of work (it is
    committed with the unit). `before`: the saved record's snapshot() before the change.
    Raises a DomainError when a rule refuses it."""
    session = _session()
    # Reading related records while validating must not flush a half-checked record.
    with session.no_autoflush:
        _complete(obj)
        if is_new:
            custom_fields.fill_defaults(obj)
        validate(obj)
        _guard(obj, before)
    if is_new:
        session.add(obj)
    session.flush()
    if isinstance(obj, Interaction):
        plans.refresh_next_at(plans.touched_interests(obj, before))
    return obj


def save(obj, *, is_new: bool) -> Any:
    """Validate and commit one record, in a unit of work of its own (or the current one).
    Nothing is written when it fails with a DomainError."""
    with unit_of_work():
        return stage(obj, is_new=is_new)


def references_to(obj) -> list[tuple[str, int]]:
    """What still points at a record and would stop its deletion: (table label, count)."""
    session = _session()
    table = type(obj).__table__
    found = []
    for mapper in Model.registry.mappers:
        other = mapper.local_table
        for fk in other.foreign_keys:
            if fk.column.table is not table or fk.ondelete in ("CASCADE", "SET NULL"):
                continue
            if other is table and fk.parent.table is table and fk.parent.name == "id":
                continue
            count = session.execute(
                select(func.count()).select_from(other).where(fk.parent == obj.id)
            ).scalar()
            if count:
                found.append((_table_label(mapper.class_), count))
    return found


def _deletion_rules(obj) -> None:
    """R9: the default pipeline, system stages and system directory items stay."""
    entity = BY_MODEL.get(type(obj))
    refusal = entity.keep(obj) if entity is not None and entity.keep else None
    if refusal:
        raise Conflict(refusal)


def stage_delete(obj) -> None:
    """Delete a record within the current unit of work, unless a rule keeps it (R9) or
    other records still refer to it."""
    _deletion_rules(obj)
    before = snapshot(obj)
    with _session().no_autoflush:
        _guard(obj, before, deleting=True)
    blockers = references_to(obj) if hasattr(obj, "id") else []
    blockers = [(label, n) for label, n in blockers if label is not None]
    if blockers:
        described = ", ".join(f"{label}: {count}" for label, count in blockers)
        raise Conflict(gettext(
            "This record cannot be deleted while other records refer to it (%(refs)s). "
            "Move or delete them first.", refs=described))
    session = _session()
    session.delete(obj)
    session.flush()
    if isinstance(obj, Interaction):
        plans.refresh_next_at({before.get("interest_id")})


def delete(obj) -> None:
    """Delete a record in a unit of work of its own (or the current one)."""
    with unit_of_work(refusal=Conflict):
        stage_delete(obj)


# --- Messages ------------------------------------------------------------------------------

# What the records of a table are called, when they stop a deletion.
_TABLE_LABELS = {**{entity.model.__name__: entity.plural for entity in ENTITIES if entity.plural},
                 "CrmUser": _l("Users"), "CustomBooking": _l("Bookings")}


def _table_label(cls) -> Optional[str]:
    label = _TABLE_LABELS.get(cls.__name__)
    return str(label) if label is not None else None
