"""The types of custom fields: one class per type, and everything a type decides in it.

A type reads a value sent as JSON (the API, an import) or typed as text (a form, a filter),
refuses what is not a value of its kind with a message the user can act on, stores it as
JSON, shows it, links it (a site, an e-mail, a phone), describes it to the OpenAPI spec,
and says how the database compares and sorts it (app.services.custom_fields builds the
SQL from that). Nothing outside this module asks which type a field is.

Stored values are plain JSON: text as a string; numbers as numbers; a date as
"2026-12-03"; a moment as "2026-12-03T11:30:00Z" (UTC); money as {"amount", "currency"};
a list's choice as the option's value. A field that takes several values stores a list.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import mimetypes
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import phonenumbers
from flask import current_app, url_for
from flask_babel import format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.routing import BuildError

from app.database import db
from app.models import (
    CURRENCIES,
    Client,
    Contact,
    CrmUser,
    CustomBooking,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    Product,
)
from app.rules.validation import (
    ValidationError,
    normalize_phone,
    validate_email,
    validate_phone,
)
from app.services import access, request_scope
from app.services.clock import format_local, format_typed, parse_typed, to_local, to_utc
from app.services.numbers import parse_decimal

# The largest whole number a field holds: what JSON readers (JavaScript) read exactly.
LARGEST_INTEGER = 2**53 - 1
# A decimal or an amount of money: up to 13 whole digits and 4 after the point, so that
# every value is held exactly by a JSON number.
LARGEST_DECIMAL = Decimal(10) ** 13
DECIMAL_PLACES = 4


class Invalid(ValueError):
    """A value its field cannot take; the message says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- what a type is told about its field -------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A choice of a list field."""

    value: str
    label: str
    color: Optional[str] = None
    order: int = 0


@dataclass(frozen=True)
class FieldSpec:
    """A custom field's definition as every request reads it (kept between requests while
    the cache stamp holds, so nothing in it changes)."""

    id: int
    entity: str
    code: str
    label_ru: str
    label_en: Optional[str]
    type: str
    required: bool = False
    multiple: bool = False
    default: Any = None
    help_ru: Optional[str] = None
    help_en: Optional[str] = None
    options: tuple[Option, ...] = ()
    sort: int = 100
    show_in_list: bool = False
    filterable: bool = False
    show_on_board: bool = False
    pipelines: tuple[int, ...] = ()
    required_from: tuple[tuple[int, int], ...] = ()  # (pipeline id, stage id)
    visibility: tuple[tuple[int, str], ...] = ()     # (role id, "hidden" | "read")
    version: int = 1
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> "FieldType":
        return TYPES[self.type]

    @property
    def label(self) -> str:
        """The label in the user's language (Russian when there is no English one)."""
        if _language() == "en" and self.label_en:
            return self.label_en
        return self.label_ru

    @property
    def help(self) -> str:
        if _language() == "en" and self.help_en:
            return self.help_en
        return self.help_ru or ""

    @property
    def key(self) -> str:
        """How lists, sorting and filters name the field: `custom.<code>`."""
        return f"custom.{self.code}"

    def option(self, value) -> Optional[Option]:
        return next((o for o in self.options if o.value == value), None)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


# --- the types ---------------------------------------------------------------------------


