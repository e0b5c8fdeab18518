"""Who may do what with which records: the one access filter.

A role's rights matrix gives, for each entity and action, a scope:

    none < own < own department < department and sub-departments < all

A user has the roles of their department plus their own; the widest scope wins. The
administrator role has every right. A head of department reads at least the records of
the subtree they head (the 1C:CRM rule). `condition(user, model, action)` turns that into
a SQL restriction that every path applies: lists, show/edit/delete by id, bulk actions,
the API, lookups, related lists, the start page, and later exports, the kanban, reports.

The rights and the department tree are read from the database when the cache stamp
(app.services.stamp) has changed since they were last read, so a change of the matrix takes
effect on the next request of every user in every process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true

from app.entities import MODEL_ENTITY, OWNER_RELATION, TRACKED_MODELS, owner_column
from app.models import (
    ChangeLog,
    Client,
    Contact,
    CrmUser,
    Department,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    RoleRight,
    department_role,
)
from app.services import actor, request_scope
from app.services.stamp import StampedCache

NONE, OWN, DEPARTMENT, SUBTREE, ALL = range(5)

SCOPES = {
    NONE: _l("None"),
    OWN: _l("Own"),
    DEPARTMENT: _l("Own department"),
    SUBTREE: _l("Department and sub-departments"),
    ALL: _l("All"),
}

ENTITIES = {
    "client": _l("Clients"),
    "contact": _l("Contacts"),
    "inquiry": _l("Inquiries"),
    "interest": _l("Interests"),
    "interaction": _l("Interactions"),
    "product": _l("Products"),
    "report": _l("Reports"),
    "directory": _l("Directories"),
    "settings": _l("Settings"),
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

# Entities whose records belong to someone: only they have meaningful own/department scopes.
OWNED_ENTITIES = ("client", "contact", "inquiry", "interest", "interaction")

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

    def scope(self, entity: str, action: str) -> int:
        if self.is_admin:
            return ALL
        scope = self.scopes.get((entity, action), NONE)
        if action == "read" and entity in OWNED_ENTITIES and self.headed_subtree:
            scope = max(scope, SUBTREE)
        return scope


def _session():
    from app.database import db

    return db.session


def _departments() -> dict[int, tuple[Optional[int], Optional[int]]]:
    """Department id -> (parent id, head id)."""

    def read():
        rows = _session().execute(
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
    key = ("principal", user.id, department_id, own_roles)
    if key not in cache:
        cache[key] = _KEPT.get(key, lambda: _read_principal(user.id, department_id, own_roles))
    return cache[key]


def _read_principal(user_id: int, department_id: Optional[int],
                    own_roles: tuple[tuple[int, str], ...]) -> Principal:
    person = (user_id, department_id, own_roles)
    return _principal_of(person, _read_roles([person]))


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


def _read_roles(people: list[tuple[int, Optional[int], tuple[tuple[int, str], ...]]]) -> _Roles:
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
    rows = _session().execute(
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


def _principal_of(person: tuple[int, Optional[int], tuple[tuple[int, str], ...]],
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


# --- The filter ----------------------------------------------------------------------------


def _users_in(departments: Iterable[int]):
    return select(CrmUser.id).where(CrmUser.department_id.in_(sorted(departments)))


def _scope_departments(p: Principal, scope: int, action: str) -> set[int]:
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


def _owner_condition(p: Principal, column, scope: int, action: str):
    departments = _scope_departments(p, scope, action)
    if departments:
        return (column == p.user_id) | column.in_(_users_in(departments))
    return column == p.user_id


def condition(model, action: str = "read", user=None):
    """A SQL condition that keeps only the rows of `model` the user may `action`.

    It fails closed: a model that is neither in the rights matrix (MODEL_ENTITY) nor one of
    the EMPLOYEE_LISTS yields no rows for anyone but the administrator, so a new read path
    over a model nobody declared shows nothing rather than everything.
    """
    p = principal(user)
    if p.user_id is None:
        return false()
    if p.is_admin:
        return true()
    if model is ChangeLog:
        return _history_condition(user)
    entity = MODEL_ENTITY.get(model)
    if entity is None:
        return true() if model in EMPLOYEE_LISTS and action == "read" else false()
    scope = p.scope(entity, action)
    if scope == NONE:
        return false()
    if scope == ALL:
        return true()
    if model is InterestProduct:
        return InterestProduct.interest_id.in_(
            select(Interest.id).where(condition(Interest, action, user)))
    column = owner_column(model)
    if column is None:
        return true()  # products, directories, settings: no owner, any scope is all
    owned = _owner_condition(p, column, scope, action)
    if model is Contact:
        # A contact is also visible with its client.
        owned = owned | Contact.client_id.in_(
            select(Client.id).where(_owner_condition(p, Client.responsible_id, scope, action)))
    return owned


EVERY_OWNER = object()  # readable_owners: the access filter does not narrow the list


def readable_owners(model, user=None):
    """The users whose records of `model` the user may read, when that is all the access
    filter asks (`condition` is exactly "the owner is one of them"): a frozenset of their
    ids, EVERY_OWNER when the filter lets every row through, None when the filter is of
    another shape (the caller then reads through `condition` alone)."""
    p = principal(user)
    if p.user_id is None or model not in (Client, Inquiry, Interest, Interaction):
        return None
    if p.is_admin:
        return EVERY_OWNER
    scope = p.scope(MODEL_ENTITY[model], "read")
    if scope == ALL:
        return EVERY_OWNER
    if scope == NONE:
        return None
    departments = _scope_departments(p, scope, "read")
    owners = {p.user_id}
    if departments:
        owners |= set(_session().execute(_users_in(departments)).scalars())
    return frozenset(owners)


def readable(model, *columns, action: str = "read", user=None):
    """SELECT `columns` (default: the records) of the rows of `model` the user may
    `action`: the one way to read owned records outside the lists' data model."""
    return select(*(columns or (model,))).select_from(model).where(
        condition(model, action, user))


