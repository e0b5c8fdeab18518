"""The base of every REST resource: a Flask-AppBuilder ModelRestApi whose writes go through
the commands (app.services.commands) like the forms do: the same validation, one commit,
409 on a stale version (sent as `If-Match: <version>` or a `version` field), 422 on invalid
input, and never a raw database error. A request loads with schema objects of its own.

A user nested in an answer is id, name, position, e-mail and phone (EmployeeSchema), never
the columns of the account. The resources themselves are app/api.py's.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import jsonschema
import prison
from flask import g, jsonify, make_response, request
from flask_appbuilder import api as fab_api
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.const import API_URI_RIS_KEY
from flask_appbuilder.exceptions import FABException
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields
from marshmallow_sqlalchemy import field_for
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoResultFound

from app.fab import custom_form
from app.fab.api_fields import FittedSchemaConverter
from app.fab.downloads import send_export
from app.fab.filters import add_api_filters, joined_filters
from app.models import ChangeLog
from app.services import bounds, commands, custom_fields, list_exports, records
from app.services.errors import RuleBroken


class ExistingRelated(Related):
    """A related record given by its id. It must exist: marshmallow-sqlalchemy's `Related`
    makes a new related object of an unknown id (and so tries to insert it)."""

    def _deserialize(self, value, *args, **kwargs):
        if not isinstance(value, dict) and len(self.related_keys) == 1:
            value = {self.related_keys[0].key: value}
        if not isinstance(value, dict):
            raise ValidationError(gettext("Not a valid integer value."))
        lookup = {}
        for prop in self.related_keys:
            raw = value.get(prop.key)
            if isinstance(raw, bool) or not isinstance(raw, (int, str)):
                raise ValidationError(gettext("Not a valid integer value."))
            try:
                lookup[prop.key] = prop.columns[0].type.python_type(raw)
            except (TypeError, ValueError, NotImplementedError):
                raise ValidationError(gettext("Not a valid integer value.")) from None
            if bounds.as_key(prop.columns[0], lookup[prop.key]) is None:
                # Beyond what the key column holds: no such record, and the database
                # would refuse to look for it.
                raise ValidationError(gettext("The chosen record does not exist."))
        try:
            return self._get_existing_instance(self.related_model, lookup)
        except NoResultFound:
            raise ValidationError(gettext("The chosen record does not exist.")) from None


class EmployeeSchema(Schema):
    """A user wherever an answer nests one (a responsible, a head, who closed an interest):
    who they are and how a colleague reaches them. FAB would show every column of the user
    table: the password hash, login counters, the session epoch."""

    id = fields.Integer(dump_only=True)
    name = fields.Function(lambda user: str(user), dump_only=True,
                           metadata={"type": "string"})
    position = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    phone = fields.String(dump_only=True)


class CustomValues(fields.Field):
    """A record's `custom` object: the values of the custom fields the user may read
    (app.services.custom_fields), answered per request; written apart from the schema."""

    def __init__(self, **kwargs):
        super().__init__(dump_only=True, metadata={
            "type": "object", "description": "The custom fields' values, by code"}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return custom_fields.dump(obj)


class CrmSchemaConverter(FittedSchemaConverter):
    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        if column.name == "custom" and custom_fields.entity_of(datamodel.obj):
            return CustomValues()
        if column.name == "changes" and datamodel.obj is ChangeLog:
            # Without the custom fields the reader may not see.
            return fields.Function(
                lambda row: custom_fields.visible_changes(row.entity, row.changes),
                dump_only=True, metadata={"type": "object"})
        return super()._column2field(datamodel, column, nested=nested,
                                     parent_schema_name=parent_schema_name)

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        if nested and issubclass(datamodel.get_related_model(column.name), User):
            many = not (datamodel.is_relation_many_to_one(column.name)
                        or datamodel.is_relation_one_to_one(column.name))
            return fields.Nested(EmployeeSchema, many=many, dump_only=True)
        related = datamodel.get_related_model(column.name)
        if nested and not column.children and custom_fields.entity_of(related):
            # A nested record (an interest's client) without its custom fields: who may
            # read which of them is the record's own resource's business.
            shown = [c.key for c in sa_inspect(related).column_attrs if c.key != "custom"]
            schema = self.convert(shown, related, nested=False,
                                  parent_schema_name=parent_schema_name)
            many = not (datamodel.is_relation_many_to_one(column.name)
                        or datamodel.is_relation_one_to_one(column.name))
            return fields.Nested(schema, many=many, dump_only=True)
        field = super()._column2relation(datamodel, column, nested=nested,
                                         parent_schema_name=parent_schema_name)
        if nested:
            return field
        existing = field_for(datamodel.obj, column.name, field_class=ExistingRelated)
        existing.required = field.required
        existing.unique = field.unique
        return existing


# Endpoints whose `q` is plain text, not FAB's rison (GET /api/v1/client/search?q=…).
PLAIN_Q_ENDPOINTS = {"search"}


def refuse_malformed_rison():
    """FAB answers 500 when its rison parser fails other than with a ParserException:
    RecursionError on "(((", ValueError on "1e+5". On a ParserException FAB tries `q` as
    JSON (the spec describes it as JSON) and answers a 400 itself if that fails too."""
    value = request.args.get(API_URI_RIS_KEY)
    if not value or (request.endpoint or "").rsplit(".", 1)[-1] in PLAIN_Q_ENDPOINTS:
        return None
    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return None
    except Exception:
        return jsonify(message=gettext("The request is malformed.")), 400
    return None


def nest_custom_errors(errors: dict) -> dict:
    """A custom field's errors ("custom.contract_no") under `custom`, as the body names it:
    {"custom": {"contract_no": ["…"]}}."""
    nested: dict[str, Any] = {}
    for name, messages in (errors or {}).items():
        if name.startswith("custom."):
            nested.setdefault("custom", {})[name.removeprefix("custom.")] = messages
        elif name == "custom" and isinstance(nested.get("custom"), dict):
            nested["custom"]["_schema"] = messages
        else:
            nested[name] = messages
    return nested


def answer(status: int, body: dict):
    """A JSON answer, as FAB's `response` makes it, whose body may have a `code`."""
    response = make_response(jsonify(body), status)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def invalid(messages) -> Any:
    """422 for a body that does not read: what is wrong with which field."""
    return answer(422, {"message": messages, "code": "invalid"})