class FieldType:
    """A type of custom field. Subclasses say what differs."""

    code = ""
    label: Any = ""
    # The form's input: text, textarea, number, checkbox, date, datetime, select, money,
    # email, url, tel (app.fab.custom_form renders each).
    widget = "text"
    can_be_multiple = True
    # How the database compares a stored value: as "text", a "number" or a "bool"; `path`
    # names the part of a stored object that is compared (money's amount).
    compared_as = "text"
    path: tuple[str, ...] = ()
    sortable = True
    # The filter operations it offers, in the order a filter's select box shows them.
    operators: tuple[str, ...] = ("eq", "ne", "empty")
    placeholder: Any = ""
    max_length = 255
    multiline = False   # its text keeps its lines on a page
    chooses = False     # its values are chosen from a list (a form holds them as a list)
    # Whether a new record may start with a value set by the field (not a file, a link
    # that the creating user might not see, or a booking that would hold the resource for
    # every new record at once).
    takes_default = True

    # Reading ------------------------------------------------------------------------------

    def read(self, value: Any, spec: FieldSpec) -> Any:
        """One value as JSON sends it -> the stored value; raises Invalid."""
        if not isinstance(value, str):
            raise Invalid(gettext("Enter text."))
        return self.read_text(value, spec)

    def read_text(self, text: str, spec: FieldSpec) -> Any:
        """One value as a person typed it -> the stored value; raises Invalid."""
        text = text.strip()
        if len(text) > self.max_length:
            raise Invalid(gettext("At most %(count)d characters.", count=self.max_length))
        return text

    def is_empty(self, stored: Any) -> bool:
        return stored is None or stored == "" or stored == []

    # Showing ------------------------------------------------------------------------------

    def text(self, stored: Any, spec: FieldSpec) -> str:
        """The value as a page shows it."""
        return "" if stored is None else str(stored)

    def typed(self, stored: Any, spec: FieldSpec) -> str:
        """The value as a form's input holds it (what read_text reads back)."""
        return self.text(stored, spec)

    def href(self, stored: Any, spec: FieldSpec, record=None) -> Optional[str]:
        """Where the value (of `record`) links to (a site, mailto:, tel:), or None."""
        return None

    def color(self, stored: Any, spec: FieldSpec) -> Optional[str]:
        return None

    def keeps(self, current: Any, value: Any) -> bool:
        """Whether `value` sent for the field means "keep what it holds" (a file sent back
        as it was read)."""
        return False

    def conflict(self, spec: FieldSpec, stored: Any, record) -> Optional[str]:
        """Why the record cannot hold the value because of other records (a resource
        booked by another), or None."""
        return None

    def schema(self, spec: FieldSpec) -> dict:
        """One value, as JSON Schema (OpenAPI 3)."""
        return {"type": "string", "maxLength": self.max_length}

    # Comparing ----------------------------------------------------------------------------

    def compared(self, stored: Any) -> Any:
        """What the database compares for a stored value (a filter's operand)."""
        return stored

    def filter_value(self, raw: Any, spec: FieldSpec) -> Any:
        """A filter's operand as stored (None: no value); raises Invalid."""
        return read_value(replace(spec, multiple=False), raw, typed=isinstance(raw, str))


class StringType(FieldType):
    code = "string"
    label = _l("String")
    operators = ("sw", "ct", "eq", "ne", "empty")


class TextType(FieldType):
    code = "text"
    label = _l("Text (several lines)")
    widget = "textarea"
    multiline = True
    can_be_multiple = False
    sortable = False
    operators = ("ct", "empty")
    max_length = 10000


class AddressType(FieldType):
    code = "address"
    label = _l("Address")
    widget = "textarea"
    multiline = True
    can_be_multiple = False
    operators = ("ct", "empty")
    max_length = 500


class IntegerType(FieldType):
    code = "integer"
    label = _l("Integer")
    widget = "number"
    compared_as = "number"
    operators = ("eq", "ne", "gt", "lt", "empty")

    def read(self, value, spec):
        if isinstance(value, bool):
            raise Invalid(gettext("Enter a whole number."))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            return self._in_range(value)
        if isinstance(value, str):
            return self.read_text(value, spec)
        raise Invalid(gettext("Enter a whole number."))

    def read_text(self, text, spec):
        compact = re.sub(r"[\s\u00a0\u202f]", "", text)
        if not re.fullmatch(r"[+-]?\d+", compact):
            raise Invalid(gettext("Enter a whole number."))
        return self._in_range(int(compact))

    @staticmethod
    def _in_range(number: int) -> int:
        if abs(number) > LARGEST_INTEGER:
            raise Invalid(gettext("The number must be from %(min)s to %(max)s.",
                                  min=f"-{LARGEST_INTEGER}", max=str(LARGEST_INTEGER)))
        return number

    def text(self, stored, spec):
        return "" if stored is None else format_decimal(stored, format="#,##0")

    def typed(self, stored, spec):
        return "" if stored is None else str(stored)

    def schema(self, spec):
        return {"type": "integer", "minimum": -LARGEST_INTEGER, "maximum": LARGEST_INTEGER}


