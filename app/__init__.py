"""Application factory: extensions, AppBuilder, views, APIs and commands are wired here."""

from __future__ import annotations

import logging

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

import config
from app.database import db  # noqa: F401 - app.db, as the extensions know it

migrate = Migrate()
csrf = CSRFProtect()
appbuilder = None  # set by create_app; FAB views reach it through current_app.appbuilder

log = logging.getLogger(__name__)


def create_app(config_object="config.Config", **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_object)
    app.config.update(overrides)
    config.complete(app.config)
    # The schema is made by migrations only; permissions are synced by `flask crm init`.
    app.config["FAB_CREATE_DB"] = False
    app.config.setdefault("FAB_UPDATE_PERMS", False)
    app.config["FAB_SECURITY_MANAGER_CLASS"] = "app.fab.security.CrmSecurityManager"
    # The spec view is app.fab.openapi's, which corrects what FAB's says.
    app.config["FAB_ADD_OPENAPI_VIEWS"] = False

    from app import models  # noqa: F401  (registers the tables on Model.metadata)
    from app.services import audit, custom_fields, stamp

    db.init_app(app)
    with app.app_context():
        install_sqlite_pragmas(db.engine, app.config.get("CRM_SQLITE_PRAGMAS") or {})
        install_sqlite_functions(db.engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()), compare_type=True)
    csrf.init_app(app)

    from app import api, cli, errors, views
    from app.fab import api_fields, export_sources, openapi, widgets
    from app.screens import notifications as notification_screens
    from app.web import auth, request_guard

    api_fields.install()
    with app.app_context():
        audit.install(db.session)
        custom_fields.install(db.session)
        stamp.install()
        builder = AppBuilder()
        builder.init_app(app, db.session)
        views.register(builder)
        api.register(builder)
        openapi.register(builder)
        export_sources.install()
        errors.register(app)
        auth.install(app)
        cli.register(app)
        widgets.install(app)
        notification_screens.install(app)
        request_guard.install(app, builder)
    global appbuilder
    appbuilder = builder
    return app


def install_sqlite_pragmas(engine, pragmas: dict) -> None:
    """Set `pragmas` (config CRM_SQLITE_PRAGMAS) on every new connection of an SQLite
    engine; other databases are left alone."""
    if engine.dialect.name != "sqlite" or not pragmas:
        return
    from sqlalchemy import event

    def apply(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            for name, value in pragmas.items():
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    event.listen(engine, "connect", apply)


def install_sqlite_functions(engine) -> None:
    """`crm_fold(text)`: text in lower case with "ё" as "е", as the custom fields' text
    filters compare it (SQLite's lower() folds Latin letters only)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    from app.rules.validation import fold_case

    def register(dbapi_connection, _record):
        dbapi_connection.create_function("crm_fold", 1, fold_case, deterministic=True)

    event.listen(engine, "connect", register)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
