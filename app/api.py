"""REST resources under /api/v1/<name>/, with FAB's conventions and OpenAPI spec.

Writes go through app.services.records like the forms do: the same validation, one commit,
409 on a stale version (sent as `If-Match: <version>` or a `version` field), 422 on invalid
input, and never a raw database error. Owner and audit columns are not writable: a request
that names them is refused with 422. A request loads with schema objects of its own.

A user nested in an answer is id, name, position, e-mail and phone (EmployeeSchema), never
the columns of the account. Fields are labelled and resources titled as on the screens.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import prison
from flask import jsonify, request
from flask_appbuilder import api as fab_api
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.const import API_URI_RIS_KEY
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields
from marshmallow_sqlalchemy import field_for
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy.exc import NoResultFound

from app.fab.api_fields import FittedSchemaConverter
from app.fab.datamodel import CrmInterface
from app.fab.filters import add_api_filters, empty_filters, joined_filters
from app.models import (
    AUDIT_STAMPS,
    ChangeLog,
    Client,
    CompanyRequisites,
    Contact,
    Department,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    Pipeline,
    Product,
    ProductGroup,
    Stage,
)
from app.services import bounds, commands, records
from app.views import CRUD_SCREENS, LABELS

AUDIT_READ = list(AUDIT_STAMPS)

# The labels of columns only the API shows; every other column is labelled as on the screens.
API_LABELS = {
    "version": _l("Version"),
    "created_by_fk": LABELS["created_by"],
    "changed_by_fk": LABELS["changed_by"],
    "user_id": LABELS["user"],
}


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


class CrmSchemaConverter(FittedSchemaConverter):
    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        if nested and issubclass(datamodel.get_related_model(column.name), User):
            many = not (datamodel.is_relation_many_to_one(column.name)
                        or datamodel.is_relation_one_to_one(column.name))
            return fields.Nested(EmployeeSchema, many=many, dump_only=True)
        field = super()._column2relation(datamodel, column, nested=nested,
                                         parent_schema_name=parent_schema_name)
        if nested:
            return field
        existing = field_for(datamodel.obj, column.name, field_class=ExistingRelated)
        existing.required = field.required
        existing.unique = field.unique
        return existing


def _refuse_malformed_rison():
    """FAB answers 500 when its rison parser fails other than with a ParserException:
    RecursionError on "(((", ValueError on "1e+5". On a ParserException FAB tries `q` as
    JSON (the spec describes it as JSON) and answers a 400 itself if that fails too."""
    value = request.args.get(API_URI_RIS_KEY)
    if not value:
        return None
    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return None
    except Exception:
        return jsonify(message=gettext("The request is malformed.")), 400
    return None


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
        blueprint.before_request(_refuse_malformed_rison)
        return blueprint

    # --- reading ------------------------------------------------------------------------

    def _handle_filters_args(self, rison_args: dict[str, Any]):
        """FAB keeps one filter object per resource; each request gets its own copy here."""
        filters = empty_filters(self._filters)
        add_api_filters(filters, rison_args.get("filters", []))
        return joined_filters(filters, self._base_filters)

    # --- writing ------------------------------------------------------------------------

    def _error(self, error: records.DomainError):
        self.datamodel.session.rollback()  # nothing of a refused change stays in the session
        body: dict[str, Any] = {"message": error.message}
        if error.errors:
            body["message"] = error.errors
        return self.response(error.status, **body)

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
        try:
            item = self._load(self.add_model_schema, data)
        except ValidationError as err:
            return self.response_422(message=err.messages)
        try:
            commands.create(item, self.pre_add)
        except records.DomainError as error:
            return self._error(error)
        self.post_add(item)
        return self.response(201, result=self.add_model_schema.dump(item, many=False),
                             id=self.datamodel.get_pk_value(item),
                             version=getattr(item, "version", None))

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters, action="edit")
        if not item:
            return self.response_404()
        data = self._json_body()
        if data is None:
            return self.response_400(message=gettext("The request body must be a JSON object."))
        data = dict(data)
        seen_version = data.pop("version", None) if hasattr(item, "version") else None
        if_match = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/")
        seen_version = if_match.strip('"') or seen_version

        def change(item):
            # One flush at the end: loading a collection must not write half the change.
            with self.datamodel.session.no_autoflush:
                merged = self._merge_update_item(item, data)
                self._load(self.edit_model_schema, merged, instance=item)
            self.pre_update(item)

        try:
            commands.update(item, change, seen_version=seen_version)
        except ValidationError as err:
            return self.response_422(message=err.messages)
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


def _api(model, name: str, columns: list[str], *, read: list[str] | None = None,
         search: list[str] | None = None, order: list[str] | None = None,
         base_order: tuple[str, str] | None = None, read_only: bool = False) -> type:
    """A resource for `model`: `columns` are writable, `read` are shown besides them."""
    shown = ["id", *columns, *(read or [])]
    if hasattr(model, "version"):
        shown.append("version")
    shown += AUDIT_READ if hasattr(model, "created_on") else []
    search = search or [c for c in columns if c in model.__table__.columns][:6]
    datamodel = CrmInterface(model)
    labels = {**LABELS, **API_LABELS}
    # Every column as the screens call it: one shown, written or searched without a label
    # fails here, at start-up. (A read-only resource's _info lists every column as FAB's.)
    label_columns = {c: labels[c] for c in datamodel.get_columns_list() if c in labels}
    label_columns.update({c: labels[c] for c in {*shown, *columns, *search}})
    attributes = {
        "resource_name": name,
        "datamodel": datamodel,
        "label_columns": label_columns,
        "list_columns": shown,
        "show_columns": shown,
        "add_columns": [] if read_only else columns,
        "edit_columns": [] if read_only else columns,
        "search_columns": search,
        "order_columns": order or ["id"],
        # As on the screen: a name search is then one index range, read in order.
        "base_order": base_order,
    }
    attributes.update(_titles(model))
    if read_only:
        attributes["base_permissions"] = ["can_get", "can_info"]
        attributes["include_route_methods"] = {"get", "get_list", "info"}
    return type(f"{model.__name__}Api", (CrmApi,), attributes)


def _titles(model) -> dict:
    """The list, show, add and edit titles of the model's screen (FAB's are English); a
    read-only screen's record title stands for its add and edit titles."""
    for view in CRUD_SCREENS:
        if view.datamodel.obj is model:
            return {kind: getattr(view, kind) or view.show_title
                    for kind in ("list_title", "show_title", "add_title", "edit_title")}
    return {}