def _decimal(value: Any, typed: bool) -> Decimal:
    """A number sent as JSON (`typed` False) or typed in the user's language."""
    if isinstance(value, bool):
        raise Invalid(gettext("Enter a number."))
    try:
        if isinstance(value, (int, float)):
            number = Decimal(str(value))
        elif isinstance(value, str) and typed:
            number = _read_local_number(value)
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise Invalid(gettext("Enter a number."))
    except (InvalidOperation, ValueError):
        raise Invalid(gettext("Enter a number, for example 1,200,000.00.")) from None
    if not number.is_finite():
        raise Invalid(gettext("Enter a number."))
    if abs(number) >= LARGEST_DECIMAL:
        raise Invalid(gettext("The number is too large."))
    if -number.as_tuple().exponent > DECIMAL_PLACES and \
            number != number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES)):
        raise Invalid(gettext("At most %(count)d digits after the decimal point.",
                              count=DECIMAL_PLACES))
    return number


def _read_local_number(text: str) -> Decimal:
    locale = get_locale()
    symbols = getattr(locale, "number_symbols", {}) or {}
    latn = symbols.get("latn", symbols)
    return parse_decimal(text, decimal_symbol=latn.get("decimal", ","),
                         group_symbol=latn.get("group", "\u00a0"))


def _json_number(number: Decimal) -> int | float:
    """A JSON number that reads back as exactly `number` (13 + 4 digits fit a double)."""
    return int(number) if number == number.to_integral_value() else float(number)


class DecimalType(FieldType):
    code = "decimal"
    label = _l("Decimal number")
    widget = "number"
    compared_as = "number"
    operators = ("eq", "ne", "gt", "lt", "empty")

    def read(self, value, spec):
        return _json_number(_decimal(value, typed=False))

    def read_text(self, text, spec):
        return _json_number(_decimal(text, typed=True))

    def text(self, stored, spec):
        return "" if stored is None else format_decimal(Decimal(str(stored)),
                                                        format="#,##0.####")

    def schema(self, spec):
        return {"type": "number", "exclusiveMinimum": -float(LARGEST_DECIMAL),
                "exclusiveMaximum": float(LARGEST_DECIMAL)}


class MoneyType(FieldType):
    code = "money"
    label = _l("Money")
    widget = "money"
    can_be_multiple = False
    compared_as = "number"
    path = ("amount",)
    operators = ("eq", "ne", "gt", "lt", "empty")
    placeholder = _l("1 200 000,00 RUB")

    def read(self, value, spec):
        if isinstance(value, dict):
            unknown = set(value) - {"amount", "currency"}
            if unknown or "amount" not in value:
                raise Invalid(gettext('Send money as {"amount": 1200.5, "currency": "RUB"}.'))
            return self._money(_decimal(value["amount"], typed=False),
                               value.get("currency") or "RUB")
        return self._money(_decimal(value, typed=False), "RUB")

    def read_text(self, text, spec):
        match = re.fullmatch(r"\s*(.*?)\s*([A-Za-z]{3})?\s*", text)
        amount, currency = match.group(1), (match.group(2) or "RUB").upper()
        return self._money(_decimal(amount, typed=True), currency)

    @staticmethod
    def _money(amount: Decimal, currency: Any) -> dict:
        if currency not in CURRENCIES:
            raise Invalid(gettext("Unknown currency; use one of: %(codes)s.",
                                  codes=", ".join(CURRENCIES)))
        return {"amount": _json_number(amount.quantize(Decimal("0.01"))),
                "currency": currency}

    def text(self, stored, spec):
        if not isinstance(stored, dict):
            return ""
        amount = format_decimal(Decimal(str(stored.get("amount", 0))), format="#,##0.00")
        return f"{amount} {stored.get('currency', '')}".strip()

    def compared(self, stored):
        return stored.get("amount") if isinstance(stored, dict) else stored

    def schema(self, spec):
        return {"type": "object", "required": ["amount"],
                "properties": {"amount": {"type": "number"},
                               "currency": {"type": "string", "enum": list(CURRENCIES)}}}


