"""The security REST API (/api/v1/security/...): Flask-AppBuilder's resources for users
and roles, following app.services.accounts like the screens do.

What changes against Flask-AppBuilder's:
- A body that is missing or not a JSON object, a wrong type, a blank or taken name, an id
  that does not exist: a 4xx whose message names the field, never a 500 nor a database
  error text.
- The Administrator role cannot be renamed, deleted or given other permissions; no change
  may leave the CRM without an active administrator.
- A user that records refer to is not deleted (deactivate them); a user update does not
  echo the password back.
- Flask-AppBuilder's groups are not part of the CRM (departments give roles to their
  members), and its permission catalogue (permissions, resources and their pairs) is
  made by `flask crm init` from the registered screens: both are read-only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Optional

from flask import current_app, request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.const import API_RESULT_RES_KEY
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.security.sqla.apis import (
    PermissionViewMenuApi,
    RoleApi,
    UserApi,
    ViewMenuApi,
)
from flask_appbuilder.security.sqla.apis.role.schema import (
    RolePermissionPostSchema,
    RoleUserPutSchema,
)
from flask_appbuilder.security.sqla.apis.user.schema import UserPostSchema, UserPutSchema
from flask_appbuilder.security.sqla.models import PermissionView, Role
from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validates_schema
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.database import db
from app.fab.rest import answer, refuse_malformed_rison
from app.services import accounts, handover
from app.services.records import DomainError

READ_ONLY = {"info", "get", "get_list"}


def _same_doc(original: Callable) -> Callable:
    """Keep Flask-AppBuilder's docstring: the OpenAPI spec is made from it."""

    def decorate(function):
        function.__doc__ = original.__doc__
        return function

    return decorate


