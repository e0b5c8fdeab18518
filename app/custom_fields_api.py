"""/api/v1/custom_field/: the definitions of custom fields, for integrators and for
administrators who script their settings.

    GET    /api/v1/custom_field/?entity=client   the fields (of one entity)
    GET    /api/v1/custom_field/<id>
    POST   /api/v1/custom_field/                 entity, code, label, type, required,
                                                 multiple, options, visibility, …
    PUT    /api/v1/custom_field/<id>             what may change (not entity, code, type,
                                                 multiple: 422)
    DELETE /api/v1/custom_field/<id>             the field and its values

`label` and `help` are a text (both languages) or {"ru": …, "en": …}; `visibility` is a list
of {"role": <role name>, "access": "hidden" | "read" | "edit"}, a role not named may edit;
`required_from` a list of {"pipeline": <id>, "stage": <id>}. A record's values are its
`custom` object on the entity's own resource.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import Role
from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from app.database import db
from app.fab.rest import answer, invalid
from app.models import CustomField
from app.services import custom_field_definitions as definitions
from app.services import custom_fields
from app.services.custom_types import TYPES
from app.services.errors import DomainError

# The API's names of the definition's columns, where they differ.
API_NAMES = {"field_type": "type", "label_ru": "label", "label_en": "label",
             "help_ru": "help", "help_en": "help"}


class Texts(fields.Field):
    """A text in both languages: "…" or {"ru": "…", "en": "…"}."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return {"ru": value, "en": value}
        if isinstance(value, dict) and set(value) <= {"ru", "en"} and all(
                v is None or isinstance(v, str) for v in value.values()):
            return value
        raise ValidationError(gettext('Send a text, or {"ru": "…", "en": "…"}.'))


class OptionSchema(Schema):
    value = fields.String(required=True, validate=validate.Length(min=1, max=100))
    label = fields.String(validate=validate.Length(max=150))
    color = fields.String(allow_none=True, metadata={"description": "#rrggbb"})
    order = fields.Integer(validate=validate.Range(min=-10**6, max=10**6))


class AccessSchema(Schema):
    role = fields.String(required=True, metadata={"description": "A role's name"})
    access = fields.String(required=True, validate=validate.OneOf(custom_fields.ACCESS_LEVELS))


class StageOfPipelineSchema(Schema):
    pipeline = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    stage = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


_TEXTS_SPEC = {"oneOf": [{"type": "string"},
                         {"type": "object", "properties": {"ru": {"type": "string"},
                                                           "en": {"type": "string"}}}]}


class CustomFieldChangeSchema(Schema):
    """What may change once a field exists."""

    label = Texts(metadata=_TEXTS_SPEC)
    help = Texts(allow_none=True, metadata=_TEXTS_SPEC)
    required = fields.Boolean()
    default = fields.Raw(allow_none=True, metadata={
        "description": "A value of the field's type, as its records' `custom` takes it"})
    options = fields.List(fields.Nested(OptionSchema), allow_none=True,
                          validate=validate.Length(max=definitions.MAX_OPTIONS))
    sort = fields.Integer(validate=validate.Range(min=-10**6 + 1, max=10**6 - 1))
    show_in_list = fields.Boolean()
    filterable = fields.Boolean()
    show_on_board = fields.Boolean()
    pipelines = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                            allow_none=True)
    required_from = fields.List(fields.Nested(StageOfPipelineSchema), allow_none=True)
    visibility = fields.List(fields.Nested(AccessSchema), allow_none=True)
    settings = fields.Dict(allow_none=True, metadata={
        "description": 'What the type needs besides: a link\'s {"target": "client" | '
                       '"contact" | "interest"}, set once'})
    version = fields.Integer(allow_none=True, metadata={
        "description": "The version read; or send If-Match"})


class CustomFieldPostSchema(CustomFieldChangeSchema):
    entity = fields.String(required=True, validate=validate.OneOf(list(custom_fields.MODELS)))
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    label = Texts(required=True, metadata=_TEXTS_SPEC)
    type = fields.String(required=True, validate=validate.OneOf(list(TYPES)))
    multiple = fields.Boolean()


def represent(field: CustomField) -> dict:
    names = dict(db.session.execute(select(Role.id, Role.name)).all())
    return {
        "id": field.id,
        "entity": field.entity,
        "code": field.code,
        "label": {"ru": field.label_ru, "en": field.label_en},
        "type": field.field_type,
        "required": field.required,
        "multiple": field.multiple,
        "default": field.default,
        "help": {"ru": field.help_ru, "en": field.help_en},
        "options": field.options or [],
        "sort": field.sort,
        "show_in_list": field.show_in_list,
        "filterable": field.filterable,
        "show_on_board": field.show_on_board,
        "pipelines": field.pipelines or [],
        "required_from": [{"pipeline": int(p), "stage": s}
                          for p, s in (field.required_from or {}).items()],
        "visibility": [{"role": names.get(v["role"], str(v["role"])), "access": v["access"]}
                       for v in field.visibility or []],
        "settings": field.settings or {},
        "version": field.version,
    }


