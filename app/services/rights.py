"""Roles' rights matrices: the built-in roles, saving a matrix, and the FAB permissions
(menus, screens, API verbs) that follow from it.

The matrix is the source of truth. Flask-AppBuilder's own permissions are derived from it
when a matrix is saved, so that menus and screen-level checks agree with the scopes that
app.services.access applies to rows.
"""

from __future__ import annotations

from typing import Mapping

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, select

from app.database import db
from app.entities import pages_of
from app.menu import MENU, REASSIGN_PAGES
from app.models import RoleRight
from app.services.access import (
    ACTIONS,
    ALL,
    MATRIX_ENTITIES,
    NONE,
    OWN,
    OWNED_ENTITIES,
    SCOPES,
    SUBTREE,
)
from app.services.records import DomainError
from app.services.roles import admin_role_name

Matrix = dict[tuple[str, str], int]

# Action -> FAB permission names on those views.
ACTION_PERMISSIONS = {
    "read": ["can_list", "can_show", "can_get", "can_info"],
    "add": ["can_add", "can_post"],
    "edit": ["can_edit", "can_put"],
    "delete": ["can_delete"],
    "export": ["can_export"],
    "import": [],
    "reassign": [],
}

# What every logged-in user may do with their own profile: see it (the user screen's
# `userinfo`, with its two buttons), change their name and their own password. Nothing else
# of Flask-AppBuilder's security screens: not the users list, nor anybody else's password.
PROFILE_VIEW = "CrmUserDBModelView"  # app.screens.users.CrmUserDBModelView
PERSONAL_PERMISSIONS = [
    ("can_userinfo", PROFILE_VIEW),
    ("userinfoedit", PROFILE_VIEW),
    ("resetmypassword", PROFILE_VIEW),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("menu_access", "CRM"),
    # Their own notifications and choice of reminders (app.screens.notifications).
    ("can_list", "NotificationView"),
    ("can_edit", "NotificationView"),
    ("can_get", "NotificationApi"),
    ("can_put", "NotificationApi"),
    # Their own exports: progress, files, and the history of all for settings readers.
    ("can_list", "ExportView"),
    ("can_get", "ExportApi"),
    # Their own calendar feed (app.screens.calendar_feed).
    ("can_list", "CalendarFeedView"),
    ("can_edit", "CalendarFeedView"),
    ("can_get", "CalendarFeedApi"),
    ("can_post", "CalendarFeedApi"),
    ("can_delete", "CalendarFeedApi"),
    # The calendar of whatever interactions they may read (the access filter decides).
    ("can_get", "CalendarApi"),
    # Absences: everyone sees their own and those they stand in for; planning one needs
    # the reassign right over the employee and the deputy (app.services.absences).
    ("can_list", "AbsenceView"),
    ("can_edit", "AbsenceView"),
    ("can_get", "AbsenceApi"),
    ("can_post", "AbsenceApi"),
    ("can_put", "AbsenceApi"),
    ("can_delete", "AbsenceApi"),
    # Handing work over: the page and the command; who may hand over whose work is the
    # reassign right over both employees (app.services.handover). Its menu entry shows to
    # those who hold a reassign right (below).
    ("can_list", "HandoverView"),
    ("can_edit", "HandoverView"),
    ("can_post", "HandoverApi"),
]
# The menu entries of pages for those who may reassign work (app.menu.REASSIGN_PAGES).
REASSIGN_ENTITIES = ("interaction", "interest", "inquiry")

CRM = ("client", "contact", "inquiry", "interest", "interaction")
# Entities whose rights can be limited to own / department records (reports show the
# records of the same people).
SCOPED_ENTITIES = OWNED_ENTITIES + ("report",)


def _matrix(cells: Mapping[str, Mapping[str, int]]) -> Matrix:
    return {(entity, action): scope for entity, actions in cells.items()
            for action, scope in actions.items()}


