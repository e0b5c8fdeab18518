"""Security manager: FAB's, with the CRM user model (department, position, phone) and the
authentication hardening of app.services.auth (login throttling, session epochs, safe
redirects after login)."""

from flask import flash, g, has_request_context, redirect, request
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import AuthDBView, UserDBModelView
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.models import CrmUser, department_role
from app.services import auth

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


class CrmAuthDBView(AuthDBView):
    """FAB's login form, with a stricter `next` check: FAB's lets "/\\host" and "\\\\host"
    through, which browsers read as "//host"."""

    def _get_safe_next_url(self) -> str:
        return auth.safe_next_url(request.args.get("next"))

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = self._get_safe_next_url()
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                flash(as_unicode(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form,
                                    appbuilder=self.appbuilder)


class CrmSecurityManager(SecurityManager):
    user_model = CrmUser
    userdbmodelview = CrmUserDBModelView
    authdbview = CrmAuthDBView

    def create_login_manager(self, app) -> LoginManager:
        """Sessions are checked against the user's epoch and the session lifetime; JWTs (FAB's
        load_user_jwt -> load_user) only need an active user."""
        lm = super().create_login_manager(app)
        lm.user_loader(self.load_session_user)
        return lm

    def load_session_user(self, pk):
        user = self.load_user(pk)
        if user is None or not auth.session_is_current(user):
            return None
        return user

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)
        if user is None:
            auth.login_failed()
        return user

    def on_user_logout(self, user) -> None:
        """Logging out voids every copy of the session cookie."""
        super().on_user_logout(user)
        auth.end_sessions(user.id)

    def reset_password(self, userid, password):
        """A new password voids the user's other sessions; the one that set it lives on."""
        super().reset_password(userid, password)
        auth.keep_current_session(userid, auth.end_sessions(userid))

    def get_user_roles(self, user):
        """The user's own roles, their groups' and their department's (Department.roles):
        app.services.access gives a user the scopes of the same roles, so menus, @has_access
        and the API's @protect agree with the records they see. Read once per request."""
        roles = super().get_user_roles(user)
        department_id = getattr(user, "department_id", None)
        if not user.is_authenticated or department_id is None:
            return roles
        cache = g.setdefault("crm_department_roles", {}) if has_request_context() else {}
        if department_id not in cache:
            role = self.role_model
            cache[department_id] = self.session.execute(
                select(role).join(department_role, department_role.c.role_id == role.id)
                .where(department_role.c.department_id == department_id)).scalars().all()
        own = {role.id for role in roles}
        return roles + [role for role in cache[department_id] if role.id not in own]

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
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def _role_permissions(self, role_ids) -> frozenset[tuple[str, str]]:
        key = tuple(sorted(role_ids))
        cache = g.setdefault("crm_role_permissions", {})
        if key not in cache:
            pv = self.permissionview_model
            rows = self.session.execute(
                select(self.permission_model.name, self.viewmenu_model.name)
                .select_from(pv)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == pv.id)
                .where(assoc_permissionview_role.c.role_id.in_(key)))
            cache[key] = frozenset((permission, view) for permission, view in rows)
        return cache[key]

    def current_permissions(self) -> frozenset[tuple[str, str]] | None:
        """Every (permission, view) the request's user has, which decides what menus and
        buttons show; None when FAB's built-in roles (config) take part."""
        user = g.user if has_request_context() and getattr(g, "user", None) else None
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        roles = self.get_user_roles(user)
        if any(role.name in self.builtin_roles for role in roles):
            return None
        return self._role_permissions([role.id for role in roles])
