"""The OpenAPI spec at /api/v1/_openapi, saying what the API really answers.

Flask-AppBuilder writes parts of every resource's spec by hand, the same for all of them,
and some of it is not what its code answers. The spec is corrected here, once for every
API, from what each resource's model says:

- an error body's `message` is a string, or for 400 and 422 an object of field errors
  (`{"name": ["Missing data for required field."]}`, nested for lists: `{"tags": {"0":
  [...]}}`);
- `ids` of a list and the `id` of a record are the primary key's type (integers here, not
  strings);
- `add_columns` and `edit_columns` of `_info` are lists of field descriptions;
- a menu entry's children may be "-", a separator.

Fields themselves (times with offsets, integer ranges, decimals as strings, empty
relations as null) are described right where they are made: app.fab.api_fields.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi, SwaggerView

from app.services import custom_fields
from app.services.custom_types import schema_of

FIELD_ERRORS = {
    "type": "object",
    "description": "The errors of each field: a list of messages, or for a list or a nested "
                   "record an object of its items' or fields' errors.",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
    },
}
TEXT_MESSAGE = {"type": "string"}
ERROR_RESPONSES = {
    "400": ("Bad request: the request is malformed or refused as a whole", True),
    "401": ("Not logged in, or the token is not valid", False),
    "403": ("Forbidden", False),
    "404": ("Not found", False),
    "422": ("Could not process the record: the message says what is wrong with which field",
            True),
    "500": ("Fatal error", False),
}


def _error_response(description: str, field_errors: bool) -> dict:
    message = {"oneOf": [TEXT_MESSAGE, FIELD_ERRORS]} if field_errors else TEXT_MESSAGE
    return {
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object", "properties": {"message": message}}}},
    }


def _key_schema(api: BaseApi) -> dict:
    datamodel = getattr(api, "datamodel", None)
    if datamodel is None:
        return {"type": "string"}
    column = getattr(datamodel.obj, datamodel.get_pk_name())
    try:
        python_type = column.type.python_type
    except (AttributeError, NotImplementedError):
        return {"type": "string"}
    return {"type": "integer"} if python_type is int else {"type": "string"}


def _json_schema(response: dict) -> dict | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def describe_real_answers(spec: dict, apis: list[BaseApi]) -> dict:
    """Correct `spec` (a dict from APISpec.to_dict()) where FAB's text says otherwise."""
    responses = spec.setdefault("components", {}).setdefault("responses", {})
    for code, (description, field_errors) in ERROR_RESPONSES.items():
        responses[code] = _error_response(description, field_errors)
    _correct_menu(spec)
    _describe_custom_fields(spec, apis)
    _describe_exports(spec, apis)
    by_prefix = sorted(((api.route_base.rstrip("/"), api) for api in apis),
                       key=lambda item: len(item[0]), reverse=True)
    for path, operations in spec.get("paths", {}).items():
        owner = next((api for prefix, api in by_prefix
                      if path == prefix or path.startswith(prefix + "/")), None)
        if owner is None:
            continue
        key = _key_schema(owner)
        for operation in operations.values():
            if isinstance(operation, dict):
                _correct_operation(operation, key)
    return spec


def _describe_custom_fields(spec: dict, apis: list[BaseApi]) -> None:
    """Each record's `custom` object with the fields the reader of the spec may read (in
    answers) or change (in bodies), as they are defined now."""
    schemas = spec.get("components", {}).get("schemas", {})
    for api in apis:
        datamodel = getattr(api, "datamodel", None)
        entity = custom_fields.entity_of(datamodel.obj) if datamodel is not None else None
        if entity is None:
            continue
        granted = custom_fields.granted(entity)
        for suffix, writing in ((".get", False), (".get_list", False), (".post", True),
                                (".put", True)):
            schema = schemas.get(type(api).__name__ + suffix)
            if not isinstance(schema, dict):
                continue
            fields = {g.spec.code: schema_of(g.spec) for g in granted
                      if g.editable or not writing}
            schema.setdefault("properties", {})["custom"] = {
                "type": "object", "properties": fields,
                "description": "The custom fields' values, by code (Settings → Custom "
                               "fields; GET /api/v1/custom_field/)"}