class CrmApi(ModelRestApi):
    """A ModelRestApi whose writes obey the CRM's rules."""

    allow_browser_login = True
    page_size = 25
    model2schemaconverter = CrmSchemaConverter

    def __init__(self):
        super().__init__()
        self.datamodel.eager_columns = [c for c in self.list_columns if "." not in c]

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(refuse_malformed_rison)
        return blueprint

    # --- reading ------------------------------------------------------------------------

    def _handle_filters_args(self, rison_args: dict[str, Any]):
        """FAB keeps one filter object per resource; each request gets its own copy here,
        with the custom fields the user may read and filter by (`custom.<code>`)."""
        filters = custom_form.request_filters(self._filters, self.datamodel)
        add_api_filters(filters, rison_args.get("filters", []))
        return joined_filters(filters, self._base_filters)

    def _handle_order_args(self, rison_args: dict[str, Any]):
        """A custom field the user may read and that holds one value sorts too
        (`order_column: custom.<code>`)."""
        column = rison_args.get("order_column", "")
        if column.startswith("custom.") and column in {
                spec.key for spec in custom_form.readable_specs(self.datamodel.obj)
                if spec.kind.sortable and not spec.multiple}:
            return column, rison_args.get("order_direction", "") or "asc"
        return super()._handle_order_args(rison_args)


    # --- export (app.services.list_exports) ---------------------------------------------

    def get_list_headless(self, **kwargs: Any):
        """`?format=csv|xlsx`: every record of the list, with its filters and order, as a
        file; one too large to wait for answers 202 with the export to follow."""
        if "format" not in request.args:
            return super().get_list_headless(**kwargs)
        try:
            list_exports.refuse_without_right(self.datamodel.obj)
            export = self.export_of_list(kwargs.get("rison", {}))
            run = list_exports.start(export, request.args.get("format", ""))
        except records.DomainError as error:
            return self._error(error)
        except FABException as error:
            return self.response_400(message=str(error))
        if run.background:
            response = answer(202, {"export": list_exports.as_json(
                run, f"/api/v1/export/{run.id}/download")})
            response.headers["Location"] = f"/api/v1/export/{run.id}"
            return response
        return send_export(run)

    def export_of_list(self, rison_args: dict) -> list_exports.Export:
        order_column, order_direction = self._handle_order_args(rison_args)
        query = self.datamodel.export_query(self._handle_filters_args(rison_args),
                                            order_column, order_direction)
        return list_exports.Export(
            source=f"api:{self.resource_name}", title=str(self.list_title or
                                                        self.resource_name),
            model=self.datamodel.obj,
            fields=list_exports.fields_of(self.datamodel.obj, self.label_columns),
            query=query, arguments={k: request.args.getlist(k) for k in request.args
                                    if k != "format"})

    # --- writing ------------------------------------------------------------------------

    def _error(self, error: records.DomainError):
        """A refusal: its message, its `code` for programs; the field errors as `message`
        (or, for a rule of the process, as `errors` beside its message) and the commands
        that get the user out (`offers`)."""
        self.datamodel.session.rollback()  # nothing of a refused change stays in the session
        body: dict[str, Any] = {"message": error.message, "code": error.code}
        errors = nest_custom_errors(error.errors)
        if errors and isinstance(error, RuleBroken):
            body["errors"] = errors
        elif errors:
            body["message"] = errors
        if hasattr(error, "details"):
            body.update(error.details())
        pk = (request.view_args or {}).get("pk")
        offers = getattr(error, "offers", ())
        if offers and pk is not None:
            base = request.path.rsplit(f"/{pk}", 1)[0]
            body["offers"] = [{"command": name, "url": f"{base}/{pk}/{name}"}
                              for name in offers]
        return answer(error.status, body)

    def _refuse_commanded(self, data: dict):
        """A PUT that names a field only commands change (an interest's stage): 422 with
        the message that names them."""
        entity = getattr(self, "entity", None)
        named = [name for name in (entity.commanded if entity else ()) if name in data]
        if not named:
            return None
        message = str(entity.commanded_by)
        return answer(422, {"message": {name: [message] for name in named},
                            "code": "use_command"})

    @staticmethod
    def _load(schema, data: dict, instance=None):
        """Load `data` with a schema object of this request's own. marshmallow-sqlalchemy
        keeps the record being loaded on the schema object (`schema.instance`) until the load
        ends, and FAB keeps one schema object per resource for all requests: concurrent
        writes loaded one request's values into another request's record, or into a new
        record that was never saved."""
        return type(schema)().load(data, instance=instance)

    def _json_body(self):
        if not request.is_json:
            return None
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None

    def post_headless(self):
        data = self._json_body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        data = dict(data)
        extras = {name: data.pop(name) for name in self.command_fields if name in data}
        self._take_custom(data)
        try:
            item = self._load(self.add_model_schema, data)
            self.create_item(item, extras)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return invalid(err.messages)
        except records.DomainError as error:
            return self._error(error)
        self.post_add(item)
        return self.response(201, result=self.add_model_schema.dump(item, many=False),
                             id=self.datamodel.get_pk_value(item),
                             version=getattr(item, "version", None))

    def _take_custom(self, data: dict) -> None:
        """The body's `custom` object, written with the record (pre_add, pre_update)."""
        if "custom" in data and custom_fields.entity_of(self.datamodel.obj):
            g.crm_custom_sent = data.pop("custom")

    def _write_custom(self, item) -> None:
        if "crm_custom_sent" in g:
            custom_fields.write(item, g.pop("crm_custom_sent"))

    def pre_add(self, item) -> None:
        self._write_custom(item)

    def pre_update(self, item) -> None:
        self._write_custom(item)

    # Fields of a new record's body that are not columns, for create_item (an interest's
    # first plan).
    command_fields: tuple[str, ...] = ()
    # Fields of a PUT's body that are not columns, for change_context (a confirmation).
    update_fields: tuple[str, ...] = ()

    def create_item(self, item, extras: dict[str, Any]) -> None:
        """Save a new record loaded from a POST; `extras`: its command_fields."""
        commands.create(item, self.pre_add)

    def change_context(self, extras: dict[str, Any]):
        """What a PUT's update_fields change about how the save is judged."""
        return nullcontext()

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters, action="edit")
        if not item:
            return self.response_404()
        data = self._json_body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        data = dict(data)
        refused = self._refuse_commanded(data)
        if refused is not None:
            return refused
        extras = {name: data.pop(name) for name in self.update_fields if name in data}
        self._take_custom(data)
        seen_version = data.pop("version", None) if hasattr(item, "version") else None
        if_match = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/")
        seen_version = if_match.strip('"') or seen_version

        def change(item):
            # One flush at the end: loading a collection must not write half the change.
            with self.datamodel.session.no_autoflush:
                merged = self._merge_update_item(item, data)
                merged.pop("custom", None)  # written apart (pre_update)
                self._load(self.edit_model_schema, merged, instance=item)
            self.pre_update(item)

        try:
            with self.change_context(extras):
                commands.update(item, change, seen_version=seen_version)
        except ValidationError as err:
            return invalid(err.messages)
        except records.DomainError as error:
            return self._error(error)
        self.post_update(item)
        return self.response(200, result=self.edit_model_schema.dump(item, many=False),
                             version=getattr(item, "version", None))

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters, action="delete")
        if not item:
            return self.response_404()
        try:
            commands.delete(item, before=self.pre_delete)
        except records.DomainError as error:
            return self._error(error)
        self.post_delete(item)
        return self.response(200, message="OK")

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Change a record. Send the version you read (If-Match header or `version`).
        ---
        put:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/{{self.__class__.__name__}}.put'
          responses:
            200:
              description: Item changed
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
            409:
              description: The record was changed by someone else since it was read
            422:
              $ref: '#/components/responses/422'
        """
        return self.put_headless(pk)

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Delete a record that nothing else refers to.
        ---
        delete:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: Item deleted
            404:
              $ref: '#/components/responses/404'
            409:
              description: Other records still refer to this one
        """
        return self.delete_headless(pk)


class PreparedSchemas:
    """Stands for the jsonschema module in FAB's `rison` decorator, which validates every
    request's `q` with `jsonschema.validate`: that checks the schema itself against the
    JSON Schema metaschema each time, 40 % of an API list's time. FAB's schemas are
    constants; each gets its validator once, and requests are validated as before."""

    ValidationError = jsonschema.ValidationError

    def __init__(self):
        self._validators: dict[int, tuple[dict, Any]] = {}

    def validate(self, instance, schema) -> None:
        prepared = self._validators.get(id(schema))
        if prepared is None or prepared[0] is not schema:
            kind = jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            prepared = self._validators[id(schema)] = (schema, kind(schema))
        error = jsonschema.exceptions.best_match(prepared[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name: str):
        return getattr(jsonschema, name)




def install_prepared_schemas() -> None:
    if not isinstance(fab_api.jsonschema, PreparedSchemas):
        fab_api.jsonschema = PreparedSchemas()
