"""Idempotent set-up: roles and their permissions, the administrator, reference data."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select

from app.database import db
from app.models import DictionaryItem, Pipeline, Stage
from app.seed import DEFAULT_PIPELINE, SYSTEM_DIRECTORY
from app.services.actor import acting_as
from app.services.rights import BUILTIN_ROLES, sync_builtin_roles

# The built-in roles and their rights matrices (app.services.rights).
ROLES = BUILTIN_ROLES


def sync_roles() -> None:
    """Create every permission the registered views need, FAB's Admin and Public roles and
    the built-in CRM roles. Idempotent; a matrix the administrator changed stays."""
    from flask_appbuilder.security.manager import BaseSecurityManager

    appbuilder = current_app.appbuilder
    # FAB's Admin and Public roles; the tables themselves come from the migrations.
    BaseSecurityManager.create_db(appbuilder.sm)
    remove_stale_permissions()
    appbuilder.add_permissions(update_perms=True)
    sync_builtin_roles()


def remove_stale_permissions() -> None:
    """Take away from every role, and delete, the permissions that no registered screen,
    API or menu entry has any more: FAB's permission, view-menu, statistics and group
    screens, and the actions and endpoints the CRM's security screens leave out."""
    from flask_appbuilder.security.sqla.models import (
        Permission,
        PermissionView,
        ViewMenu,
        assoc_permissionview_role,
    )

    appbuilder = current_app.appbuilder
    wanted: dict[str, set[str]] = {}
    for view in appbuilder.baseviews:
        wanted.setdefault(view.class_permission_name, set()).update(view.base_permissions)
    menu_names = set()
    for category in appbuilder.menu.get_list():
        menu_names.add(category.name)
        menu_names.update(item.name for item in category.childs if item.name != "-")
    rows = db.session.execute(
        select(PermissionView.id, Permission.name, ViewMenu.name)
        .join(Permission, PermissionView.permission_id == Permission.id)
        .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)).all()
    stale = [pv_id for pv_id, permission, view in rows
             if not (permission in wanted.get(view, ())
                     or (permission == "menu_access" and view in menu_names))]
    if not stale:
        return
    db.session.execute(delete(assoc_permissionview_role)
                       .where(assoc_permissionview_role.c.permission_view_id.in_(stale)))
    db.session.execute(delete(PermissionView).where(PermissionView.id.in_(stale)))
    kept_names = sorted(wanted.keys() | menu_names)
    db.session.execute(delete(ViewMenu).where(
        ViewMenu.id.notin_(select(PermissionView.view_menu_id)),
        ViewMenu.name.notin_(kept_names)))
    db.session.execute(delete(Permission).where(
        Permission.id.notin_(select(PermissionView.permission_id))))
    db.session.commit()


def ensure_admin(username: str, password: str) -> bool:
    """Create the first administrator unless a user with that login exists."""
    sm = current_app.appbuilder.sm
    admin_role = sm.find_role(current_app.config["AUTH_ROLE_ADMIN"])
    existing = sm.find_user(username=username)
    if existing is not None:
        if admin_role not in existing.roles:
            existing.roles.append(admin_role)
            db.session.commit()
        return False
    user = sm.add_user(username=username, first_name="Администратор", last_name="",
                       email=f"{username}@voronka.local", role=admin_role,
                       password=password)
    if not user:
        raise RuntimeError("The administrator could not be created")
    return True


def ensure_directory(directory: dict, add, *, is_system: bool = False) -> None:
    """Add the items of `directory` (kind -> [(code, name, points, colour)]) that are
    missing (same kind and code), each sorted by its place in its kind's list after the
    system items of that kind. `add` puts a new record into the session."""
    existing = set(db.session.execute(select(DictionaryItem.kind, DictionaryItem.code)).all())
    for kind, items in directory.items():
        first = 0 if is_system else len(SYSTEM_DIRECTORY.get(kind, []))
        for index, (code, name, points, color) in enumerate(items, start=first + 1):
            if (kind, code) not in existing:
                add(DictionaryItem(kind=kind, code=code, name=name, points=points,
                                   color=color, sort=index * 10, is_system=is_system))


def ensure_pipeline(name: str, stages: list, add, *, sort: int,
                    is_default: bool) -> Pipeline:
    """The pipeline called `name`, made with `stages` if it does not exist or has none;
    the default one only while no other is."""
    session = db.session
    pipeline = session.execute(select(Pipeline).where(Pipeline.name == name)).scalar_one_or_none()
    if pipeline is None:
        is_default = is_default and session.execute(
            select(Pipeline.id).where(Pipeline.is_default.is_(True)).limit(1)).first() is None
        pipeline = add(Pipeline(name=name, sort=sort, is_default=is_default))
        session.flush()
    has_stages = session.execute(
        select(Stage.id).where(Stage.pipeline_id == pipeline.id).limit(1)).first()
    if not has_stages:
        for index, (stage_name, kind, color, requires_client, probability, days_limit) \
                in enumerate(stages, start=1):
            add(Stage(pipeline=pipeline, pipeline_id=pipeline.id, name=stage_name, kind=kind,
                      color=color, sort=index * 10, requires_client=requires_client,
                      probability=probability, days_limit=days_limit,
                      is_system=kind != "open"))
        session.flush()
    return pipeline


def _add(obj):
    db.session.add(obj)
    return obj


def ensure_reference_data() -> None:
    """The system directory items and the default pipeline every company starts with (a
    company that already has a pipeline gets no other)."""
    with acting_as(None, name="setup"):
        ensure_directory(SYSTEM_DIRECTORY, _add, is_system=True)
        if db.session.execute(select(Pipeline.id).limit(1)).first() is None:
            name, stages = DEFAULT_PIPELINE
            ensure_pipeline(name, stages, _add, sort=10, is_default=True)
        db.session.commit()