def possible_owners(model, user_column, action: str = "read", user=None):
    """A condition on a column of user ids that holds for every user whose records of
    `model` the user may `action`; None when that is no narrower than all users.

    Used to skip, before asking the database, the users none of whose records can show
    (sorting a list by its responsible reads one index range per user). Contacts are also
    visible through their client, whoever their responsible is: never narrowed."""
    p = principal(user)
    entity = MODEL_ENTITY.get(model)
    column = owner_column(model)
    if p.is_admin or entity is None or column is None or model is Contact:
        return None
    scope = p.scope(entity, action)
    if scope == NONE:
        return false()
    if scope == ALL:
        return None
    return _owner_condition(p, user_column, scope, action)


def _history_condition(user=None):
    """The change log of the records the user can read."""
    from sqlalchemy import or_

    return or_(*[
        (ChangeLog.entity == model.__name__)
        & ChangeLog.record_id.in_(select(model.id).where(condition(model, "read", user)))
        for model in TRACKED_MODELS
    ])


def can(entity: str, action: str, user=None) -> bool:
    """May the user `action` any record of `entity` at all?"""
    return principal(user).scope(entity, action) > NONE


def allows(obj, action: str, user=None) -> bool:
    """May the user `action` this saved record? One query by primary key."""
    model = type(obj)
    return _session().execute(
        select(model.id).where(model.id == obj.id, condition(model, action, user))
    ).first() is not None


def owner_of(obj) -> Optional[int]:
    relation = OWNER_RELATION.get(type(obj))
    if relation is None:
        return None
    related = getattr(obj, relation, None)
    if related is not None:
        return related.id
    return getattr(obj, owner_column(type(obj)).key)


def assign_default_owner(obj, user=None) -> None:
    """A new record without a responsible belongs to the user who creates it."""
    relation = OWNER_RELATION.get(type(obj))
    if relation is None or owner_of(obj) is not None:
        return
    if user is None:
        user = actor.current_user()
    if user is not None and getattr(user, "is_authenticated", False):
        setattr(obj, relation, _session().get(CrmUser, user.id))


def user_within_scope(user_id: Optional[int], scope: int, p: Principal) -> bool:
    if scope == ALL:
        return True
    if user_id is None or scope == NONE:
        return False
    if user_id == p.user_id:
        return True
    if scope == OWN:
        return False
    department_id = _session().execute(
        select(CrmUser.department_id).where(CrmUser.id == user_id)).scalar()
    if department_id is None:
        return False
    if scope == DEPARTMENT:
        return department_id == p.department_id
    return department_id in subtree(p.department_id)


def can_reassign(model, user=None) -> bool:
    """May the user choose who is responsible for a record of `model`?"""
    entity = MODEL_ENTITY.get(model)
    return entity is not None and principal(user).scope(entity, "reassign") > NONE