_TRUE = {"1", "true", "yes", "y", "on", "да", "д"}
_FALSE = {"0", "false", "no", "n", "off", "нет", "н", ""}


class BooleanType(FieldType):
    code = "boolean"
    label = _l("Yes / no")
    widget = "checkbox"
    can_be_multiple = False
    compared_as = "bool"
    operators = ("eq",)

    def read(self, value, spec):
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.read_text(value, spec)
        raise Invalid(gettext("Send true or false."))

    def read_text(self, text, spec):
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise Invalid(gettext("Answer yes or no."))

    def is_empty(self, stored):
        return stored is None

    def text(self, stored, spec):
        if stored is None:
            return ""
        return gettext("Yes") if stored else gettext("No")

    def typed(self, stored, spec):
        return "y" if stored else ""

    def schema(self, spec):
        return {"type": "boolean"}


class DateType(FieldType):
    code = "date"
    label = _l("Date")
    widget = "date"
    operators = ("eq", "gt", "lt", "empty")
    placeholder = _l("dd.mm.yyyy")

    def read(self, value, spec):
        if not isinstance(value, str):
            raise Invalid(gettext("Send a date as 2026-12-03."))
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return self.read_text(value, spec)

    def read_text(self, text, spec):
        try:
            return parse_typed(text.strip(), with_time=False).isoformat()
        except ValueError:
            try:
                return dt.date.fromisoformat(text.strip()).isoformat()
            except ValueError:
                raise Invalid(gettext("Enter a date as 03.12.2026.")) from None

    def text(self, stored, spec):
        return format_typed(dt.date.fromisoformat(stored)) if stored else ""

    def schema(self, spec):
        return {"type": "string", "format": "date"}


class DateTimeType(FieldType):
    """A moment, kept in UTC and shown in the company's time zone."""

    code = "datetime"
    label = _l("Date and time")
    widget = "datetime"
    operators = ("gt", "lt", "eq", "empty")
    placeholder = _l("dd.mm.yyyy hh:mm")

    def read(self, value, spec):
        if not isinstance(value, str):
            raise Invalid(gettext("Send a time as 2026-12-03T11:30:00Z."))
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(gettext("Send a time as 2026-12-03T11:30:00Z.")) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return self._stored(moment)

    def read_text(self, text, spec):
        try:
            moment = parse_typed(text.strip(), with_time=True)
        except ValueError:
            raise Invalid(gettext("Enter a date and time as 03.12.2026 14:30.")) from None
        return self._stored(to_utc(moment))

    @staticmethod
    def _stored(moment: dt.datetime) -> str:
        if not dt.datetime(1900, 1, 1) <= moment <= dt.datetime(9999, 1, 1):
            raise Invalid(gettext("Enter a date between 1900 and 9999."))
        return moment.replace(microsecond=0).isoformat() + "Z"

    @staticmethod
    def moment(stored: str) -> dt.datetime:
        return dt.datetime.fromisoformat(stored.rstrip("Z"))

    def text(self, stored, spec):
        return format_local(self.moment(stored)) if stored else ""

    def typed(self, stored, spec):
        return format_typed(to_local(self.moment(stored))) if stored else ""

    def schema(self, spec):
        return {"type": "string", "format": "date-time"}


class UrlType(FieldType):
    code = "url"
    label = _l("Link (URL)")
    widget = "url"
    operators = ("ct", "eq", "empty")
    max_length = 500

    def read_text(self, text, spec):
        text = super().read_text(text, spec)
        if not text:
            return text
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text:
            raise Invalid(gettext("Enter an address that starts with http:// or https://."))
        return text

    def href(self, stored, spec, record=None):
        return stored or None

    def schema(self, spec):
        return {"type": "string", "format": "uri", "maxLength": self.max_length}


class EmailType(FieldType):
    code = "email"
    label = _l("E-mail")
    widget = "email"
    operators = ("eq", "ct", "empty")

    def read_text(self, text, spec):
        text = super().read_text(text, spec)
        try:
            validate_email(text)
        except ValidationError as error:
            raise Invalid(gettext(error.message)) from None
        return text

    def href(self, stored, spec, record=None):
        return f"mailto:{stored}" if stored else None

    def schema(self, spec):
        return {"type": "string", "format": "email", "maxLength": self.max_length}


