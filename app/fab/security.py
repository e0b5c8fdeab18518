"""Security manager: FAB's, with the CRM user model (department, position, phone), the
CRM's users and roles screens and security API (app.screens.users, app.security_api),
and the authentication hardening of app.web.auth (login throttling, session and token
epochs, safe redirects after login)."""

from dataclasses import dataclass

from flask import current_app, flash, g, has_request_context, redirect, request
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.views import expose
from flask_login import (
    LoginManager,
    current_user,
    login_user,
    user_logged_in,
    user_logged_out,
)
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import security_api
from app.models import CrmUser, department_role
from app.screens import users
from app.services import notifications, stamp
from app.web import auth, throttle


@dataclass(frozen=True)
class RoleRef:
    """A department's role as security checks read it (FAB looks at a role's id and name
    only); unlike a Role it can be kept between requests and shared by threads."""

    id: int
    name: str


def _user_changed(app, user=None, **extra) -> None:
    """Someone logged in or out in the middle of a request: g.user follows Flask-Login again
    and the answers given to the previous user are dropped."""
    g.user = current_user
    g.pop("crm_has_access", None)


# Kept between requests while the cache stamp stays the same (app.services.stamp).
_ROLE_PERMISSIONS = stamp.StampedCache()
_DEPARTMENT_ROLES = stamp.StampedCache()


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
    userdbmodelview = users.CrmUserDBModelView
    rolemodelview = users.CrmRoleView
    resetpasswordview = users.CrmResetPasswordView
    authdbview = CrmAuthDBView
    user_api = security_api.CrmUserApi
    role_api = security_api.CrmRoleApi
    view_menu_api = security_api.CrmViewMenuApi
    permission_view_menu_api = security_api.CrmPermissionViewMenuApi

    def register_views(self) -> None:
        """The login, the profile, the password forms, Settings → Users and Settings →
        Roles (their menu entries: app.screens.rights) and the security API. Not FAB's
        permission, view-menu, statistics and group screens: the rights of roles
        (app.screens.rights) make the permissions, departments group users."""
        if not current_app.config.get("FAB_ADD_SECURITY_VIEWS", True):
            return
        builder = self.appbuilder
        builder.add_api(self.security_api)
        builder.add_view_no_menu(self.userinfoeditview())
        self.auth_view = self.authdbview()
        builder.add_view_no_menu(self.resetpasswordview())
        builder.add_view_no_menu(self.resetmypasswordview())
        builder.add_view_no_menu(self.auth_view)
        self.user_view = builder.add_view_no_menu(self.userdbmodelview)
        builder.add_view_no_menu(self.rolemodelview)
        if current_app.config.get("FAB_ADD_SECURITY_API", False):
            for api in (self.permission_api, self.role_api, self.user_api,
                        self.view_menu_api, self.permission_view_menu_api):
                builder.add_api(api)

    def create_login_manager(self, app) -> LoginManager:
        """Sessions are checked against the user's epoch and the session lifetime."""
        lm = super().create_login_manager(app)
        lm.user_loader(self.load_session_user)
        user_logged_in.connect(_user_changed, app)
        user_logged_out.connect(_user_changed, app)
        return lm

    def create_jwt_manager(self, app):
        """API tokens carry the user's session epoch (app.web.auth)."""
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(auth.token_claims)
        jwt_manager.user_lookup_error_loader(auth.token_refused)
        return jwt_manager

    def load_user_jwt(self, _jwt_header, jwt_data):
        """A token's user, if active and the token was issued at their current epoch."""
        try:
            user = self.get_user_by_id(int(jwt_data["sub"]))
        except (KeyError, TypeError, ValueError):
            return None
        if user is None or not user.is_active or not auth.token_is_current(user, jwt_data):
            return None
        g.user = user
        return user

    def load_session_user(self, pk):
        # A request that brings a token is the token's: the cookie that comes with it
        # neither authenticates it nor needs a CSRF token (app.web.auth).
        if auth.request_has_token():
            return None
        user = self.load_user(pk)
        if user is None or not auth.session_is_current(user):
            return None
        # FAB's g.user is Flask-Login's current_user proxy, which looks the user up again
        # on each of the dozens of reads a page makes; from now on it is the user itself.
        g.user = user
        return user

    def has_access(self, permission_name: str, view_name: str) -> bool:
        """FAB's answer, once per request for each permission and view of a user logged in
        with a session (an API request may log its user in with a token half-way)."""
        if not has_request_context() or not current_user.is_authenticated:
            return super().has_access(permission_name, view_name)
        answers = g.setdefault("crm_has_access", {})
        key = (permission_name, view_name)
        if key not in answers:
            answers[key] = super().has_access(permission_name, view_name)
        return answers[key]

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)
        if user is None:
            throttle.login_failed()
        return user

    def on_user_logout(self, user) -> None:
        """Logging out voids every copy of the session cookie."""
        super().on_user_logout(user)
        auth.end_sessions(user.id)

    def reset_password(self, userid, password):
        """A new password voids the user's other sessions and API tokens (the epoch rises
        when the password is written, app.web.auth); the session that set it lives
        on."""
        super().reset_password(userid, password)
        auth.keep_current_session(userid, auth.current_epoch(userid))

    def get_user_roles(self, user):
        """The user's own roles, their groups' and their department's (Department.roles):
        app.services.access gives a user the scopes of the same roles, so menus, @has_access
        and the API's @protect agree with the records they see."""
        roles = super().get_user_roles(user)
        department_id = getattr(user, "department_id", None)
        if not user.is_authenticated or department_id is None:
            return roles
        own = {role.id for role in roles}
        return roles + [role for role in self._department_roles(department_id)
                        if role.id not in own]

    def _department_roles(self, department_id: int) -> tuple["RoleRef", ...]:
        role = self.role_model

        def read():
            rows = self.session.execute(
                select(role.id, role.name)
                .join(department_role, department_role.c.role_id == role.id)
                .where(department_role.c.department_id == department_id))
            return tuple(RoleRef(row.id, row.name) for row in rows)

        return _DEPARTMENT_ROLES.get(department_id, read)

    def get_user_by_id(self, pk):
        """The user with the roles and groups every access check reads, the cache stamp
        (app.services.stamp) and the bell's unread count (app.services.notifications): one
        statement, not four, on every request."""
        user_model = self.user_model
        row = self.session.execute(
            select(user_model, stamp.current_stamp_column(),
                   notifications.unread_column(pk)).where(user_model.id == pk)
            .options(joinedload(user_model.roles), joinedload(user_model.groups))
        ).unique().first()
        if row is None:
            return None
        stamp.remember(row[1])
        notifications.remember_unread(row[2])
        return row[0]

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        """FAB asks this once per menu item and button, a query each (dozens a page): the
        permissions of the request's roles are read once per request instead."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def _role_permissions(self, role_ids) -> frozenset[tuple[str, str]]:
        key = tuple(sorted(role_ids))
        pv = self.permissionview_model

        def read():
            rows = self.session.execute(
                select(self.permission_model.name, self.viewmenu_model.name)
                .select_from(pv)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == pv.id)
                .where(assoc_permissionview_role.c.role_id.in_(key)))
            return frozenset((permission, view) for permission, view in rows)

        cache = g.setdefault("crm_role_permissions", {})
        if key not in cache:
            cache[key] = _ROLE_PERMISSIONS.get(key, read)
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
