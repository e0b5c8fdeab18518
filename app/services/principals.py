"""Who a user is to the access filter (app.services.access): the rights matrix's entities,
actions and scopes, and a user's principal: their roles (their own and their
department's), the widest scope each role gives per entity and action, and the
departments they head. Read from the database when the cache stamp (app.services.stamp)
has changed since they were last read; kept per request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.database import db
from app.entities import MATRIX_ENTITIES as MATRIX_ENTITIES
from app.entities import OWNED_ENTITIES as OWNED_ENTITIES
from app.models import Absence, CrmUser, Department, RoleRight, department_role
from app.services import actor, request_scope
from app.services.clock import local_today
from app.services.stamp import StampedCache

NONE, OWN, DEPARTMENT, SUBTREE, ALL = range(5)

SCOPES = {
    NONE: _l("None"),
    OWN: _l("Own"),
    DEPARTMENT: _l("Own department"),
    SUBTREE: _l("Department and sub-departments"),
    ALL: _l("All"),
}

ACTIONS = {
    "read": _l("Reading"),
    "add": _l("Adding"),
    "edit": _l("Editing"),
    "delete": _l("Deleting"),
    "export": _l("Export"),
    "import": _l("Import"),
    "reassign": _l("Reassigning the responsible"),
}


# Outside the matrix, read by every employee: the people a record can be given to (select
# boxes, names in lists). Changed only by the administrator.
EMPLOYEE_LISTS = (CrmUser,)


# --- The user's rights ---------------------------------------------------------------------


@dataclass
class Principal:
    """What one user may do (kept between requests while the cache stamp holds)."""

    user_id: Optional[int]
    department_id: Optional[int]
    is_admin: bool
    role_ids: set[int]
    scopes: dict[tuple[str, str], int] = field(default_factory=dict)
    headed_subtree: set[int] = field(default_factory=set)
    # The employees away today for whom the user is the deputy (app.services.absences):
    # their records the user reads and edits as their own.
    stands_in_for: frozenset[int] = frozenset()

    def scope(self, entity: str, action: str) -> int:
        if self.is_admin:
            return ALL
        scope = self.scopes.get((entity, action), NONE)
        if action == "read" and entity in OWNED_ENTITIES and self.headed_subtree:
            scope = max(scope, SUBTREE)
        return scope


def _departments() -> dict[int, tuple[Optional[int], Optional[int]]]:
    """Department id -> (parent id, head id)."""

    def read():
        rows = db.session.execute(
            select(Department.id, Department.parent_id, Department.head_id)).all()
        return {row.id: (row.parent_id, row.head_id) for row in rows}

    cache = _request_cache()
    if "departments" not in cache:
        cache["departments"] = _KEPT.get("departments", read)
    return cache["departments"]


def subtree(department_id: Optional[int]) -> set[int]:
    """A department and every department below it."""
    if department_id is None:
        return set()
    children: dict[Optional[int], list[int]] = {}
    for dep_id, (parent_id, _head) in _departments().items():
        children.setdefault(parent_id, []).append(dep_id)
    found, stack = set(), [department_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


# The rights of users and the department tree, kept between requests (app.services.stamp).
_KEPT = StampedCache()


def _request_cache() -> dict:
    store = request_scope.request_store()
    return {} if store is None else store.setdefault("access", {})


def principal(user=None) -> Principal:
    """The rights of `user` (default: who acts now, app.services.actor)."""
    if user is None:
        user = actor.current_user()
    if user is None or not getattr(user, "is_authenticated", False):
        return Principal(None, None, False, set())
    cache = _request_cache()
    department_id = getattr(user, "department_id", None)
    own_roles = tuple(sorted((role.id, role.name) for role in user.roles))
    # Absences begin and end with the company's days.
    today = local_today()
    key = ("principal", user.id, department_id, own_roles, today)
    if key not in cache:
        cache[key] = _KEPT.get(
            key, lambda: _read_principal(user.id, department_id, own_roles, today))
    return cache[key]


def _read_principal(user_id: int, department_id: Optional[int],
                    own_roles: tuple[tuple[int, str], ...], today: dt.date) -> Principal:
    person = (user_id, department_id, own_roles)
    return replace(principal_of(person, read_roles([person])),
                   stands_in_for=absent_for(user_id, today))


def absent_for(deputy_id: int, day: dt.date) -> frozenset[int]:
    """The employees whose absence, planned or under way, holds `day` with this deputy."""
    return frozenset(db.session.execute(
        select(Absence.user_id).where(Absence.deputy_id == deputy_id,
                                      Absence.starts_on <= day, Absence.ends_on >= day,
                                      Absence.status.in_(("planned", "active")))).scalars())


@dataclass
class _Roles:
    """The roles that several users hold, read in one statement: names, rights, and which
    roles each department gives its employees."""

    names: dict[int, str] = field(default_factory=dict)
    rights: dict[int, dict[tuple[str, str], int]] = field(default_factory=dict)
    of_department: dict[int, set[int]] = field(default_factory=dict)


def _own_admin(own_roles: tuple[tuple[int, str], ...]) -> bool:
    admin_name = current_app.config.get("AUTH_ROLE_ADMIN", "Admin")
    return any(name == admin_name for _id, name in own_roles)


def read_roles(people: list[tuple[int, Optional[int], tuple[tuple[int, str], ...]]]) -> _Roles:
    """The roles of `people` ((user id, department id, own roles) each): their own and
    their departments', with their rights. Administrators by their own role need none."""
    from flask_appbuilder.security.sqla.models import Role

    roles = _Roles()
    people = [person for person in people if not _own_admin(person[2])]
    if not people:
        return roles
    own_ids = sorted({role_id for _user, _dep, own in people for role_id, _name in own})
    departments = sorted({dep for _user, dep, _own in people if dep is not None})
    link = department_role.c
    rows = db.session.execute(
        select(Role.id, Role.name, RoleRight.entity, RoleRight.action, RoleRight.scope,
               link.department_id)
        .outerjoin(RoleRight, RoleRight.role_id == Role.id)
        .outerjoin(department_role,
                   (link.role_id == Role.id) & link.department_id.in_(departments))
        .where(Role.id.in_(own_ids) | link.department_id.is_not(None))
    ).all()
    for row in rows:
        roles.names[row.id] = row.name
        rights = roles.rights.setdefault(row.id, {})
        if row.entity is not None:
            cell = (row.entity, row.action)
            rights[cell] = max(rights.get(cell, NONE), row.scope)
        if row.department_id is not None:
            roles.of_department.setdefault(row.department_id, set()).add(row.id)
    return roles