class PhoneType(FieldType):
    """Kept in E.164 (+74956601812), as the built-in phones' normalised copy."""

    code = "phone"
    label = _l("Phone")
    widget = "tel"
    operators = ("eq", "empty")
    max_length = 40

    def read_text(self, text, spec):
        text = super().read_text(text, spec)
        try:
            validate_phone(text)
        except ValidationError as error:
            raise Invalid(gettext(error.message)) from None
        return normalize_phone(text)

    def text(self, stored, spec):
        if not stored:
            return ""
        try:
            number = phonenumbers.parse(stored, "RU")
        except phonenumbers.NumberParseException:
            return stored
        return phonenumbers.format_number(number,
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def href(self, stored, spec, record=None):
        return f"tel:{stored}" if stored else None


class ListType(FieldType):
    """A choice among the field's options (several when the field is multiple)."""

    code = "list"
    label = _l("List")
    widget = "select"
    chooses = True
    operators = ("eq", "ne", "empty")

    def read(self, value, spec):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        return super().read(value, spec)

    def read_text(self, text, spec):
        text = text.strip()
        if spec.option(text) is None:
            by_label = [o for o in spec.options if o.label.strip().lower() == text.lower()]
            if len(by_label) != 1:
                raise Invalid(gettext("Unknown option \u201c%(value)s\u201d; choose one of: "
                                      "%(options)s.", value=text[:100],
                                      options=", ".join(o.value for o in spec.options)))
            return by_label[0].value
        return text

    def text(self, stored, spec):
        option = spec.option(stored)
        return option.label if option is not None else ("" if stored is None else str(stored))

    def typed(self, stored, spec):
        return "" if stored is None else str(stored)

    def color(self, stored, spec):
        option = spec.option(stored)
        return option.color if option is not None else None

    def schema(self, spec):
        return {"type": "string", "enum": [o.value for o in spec.options]}


class _LinkType(FieldType):
    """A link to another record, kept as its id: only what the user may see can be chosen,
    and a page names only what the user may see (others keep their number)."""

    compared_as = "number"
    sortable = False
    operators = ("eq", "ne", "empty")
    message = _l("The chosen record does not exist.")

    def model(self, spec: FieldSpec):
        raise NotImplementedError

    def _query_visible(self, model, ids: set[int]) -> dict[int, Any]:
        raise NotImplementedError

    def visible(self, spec: FieldSpec, ids) -> dict[int, Any]:
        """{id: record} of `ids` the user may see, kept for the rest of the request."""
        model = self.model(spec)
        store = request_scope.request_store()
        cache = store.setdefault(("custom_links", model), {}) if store is not None else {}
        wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)
                  and 0 < i < 2**31 and i not in cache}
        if wanted:
            found = self._query_visible(model, wanted)
            cache.update({i: found.get(i) for i in wanted})
        return {i: cache[i] for i in ids if cache.get(i) is not None}

    def read(self, value, spec):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(gettext("Send the id of a record."))
        if value not in self.visible(spec, [value]):
            raise Invalid(str(self.message))
        return value

    def read_text(self, text, spec):
        return self.read(text.strip(), spec)

    def text(self, stored, spec):
        record = self.visible(spec, [stored]).get(stored)
        return str(record) if record is not None else ("" if stored is None else f"#{stored}")

    def typed(self, stored, spec):
        return "" if stored is None else str(stored)

    def schema(self, spec):
        return {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class UserType(_LinkType):
    code = "user"
    label = _l("Employee")
    widget = "user"
    chooses = True
    message = _l("There is no such employee.")

    def model(self, spec):
        return CrmUser

    def _query_visible(self, model, ids):
        # Every employee sees the others' names (app.services.principals.EMPLOYEE_LISTS).
        return {user.id: user for user in db.session.execute(
            select(CrmUser).where(CrmUser.id.in_(ids))).scalars()}

    def read_text(self, text, spec):
        text = text.strip()
        if text and not text.isdigit():
            user = db.session.execute(select(CrmUser).where(
                CrmUser.username == text)).scalar()
            if user is None:
                raise Invalid(str(self.message))
            text = str(user.id)
        return super().read_text(text, spec)


# The records a link field may point to.
LINK_TARGETS = {"client": Client, "contact": Contact, "interest": Interest}


class RecordType(_LinkType):
    code = "record"
    takes_default = False
    label = _l("Link to a record")
    widget = "record"
    can_be_multiple = False

    def model(self, spec):
        return LINK_TARGETS[spec.settings.get("target", "client")]

    def _query_visible(self, model, ids):
        return {record.id: record for record in db.session.execute(
            access.readable(model).where(model.id.in_(ids))).scalars()}

    def href(self, stored, spec, record=None):
        if stored not in self.visible(spec, [stored]):
            return None
        try:
            return url_for(f"{self.model(spec).__name__}View.show", pk=stored)
        except (BuildError, RuntimeError):
            return None


class FileType(FieldType):
    """A file, kept under the instance's directory (CRM_CUSTOM_FILES_DIR) and given only to
    users who may read its record (app.screens.custom_files). Sent as JSON as
    {"name": "contract.pdf", "content": "<base64>"}; its value is {"id", "name", "size",
    "type"}, and sending that back keeps the file."""

    code = "file"
    takes_default = False
    label = _l("File")
    widget = "file"
    can_be_multiple = False
    sortable = False
    operators = ("empty",)

    def read(self, value, spec):
        if not isinstance(value, dict) or "content" not in value \
                or set(value) - {"name", "content", "id", "size", "type"}:
            raise Invalid(gettext('Send a file as {"name": "contract.pdf", '
                                  '"content": "<base64>"}.'))
        if not isinstance(value["content"], str):
            raise Invalid(gettext("The file's content is not base64."))
        try:
            data = base64.b64decode(value["content"], validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(gettext("The file's content is not base64.")) from None
        return self.store(str(value.get("name") or ""), data)

    def read_text(self, text, spec):
        raise Invalid(gettext("Upload a file."))

    @staticmethod
    def store(name: str, data: bytes) -> dict:
        """Keep an uploaded file; its value. Refuses a type or a size the settings do not
        allow."""
        name = os.path.basename(name.replace("\\", "/")).strip()[:200]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        allowed = current_app.config["CRM_CUSTOM_FILE_TYPES"]
        if not name or extension not in allowed:
            raise Invalid(gettext("Files of this type are not accepted; send one of: "
                                  "%(types)s.", types=", ".join(allowed)))
        limit = int(current_app.config["CRM_CUSTOM_FILE_MAX_MB"] * 2**20)
        if len(data) > limit:
            raise Invalid(gettext("The file is larger than %(size)s MB.",
                                  size=format_decimal(limit / 2**20, format="#,##0.#")))
        key = uuid.uuid4().hex
        path = file_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # Removed again if the record is not saved (app.services.custom_fields).
        db.session.info.setdefault(FILES_NEW, set()).add(key)
        return {"id": key, "name": name, "size": len(data),
                "type": mimetypes.guess_type(name)[0] or "application/octet-stream"}

    def keeps(self, current, value):
        return isinstance(value, dict) and isinstance(current, dict) and \
            "content" not in value and value.get("id") == current.get("id")

    def text(self, stored, spec):
        if not isinstance(stored, dict):
            return ""
        size = stored.get("size") or 0
        shown = f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size // 1024, 1)} KB"
        return f"{stored.get('name', '')} ({shown})"

    def href(self, stored, spec, record=None):
        if not isinstance(stored, dict) or record is None or getattr(record, "id", None) is None:
            return None
        return url_for("CustomFileView.download", entity=spec.entity, pk=record.id,
                       code=spec.code)

    def schema(self, spec):
        return {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
            "type": {"type": "string"},
            "content": {"type": "string", "description": "base64, when sending a file"}}}


def _moment(value: Any) -> dt.datetime:
    """A time sent as ISO 8601 (UTC unless it says otherwise) or typed in the company's
    time zone as 03.12.2026 14:30; naive UTC."""
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return to_utc(parse_typed(text, with_time=True))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


class BookingType(FieldType):
    """A resource of the "Resources" directory (a meeting room, a car) for a time: stored as
    {"resource": <id>, "start": "…Z", "end": "…Z"}. Another record's booking of the same
    resource that overlaps it is refused, naming that record."""

    code = "booking"
    takes_default = False
    label = _l("Resource booking")
    widget = "booking"
    can_be_multiple = False
    sortable = False
    compared_as = "number"
    path = ("resource",)
    operators = ("eq", "empty")
    message = _l('Send a booking as {"resource": 3, "start": "2026-12-03T10:00:00Z", '
                 '"end": "2026-12-03T12:00:00Z"}.')

    def read(self, value, spec):
        if not isinstance(value, dict) or set(value) - {"resource", "start", "end"} \
                or not {"resource", "start", "end"} <= set(value):
            raise Invalid(str(self.message))
        resource = value["resource"]
        if isinstance(resource, str) and resource.strip().isdigit():
            resource = int(resource)
        if isinstance(resource, bool) or not isinstance(resource, int) \
                or not 0 < resource < 2**31 or self.resource(resource) is None:
            raise Invalid(gettext("There is no such resource."))
        try:
            start, end = _moment(value["start"]), _moment(value["end"])
        except (ValueError, TypeError, OverflowError):
            raise Invalid(gettext("Enter the times as 03.12.2026 14:30.")) from None
        if end <= start:
            raise Invalid(gettext("The booking must end after it starts."))
        return {"resource": resource, "start": DateTimeType._stored(start),
                "end": DateTimeType._stored(end)}

    def read_text(self, text, spec):
        """A booking as a page shows it (an import's cell): "Переговорная: 03.12.2026
        10:00 – 03.12.2026 12:00", the resource by its name."""
        match = re.fullmatch(r"\s*(.+?)\s*:\s*(\d.+?)\s+[–—-]\s+(\d.+?)\s*", text)
        if match is None:
            raise Invalid(gettext("Write a booking as \u201cMeeting room: 03.12.2026 10:00 "
                                  "\u2013 03.12.2026 12:00\u201d."))
        name, start, end = match.groups()
        found = [item.id for item in db.session.execute(select(DictionaryItem).where(
            DictionaryItem.kind == "resource")).scalars()
            if item.name.casefold() == name.casefold()]
        if len(found) != 1:
            raise Invalid(gettext("There is no such resource."))
        return self.read({"resource": found[0], "start": start, "end": end}, spec)

    def filter_value(self, raw, spec):
        """A filter names the resource."""
        text = str(raw).strip()
        if not text.isdigit() or self.resource(int(text)) is None:
            raise Invalid(gettext("There is no such resource."))
        return {"resource": int(text)}

    def compared(self, stored):
        return stored.get("resource") if isinstance(stored, dict) else stored

    @staticmethod
    def resource(pk: int):
        item = db.session.get(DictionaryItem, pk)
        return item if item is not None and item.kind == "resource" else None

    @staticmethod
    def span(stored: dict) -> tuple[dt.datetime, dt.datetime]:
        return DateTimeType.moment(stored["start"]), DateTimeType.moment(stored["end"])

    def conflict(self, spec, stored, record):
        start, end = self.span(stored)
        query = select(CustomBooking).where(
            CustomBooking.resource_id == stored["resource"], CustomBooking.starts_at < end,
            CustomBooking.ends_at > start)
        if getattr(record, "id", None) is not None:
            query = query.where(~((CustomBooking.entity == spec.entity)
                                  & (CustomBooking.record_id == record.id)
                                  & (CustomBooking.code == spec.code)))
        if db.session.get_bind().dialect.name == "postgresql":
            # Bookings of one resource are checked one at a time: the resource's row lock.
            db.session.execute(select(DictionaryItem.id).where(
                DictionaryItem.id == stored["resource"]).with_for_update())
        taken = db.session.execute(query.limit(1)).scalar()
        if taken is None:
            return None
        holder = _holder_name(taken)
        return gettext("%(resource)s is booked from %(start)s to %(end)s by %(holder)s.",
                       resource=self.resource(taken.resource_id),
                       start=format_local(taken.starts_at), end=format_local(taken.ends_at),
                       holder=holder)

    def text(self, stored, spec):
        if not isinstance(stored, dict):
            return ""
        resource = self.resource(stored.get("resource") or 0)
        start, end = self.span(stored)
        return f"{resource or '#' + str(stored.get('resource'))}: " \
               f"{format_local(start)} – {format_local(end)}"

    def schema(self, spec):
        return {"type": "object", "required": ["resource", "start", "end"], "properties": {
            "resource": {"type": "integer", "description": "A \"Resources\" directory item"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"}}}


def _holder_name(booking) -> str:
    """The record holding a booking, by name when the user may read it."""
    model = LINK_TARGETS.get(booking.entity) or {
        "inquiry": Inquiry, "interaction": Interaction, "product": Product}.get(booking.entity)
    record = None if model is None else db.session.execute(
        access.readable(model).where(model.id == booking.record_id)).scalar()
    return f"\u201c{record}\u201d" if record is not None else gettext("another record")


# session.info's key of the files the transaction stored.
FILES_NEW = "crm_custom_files_new"


def file_path(key: str) -> Path:
    """Where a custom field's file is kept."""
    if not re.fullmatch(r"[0-9a-f]{32}", key or ""):
        raise ValueError("not a file key")
    return Path(current_app.config["CRM_CUSTOM_FILES_DIR"]) / key[:2] / key


TYPES: dict[str, FieldType] = {kind.code: kind for kind in (
    StringType(), TextType(), IntegerType(), DecimalType(), BooleanType(), DateType(),
    DateTimeType(), MoneyType(), UrlType(), EmailType(), PhoneType(), AddressType(),
    ListType(), UserType(), RecordType(), FileType(), BookingType(),
)}


# --- a field's whole value (one or several) -----------------------------------------------


def read_value(spec: FieldSpec, value: Any, *, typed: bool = False) -> Any:
    """The stored value of `spec` for what was sent (JSON) or `typed` (a form's text; for a
    field of several values, a list of texts or one text with a value per line). None for
    no value. Raises Invalid."""
    kind = spec.kind
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # an empty input, an empty text: no value
    if spec.multiple:
        if typed and isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list):
            raise Invalid(gettext("Send a list of values."))
        stored = []
        for item in value:
            if item is None or (isinstance(item, str) and not item.strip()):
                continue
            one = kind.read_text(item, spec) if typed and isinstance(item, str) \
                else kind.read(item, spec)
            if not kind.is_empty(one) and one not in stored:
                stored.append(one)
        return stored or None
    if isinstance(value, list):
        raise Invalid(gettext("This field takes one value."))
    one = kind.read_text(value, spec) if typed and isinstance(value, str) \
        else kind.read(value, spec)
    return None if kind.is_empty(one) else one


def is_empty(spec: FieldSpec, stored: Any) -> bool:
    if spec.multiple:
        return not stored
    return spec.kind.is_empty(stored)


def text_of(spec: FieldSpec, stored: Any) -> str:
    """The whole value as a page reads it."""
    if stored is None:
        return ""
    if spec.multiple and isinstance(stored, list):
        return ", ".join(spec.kind.text(item, spec) for item in stored)
    try:
        return spec.kind.text(stored, spec)
    except (TypeError, ValueError, InvalidOperation):
        return str(stored)


def typed_of(spec: FieldSpec, stored: Any) -> Any:
    """The whole value as a form's input holds it (a list for a multiple choice)."""
    choosing = spec.kind.chooses
    if stored is None:
        return [] if spec.multiple and choosing else ""
    if spec.multiple:
        items = [spec.kind.typed(item, spec) for item in stored]
        return items if choosing else "\n".join(items)
    return spec.kind.typed(stored, spec)


def schema_of(spec: FieldSpec) -> dict:
    one = spec.kind.schema(spec)
    schema = {"type": "array", "items": one} if spec.multiple else dict(one)
    schema["nullable"] = True
    schema["description"] = spec.label_ru + (f" / {spec.label_en}" if spec.label_en else "")
    return schema
