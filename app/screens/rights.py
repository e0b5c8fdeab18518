"""Settings → Roles → rights: the rights matrix of a role, edited on one screen."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.database import db
from app.services import roles as role_names
from app.services.access import ACTIONS, MATRIX_ENTITIES, NONE, SCOPES
from app.services.records import DomainError
from app.services.rights import SCOPED_ENTITIES, read_matrix, save_matrix
from app.services.roles import admin_role_name, role_label


class RightsView(BaseView):
    route_base = "/rights"
    default_view = "roles"
    class_permission_name = "RoleRights"
    method_permission_name = {"roles": "list", "matrix": "edit"}
    base_permissions = ["can_list", "can_edit"]

    def _role_model(self):
        return self.appbuilder.sm.role_model

    @expose("/")
    @has_access
    def roles(self):
        role_model = self._role_model()
        roles = db.session.execute(select(role_model)).scalars().all()
        roles.sort(key=lambda role: (role.name != admin_role_name(),
                                     role_label(role.name).casefold()))
        return self.render_template("crm/rights_roles.html", roles=roles,
                                    admin_role=admin_role_name(),
                                    title=gettext("Rights of roles"))

    @expose("/<int:role_id>", methods=["GET", "POST"])
    @has_access
    def matrix(self, role_id: int):
        role = db.session.get(self._role_model(), role_id)
        if role is None:
            abort(404)
        read_only = role.name == admin_role_name()
        errors = []
        if request.method == "POST" and not read_only:
            matrix = {}
            for entity in MATRIX_ENTITIES:
                for action in ACTIONS:
                    raw = request.form.get(f"{entity}.{action}", str(NONE))
                    try:
                        matrix[(entity, action)] = int(raw)
                    except ValueError:
                        matrix[(entity, action)] = -1
            try:
                save_matrix(role, matrix)
            except DomainError as error:
                db.session.rollback()
                errors.append(error.message)
            else:
                flash(gettext("The rights of %(role)s are saved. They apply from the next "
                              "request of every user.", role=role_label(role.name)), "success")
                return redirect(url_for("RightsView.matrix", role_id=role.id))
        current = read_matrix(role.id)
        return self.render_template(
            "crm/rights_matrix.html", role=role, read_only=read_only, errors=errors,
            entities=MATRIX_ENTITIES, actions=ACTIONS, scopes=SCOPES, matrix=current,
            scoped_entities=SCOPED_ENTITIES, title=gettext("Rights of %(role)s", role=role_label(role.name)))


def register(appbuilder) -> None:
    """The rights screen, and the Settings menu's entries for the users and roles screens
    (app.screens.users, registered by the security manager without a menu)."""
    role_names.install(current_app)
    appbuilder.add_separator("Settings")
    appbuilder.add_link("Users", href="CrmUserDBModelView.list", label=_l("Users"),
                        category="Settings", category_label=_l("Settings"), icon="fa-user")
    appbuilder.add_link("Roles", href="CrmRoleView.list", label=_l("Roles"),
                        category="Settings", category_label=_l("Settings"), icon="fa-users")
    appbuilder.add_view(RightsView, "Rights of roles", label=_l("Rights of roles"),
                        category="Settings", category_label=_l("Settings"), icon="fa-key")
