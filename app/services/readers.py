"""Who can read a record, and why: the panel of a record's page.

Each active user is judged as the access filter (app.services.access.condition) judges
them: by their scope and whether the record's owner is the user or an employee of the
departments that scope covers. The same few statements whatever the number of users.
"""

from __future__ import annotations

from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from app.database import db
from app.entities import MODEL_ENTITY, PARENTS, owner_column
from app.models import ChangeLog, Client, Contact, CrmUser
from app.services.principals import (
    ALL,
    EMPLOYEE_LISTS,
    NONE,
    SCOPES,
    Principal,
    principal_of,
    read_roles,
    scope_departments,
)
from app.services.roles import admin_role_name, role_label


def readers_of(obj) -> list[dict[str, Any]]:
    """Who can read this record, and why: [{user, role, scope}] — for the show page.

    The same few statements whatever the number of users: the active users with their
    roles, the rights of those roles, the record's owners with their departments. Each
    user is then judged as condition() judges them: by their scope and whether the
    record's owner is the user or an employee of the departments that scope covers."""

    model = type(obj)
    if model is ChangeLog:
        raise ValueError("who reads a change-log entry follows its record: ask for that")
    entity = MODEL_ENTITY.get(model)
    users = db.session.execute(
        select(CrmUser).where(CrmUser.active.is_(True)).options(selectinload(CrmUser.roles))
        .order_by(CrmUser.first_name, CrmUser.last_name, CrmUser.id)).scalars().all()
    people = {user.id: (user.id, user.department_id,
                        tuple(sorted((role.id, role.name) for role in user.roles)))
              for user in users}
    roles = read_roles(list(people.values()))
    owners = _record_owners(obj)
    result = []
    for candidate in users:
        p = principal_of(people[candidate.id], roles)
        if not _reads(p, entity, owners, model in EMPLOYEE_LISTS):
            continue
        if p.is_admin:
            reason_role, reason_scope = role_label(admin_role_name()), ALL
        else:
            best = p.scopes.get((entity, "read"), NONE)
            reason_scope = p.scope(entity, "read")
            names = [] if reason_scope > best else sorted(
                role_label(roles.names[role_id]) for role_id in p.role_ids
                if roles.rights.get(role_id, {}).get((entity, "read")) == best)
            # Wider than any role: the head of department rule.
            reason_role = ", ".join(names) or str(_l("Head of department"))
        result.append({"user": candidate, "role": reason_role,
                       "scope": SCOPES[reason_scope]})
    return result


def _record_owners(obj) -> Optional[list[tuple[Optional[int], Optional[int]]]]:
    """The users whose records condition() counts this record among, each with their
    department: its responsible, and for a contact also its client's responsible; a
    record that goes with a parent (an interest's product) with that one. None for a
    record without an owner."""

    model, pk = type(obj), obj.id
    if model in PARENTS:
        link, parent = PARENTS[model].parent_relation
        model, pk = parent, getattr(obj, link.key)
    column = owner_column(model)
    if column is None:
        return None
    owner = aliased(CrmUser)
    query = (select(column, owner.department_id).select_from(model)
             .outerjoin(owner, owner.id == column).where(model.id == pk))
    if model is Contact:
        client, client_owner = aliased(Client), aliased(CrmUser)
        query = (query.add_columns(client.responsible_id, client_owner.department_id)
                 .outerjoin(client, client.id == Contact.client_id)
                 .outerjoin(client_owner, client_owner.id == client.responsible_id))
    row = db.session.execute(query).first()
    if row is None:
        return []
    return [(row[index], row[index + 1]) for index in range(0, len(row), 2)]


def _reads(p: Principal, entity: Optional[str],
           owners: Optional[list[tuple[Optional[int], Optional[int]]]],
           entity_free_reads: bool = False) -> bool:
    """Does condition(model, "read") of user `p` hold for a record with these owners?
    `entity_free_reads`: the model is outside the matrix and every employee reads it."""
    if p.is_admin:
        return True
    if entity is None:
        return entity_free_reads
    scope = p.scope(entity, "read")
    if scope == NONE:
        return False
    if scope == ALL or owners is None:
        return True
    departments = scope_departments(p, scope, "read")
    return any(owner is not None and (owner == p.user_id or department in departments)
               for owner, department in owners)
