"""Form fields for what people type: dates and times in the company's time zone as
`03.12.2026 14:30` (with the calendar of crm/picker.js), numbers and money as the lists show
them (`1 200 000,00`). A value that cannot be read is refused with a message that shows the
expected form, and what was typed stays in the field."""

from __future__ import annotations

from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Date, DateTime, Integer, Numeric
from wtforms import Field
from wtforms.fields.core import UnboundField
from wtforms.widgets import html_params

from app.services.clock import format_typed, local_now_minute, parse_typed
from app.services.numbers import parse_decimal


class TypedInput:
    """A text input; `data-crm-picker` asks crm/picker.js for a calendar."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs["class"] = f"form-control {kwargs.get('class', '')}".strip()
        attributes = {"type": "text", "name": field.name, "value": field._value(),
                      "autocomplete": "off", "placeholder": str(field.placeholder or ""),
                      **kwargs}
        if field.picker:
            attributes["data-crm-picker"] = field.picker
        return Markup(f"<input {html_params(**attributes)}>")


class _TypedField(Field):
    widget = TypedInput()
    picker = None
    placeholder = None
    message = None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.show(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        if not (text or "").strip():
            self.data = None
            return
        try:
            self.data = self.read(text)
        except ValueError:
            self.data = None
            raise ValueError(str(self.message)) from None

    def read(self, text: str):
        raise NotImplementedError

    def show(self, value) -> str:
        raise NotImplementedError


class LocalDateTimeField(_TypedField):
    """A date and time in the company's time zone (the view converts to and from UTC)."""

    picker = "datetime"
    with_time = True
    placeholder = _l("dd.mm.yyyy hh:mm")
    message = _l("Enter a date and time as 03.12.2026 14:30.")

    def read(self, text):
        return parse_typed(text, with_time=self.with_time)

    def show(self, value):
        return format_typed(value)


class LocalDateField(LocalDateTimeField):
    picker = "date"
    with_time = False
    placeholder = _l("dd.mm.yyyy")
    message = _l("Enter a date as 03.12.2026.")


class LocalDecimalField(_TypedField):
    """A number or an amount of money, typed as the lists show it in the user's language."""

    message = _l("Enter a number, for example 1,200,000.00.")

    def read(self, text):
        locale = get_locale()
        symbols = getattr(locale, "number_symbols", {}) or {}
        latn = symbols.get("latn", symbols)
        return parse_decimal(text, decimal_symbol=latn.get("decimal", ","),
                             group_symbol=latn.get("group", "\u00a0"))

    def show(self, value):
        return format_decimal(value, format="#,##0.00")


def typed_field_class(column_type):
    """The field a column of this type is typed into, or None for FAB's own."""
    if isinstance(column_type, DateTime):
        return LocalDateTimeField
    if isinstance(column_type, Date):
        return LocalDateField
    if isinstance(column_type, Numeric) and not isinstance(column_type, Integer):
        return LocalDecimalField
    return None


def use_typed_fields(form_class, columns) -> None:
    """Replace FAB's date, time and number fields of a generated form by the typed ones,
    keeping label, description, validators; a time that defaults to "now" starts at the
    local minute."""
    for column in columns:
        unbound = getattr(form_class, column.key, None)
        field_class = typed_field_class(column.type)
        if field_class is None or not isinstance(unbound, UnboundField):
            continue
        kwargs = {k: v for k, v in unbound.kwargs.items() if k not in ("widget", "format")}
        if field_class is LocalDateTimeField and kwargs.get("default") is not None:
            kwargs["default"] = local_now_minute
        setattr(form_class, column.key, UnboundField(field_class, *unbound.args, **kwargs))