RESOURCES = [
    _api(Client, "client",
         ["kind", "name", "inn", "kpp", "ogrn", "phone", "email", "site", "address",
          "industry", "size", "contact_type", "source", "responsible", "tags", "comment"],
         read=["abc_class", "xyz_class"],
         search=["name", "inn", "phone", "email", "responsible", "kind"],
         order=["id", "name", "inn", "created_on"], base_order=("name", "asc")),
    _api(Contact, "contact",
         ["client", "name", "position", "phone", "email", "birthday", "is_key", "responsible"],
         search=["name", "client", "phone", "email"], order=["id", "name"],
         base_order=("name", "asc")),
    _api(Inquiry, "inquiry",
         ["channel", "inquiry_type", "text", "sender_name", "sender_company", "sender_phone",
          "sender_email", "received_at", "manager", "status", "client", "interest"],
         search=["status", "channel", "sender_name", "sender_company", "manager"],
         order=["id", "received_at", "status"]),
    _api(Interest, "interest",
         ["title", "description", "client", "potential_name", "potential_company",
          "potential_email", "potential_phone", "pipeline", "stage", "service_type",
          "deal_type", "source", "amount", "currency", "responsible", "tags", "flagged"],
         read=["closed_at", "closed_by", "lost_reason"],
         search=["title", "client", "pipeline", "stage", "responsible", "flagged"],
         order=["id", "title", "amount", "created_on"]),
    _api(Interaction, "interaction",
         ["type", "subject", "client", "contact", "interest", "responsible", "planned_at",
          "status", "done_at", "result"],
         search=["subject", "status", "client", "interest", "responsible", "planned_at"],
         order=["id", "planned_at", "status"]),
    _api(Pipeline, "pipeline", ["name", "sort", "is_default"], order=["id", "sort", "name"]),
    _api(Stage, "stage", ["pipeline", "name", "color", "sort", "kind", "requires_client"],
         read=["is_system"], search=["pipeline", "name", "kind"], order=["id", "sort", "name"]),
    _api(Product, "product",
         ["group", "name", "sku", "unit", "price", "currency", "is_active", "description"],
         search=["name", "sku", "group", "is_active"], order=["id", "name", "price"]),
    _api(ProductGroup, "product_group", ["name", "parent", "sort"], order=["id", "name", "sort"]),
    _api(Department, "department", ["name", "parent", "head", "activity_norm"],
         order=["id", "name"]),
    _api(DictionaryItem, "dictionary", ["kind", "code", "name", "sort", "color", "points"],
         read=["is_system"], search=["kind", "code", "name"], order=["id", "kind", "sort", "name"]),
    _api(CompanyRequisites, "requisites",
         ["template", "full_name", "short_name", "inn", "kpp", "ogrn", "address", "bank_name",
          "bik", "account", "corr_account", "director", "is_default"],
         order=["id", "short_name"]),
    _api(ChangeLog, "changelog", [], read=["entity", "record_id", "action", "changes",
                                          "changed_at", "user_id"],
         search=["entity", "record_id", "action", "user_id"],
         order=["id", "changed_at"], read_only=True),
]


class _PreparedSchemas:
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


def register(appbuilder) -> None:
    if not isinstance(fab_api.jsonschema, _PreparedSchemas):
        fab_api.jsonschema = _PreparedSchemas()
    for resource in RESOURCES:
        appbuilder.add_api(resource)
