"""Settings → Users and Settings → Roles: Flask-AppBuilder's security screens, made to
read like the rest of the CRM and to follow app.services.accounts.

- Values read as words: yes/no, the roles' translated names, the department, no "None".
- Roles show what they are for, how many users have them and a link to their rights
  matrix (app.screens.rights), not Flask-AppBuilder's permission names.
- Bulk and single actions with an unknown name, and ids that do not exist, answer 404
  (Flask-AppBuilder answers 500); without the right, the login page or 403.
- Saving and deleting go through app.services.accounts: the Administrator role stays as it
  is, at least one active administrator remains, a user that records refer to is
  deactivated rather than deleted, and no raw database error is shown.
"""

from __future__ import annotations

from typing import Optional

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.security.views import ResetPasswordView, UserDBModelView
from flask_appbuilder.validators import Unique
from flask_appbuilder.views import expose
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, StopValidation
from wtforms.validators import Optional as OptionalValue

from app.database import db
from app.fab.crud import refuse_action_without_right
from app.fab.widgets import CrmFormWidget, CrmShowWidget
from app.models import CrmUser
from app.services import accounts, handover
from app.services.records import DomainError
from app.services.roles import (
    admin_role_name,
    is_builtin,
    public_role_name,
    role_description,
    role_label,
    role_labels,
)


def _yes_no(value) -> str:
    return gettext("Yes") if value else gettext("No")


def _text(value) -> str:
    return "" if value is None else str(value)


