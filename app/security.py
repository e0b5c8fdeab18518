"""Security manager: FAB's, with the CRM user model (department, position, phone)."""

from flask import g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.models import CrmUser

_EMPLOYEE_FIELDS = ["department", "position", "phone"]


class CrmUserDBModelView(UserDBModelView):
    label_columns = {
        **UserDBModelView.label_columns,
        "department": _l("Department"),
        "position": _l("Position"),
        "phone": _l("Phone"),
    }
    list_columns = ["first_name", "last_name", "username", "email", "department", "active",
                    "roles"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "login_count"]}),
        (_l("Personal Info"),
         {"fields": ["first_name", "last_name", "email", *_EMPLOYEE_FIELDS], "expanded": True}),
        (_l("Audit Info"),
         {"fields": ["last_login", "fail_login_count", "created_on", "created_by",
                     "changed_on", "changed_by"], "expanded": False}),
    ]
    user_show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "login_count"]}),
        (_l("Personal Info"),
         {"fields": ["first_name", "last_name", "email", *_EMPLOYEE_FIELDS], "expanded": True}),
    ]
    add_columns = ["first_name", "last_name", "username", "active", "email", *_EMPLOYEE_FIELDS,
                   "roles", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", *_EMPLOYEE_FIELDS,
                    "roles"]


class CrmSecurityManager(SecurityManager):
    user_model = CrmUser
    userdbmodelview = CrmUserDBModelView

    def get_user_by_id(self, pk):
        """The user with the roles and groups every access check reads: one query, not three
        on every request."""
        user_model = self.user_model
        return self.session.execute(
            select(user_model).where(user_model.id == pk)
            .options(joinedload(user_model.roles), joinedload(user_model.groups))
        ).unique().scalar_one_or_none()

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        """FAB asks this once per menu item and button, a query each (dozens a page): the
        permissions of the request's roles are read once per request instead."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        cache = g.setdefault("crm_role_permissions", {})
        if key not in cache:
            pv = self.permissionview_model
            cache[key] = set(self.session.execute(
                select(self.permission_model.name, self.viewmenu_model.name)
                .select_from(pv)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == pv.id)
                .where(assoc_permissionview_role.c.role_id.in_(key))
            ).tuples())
        return (permission_name, view_name) in cache[key]
