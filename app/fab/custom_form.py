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


def _options(choices) -> Markup:
    return Markup("").join(Markup('<option value="{}">{}</option>').format(value, label)
                           for value, label in choices)


# --- the inputs: one class per kind of input a type names (FieldType.widget) ---------------


class Input:
    """A text input, for what is typed on one line; `attributes` tell the browser more
    (a calendar for dates, the keyboard of an e-mail or a number)."""

    def __init__(self, **attributes):
        self.attributes = attributes

    def fields(self, spec: FieldSpec, editable: bool, arguments: dict) -> dict:
        """The form's fields for the field: {suffix of the input's name: unbound field}."""
        arguments["render_kw"].update({"class": "form-control", **self.attributes})
        return {"": StringField(**arguments)}

    def fill(self, form, name: str, spec: FieldSpec, value) -> None:
        form[name].data = typed_of(spec, value)

    def sent(self, form, name: str, spec: FieldSpec) -> Any:
        """What the inputs say, as typed (KEEP: nothing to change)."""
        value = form[name].data
        return "" if value is None else value

    def filter_input(self, spec: FieldSpec) -> Markup:
        """The input a list's filter takes its value in."""
        return Markup('<input class="form-control" type="text" name="{}" {}>').format(
            spec.key, Markup(html_params(**{k: v for k, v in self.attributes.items()
                                            if k.startswith("data-")})))


KEEP = object()  # an input that says to keep the value (a file not uploaded again)


class Lines(Input):
    """Several values of a typed kind, one per line."""

    def fields(self, spec, editable, arguments):
        arguments["render_kw"].update({"class": "form-control", "rows": 3,
                                       "placeholder": gettext("One value per line")})
        return {"": TextAreaField(**arguments)}


class Text(Input):
    """Text of several lines."""

    def fields(self, spec, editable, arguments):
        arguments["render_kw"].update({"class": "form-control", "rows": 3})
        return {"": TextAreaField(**arguments)}


class Checkbox(Input):
    def fields(self, spec, editable, arguments):
        return {"": BooleanField(**arguments)}

    def fill(self, form, name, spec, value):
        form[name].data = bool(value)

    def sent(self, form, name, spec):
        return "yes" if form[name].data else "no"

    def filter_input(self, spec):
        return Markup('<select class="form-control" name="{}">{}</select>').format(
            spec.key, _options([("yes", gettext("Yes")), ("no", gettext("No"))]))


class Choice(Input):
    """One or several of a field's choices, in a select box."""

    def choices(self, spec: FieldSpec) -> list:
        return [(o.value, o.label) for o in spec.options]

    def fields(self, spec, editable, arguments):
        arguments["render_kw"]["class"] = "form-control"
        if spec.multiple:
            return {"": SelectMultipleField(choices=self.choices(spec), validate_choice=False,
                                            widget=Select2ManyWidget(), **arguments)}
        return {"": SelectField(choices=[("", "—"), *self.choices(spec)],
                                validate_choice=False, widget=Select2Widget(), **arguments)}

    def filter_input(self, spec):
        return Markup('<select class="form-control" name="{}">{}</select>').format(
            spec.key, _options(self.choices(spec)))


class Employee(Choice):
    def choices(self, spec):
        return [(str(user.id), str(user)) for user in db.session.execute(
            select(CrmUser).where(CrmUser.active.is_(True))
            .order_by(CrmUser.first_name, CrmUser.last_name)).scalars()]


class RecordLookup(Input):
    """A client, contact or interest, looked up by typing (app.screens.lookup): only the
    records the user may see are offered."""

    def fields(self, spec, editable, arguments):
        return {"": StringField(widget=RecordLookupWidget(spec), **arguments)}


class Upload(Input):
    """A file to upload, and a box to remove the one kept."""

    def fields(self, spec, editable, arguments):
        fields = {"": FileField(**arguments)}
        if editable:
            fields[REMOVE] = BooleanField(_l("Remove the file"), render_kw={"required": False})
        return fields

    def fill(self, form, name, spec, value):
        if value:  # a file input cannot hold the file: its name is said under it
            form[name].description = gettext("Now: %(file)s", file=text_of(spec, value))

    def sent(self, form, name, spec):
        upload = form[name].data
        if name + REMOVE in form and form[name + REMOVE].data:
            return None
        if isinstance(upload, FileStorage) and upload.filename:
            return {"name": upload.filename, "content": base64.b64encode(upload.read()).decode()}
        return KEEP


