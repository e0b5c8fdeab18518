"""Security manager: FAB's, with the CRM user model (department, position, phone)."""

from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l

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