def _int_pk(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        abort(404)


class SafeActions:
    """Flask-AppBuilder's /action_post and /action/<name>/<pk>, without its 500s: an
    unknown action or one that does not apply (a single-record action on a selection) is
    404, and so is a record that does not exist."""

    def _refuse(self, name: str):
        return refuse_action_without_right(self, name)

    def _item_or_404(self, pk):
        item = self.datamodel.get(_int_pk(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        action = self.actions.get(name)
        if action is None or not action.multiple:
            abort(404)
        refused = self._refuse(name)
        if refused is not None:
            return refused
        return action.func([self._item_or_404(pk) for pk in request.form.getlist("rowid")])

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name, pk):
        action = self.actions.get(name)
        if action is None or not action.single:
            abort(404)
        refused = self._refuse(name)
        if refused is not None:
            return refused
        return action.func(self._item_or_404(pk))


def _set_field_options(form_class, name: str, **options) -> None:
    unbound = getattr(form_class, name, None)
    if isinstance(unbound, UnboundField):
        unbound.kwargs.update(options)


def _drop_validators(form_class, name: str, kind) -> None:
    unbound = getattr(form_class, name, None)
    if isinstance(unbound, UnboundField) and unbound.kwargs.get("validators"):
        unbound.kwargs["validators"] = [v for v in unbound.kwargs["validators"]
                                        if not isinstance(v, kind)]


class UserFieldRule:
    """A form validator: the field passes app.services.accounts' user checks (and the
    field's other validators are not run: one message is enough)."""

    def __call__(self, form, field):
        errors = accounts.user_problems({field.name: field.data}, getattr(form, "_id", None))
        if errors.get(field.name):
            raise StopValidation(errors[field.name][0])


# --- users -----------------------------------------------------------------------------------


class CrmResetPasswordView(ResetPasswordView):
    """An administrator sets another user's password (`?pk=<user id>`): a user that does
    not exist is 404, not a 500 on saving."""

    class_permission_name = "ResetPasswordView"

    def _user_or_404(self):
        pk = _int_pk(request.args.get("pk"))
        if self.appbuilder.sm.get_user_by_id(pk) is None:
            abort(404)
        return pk

    def form_get(self, form):
        self._user_or_404()

    def form_post(self, form):
        self.appbuilder.sm.reset_password(self._user_or_404(), form.password.data)
        flash(str(self.message), "info")


_EMPLOYEE_FIELDS = ["department", "position", "phone"]


def _active_employees():
    return db.session.query(CrmUser).filter(CrmUser.active.is_(True)).order_by(
        CrmUser.first_name, CrmUser.last_name, CrmUser.id)



class CrmUserDBModelView(SafeActions, UserDBModelView):
    """Settings → Users, and every user's own profile (`/users/userinfo/`)."""

    list_title = _l("Users")
    show_title = _l("User")
    add_title = _l("New user")
    edit_title = _l("Edit user")
    user_info_title = _l("My profile")
    add_widget = edit_widget = CrmFormWidget
    show_widget = CrmShowWidget

    label_columns = {
        **UserDBModelView.label_columns,
        "first_name": _l("First name"),
        "last_name": _l("Last name"),
        "username": _l("Login name"),
        "email": _l("E-mail"),
        "active": _l("Active"),
        "roles": _l("Roles"),
        "department": _l("Department"),
        "position": _l("Position"),
        "phone": _l("Phone"),
        "last_login": _l("Last login"),
        "login_count": _l("Logins"),
        "fail_login_count": _l("Failed logins in a row"),
    }
    description_columns = {
        "username": _l("What the user types to log in; the e-mail works as well."),
        "active": _l("An inactive user cannot log in; their records stay as they are."),
        "email": _l("Also accepted as the login."),
        "roles": _l("What the user may do. The roles of their department apply as well."),
        "department": _l("The department's roles apply to the user too."),
        "hand_over_to": _l("When you deactivate a user who still has planned interactions "
                           "and tasks, open interests, unprocessed inquiries or clients: who "
                           "takes them over. They are handed over in the same step."),
    }
    list_columns = ["first_name", "last_name", "username", "email", "department", "roles",
                    "active"]
    order_columns = ["first_name", "last_name", "username", "email", "active"]
    search_columns = ["first_name", "last_name", "username", "email", "department", "roles",
                      "active"]
    show_fieldsets = [
        (_l("User"), {"fields": ["username", "active", "roles", "login_count"]}),
        (_l("Employee"),
         {"fields": ["first_name", "last_name", "email", *_EMPLOYEE_FIELDS], "expanded": True}),
        (_l("History"),
         {"fields": ["last_login", "fail_login_count", "created_on", "created_by",
                     "changed_on", "changed_by"], "expanded": False}),
    ]
    user_show_fieldsets = [
        (_l("User"), {"fields": ["username", "active", "roles", "login_count"]}),
        (_l("Employee"),
         {"fields": ["first_name", "last_name", "email", *_EMPLOYEE_FIELDS], "expanded": True}),
    ]
    add_columns = ["first_name", "last_name", "username", "active", "email", *_EMPLOYEE_FIELDS,
                   "roles", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "hand_over_to", "email",
                    *_EMPLOYEE_FIELDS, "roles"]
    edit_form_extra_fields = {
        # Asked when the user is deactivated: where their open work goes
        # (app.services.handover.deactivate). Not a column of the user.
        "hand_over_to": QuerySelectField(
            _l("Hand their open work over to"), query_func=_active_employees,
            get_pk_func=lambda user: user.id, allow_blank=True, blank_text="—",
            validators=[OptionalValue()]),
    }
    validators_columns = {
        **UserDBModelView.validators_columns,
        "username": [UserFieldRule()],
        "email": [UserFieldRule()],
        "first_name": [UserFieldRule()],
        "last_name": [UserFieldRule()],
    }
    formatters_columns = {
        "active": _yes_no,
        "roles": role_labels,
        "department": _text,
        "created_by": _text,
        "changed_by": _text,
        "last_login": _text,
        "created_on": _text,
        "changed_on": _text,
        "login_count": _text,
        "fail_login_count": _text,
        "position": _text,
        "phone": _text,
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for form_class in (self.add_form, self.edit_form, self.search_form):
            _set_field_options(form_class, "department", blank_text="—")
            _set_field_options(form_class, "roles", get_label=lambda role: role_label(role.name))
        for form_class in (self.add_form, self.edit_form):
            # UserFieldRule checks the same, whatever the case, with the CRM's message.
            for name in ("username", "email"):
                _drop_validators(form_class, name, Unique)

    def process_form(self, form, is_created):
        super().process_form(form, is_created)
        if "hand_over_to" in form:
            # Not a column of the user: kept for pre_update, left out of populate_obj.
            g.crm_hand_over_to = form.hand_over_to.data
            del form["hand_over_to"]

    def pre_update(self, item):
        super().pre_update(item)
        if getattr(g, "crm_was_active", False) and not item.active:
            receiver = getattr(g, "crm_hand_over_to", None)
            try:
                done = handover.deactivate(item, receiver.id if receiver else None)
            except DomainError:
                db.session.rollback()
                raise
            if done is not None:
                flash(gettext("Handed over to %(name)s: %(what)s.", name=done.to_user,
                              what=handover.work_text(done.counts)), "success")
        accounts.check_administrators_remain()

    def _delete(self, pk):
        item = self._item_or_404(pk)
        try:
            accounts.delete_user(item)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(str(self.delete_row_message), "success")
        self.update_redirect()

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        # Flask-AppBuilder's, for an id that is a number (PostgreSQL refuses to compare
        # "abc" with one).
        return UserDBModelView.show.__wrapped__(self, _int_pk(pk))

    def _edit(self, pk):
        pk = _int_pk(pk)
        if request.method == "POST":
            # Read before the form changes it (a query while filling the form flushes).
            user = db.session.get(CrmUser, pk)
            g.crm_was_active = bool(user is not None and user.active)
        return super()._edit(pk)


# --- roles -----------------------------------------------------------------------------------


class CrmRoleView(SafeActions, ModelView):
    """Settings → Roles: name, what the role is for, how many users have it, its rights."""

    route_base = "/roles"
    class_permission_name = "RoleModelView"
    datamodel = SQLAInterface(Role)
    base_permissions = ["can_list", "can_add", "can_edit", "can_delete"]
    list_template = "crm/security_roles.html"
    add_widget = edit_widget = CrmFormWidget

    list_title = _l("Roles")
    add_title = _l("New role")
    edit_title = _l("Edit role")
    label_columns = {"name": _l("Name"), "description": _l("What the role is for")}
    add_columns = ["name", "description"]
    edit_columns = ["name", "description"]
    list_columns = ["name"]
    search_columns = ["name"]
    add_form_extra_fields = {
        "description": TextAreaField(
            _l("What the role is for"),
            validators=[OptionalValue(), Length(max=accounts.ROLE_DESCRIPTION_MAX)]),
    }
    edit_form_extra_fields = add_form_extra_fields
    description_columns = {
        "name": _l("The roles built into the CRM keep their names."),
        "description": _l("A sentence shown in the list of roles."),
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The rule is app.services.accounts.role_name_problem, whatever the case.
        for form_class in (self.add_form, self.edit_form):
            _drop_validators(form_class, "name", Unique)

    @expose("/list/")
    @has_access
    def list(self):
        roles = db.session.execute(select(Role).order_by(Role.id)).scalars().all()
        descriptions = accounts.role_descriptions(role.id for role in roles)
        counts = accounts.role_user_counts()
        sm = self.appbuilder.sm
        rows = [{
            "id": role.id,
            "label": role_label(role.name),
            "description": role_description(role.name, descriptions.get(role.id)),
            "users": counts.get(role.id, 0),
            "fixed": role.name == admin_role_name(),
            "editable": role.name not in (admin_role_name(), public_role_name()),
        } for role in roles]
        rows.sort(key=lambda row: (not row["fixed"], row["label"].casefold()))
        return self.render_template(
            self.list_template, title=self.list_title, rows=rows,
            can_add=sm.has_access("can_add", self.class_permission_name),
            can_edit=sm.has_access("can_edit", self.class_permission_name),
            can_delete=sm.has_access("can_delete", self.class_permission_name),
            can_see_rights=sm.has_access("can_list", "RoleRights"),
            modelview_name=self.__class__.__name__)

    def _role_or_404(self, pk) -> Role:
        role = db.session.get(Role, _int_pk(pk))
        if role is None:
            abort(404)
        return role

    def _save(self, role: Optional[Role], form) -> bool:
        try:
            accounts.save_role(role, form.name.data, form.description.data)
        except DomainError as error:
            db.session.rollback()
            shown = False
            for name, messages in error.errors.items():
                if name in form:
                    form[name].errors = list(form[name].errors or []) + list(messages)
                    shown = True
            if not shown:
                flash(error.message, "danger")
            return False
        return True

    def _add(self):
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate() and self._save(None, form):
            flash(str(self.add_row_message), "success")
            return None
        return self._get_add_widget(form=form)

    def _edit(self, pk):
        role = self._role_or_404(pk)
        try:
            accounts.check_role_changeable(role)
        except DomainError as error:
            flash(error.message, "danger")
            return None
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            form._id = role.id
            if form.validate() and self._save(role, form):
                flash(str(self.edit_row_message), "success")
                return None
        else:
            form = self.edit_form.refresh(obj=role)
            form.description.data = accounts.role_descriptions([role.id]).get(role.id, "")
        if is_builtin(role.name):
            form.name.render_kw = {"readonly": True}
        return self._get_edit_widget(form=form)

    def _delete(self, pk):
        role = self._role_or_404(pk)
        try:
            accounts.delete_role(role)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(str(self.delete_row_message), "success")

    def post_add_redirect(self):
        return redirect(url_for(f"{self.endpoint}.list"))

    post_edit_redirect = post_add_redirect
    post_delete_redirect = post_add_redirect