def principal_of(person: tuple[int, Optional[int], tuple[tuple[int, str], ...]],
                  roles: _Roles) -> Principal:
    user_id, department_id, own_roles = person
    admin_name = current_app.config.get("AUTH_ROLE_ADMIN", "Admin")
    role_ids = {role_id for role_id, _name in own_roles}
    if _own_admin(own_roles):
        return Principal(user_id, department_id, True, role_ids)
    role_ids |= roles.of_department.get(department_id, set())
    is_admin = any(roles.names.get(role_id) == admin_name for role_id in role_ids)
    scopes: dict[tuple[str, str], int] = {}
    headed_subtree: set[int] = set()
    if not is_admin:
        for role_id in role_ids:
            for cell, scope in roles.rights.get(role_id, {}).items():
                scopes[cell] = max(scopes.get(cell, NONE), scope)
        for dep_id, (_parent, head_id) in _departments().items():
            if head_id == user_id:
                headed_subtree |= subtree(dep_id)
    return Principal(user_id, department_id, is_admin, role_ids, scopes, headed_subtree)


def scope_departments(p: Principal, scope: int, action: str) -> set[int]:
    """The departments whose employees' records a scope short of all gives the user, on
    top of the user's own records."""
    departments: set[int] = set()
    if scope >= SUBTREE:
        departments = subtree(p.department_id)
    elif scope == DEPARTMENT and p.department_id is not None:
        departments = {p.department_id}
    if action == "read" and p.headed_subtree:
        departments |= p.headed_subtree
    return departments
