"""Users and roles: the rules that the users and roles screens and the security REST API
apply alike.

- Logins and e-mails are unique whatever their case (the login form finds a user by
  either, case-insensitively); names are not blank.
- The Administrator role is fixed: its name and rights cannot change and it cannot be
  deleted. The built-in roles keep their names (configuration and code refer to them).
- A role still given to users or departments is not deleted.
- At least one active user keeps the Administrator role (directly or through their
  department): no change may lock everybody out of the settings.
- A user that records refer to is deactivated, not deleted.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.database import db
from app.models import CrmUser, RoleInfo, department_role
from app.services import records
from app.services.records import Conflict, Forbidden, RecordInvalid
from app.services.roles import admin_role_name, is_builtin, public_role_name, role_label

ROLE_NAME_MAX = 64
ROLE_DESCRIPTION_MAX = 255
USER_FIELD_MAX = {"first_name": 64, "last_name": 64, "username": 128, "email": 320}


def _role_model():
    return current_app.appbuilder.sm.role_model


# --- users -----------------------------------------------------------------------------------


def user_problems(values: Mapping[str, Any], user_id: Optional[int] = None
                  ) -> dict[str, list[str]]:
    """What is wrong with the user fields in `values` (only those present are checked):
    blank or too long names, a login or an e-mail another user has."""
    errors: dict[str, list[str]] = {}
    for field, limit in USER_FIELD_MAX.items():
        if field not in values:
            continue
        value = values[field]
        if not isinstance(value, str) or not value.strip():
            errors[field] = [gettext("This field is required.")]
        elif len(value) > limit:
            errors[field] = [gettext("At most %(count)s characters.", count=limit)]
    table = CrmUser.__table__
    for field, message in (
            ("username", gettext("Another user already has this login.")),
            ("email", gettext("Another user already has this e-mail."))):
        value = values.get(field)
        if field in errors or not isinstance(value, str):
            continue
        column = table.c[field]
        query = select(table.c.id).where(func.lower(column) == value.strip().lower())
        if user_id is not None:
            query = query.where(table.c.id != user_id)
        if db.session.execute(query.limit(1)).first() is not None:
            errors[field] = [message]
    return errors


def administrators_remain() -> bool:
    """Whether an active user has the Administrator role, directly or through their
    department, as the session's pending changes leave it."""
    from flask_appbuilder.security.sqla.models import assoc_user_role

    role = _role_model()
    db.session.flush()
    admin_ids = select(role.id).where(role.name == admin_role_name())
    own = exists().where(assoc_user_role.c.user_id == CrmUser.id,
                         assoc_user_role.c.role_id.in_(admin_ids))
    by_department = exists().where(department_role.c.department_id == CrmUser.department_id,
                                   department_role.c.role_id.in_(admin_ids))
    query = select(CrmUser.id).where(CrmUser.active.is_(True), or_(own, by_department))
    return db.session.execute(query.limit(1)).first() is not None


def check_administrators_remain() -> None:
    """Refuse (roll back) a change that leaves no active administrator."""
    if not administrators_remain():
        db.session.rollback()
        raise Conflict(gettext("At least one active user must keep the Administrator role: "
                               "nobody could manage users and settings otherwise."))


def delete_user(user) -> None:
    """Delete a user nothing refers to; commits. Others are to be deactivated."""
    blockers = [(label, count) for label, count in records.references_to(user)
                if label is not None]
    if blockers:
        raise Conflict(gettext(
            "The user cannot be deleted while records refer to them (%(refs)s). "
            "Deactivate the user instead.",
            refs=", ".join(f"{label}: {count}" for label, count in blockers)))
    db.session.delete(user)
    check_administrators_remain()
    commit()


# --- roles -----------------------------------------------------------------------------------


def is_admin_role(role) -> bool:
    return role is not None and role.name == admin_role_name()


def role_name_problem(name: Any, role_id: Optional[int] = None) -> Optional[str]:
    """Why `name` cannot be a role's name, or None."""
    if not isinstance(name, str) or not name.strip():
        return gettext("This field is required.")
    name = name.strip()
    if len(name) > ROLE_NAME_MAX:
        return gettext("At most %(count)s characters.", count=ROLE_NAME_MAX)
    role = _role_model()
    query = select(role.id).where(func.lower(role.name) == name.lower())
    if role_id is not None:
        query = query.where(role.id != role_id)
    if db.session.execute(query.limit(1)).first() is not None:
        return gettext("Another role already has this name.")
    return None