def _changes(body: dict) -> tuple[dict, dict]:
    """The definition's columns from a request's body, and the errors of role names."""
    changes: dict[str, Any] = {}
    errors: dict[str, list] = {}
    for name in ("entity", "code", "required", "multiple", "default", "sort",
                 "show_in_list", "filterable", "show_on_board", "pipelines", "settings"):
        if name in body:
            changes[name] = body[name]
    if "type" in body:
        changes["field_type"] = body["type"]
    for name, column in (("label", "label"), ("help", "help")):
        if name in body:
            texts = body[name] or {"ru": None, "en": None}
            changes[f"{column}_ru"] = texts.get("ru")
            changes[f"{column}_en"] = texts.get("en")
    if "options" in body:
        changes["options"] = body["options"]
    if "required_from" in body:
        changes["required_from"] = [item["stage"] for item in body["required_from"] or []]
    if "visibility" in body:
        roles = dict(db.session.execute(select(Role.name, Role.id)).all())
        unknown = [v["role"] for v in body["visibility"] or [] if v["role"] not in roles]
        if unknown:
            errors["visibility"] = [gettext("There is no role named %(names)s.",
                                            names=", ".join(unknown))]
        changes["visibility"] = [{"role": roles.get(v["role"]), "access": v["access"]}
                                 for v in body["visibility"] or []]
    return changes, errors


def _api_errors(errors: dict) -> dict:
    return {API_NAMES.get(name, name): messages for name, messages in errors.items()}


class CustomFieldApi(BaseApi):
    resource_name = "custom_field"
    allow_browser_login = True
    openapi_spec_tag = "Custom fields"
    openapi_spec_component_schemas = (CustomFieldPostSchema, CustomFieldChangeSchema)
    method_permission_name = {"get_list": "get", "get": "get", "post": "post", "put": "put",
                              "delete": "delete"}

    def _field(self, pk) -> Optional[CustomField]:
        return db.session.get(CustomField, pk) if 0 < pk < 2**31 else None

    def _body(self, schema: type[Schema]):
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            return None, self.response_400(
                message=gettext("The request body must be a JSON object."))
        try:
            return schema().load(data), None
        except ValidationError as error:
            return None, invalid(error.messages)

    def _refused(self, error: DomainError):
        db.session.rollback()
        body: dict[str, Any] = {"message": error.message, "code": error.code}
        if error.errors:
            body["message"] = _api_errors(error.errors)
        return answer(error.status, body)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The custom fields, in each entity's form order.
        ---
        get:
          parameters:
          - {in: query, name: entity, schema: {type: string}, description: "Only this
              entity's fields: client, contact, inquiry, interest, interaction, product"}
          responses:
            200:
              description: The fields
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result: {type: array, items: {type: object}}
            401:
              $ref: '#/components/responses/401'
        """
        query = select(CustomField).order_by(CustomField.entity, CustomField.sort,
                                             CustomField.id)
        entity = request.args.get("entity")
        if entity:
            query = query.where(CustomField.entity == entity)
        found = db.session.execute(query).scalars().all()
        return self.response(200, count=len(found), result=[represent(f) for f in found])

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get(self, pk):
        """A custom field.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The field
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      result: {type: object}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        field = self._field(pk)
        if field is None:
            return self.response_404()
        return self.response(200, id=field.id, result=represent(field))

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """Add a field to an entity: at once in its forms, pages, lists and API.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CustomFieldPostSchema'
          responses:
            201:
              description: The field was added
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            422:
              $ref: '#/components/responses/422'
        """
        body, refused = self._body(CustomFieldPostSchema)
        if refused is not None:
            return refused
        body.pop("version", None)
        changes, errors = _changes(body)
        if errors:
            return invalid(errors)
        try:
            field = definitions.create(changes)
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=field.id, result=represent(field))

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Change what may change of a field: not its entity, code, type or `multiple`.
        ---
        put:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CustomFieldChangeSchema'
          responses:
            200:
              description: The field was changed
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: The field was changed by someone else since it was read
            422:
              $ref: '#/components/responses/422'
        """
        field = self._field(pk)
        if field is None:
            return self.response_404()
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            return self.response_400(message=gettext("The request body must be a JSON object."))
        fixed = [name for name in ("entity", "code", "type", "multiple") if name in data
                 and data[name] != getattr(field, "field_type" if name == "type" else name)]
        if fixed:
            return invalid({name: [gettext("This cannot change once the field exists.")]
                            for name in fixed})
        try:
            body = CustomFieldChangeSchema().load(
                {k: v for k, v in data.items()
                 if k not in ("entity", "code", "type", "multiple")})
        except ValidationError as error:
            return invalid(error.messages)
        seen = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"') \
            or body.pop("version", None)
        body.pop("version", None)
        changes, errors = _changes(body)
        if errors:
            return invalid(errors)
        try:
            definitions.change(field, changes, seen)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, id=field.id, result=represent(field))

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Delete a field with its values (the deletion is kept in the history).
        ---
        delete:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The field was deleted; `removed` records held a value
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        field = self._field(pk)
        if field is None:
            return self.response_404()
        try:
            removed = definitions.delete(field)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, message="OK", removed=removed)
