"""Custom fields on the screens: their inputs in a record's form, their values on its page
and in the lists, and their filters (app.services.custom_fields decides who sees what).

A form class is made per request from the definitions the request reads (a subclass of the
screen's form: nothing shared between requests changes). Each input holds what a person
types; the field's type reads it when the record is saved, so a form and an import refuse
the same values with the same messages.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

from flask_appbuilder.fieldwidgets import Select2ManyWidget, Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    FileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import html_params

from app.database import db
from app.fab.filters import empty_filters
from app.models import CrmUser, DictionaryItem
from app.services import custom_fields
from app.services.clock import format_typed, to_local
from app.services.custom_types import FieldSpec, text_of, typed_of

PREFIX = "custom_"
REMOVE = "__remove"  # the box that removes a file field's file
START, END = "__start", "__end"  # a booking's times, beside its resource
SECTION = _l("More")
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:", "/")

# The filter operations, as the filter's select box names them.
OPERATOR_LABELS = {
    "eq": _l("Equal to"),
    "ne": _l("Not equal to"),
    "sw": _l("Starts with"),
    "ct": _l("Contains"),
    "gt": _l("Greater than"),
    "lt": _l("Smaller than"),
    "empty": _l("Is empty"),
}


def field_name(spec: FieldSpec, prefix: str = PREFIX) -> str:
    return prefix + spec.code


class _Required:
    """Marks an input as required (the asterisk); the record's check refuses the save."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def _input(spec: FieldSpec, editable: bool):
    kind = spec.kind
    # Marked required (the asterisk) but checked by the server, with the field's label in
    # the message: a browser's own check cannot show on a select box drawn by select2.
    attributes: dict[str, Any] = {"required": False}
    if not editable:
        attributes["disabled"] = True
    if kind.placeholder:
        attributes["placeholder"] = str(kind.placeholder)
    if spec.pipelines:  # shown while one of its pipelines is chosen (crm/stages.js)
        attributes["data-crm-pipelines"] = ",".join(str(pk) for pk in spec.pipelines)
    arguments = {"label": spec.label, "description": spec.help,
                 "validators": [_Required()] if spec.required else [],
                 "render_kw": attributes}
    if kind.widget == "checkbox":
        return BooleanField(**arguments)
    if kind.widget not in ("file",):
        attributes["class"] = "form-control"
    if kind.widget == "user":
        choices = [(str(user.id), str(user)) for user in _employees()]
        if spec.multiple:
            return SelectMultipleField(choices=choices, validate_choice=False,
                                       widget=Select2ManyWidget(), **arguments)
        return SelectField(choices=[("", "—"), *choices], validate_choice=False,
                           widget=Select2Widget(), **arguments)
    if kind.widget == "record":
        return StringField(widget=RecordLookupWidget(spec), **arguments)
    if kind.widget == "file":
        return FileField(**arguments)
    if kind.widget == "booking":
        choices = [("", "—"), *((str(item.id), str(item)) for item in _resources())]
        return SelectField(choices=choices, validate_choice=False, widget=Select2Widget(),
                           **arguments)
    if kind.widget == "select":
        choices = [(o.value, o.label) for o in spec.options]
        if spec.multiple:
            return SelectMultipleField(choices=choices, validate_choice=False,
                                       widget=Select2ManyWidget(), **arguments)
        return SelectField(choices=[("", "—"), *choices], validate_choice=False,
                           widget=Select2Widget(), **arguments)
    if spec.multiple:
        attributes["placeholder"] = gettext("One value per line")
        attributes["rows"] = 3
        return TextAreaField(**arguments)
    if kind.widget == "textarea":
        attributes["rows"] = 3
        return TextAreaField(**arguments)
    if kind.widget in ("date", "datetime"):
        attributes["data-crm-picker"] = kind.widget
        attributes["autocomplete"] = "off"
    elif kind.widget in ("email", "url", "tel"):
        attributes["type"] = kind.widget
    elif kind.widget in ("number", "money"):
        attributes["inputmode"] = "decimal"
    return StringField(**arguments)


def _resources() -> list:
    return db.session.execute(select(DictionaryItem).where(DictionaryItem.kind == "resource")
                              .order_by(DictionaryItem.sort, DictionaryItem.name)
                              ).scalars().all()


def _employees() -> list:
    return db.session.execute(select(CrmUser).where(CrmUser.active.is_(True))
                              .order_by(CrmUser.first_name, CrmUser.last_name)).scalars().all()


