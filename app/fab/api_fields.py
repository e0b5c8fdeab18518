"""The REST API's fields as the columns behind them really are.

Flask-AppBuilder turns each column into a marshmallow field; FittedSchemaConverter adjusts
what it makes, for every API (the security API included: `install` makes it the default
converter), so that a request is checked the way the database will check it and the
OpenAPI spec says what the API answers:

- a time is answered in UTC with its offset ("2026-03-01T09:30:00+00:00"); a time sent
  with an offset is stored as the naive UTC time the database keeps, and one sent without
  is taken as UTC, as it always was (`install` makes it marshmallow's field for `datetime`);
- an integer must fit its column (app.services.bounds): 32 bits for Integer columns on
  every database, 64 for BigInteger; the spec states the range;
- a money amount (Numeric) is answered as a decimal string, as Flask writes a Decimal;
  the spec says so, and a number or a numeric string is accepted;
- a to-one relation that may be empty is described as "an object or null", a to-many one
  as a list of records.
"""

from __future__ import annotations

import datetime as dt

import marshmallow
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_babel import gettext
from marshmallow import ValidationError, fields, validate
from sqlalchemy import Numeric
from sqlalchemy.orm import RelationshipProperty

from app.services import bounds

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def utc_iso(moment) -> "str | None":
    """A naive UTC time from the database as the API answers times: ISO 8601 with its
    offset (2026-03-01T09:30:00+00:00)."""
    return None if moment is None else moment.replace(tzinfo=dt.timezone.utc).isoformat()


class UtcDateTime(fields.DateTime):
    """A naive UTC time from the database, answered with its offset; on input, a time with
    an offset is converted to naive UTC and a naive time is taken as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise ValidationError(gettext("The time is out of range.")) from None


class ColumnRange(validate.Range):
    """The range of an integer column, with a message in the user's language."""

    def __call__(self, value):
        if isinstance(value, int) and not isinstance(value, bool) \
                and not self.min <= value <= self.max:
            raise ValidationError(gettext(
                "The number must be from %(min)d to %(max)d.", min=self.min, max=self.max))
        return value


def fit_to_column(field: fields.Field, datamodel, column_name: str) -> fields.Field:
    """`field`, as FAB made it for `column_name`, adjusted to what the column holds."""
    prop = datamodel.list_properties.get(column_name)
    if isinstance(prop, RelationshipProperty):
        if isinstance(field, fields.Nested):
            if field.many and isinstance(field.nested, marshmallow.Schema):
                # Described as a list of records (FAB's spec said one record).
                field.nested.many = True
            if prop.direction.name == "MANYTOONE":
                field.allow_none = all(column.nullable for column in prop.local_columns)
        return field
    column = datamodel.list_columns.get(column_name)
    if column is None or not hasattr(column, "type"):
        return field
    integer_range = bounds.integer_range(column)
    if integer_range is not None and isinstance(field, fields.Integer):
        field.validators.append(ColumnRange(*integer_range))
    elif isinstance(column.type, Numeric) and isinstance(field, fields.Decimal):
        field.as_string = True
        field.metadata.update(type="string", format="decimal", pattern=DECIMAL_PATTERN,
                              description="A decimal number, e.g. \"1250.50\"; a JSON "
                                          "number is accepted too.")
    return field


class FittedSchemaConverter(Model2SchemaConverter):
    """FAB's converter, with every field fitted to its column (fit_to_column)."""

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested,
                                      parent_schema_name=parent_schema_name)
        return fit_to_column(field, datamodel, column.name)


def install() -> None:
    """For every API, FAB's security API included: times in UTC with their offset
    (marshmallow's field for `datetime`, which FAB's schemas get for every DateTime
    column, becomes UtcDateTime), and fields fitted to their columns (the converter every
    ModelRestApi uses unless it names its own)."""
    marshmallow.Schema.TYPE_MAPPING[dt.datetime] = UtcDateTime
    ModelRestApi.model2schemaconverter = FittedSchemaConverter