def check_role_changeable(role) -> None:
    """The Administrator role has every right: nothing about it changes."""
    if is_admin_role(role):
        raise Forbidden(gettext("The Administrator role has every right; it cannot be "
                                "changed."))


def check_role_name(role, name: Any) -> str:
    """The name a role is to have, stripped; raises RecordInvalid when it cannot."""
    if role is not None and is_builtin(role.name) and name != role.name:
        raise RecordInvalid({"name": [gettext(
            "%(role)s is a built-in role: its name cannot be changed.",
            role=role_label(role.name))]})
    problem = role_name_problem(name, role.id if role is not None else None)
    if problem:
        raise RecordInvalid({"name": [problem]})
    return name.strip()


def check_role_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise RecordInvalid({"description": [gettext("Not a valid string.")]})
    description = description.strip()
    if len(description) > ROLE_DESCRIPTION_MAX:
        raise RecordInvalid({"description": [gettext("At most %(count)s characters.",
                                                     count=ROLE_DESCRIPTION_MAX)]})
    return description


def save_role(role, name: Any, description: Any = None) -> Any:
    """Create (`role` None) or rename a role, and describe it unless `description` is
    None; commits. Returns the role."""
    if role is not None:
        check_role_changeable(role)
    name = check_role_name(role, name)
    if description is not None:
        description = check_role_description(description)
    if role is None:
        role = _role_model()(name=name)
        db.session.add(role)
    else:
        role.name = name
    db.session.flush()
    if description is not None:
        info = db.session.get(RoleInfo, role.id)
        if info is None:
            db.session.add(RoleInfo(role_id=role.id, description=description))
        else:
            info.description = description
    commit()
    return role


def role_holders(role_id: int) -> tuple[int, int]:
    """(users, departments) the role is given to."""
    from flask_appbuilder.security.sqla.models import assoc_user_role

    users = db.session.execute(select(func.count()).select_from(assoc_user_role)
                               .where(assoc_user_role.c.role_id == role_id)).scalar()
    departments = db.session.execute(select(func.count()).select_from(department_role)
                                     .where(department_role.c.role_id == role_id)).scalar()
    return users, departments


def delete_role(role) -> None:
    """Delete a role nobody holds; commits. The Administrator and Guests roles stay."""
    check_role_changeable(role)
    if role.name == public_role_name():
        raise Conflict(gettext("The Guests role is needed by the application; it cannot be "
                               "deleted."))
    users, departments = role_holders(role.id)
    if users or departments:
        raise Conflict(gettext(
            "The role is given to %(users)s users and %(departments)s departments; take it "
            "away from them first.", users=users, departments=departments))
    # Also on SQLite, whose foreign keys do not cascade here.
    db.session.execute(delete(RoleInfo).where(RoleInfo.role_id == role.id))
    db.session.delete(role)
    commit()


def role_descriptions(role_ids: Iterable[int]) -> dict[int, str]:
    ids = list(role_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(RoleInfo.role_id, RoleInfo.description)
                                   .where(RoleInfo.role_id.in_(ids))).all())


def role_user_counts() -> dict[int, int]:
    """Role id -> number of active users who have it, themselves or by their department."""
    from flask_appbuilder.security.sqla.models import assoc_user_role

    own = select(assoc_user_role.c.role_id.label("role_id"), CrmUser.id.label("user_id")) \
        .join(CrmUser, CrmUser.id == assoc_user_role.c.user_id) \
        .where(CrmUser.active.is_(True))
    by_department = select(department_role.c.role_id.label("role_id"),
                           CrmUser.id.label("user_id")) \
        .join(CrmUser, CrmUser.department_id == department_role.c.department_id) \
        .where(CrmUser.active.is_(True))
    holders = own.union(by_department).subquery()
    return dict(db.session.execute(
        select(holders.c.role_id, func.count(holders.c.user_id)).group_by(holders.c.role_id)
    ).all())


# --- the unit of work ------------------------------------------------------------------------


def commit() -> None:
    """Commit; a unique value taken by someone else in the meantime is a clean 422."""
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise RecordInvalid(_integrity_errors(error)) from None


def _integrity_errors(error: IntegrityError) -> dict[str, list[str]]:
    text = str(getattr(error, "orig", error)).lower()
    if "username" in text:
        return {"username": [gettext("Another user already has this login.")]}
    if "email" in text:
        return {"email": [gettext("Another user already has this e-mail.")]}
    if "ab_role" in text and "name" in text:
        return {"name": [gettext("Another role already has this name.")]}
    return {"_schema": [gettext("A record with the same unique value already exists.")]}