class RecordLookupWidget:
    """A link to a client, contact or interest, looked up by typing (app.screens.lookup):
    only records the user may see are offered."""

    def __init__(self, spec: FieldSpec):
        self.spec = spec

    def __call__(self, field, **kwargs):
        value = field.data if isinstance(field.data, str) else ""
        selected = Markup("")
        if value.strip().isdigit():
            text = self.spec.kind.text(int(value), self.spec)
            selected = Markup('<option value="{}" selected>{}</option>').format(value, text)
        target = self.spec.settings.get("target", "client")
        attributes = {"id": field.id, "name": field.name,
                      "class": "form-control crm-lookup",
                      "data-endpoint": f"/lookup/{target}",
                      "data-placeholder": gettext("Start typing to search")}
        if kwargs.get("disabled"):
            attributes["disabled"] = True
        return Markup("<select {}><option value=\"\"></option>{}</select>").format(
            Markup(html_params(**attributes)), selected)


def form_class(base, granted: list, prefix: str = PREFIX) -> type:
    """The screen's form with an input for each custom field the user may read (those
    they may not change are shown disabled); `prefix` names the inputs of a second record
    in one form (the intake wizard's new client)."""
    inputs = {}
    for g in granted:
        inputs[field_name(g.spec, prefix)] = _input(g.spec, g.editable)
        if g.spec.kind.widget == "file" and g.editable:
            inputs[field_name(g.spec, prefix) + REMOVE] = BooleanField(
                _l("Remove the file"), render_kw={"required": False})
        if g.spec.kind.widget == "booking":
            for part, label in ((START, _l("From")), (END, _l("To"))):
                inputs[field_name(g.spec, prefix) + part] = StringField(
                    label, render_kw={"data-crm-picker": "datetime", "autocomplete": "off",
                                      "class": "form-control",
                                      "placeholder": gettext("dd.mm.yyyy hh:mm"),
                                      "disabled": not g.editable, "required": False})
    return type(base.__name__, (base,), inputs) if inputs else base


def names(form) -> list[str]:
    return [name for name in form._fields if name.startswith(PREFIX)]


def fill(form, record, granted: list, prefix: str = PREFIX) -> None:
    """Show the record's values in the inputs (an edit form's first display); a new
    record's (None) defaults."""
    if not granted:
        return
    stored = (record.custom or {}) if record is not None else {}
    for g in granted:
        name = field_name(g.spec, prefix)
        if name not in form:
            continue
        value = stored.get(g.spec.code, g.spec.default if record is None else None)
        if g.spec.kind.widget == "file":
            if value:  # a file input cannot hold the file: its name is said under it
                form[name].description = gettext("Now: %(file)s", file=text_of(g.spec, value))
            continue
        if g.spec.kind.widget == "booking":
            if isinstance(value, dict):
                start, end = g.spec.kind.span(value)
                form[name].data = str(value.get("resource", ""))
                form[name + START].data = format_typed(to_local(start))
                form[name + END].data = format_typed(to_local(end))
            continue
        form[name].data = bool(value) if g.spec.kind.widget == "checkbox" \
            else typed_of(g.spec, value)


def sent(form, granted: list, record, prefix: str = PREFIX) -> dict:
    """What the form says of the fields the user may change, as typed: {code: text}. A
    field that does not belong to the record (another pipeline's) and was left empty is
    not sent."""
    found = {}
    for g in granted:
        name = field_name(g.spec, prefix)
        if not g.editable or name not in form:
            continue
        value = form[name].data
        if g.spec.kind.widget == "file":
            if name + REMOVE in form and form[name + REMOVE].data:
                found[g.spec.code] = None
            elif isinstance(value, FileStorage) and value.filename:
                found[g.spec.code] = {"name": value.filename,
                                      "content": base64.b64encode(value.read()).decode()}
            continue
        if g.spec.kind.widget == "booking":
            times = (form[name + START].data or "", form[name + END].data or "")
            value = {"resource": value or "", "start": times[0], "end": times[1]} \
                if (value or any(t.strip() for t in times)) else ""
        if g.spec.kind.widget == "checkbox":
            value = "yes" if value else "no"
        elif value is None:
            value = ""
        if not custom_fields.belongs(g.spec, record) and value in ("", [], "no"):
            continue
        found[g.spec.code] = value
    return found


def section(form) -> Optional[tuple]:
    fields = names(form)
    return (SECTION, {"fields": fields}) if fields else None


# --- showing values --------------------------------------------------------------------------