BUILTIN_ROLES: dict[str, Matrix] = {
    "Supervisor": _matrix({
        **{entity: {"read": SUBTREE, "add": SUBTREE, "edit": SUBTREE, "delete": SUBTREE,
                    "export": SUBTREE, "import": SUBTREE, "reassign": SUBTREE}
           for entity in CRM},
        "product": {"read": ALL},
        "directory": {"read": ALL},
        "settings": {"read": ALL},
        "report": {"read": SUBTREE, "add": SUBTREE, "edit": SUBTREE, "delete": SUBTREE,
                   "export": SUBTREE},
    }),
    "Manager": _matrix({
        **{entity: {"read": OWN, "add": OWN, "edit": OWN} for entity in CRM},
        "product": {"read": ALL},
        "directory": {"read": ALL},
        "report": {"read": OWN},
    }),
    "Read-only": _matrix({entity: {"read": ALL} for entity in MATRIX_ENTITIES}),
}


def read_matrix(role_id: int) -> Matrix:
    rows = db.session.execute(
        select(RoleRight.entity, RoleRight.action, RoleRight.scope)
        .where(RoleRight.role_id == role_id)).all()
    return {(row.entity, row.action): row.scope for row in rows}


def validate_matrix(matrix: Matrix) -> Matrix:
    """Only known cells and scopes; own/department scopes only where records have owners."""
    clean: Matrix = {}
    for (entity, action), scope in matrix.items():
        if entity not in MATRIX_ENTITIES or action not in ACTIONS or scope not in SCOPES:
            raise DomainError(gettext("Unknown right: %(entity)s / %(action)s / %(scope)s",
                                      entity=entity, action=action, scope=scope))
        if entity not in SCOPED_ENTITIES and scope not in (NONE, ALL):
            raise DomainError(gettext(
                "%(entity)s have no responsible person: choose None or All.",
                entity=MATRIX_ENTITIES[entity]))
        if scope != NONE:
            clean[(entity, action)] = scope
    return clean


def save_matrix(role, matrix: Matrix, *, commit: bool = True) -> None:
    """Replace a role's matrix and the FAB permissions that follow from it."""
    if role.name == admin_role_name():
        raise DomainError(gettext("The Administrator role has every right; it cannot be "
                                  "changed."))
    clean = validate_matrix(matrix)
    db.session.execute(delete(RoleRight).where(RoleRight.role_id == role.id))
    db.session.add_all(RoleRight(role_id=role.id, entity=entity, action=action, scope=scope)
                       for (entity, action), scope in sorted(clean.items()))
    _sync_fab_permissions(role, clean)
    if commit:
        db.session.commit()


def _sync_fab_permissions(role, matrix: Matrix) -> None:
    sm = current_app.appbuilder.sm
    wanted = []

    def add(permission: str, view: str) -> None:
        pv = sm.find_permission_view_menu(permission, view)
        if pv is not None:
            wanted.append(pv)

    for (entity, action), scope in matrix.items():
        if scope == NONE:
            continue
        for view in pages_of(entity):
            for permission in ACTION_PERMISSIONS[action]:
                add(permission, view)
    readable_views = {view for (entity, action), scope in matrix.items()
                      if action == "read" and scope != NONE
                      for view in pages_of(entity)}
    for entry in MENU:
        if entry.view in readable_views:
            add("menu_access", entry.name)
            add("menu_access", entry.category)
    for permission, view in PERSONAL_PERMISSIONS:
        add(permission, view)
    if any(matrix.get((entity, "reassign"), NONE) > OWN for entity in REASSIGN_ENTITIES):
        for entry in REASSIGN_PAGES:
            add("menu_access", entry.name)
            add("menu_access", entry.category)
    role.permissions = sorted(set(wanted), key=lambda pv: pv.id)


def sync_builtin_roles() -> None:
    """Create the built-in roles with their matrices; leave roles the admin changed alone."""
    sm = current_app.appbuilder.sm
    for name, matrix in BUILTIN_ROLES.items():
        role = sm.find_role(name)
        if role is None:
            role = sm.add_role(name)
            save_matrix(role, matrix, commit=False)
        elif not read_matrix(role.id):
            save_matrix(role, matrix, commit=False)
        else:
            _sync_fab_permissions(role, read_matrix(role.id))
    db.session.commit()
