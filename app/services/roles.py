"""The roles as people read them: the built-in roles' names in the user's language and
what each role is for.

The stored names stay as they are -- the configuration (AUTH_ROLE_ADMIN, AUTH_ROLE_PUBLIC)
and the code (app.services.rights.BUILTIN_ROLES) refer to them -- and are translated
wherever a role is shown: `role_label(name)`, also a Jinja filter (`name|role_label`).
"""

from __future__ import annotations

from typing import Callable, Optional

from flask import current_app
from flask_babel import gettext


def admin_role_name() -> str:
    return current_app.config.get("AUTH_ROLE_ADMIN", "Admin")


def public_role_name() -> str:
    return current_app.config.get("AUTH_ROLE_PUBLIC", "Public")


# The CRM's own built-in roles (app.services.rights.BUILTIN_ROLES), by stored name.
_CRM_LABELS: dict[str, Callable[[], str]] = {
    "Supervisor": lambda: gettext("Supervisor"),
    "Manager": lambda: gettext("Manager"),
    "Read-only": lambda: gettext("Read-only"),
}

_CRM_DESCRIPTIONS: dict[str, Callable[[], str]] = {
    "Supervisor": lambda: gettext(
        "Head of a department: every CRM record of their department and its "
        "sub-departments, reports and export; directories read-only."),
    "Manager": lambda: gettext(
        "A salesperson: their own clients, contacts, inquiries, interests and "
        "interactions; the price list and directories read-only."),
    "Read-only": lambda: gettext("Reads everything, changes nothing."),
}


def builtin_role_names() -> tuple[str, ...]:
    return (admin_role_name(), public_role_name(), *_CRM_LABELS)


def is_builtin(name: Optional[str]) -> bool:
    return name in builtin_role_names()


def role_label(name: Optional[str]) -> str:
    """The name of a role as shown: the built-in roles' translated, others as stored."""
    if name is None:
        return ""
    if name == admin_role_name():
        return gettext("Administrator")
    if name == public_role_name():
        return gettext("Guests")
    label = _CRM_LABELS.get(name)
    return label() if label is not None else name


def role_labels(roles) -> str:
    """Roles (objects with a name) as one line: "Manager, Supervisor"."""
    return ", ".join(sorted(role_label(role.name) for role in roles or ()))


def role_description(name: Optional[str], stored: Optional[str] = None) -> str:
    """What a role is for: what the administrator wrote, else the built-in role's text
    (the Administrator's and the Guests' are fixed)."""
    if name == admin_role_name():
        return gettext("Everything, users, roles and settings included. Its rights cannot "
                       "be changed.")
    if name == public_role_name():
        return gettext("Visitors who have not logged in. Its rights apply to everyone before "
                       "the login; keep it without rights.")
    if stored:
        return stored
    description = _CRM_DESCRIPTIONS.get(name)
    return description() if description is not None else ""


def install(app) -> None:
    app.jinja_env.filters["role_label"] = role_label