def display(spec: FieldSpec, stored: Any, record=None) -> Markup:
    """A value on a page or in a list: its text, escaped; a link where it has one; a list's
    choice with its colour."""
    if stored is None or stored == [] or stored == "":
        return Markup("")
    kind = spec.kind
    items = stored if spec.multiple and isinstance(stored, list) else [stored]
    parts = []
    for item in items:
        text = escape(text_of(spec, item) if not spec.multiple else kind.text(item, spec))
        href = kind.href(item, spec, record)
        color = kind.color(item, spec)
        if href and href.lower().startswith(_LINK_SCHEMES):
            outside = ' target="_blank" rel="noopener noreferrer"' \
                if href.lower().startswith("http") else ""
            parts.append(Markup(f'<a href="{escape(href)}"{outside}>{text}</a>'))
        elif color:
            parts.append(Markup(f'<span class="crm-option" style="border-color:{escape(color)}">'
                                f'<span class="crm-option-dot" style="background:{escape(color)}">'
                                f"</span>{text}</span>"))
        elif kind.widget == "textarea":
            parts.append(Markup('<span class="crm-multiline">{}</span>').format(text))
        else:
            parts.append(text)
    return Markup(", ").join(parts)


def shown(record) -> tuple[list[str], dict, list]:
    """The record's readable custom fields for its page: (column names, labels, values)."""
    columns, labels, values = [], {}, []
    for spec, stored in custom_fields.values(record):
        columns.append(spec.key)
        labels[spec.key] = spec.label
        values.append(display(spec, stored, record))
    return columns, labels, values


def card_extras(record, view) -> dict:
    """What a record's card (client, interest) needs to show its custom fields."""
    return {"custom": shown(record), "can_add_field": view.can("can_add", "CustomFieldView")}


# --- list filters ------------------------------------------------------------------------------


class CustomFilter(BaseFilter):
    """A filter of a list by a custom field, with one of its type's operations: a class per
    field and operation, made per request (`filters_of`), that FAB instantiates as it does
    its own."""

    spec: FieldSpec
    operator: str

    def apply(self, query, value):
        if value is None or (isinstance(value, str) and not value.strip()
                             and self.operator != "empty"):
            return query
        return query.filter(custom_fields.condition(self.datamodel.obj, self.spec,
                                                    self.operator, value))


def readable_specs(model) -> list[FieldSpec]:
    """The custom fields of a model's records the user may read (none for other models)."""
    entity = custom_fields.entity_of(model)
    return custom_fields.readable(entity) if entity else []


def request_filters(view_filters, datamodel):
    """A copy of a screen's or a resource's filters for one request, without active ones
    (FAB shares the object between requests), with a filter for each custom field the user
    may read and filter by (`custom.<code>`)."""
    filters = empty_filters(view_filters)
    custom = filters_of([spec for spec in readable_specs(datamodel.obj) if spec.filterable],
                        datamodel)
    if custom:
        filters._search_filters = {**filters._search_filters, **custom}
        filters._all_filters = {**filters._all_filters, **custom}
        filters.search_columns = [*filters.search_columns, *custom]
    return filters


def filters_of(specs: list[FieldSpec], datamodel) -> dict[str, list[CustomFilter]]:
    found = {}
    for spec in specs:
        found[spec.key] = [
            type(f"CustomFilter_{operator}", (CustomFilter,), {
                "spec": spec, "operator": operator, "name": OPERATOR_LABELS[operator],
                "arg_name": operator})(spec.key, datamodel)
            for operator in spec.kind.operators]
    return found


def filter_input(spec: FieldSpec) -> Markup:
    """The input a filter's value is typed into (a list's options in a select box)."""
    if spec.kind.widget == "select":
        options = Markup("").join(
            Markup('<option value="{}">{}</option>').format(o.value, o.label)
            for o in spec.options)
        return Markup('<select class="form-control" name="{}">{}</select>').format(
            spec.key, options)
    if spec.kind.widget in ("user", "booking"):
        choices = _employees() if spec.kind.widget == "user" else _resources()
        options = Markup("").join(Markup('<option value="{}">{}</option>').format(u.id, u)
                                  for u in choices)
        return Markup('<select class="form-control" name="{}">{}</select>').format(
            spec.key, options)
    if spec.kind.widget == "checkbox":
        return Markup('<select class="form-control" name="{}"><option value="yes">{}'
                      '</option><option value="no">{}</option></select>').format(
            spec.key, gettext("Yes"), gettext("No"))
    picker = spec.kind.widget if spec.kind.widget in ("date", "datetime") else ""
    return Markup('<input class="form-control" type="text" name="{}"{}>').format(
        spec.key, Markup(f' data-crm-picker="{picker}"') if picker else "")