class Booking(Choice):
    """A resource in a select box, and the times from and to."""

    def choices(self, spec):
        return [(str(item.id), str(item)) for item in db.session.execute(
            select(DictionaryItem).where(DictionaryItem.kind == "resource")
            .order_by(DictionaryItem.sort, DictionaryItem.name)).scalars()]

    def fields(self, spec, editable, arguments):
        fields = super().fields(spec, editable, arguments)
        for part, label in ((START, _l("From")), (END, _l("To"))):
            fields[part] = StringField(label, render_kw={
                "data-crm-picker": "datetime", "autocomplete": "off", "class": "form-control",
                "placeholder": gettext("dd.mm.yyyy hh:mm"), "disabled": not editable,
                "required": False})
        return fields

    def fill(self, form, name, spec, value):
        if isinstance(value, dict):
            start, end = spec.kind.span(value)
            form[name].data = str(value.get("resource", ""))
            form[name + START].data = format_typed(to_local(start))
            form[name + END].data = format_typed(to_local(end))

    def sent(self, form, name, spec):
        resource = form[name].data or ""
        times = (form[name + START].data or "", form[name + END].data or "")
        if not resource and not any(t.strip() for t in times):
            return ""
        return {"resource": resource, "start": times[0], "end": times[1]}


INPUTS = {
    "text": Input(), "number": Input(inputmode="decimal"), "money": Input(inputmode="decimal"),
    "date": Input(**{"data-crm-picker": "date", "autocomplete": "off"}),
    "datetime": Input(**{"data-crm-picker": "datetime", "autocomplete": "off"}),
    "email": Input(type="email"), "url": Input(type="url"), "tel": Input(type="tel"),
    "textarea": Text(), "checkbox": Checkbox(), "select": Choice(), "user": Employee(),
    "record": RecordLookup(), "file": Upload(), "booking": Booking(),
}
LINES = Lines()


def input_of(spec: FieldSpec) -> Input:
    """The input of a field: its type's, or one value per line for several typed ones."""
    found = INPUTS[spec.kind.widget]
    return LINES if spec.multiple and type(found) is Input else found


class RecordLookupWidget:
    """The select box of RecordLookup, filled by crm/lookup.js as the user types."""

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


# --- a record's form ------------------------------------------------------------------------


def form_class(base, granted: list, prefix: str = PREFIX) -> type:
    """The screen's form with an input for each custom field the user may read (those
    they may not change are shown disabled); `prefix` names the inputs of a second record
    in one form (the intake wizard's new client)."""
    fields = {}
    for g in granted:
        spec = g.spec
        # Marked required (the asterisk) but checked by the server, with the field's label
        # in the message: a browser's own check cannot show on a select box of select2.
        attributes: dict[str, Any] = {"required": False}
        if not g.editable:
            attributes["disabled"] = True
        if spec.kind.placeholder:
            attributes["placeholder"] = str(spec.kind.placeholder)
        if spec.pipelines:  # shown while one of its pipelines is chosen (crm/stages.js)
            attributes["data-crm-pipelines"] = ",".join(str(pk) for pk in spec.pipelines)
        arguments = {"label": spec.label, "description": spec.help,
                     "validators": [_Required()] if spec.required else [],
                     "render_kw": attributes}
        for suffix, field in input_of(spec).fields(spec, g.editable, arguments).items():
            fields[field_name(spec, prefix) + suffix] = field
    return type(base.__name__, (base,), fields) if fields else base


def names(form) -> list[str]:
    return [name for name in form._fields if name.startswith(PREFIX)]


def fill(form, record, granted: list, prefix: str = PREFIX) -> None:
    """Show the record's values in the inputs (an edit form's first display); a new
    record's (None) defaults."""
    if not granted:  # a record without custom fields (an interest's product line)
        return
    stored = (record.custom or {}) if record is not None else {}
    for g in granted:
        name = field_name(g.spec, prefix)
        if name in form:
            value = stored.get(g.spec.code, g.spec.default if record is None else None)
            input_of(g.spec).fill(form, name, g.spec, value)


def sent(form, granted: list, record, prefix: str = PREFIX) -> dict:
    """What the form says of the fields the user may change, as typed: {code: text}. A
    field that does not belong to the record (another pipeline's) and was left empty is
    not sent."""
    found = {}
    for g in granted:
        name = field_name(g.spec, prefix)
        if not g.editable or name not in form:
            continue
        value = input_of(g.spec).sent(form, name, g.spec)
        if value is KEEP or (not custom_fields.belongs(g.spec, record)
                             and value in ("", [], "no", None)):
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
        elif kind.multiline:
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
    """The input a list's filter takes its value in (a list's options in a select box)."""
    return input_of(spec).filter_input(spec)