def assignable_users_condition(model, user=None):
    """The users the current user may make responsible for a record of `model`."""
    p = principal(user)
    if p.is_admin:
        return true()
    entity = MODEL_ENTITY.get(model)
    scope = p.scope(entity, "reassign") if entity else NONE
    if scope == ALL:
        return true()
    if scope in (NONE, OWN):
        return CrmUser.id == p.user_id
    departments = {p.department_id} if scope == DEPARTMENT else subtree(p.department_id)
    return (CrmUser.id == p.user_id) | CrmUser.department_id.in_(sorted(departments))


def authorize_save(obj, *, is_new: bool, previous_owner: Optional[int] = None,
                   previous_links: Optional[dict[str, Optional[int]]] = None,
                   user=None) -> None:
    """Refuse a save that the user's rights do not cover (raise Forbidden).

    - adding or editing needs the right to, within a scope that holds the record's owner
      after the save (a record cannot be pushed out of one's own scope);
    - making someone else responsible needs the reassign right over that person;
    - a new link to a client, contact or interest needs the right to read it; a link kept
      as it was (`previous_links`, from links_of() before the change) does not.

    The record is judged as it is in memory: the queries made here do not flush the change
    to the database, which only the save does (there a version conflict is a 409; flushed
    from here it was a crash).
    """
    with _session().no_autoflush:
        _authorize_save(obj, is_new=is_new, previous_owner=previous_owner,
                        previous_links=previous_links, user=user)


def _authorize_save(obj, *, is_new: bool, previous_owner: Optional[int],
                    previous_links: Optional[dict[str, Optional[int]]], user) -> None:
    from flask_babel import gettext

    from app.services.records import Forbidden

    p = principal(user)
    if p.is_admin:
        return
    model = type(obj)
    _authorize_links(obj, previous_links or {}, user)
    if model is InterestProduct:
        interest = obj.interest
        if interest is None or (interest.id is not None and not allows(interest, "edit", user)):
            raise Forbidden(gettext("You may not change this interest."))
        return
    entity = MODEL_ENTITY.get(model)
    action = "add" if is_new else "edit"
    scope = p.scope(entity, action) if entity else NONE
    if scope == NONE:
        raise Forbidden(gettext("You do not have the right to do this."))
    if model not in OWNER_RELATION:
        return
    owner = owner_of(obj)
    owner_changed = owner != (p.user_id if is_new else previous_owner)
    if owner_changed and owner is not None:
        reassign = p.scope(entity, "reassign")
        if not user_within_scope(owner, reassign, p):
            raise Forbidden(gettext(
                "You may not make another employee responsible for this record."))
    if owner is None and model is Contact and obj.client is not None:
        if obj.client.id is not None and not allows(obj.client, "read", user):
            raise Forbidden(gettext("You do not have the right to do this."))
        return
    if not user_within_scope(owner, scope, p) and not _client_within_scope(obj, scope, p):
        raise Forbidden(gettext(
            "After this change the record would be outside what you may see; "
            "choose a responsible within your scope."))


def _client_within_scope(obj, scope: int, p: Principal) -> bool:
    """A contact is within a scope with its client, as condition() has it."""
    client = obj.client if isinstance(obj, Contact) else None
    return client is not None and user_within_scope(owner_of(client), scope, p)


def _links(model):
    """The many-to-one relations of `model` to records that have owners, with their keys."""
    from sqlalchemy import inspect as sa_inspect

    for relation in sa_inspect(model).relationships:
        if relation.direction.name == "MANYTOONE" and relation.mapper.class_ in OWNER_RELATION:
            yield relation, list(relation.local_columns)[0].key


def links_of(obj) -> dict[str, Optional[int]]:
    """The clients, contacts and interests a saved record links to: {relation: id}. Taken
    before an edit, so that authorize_save() knows which links are new."""
    return {relation.key: getattr(obj, column) for relation, column in _links(type(obj))}


def _authorize_links(obj, previous: dict[str, Optional[int]], user=None) -> None:
    """A record may only be newly linked to clients, contacts and interests the user can
    see. A link kept as it was stays, even to a record given to someone else since."""
    from flask_babel import gettext

    from app.services.records import RecordInvalid

    for relation, _column in _links(type(obj)):
        target = getattr(obj, relation.key, None)
        if target is None or target.id is None or previous.get(relation.key) == target.id:
            continue
        if not allows(target, "read", user):
            raise RecordInvalid({relation.key: [gettext("The chosen record does not exist.")]})