class SecurityResource:
    """What the users and roles resources share: the body check and the answers."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(refuse_malformed_rison)
        return blueprint

    @staticmethod
    def _json_object() -> Optional[dict]:
        data = request.get_json(silent=True) if request.is_json else None
        return data if isinstance(data, dict) else None

    def _no_object(self):
        return self.response_400(message=gettext("The request body must be a JSON object."))

    def _refused(self, error: DomainError):
        db.session.rollback()
        return self.response(error.status, message=error.errors or error.message)

    @staticmethod
    def _int(pk) -> Optional[int]:
        try:
            return int(pk)
        except (TypeError, ValueError):
            return None

    def _missing_ids(self, field: str, model, ids: list[int]):
        """(records, None) when every id exists, else (None, a 422 naming the field)."""
        found = db.session.execute(select(model).where(model.id.in_(ids))).scalars().all() \
            if ids else []
        missing = sorted(set(ids) - {record.id for record in found})
        if missing:
            return None, self.response_422(message={field: [gettext(
                "These records do not exist: %(ids)s.",
                ids=", ".join(str(i) for i in missing))]})
        return found, None


# --- users -----------------------------------------------------------------------------------


class CrmUserPostSchema(UserPostSchema):
    class Meta:
        exclude = ("groups",)

    @validates_schema
    def validate_roles_or_groups_present(self, data, **kwargs):
        if not data.get("roles"):
            raise ValidationError(gettext("A user needs at least one role."), "roles")


class CrmUserPutSchema(UserPutSchema):
    class Meta:
        exclude = ("groups",)

    hand_over_to = fields.Integer(required=False, allow_none=True, metadata={
        "description": "When the user is deactivated: the active employee who takes over "
                       "their planned interactions and tasks, open interests, unprocessed "
                       "inquiries and clients. Required when they have any."})

    @validates_schema
    def roles_not_emptied(self, data, **kwargs):
        if "roles" in data and not data["roles"]:
            raise ValidationError(gettext("A user needs at least one role."), "roles")


class CrmUserApi(SecurityResource, UserApi):
    list_columns = [c for c in UserApi.list_columns if c != "groups"]
    show_columns = list_columns
    add_columns = [c for c in UserApi.add_columns if c != "groups"]
    edit_columns = add_columns
    search_columns = [c for c in UserApi.search_columns if c != "groups"]
    add_model_schema = CrmUserPostSchema()
    edit_model_schema = CrmUserPutSchema()

    def _hash(self, password: str) -> str:
        config = current_app.config
        return generate_password_hash(
            password=password, method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
            salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16))

    def _apply(self, user, item: dict[str, Any]):
        """Check and set the fields of `item` on `user`; an error answer or None."""
        errors = accounts.user_problems(item, user.id)
        roles = None
        if "roles" in item and "roles" not in errors:
            roles, refused = self._missing_ids("roles", Role, item["roles"])
            if refused is not None:
                return refused
        if errors:
            return self.response_422(message=errors)
        for key, value in item.items():
            if key == "roles":
                user.roles = roles
            elif key == "password":
                user.password = self._hash(value)
            elif isinstance(value, str) and key != "password":
                setattr(user, key, value.strip())
            else:
                setattr(user, key, value)
        return None

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    @_same_doc(UserApi.post)
    def post(self):
        data = self._json_object()
        if data is None:
            return self._no_object()
        try:
            item = self.add_model_schema.load(data)
        except ValidationError as error:
            return self.response_400(message=error.messages)
        user = self.appbuilder.sm.user_model()
        refused = self._apply(user, item)
        if refused is not None:
            return refused
        user.created_on = user.changed_on = datetime.now()
        user.created_by_fk = user.changed_by_fk = self.appbuilder.sm.current_user.id
        db.session.add(user)
        try:
            accounts.commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=user.id)

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    @_same_doc(UserApi.put)
    def put(self, pk):
        user = db.session.get(self.appbuilder.sm.user_model, self._int(pk) or 0)
        if user is None:
            return self.response_404()
        data = self._json_object()
        if data is None:
            return self._no_object()
        try:
            item = self.edit_model_schema.load(data)
        except ValidationError as error:
            return self.response_400(message=error.messages)
        receiver = item.pop("hand_over_to", None)
        was_active = bool(user.active)
        refused = self._apply(user, item)
        if refused is not None:
            db.session.rollback()
            return refused
        user.changed_on = datetime.now()
        user.changed_by_fk = self.appbuilder.sm.current_user.id
        if was_active and not user.active:
            # Their open work goes to the receiver in the same command, or it is refused.
            try:
                handover.deactivate(user, receiver)
            except DomainError as error:
                db.session.rollback()
                return answer(error.status, {"code": error.code,
                                             "message": error.errors or error.message})
        try:
            accounts.check_administrators_remain()
            accounts.commit()
        except DomainError as error:
            return self._refused(error)
        shown = {key: value for key, value in item.items() if key != "password"}
        return self.response(200, **{API_RESULT_RES_KEY: shown})

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    @_same_doc(UserApi.delete)
    def delete(self, pk):
        user = db.session.get(self.appbuilder.sm.user_model, self._int(pk) or 0)
        if user is None:
            return self.response_404()
        try:
            accounts.delete_user(user)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, message="OK")


# --- roles -----------------------------------------------------------------------------------


class RolePostSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The role's name"})


class RolePutSchema(Schema):
    name = fields.String(required=False, metadata={"description": "The role's name"})


class CrmRoleApi(SecurityResource, RoleApi):
    exclude_route_methods = {"update_role_groups"}
    add_model_schema = RolePostSchema()
    edit_model_schema = RolePutSchema()
    add_role_permission_schema = RolePermissionPostSchema()
    update_role_user_schema = RoleUserPutSchema()
    openapi_spec_component_schemas = (RolePermissionPostSchema, RoleUserPutSchema)

    def _role(self, pk) -> Optional[Role]:
        return db.session.get(Role, self._int(pk) or 0)

    def _load(self, schema) -> tuple[Optional[dict], Any]:
        data = self._json_object()
        if data is None:
            return None, self._no_object()
        try:
            return schema.load(data), None
        except ValidationError as error:
            return None, self.response_422(message=error.messages)

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    @_same_doc(RoleApi.post)
    def post(self):
        item, refused = self._load(self.add_model_schema)
        if refused is not None:
            return refused
        try:
            role = accounts.save_role(None, item["name"])
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=role.id, **{API_RESULT_RES_KEY: {"name": role.name}})

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    @_same_doc(RoleApi.put)
    def put(self, pk):
        role = self._role(pk)
        if role is None:
            return self.response_404()
        item, refused = self._load(self.edit_model_schema)
        if refused is not None:
            return refused
        try:
            accounts.save_role(role, item.get("name", role.name))
        except DomainError as error:
            return self._refused(error)
        return self.response(200, **{API_RESULT_RES_KEY: {"name": role.name}})

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    @_same_doc(RoleApi.delete)
    def delete(self, pk):
        role = self._role(pk)
        if role is None:
            return self.response_404()
        try:
            accounts.delete_role(role)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, message="OK")

    @expose("/<int:role_id>/permissions", methods=["POST"])
    @protect()
    @safe
    @permission_name("add_role_permissions")
    @_same_doc(RoleApi.add_role_permissions)
    def add_role_permissions(self, role_id):
        role = self._role(role_id)
        if role is None:
            return self.response_404()
        item, refused = self._load(self.add_role_permission_schema)
        if refused is not None:
            return refused
        try:
            accounts.check_role_changeable(role)
        except DomainError as error:
            return self._refused(error)
        permissions, refused = self._missing_ids("permission_view_menu_ids", PermissionView,
                                                 item["permission_view_menu_ids"])
        if refused is not None:
            return refused
        role.permissions = permissions
        try:
            accounts.commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(200, **{API_RESULT_RES_KEY: item})

    @expose("/<int:role_id>/users", methods=["PUT"])
    @protect()
    @safe
    @permission_name("update_role_users")
    @_same_doc(RoleApi.update_role_users)
    def update_role_users(self, role_id):
        role = self._role(role_id)
        if role is None:
            return self.response_404()
        item, refused = self._load(self.update_role_user_schema)
        if refused is not None:
            return refused
        users, refused = self._missing_ids("user_ids", self.appbuilder.sm.user_model,
                                           item["user_ids"])
        if refused is not None:
            return refused
        role.user = users
        try:
            accounts.check_administrators_remain()
            accounts.commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(200, **{API_RESULT_RES_KEY: item})


# --- Flask-AppBuilder's permission catalogue: read-only ------------------------------------


class CrmViewMenuApi(ViewMenuApi):
    include_route_methods = READ_ONLY


class CrmPermissionViewMenuApi(PermissionViewMenuApi):
    include_route_methods = READ_ONLY
    datamodel = SQLAInterface(PermissionView)
