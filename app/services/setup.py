"""Idempotent set-up: roles and their permissions, the administrator, reference data."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select

from app import db
from app.models import DictionaryItem, Pipeline, Stage
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


SYSTEM_DICTIONARY = [
    # kind, code, name, points, sort
    ("interaction_type", "call", "Звонок", 2, 10),
    ("interaction_type", "meeting", "Встреча", 8, 20),
    ("interaction_type", "email", "Письмо", 1, 30),
    ("interaction_type", "message", "Сообщение", 1, 40),
    ("interaction_type", "task", "Задача", 1, 50),
    ("lost_reason", "price", "Не устроила цена", 0, 10),
    ("lost_reason", "competitor", "Выбрали конкурента", 0, 20),
    ("lost_reason", "no_need", "Потребность отпала", 0, 30),
    ("source", "website", "Сайт", 0, 10),
    ("source", "referral", "Рекомендация", 0, 20),
    ("source", "exhibition", "Выставка", 0, 30),
    ("source", "cold_call", "Холодный звонок", 0, 40),
]

DEFAULT_PIPELINE = ("Продажи", [
    ("Первый контакт", "open", "#5bc0de", False),
    ("Обсуждение условий", "open", "#337ab7", False),
    ("Заключение договора", "open", "#f0ad4e", True),
    ("Ожидание оплаты", "open", "#9b59b6", True),
    ("Завершение сделки", "open", "#1abc9c", True),
    ("Успешно реализовано", "won", "#5cb85c", True),
    ("Провалено", "lost", "#d9534f", False),
])


def ensure_reference_data() -> None:
    """The system directory items and the default pipeline every company starts with."""
    with acting_as(None):
        for kind, code, name, points, sort in SYSTEM_DICTIONARY:
            exists = db.session.execute(select(DictionaryItem.id).where(
                DictionaryItem.kind == kind, DictionaryItem.code == code)).first()
            if not exists:
                db.session.add(DictionaryItem(kind=kind, code=code, name=name, points=points,
                                              sort=sort, is_system=True))
        if db.session.execute(select(Pipeline.id).limit(1)).first() is None:
            name, stages = DEFAULT_PIPELINE
            pipeline = Pipeline(name=name, sort=10, is_default=True)
            db.session.add(pipeline)
            for index, (stage_name, kind, color, requires_client) in enumerate(stages):
                db.session.add(Stage(pipeline=pipeline, name=stage_name, kind=kind, color=color,
                                     sort=(index + 1) * 10, requires_client=requires_client,
                                     is_system=kind != "open"))
        db.session.commit()