EXPORT_PARAMETER = {
    "in": "query", "name": "format", "required": False,
    "schema": {"type": "string", "enum": ["csv", "xlsx"]},
    "description": "Every record of the list, with its filters and order, as a file; "
                   "the `export` right is needed. A list of more rows than the server "
                   "writes at once answers 202 with the export to follow.",
}
EXPORT_FILES = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        {"schema": {"type": "string", "format": "binary"}},
}


def _describe_exports(spec: dict, apis: list[BaseApi]) -> None:
    """A resource's list answers `?format=csv|xlsx` with a file (app.fab.rest)."""
    from app.fab.rest import CrmApi

    for api in apis:
        if not isinstance(api, CrmApi):
            continue
        operation = spec.get("paths", {}).get(f"{api.route_base}/", {}).get("get")
        if not isinstance(operation, dict):
            continue
        operation.setdefault("parameters", []).append(dict(EXPORT_PARAMETER))
        responses = operation.setdefault("responses", {})
        ok = responses.setdefault("200", {"description": "The list"})
        ok.setdefault("content", {}).update(EXPORT_FILES)
        responses["202"] = {
            "description": "The export is written in the background: follow it at "
                           "`Location` (GET /api/v1/export/<id>)",
            "content": {"application/json": {"schema": {
                "type": "object", "properties": {"export": {"type": "object"}}}}}}
        responses.setdefault("403", {"$ref": "#/components/responses/403"})
        responses.setdefault("422", {"$ref": "#/components/responses/422"})


def _correct_operation(operation: dict, key: dict) -> None:
    for response in operation.get("responses", {}).values():
        schema = _json_schema(response) if isinstance(response, dict) else None
        properties = (schema or {}).get("properties", {})
        if properties.get("ids", {}).get("type") == "array":
            properties["ids"]["items"] = dict(key)
        if properties.get("id", {}).get("type") == "string":
            properties["id"] = dict(key)
        for name in ("add_columns", "edit_columns"):
            if properties.get(name, {}).get("type") == "object":
                properties[name] = {"type": "array", "items": {"type": "object"},
                                    "description": "The fields, each with its name, label, "
                                                   "type, and for a relation its choices"}


def _correct_menu(spec: dict) -> None:
    """A menu's items are entries or "-", a separator line."""
    operation = spec.get("paths", {}).get("/api/v1/menu/", {}).get("get", {})
    schema = _json_schema(operation.get("responses", {}).get("200", {})) or {}
    result = schema.get("properties", {}).get("result", {})
    item = result.get("items", {}).get("properties", {}).get("childs", {})
    if item.get("type") == "array" and isinstance(item.get("items"), dict):
        item["items"] = {"oneOf": [item["items"], {"type": "string", "enum": ["-"]}]}


class CrmOpenApi(OpenApi):
    """FAB's spec view, with the corrections above."""

    class_permission_name = "OpenApi"

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI spec of every API of a version
        ---
        get:
          description: >-
            Get the OpenAPI spec for a specific API version
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI spec
              content:
                application/json:
                  schema:
                    type: object
            404:
              $ref: '#/components/responses/404'
            500:
              $ref: '#/components/responses/500'
        """
        api_spec = self._create_api_spec(version)
        apis = [view for view in current_app.appbuilder.baseviews
                if isinstance(view, BaseApi) and view.version == version]
        if not apis:
            return self.response_404()
        for api in apis:
            api.add_api_spec(api_spec)
        spec: dict[str, Any] = describe_real_answers(api_spec.to_dict(), apis)
        return self.response(200, **spec)


def register(appbuilder) -> None:
    """In place of FAB's own spec view (FAB_ADD_OPENAPI_VIEWS is off)."""
    appbuilder.add_api(CrmOpenApi)
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_view_no_menu(SwaggerView)
