"""The commands that add, change and delete custom fields (Settings → Custom fields and
/api/v1/custom_field/ both call them).

A definition is checked as a whole before it is written: its code (letters, digits and
underscore, never a built-in column's name, unique per entity), its type and whether it
takes several values (neither changes once the field exists, R10), its list's options
(an option that records still hold is not removed: the message counts them), its
default, its pipelines and the stages it is required from, and the roles it is hidden
from or read-only for. The field's index is made or dropped in the same transaction.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from flask_appbuilder.security.sqla.models import Role
from flask_babel import gettext
from sqlalchemy import inspect, select

from app.database import db
from app.models import CustomField, Pipeline, Stage
from app.services import access, actor, custom_fields, records
from app.services.custom_types import LINK_TARGETS, TYPES, Invalid, read_value
from app.services.errors import Forbidden, RecordInvalid
from app.services.unit_of_work import unit_of_work

# What an administrator may change after the field exists.
CHANGEABLE = ("label_ru", "label_en", "required", "default", "help_ru", "help_en",
              "options", "sort", "show_in_list", "filterable", "show_on_board", "pipelines",
              "required_from", "visibility", "settings")
# Set when the field is made, never changed after (R10; the code is its name in the data).
FIXED = ("entity", "code", "field_type", "multiple")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_OPTIONS = 500


def _reserved_codes(entity: str) -> set[str]:
    mapper = inspect(custom_fields.MODELS[entity])
    return {attr.key for attr in mapper.attrs} | {"custom", "id", "version"}


def _authorize(action: str) -> None:
    """The settings right; the system (the CLI, the demo data, a job) may."""
    who = actor.current()
    if who is not None and who.user_id is None:
        return
    if not access.can("settings", action):
        raise Forbidden(gettext("You may not change the custom fields."))


def _clean_options(raw: Any, errors: dict) -> Optional[list]:
    if raw in (None, "", []):
        return None
    if not isinstance(raw, list):
        errors["options"] = [gettext("Send the options as a list.")]
        return None
    if len(raw) > MAX_OPTIONS:
        errors["options"] = [gettext("At most %(count)d options.", count=MAX_OPTIONS)]
        return None
    options, seen = [], set()
    for position, item in enumerate(raw):
        if isinstance(item, str):
            item = {"value": item}
        if not isinstance(item, dict):
            errors["options"] = [gettext("Each option is an object with a value.")]
            return None
        value = str(item.get("value") or "").strip()
        label = str(item.get("label") or value).strip()
        color = (item.get("color") or "").strip() if isinstance(item.get("color"), str) \
            else None
        order = item.get("order", position)
        if not value or len(value) > 100 or len(label) > 150:
            errors["options"] = [gettext(
                "Each option needs a value of at most 100 characters and a label of at "
                "most 150.")]
            return None
        if value in seen:
            errors["options"] = [gettext("The option \u201c%(value)s\u201d is repeated.",
                                         value=value)]
            return None
        if color and not COLOR.fullmatch(color):
            errors["options"] = [gettext("A colour is written as #1e88e5.")]
            return None
        if isinstance(order, bool) or not isinstance(order, int):
            errors["options"] = [gettext("An option's order is a whole number.")]
            return None
        seen.add(value)
        options.append({"value": value, "label": label, "color": color or None,
                        "order": order})
    return options


def _clean_pipelines(entity: str, raw: Any, errors: dict) -> Optional[list]:
    if raw in (None, []):
        return None
    if entity != "interest":
        errors["pipelines"] = [gettext("Only an interest's fields belong to pipelines.")]
        return None
    ids = _ids(raw, "pipelines", errors)
    if ids is None:
        return None
    known = set(db.session.execute(select(Pipeline.id).where(Pipeline.id.in_(ids)))
                .scalars())
    if set(ids) - known:
        errors["pipelines"] = [gettext("There is no such pipeline.")]
        return None
    return sorted(set(ids))


def _ids(raw: Any, name: str, errors: dict) -> Optional[list[int]]:
    if not isinstance(raw, list) or any(isinstance(i, bool) or not isinstance(i, int)
                                        or not 0 < i < 2**31 for i in raw):
        errors[name] = [gettext("Send a list of ids.")]
        return None
    return list(raw)


def _clean_required_from(entity: str, raw: Any, pipelines: Optional[list],
                         errors: dict) -> Optional[dict]:
    """{pipeline id: stage id} from a list of stage ids (one per pipeline)."""
    if raw in (None, [], {}):
        return None
    if entity != "interest":
        errors["required_from"] = [gettext("Only an interest's fields follow stages.")]
        return None
    if isinstance(raw, dict):
        raw = list(raw.values())
    ids = _ids(raw, "required_from", errors)
    if ids is None:
        return None
    stages = db.session.execute(select(Stage).where(Stage.id.in_(ids))).scalars().all()
    if len(stages) != len(set(ids)):
        errors["required_from"] = [gettext("There is no such stage.")]
        return None
    by_pipeline: dict[str, int] = {}
    for stage in stages:
        if str(stage.pipeline_id) in by_pipeline:
            errors["required_from"] = [gettext("Choose one stage per pipeline.")]
            return None
        if pipelines and stage.pipeline_id not in pipelines:
            errors["required_from"] = [gettext(
                "The stage \u201c%(stage)s\u201d is in a pipeline the field does not "
                "belong to.", stage=stage.name)]
            return None
        by_pipeline[str(stage.pipeline_id)] = stage.id
    return by_pipeline


def _clean_visibility(raw: Any, errors: dict) -> Optional[list]:
    if raw in (None, []):
        return None
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        errors["visibility"] = [gettext("Send a list of {role, access}.")]
        return None
    known = set(db.session.execute(select(Role.id)).scalars())
    kept, seen = [], set()
    for item in raw:
        role, level = item.get("role"), item.get("access")
        if level not in custom_fields.ACCESS_LEVELS:
            errors["visibility"] = [gettext("Access is hidden, read or edit.")]
            return None
        if isinstance(role, bool) or role not in known or role in seen:
            errors["visibility"] = [gettext("There is no such role, or it is named twice.")]
            return None
        seen.add(role)
        if level != custom_fields.EDIT:  # a role not named may edit
            kept.append({"role": role, "access": level})
    return kept or None


def _clean_settings(kind, raw: Any, field: CustomField, is_new: bool,
                    errors: dict) -> Optional[dict]:
    """What a type needs besides: a link's target (client, contact or interest), which
    never changes once the field exists."""
    if kind.code != "record":
        return None
    target = (raw or {}).get("target") if isinstance(raw, dict) else None
    target = target if isinstance(target, str) else None
    if not is_new and target != (field.settings or {}).get("target"):
        errors["settings"] = [gettext("This cannot change once the field exists.")]
    elif target not in LINK_TARGETS:
        errors["settings"] = [gettext("Choose what the field links to: %(names)s.",
                                      names=", ".join(LINK_TARGETS))]
    return {"target": target}


def _check(field: CustomField, changes: dict, is_new: bool) -> dict:
    """The cleaned changes; raises RecordInvalid with every field's message."""
    errors: dict[str, list[str]] = {}
    if not is_new:
        for name in FIXED:
            if name in changes and changes[name] != getattr(field, name):
                errors[name] = [gettext("This cannot change once the field exists.")]
        if errors:
            raise RecordInvalid(errors)
    cleaned = {name: value for name, value in changes.items()
               if name in CHANGEABLE or (is_new and name in FIXED)}
    entity = cleaned.get("entity", field.entity)
    if entity not in custom_fields.MODELS:
        errors["entity"] = [gettext("Choose one of: %(names)s.",
                                    names=", ".join(custom_fields.MODELS))]
        raise RecordInvalid(errors)
    code = cleaned.get("code", field.code)
    if is_new:
        if not isinstance(code, str) or not custom_fields.CODE_PATTERN.fullmatch(code):
            errors["code"] = [gettext(
                "A code is up to 40 small Latin letters, digits and underscores, "
                "starting with a letter.")]
        elif code in _reserved_codes(entity):
            errors["code"] = [gettext("This is the name of a built-in field.")]
        elif db.session.execute(select(CustomField.id).where(
                CustomField.entity == entity, CustomField.code == code)).first():
            errors["code"] = [gettext("The entity already has a field with this code.")]
    kind = TYPES.get(cleaned.get("field_type", field.field_type))
    if kind is None:
        errors["field_type"] = [gettext("Choose one of: %(names)s.", names=", ".join(TYPES))]
        raise RecordInvalid(errors)
    if cleaned.get("multiple", field.multiple) and not kind.can_be_multiple:
        errors["multiple"] = [gettext("A field of this type takes one value.")]
    for name in ("label_ru", "label_en"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip() or None
            if cleaned[name] and len(cleaned[name]) > 150:
                errors[name] = [gettext("At most %(count)d characters.", count=150)]
    if "options" in cleaned:
        cleaned["options"] = _clean_options(cleaned["options"], errors)
        options = cleaned["options"] or []
        if kind.code == "list" and not options:
            errors["options"] = [gettext("A list needs at least one option.")]
        if kind.code != "list" and options:
            errors["options"] = [gettext("Only a list has options.")]
    elif is_new and kind.code == "list":
        errors["options"] = [gettext("A list needs at least one option.")]
    if "settings" in cleaned or is_new:
        cleaned["settings"] = _clean_settings(kind, cleaned.get("settings"), field, is_new,
                                              errors)
    if "pipelines" in cleaned:
        cleaned["pipelines"] = _clean_pipelines(entity, cleaned["pipelines"], errors)
    if "required_from" in cleaned:
        cleaned["required_from"] = _clean_required_from(
            entity, cleaned["required_from"], cleaned.get("pipelines", field.pipelines),
            errors)
    if "visibility" in cleaned:
        cleaned["visibility"] = _clean_visibility(cleaned["visibility"], errors)
    for name in ("sort",):
        if name in cleaned and (isinstance(cleaned[name], bool)
                                or not isinstance(cleaned[name], int)
                                or not -10**6 < cleaned[name] < 10**6):
            errors[name] = [gettext("Enter a whole number.")]
    for name in ("required", "show_in_list", "filterable", "show_on_board", "multiple"):
        if name in cleaned and not isinstance(cleaned[name], bool):
            errors[name] = [gettext("Send true or false.")]
    for name in ("help_ru", "help_en"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip() or None
            if cleaned[name] and len(cleaned[name]) > 1000:
                errors[name] = [gettext("At most %(count)d characters.", count=1000)]
    if errors:
        raise RecordInvalid(errors)
    if "default" in cleaned or "default_text" in changes:
        spec = custom_fields._spec(_preview(field, cleaned))
        typed = "default_text" in changes
        try:
            cleaned["default"] = read_value(spec, changes["default_text"] if typed
                                            else cleaned["default"], typed=typed)
        except Invalid as error:
            raise RecordInvalid({"default": [error.message]}) from None
        if cleaned["default"] is not None and not kind.takes_default:
            raise RecordInvalid({"default": [gettext("A field of this type has no default.")]})
    return cleaned


def _preview(field: CustomField, cleaned: dict) -> CustomField:
    """The definition as it will be, unsaved (to read a default with its options)."""
    preview = CustomField(**{c.key: getattr(field, c.key)
                             for c in inspect(CustomField).column_attrs})
    for name, value in cleaned.items():
        setattr(preview, name, value)
    preview.id = preview.id or 0
    preview.version = preview.version or 1
    return preview


def _refuse_removing_used_options(field: CustomField, cleaned: dict) -> None:
    if "options" not in cleaned or field.id is None:
        return
    kept = {o["value"] for o in cleaned["options"] or []}
    removed = [o["value"] for o in field.options or [] if o.get("value") not in kept]
    count = custom_fields.count_using(field.entity, field.code, removed)
    if count:
        raise RecordInvalid({"options": [gettext(
            "%(count)d records use the options you removed (%(values)s); change them "
            "first.", count=count, values=", ".join(removed))]})


def _sync_index(field: CustomField) -> None:
    db.session.flush()
    custom_fields.sync_index(custom_fields._spec(field), field.entity, field.code)


def create(changes: dict, field: Optional[CustomField] = None) -> CustomField:
    """Add a field; `changes`: its columns (`default_text`: a default typed as in a form);
    `field`: the new record to fill (a screen's), else a new one."""
    with unit_of_work():
        _authorize("add")
        field = field if field is not None else CustomField()
        for name, value in (("required", False), ("multiple", False), ("sort", 100),
                            ("show_in_list", False), ("filterable", False),
                            ("show_on_board", False)):
            if getattr(field, name) is None:
                setattr(field, name, value)
        for name, value in _check(field, changes, is_new=True).items():
            setattr(field, name, value)
        if not field.label_ru:
            raise RecordInvalid({"label_ru": [gettext("This field is required.")]})
        records.stage(field, is_new=True)
        _sync_index(field)
    return field


def change(field: CustomField, changes: dict, seen_version: Any = None) -> CustomField:
    """Change what may change of a field (its type and code never do)."""
    with unit_of_work():
        _authorize("edit")
        records.check_version(field, seen_version)
        cleaned = _check(field, changes, is_new=False)
        _refuse_removing_used_options(field, cleaned)
        before = records.snapshot(field)
        for name, value in cleaned.items():
            setattr(field, name, value)
        if not field.label_ru:
            raise RecordInvalid({"label_ru": [gettext("This field is required.")]})
        records.stage(field, is_new=False, before=before)
        _sync_index(field)
    return field


def delete(field: CustomField) -> int:
    """Delete a field, its index and its values (a batch of records at a time); the
    deletion is in the history. Answers how many records held a value."""
    with unit_of_work():
        _authorize("delete")
        entity, code = field.entity, field.code
        custom_fields.sync_index(None, entity, code)
        removed = custom_fields.purge_values(entity, code)
        records.stage_delete(field)
    return removed
