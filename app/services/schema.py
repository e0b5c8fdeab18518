"""The application runs only on a schema that the migrations made."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.database import db

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def head_revisions() -> set[str]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def schema_problem() -> Optional[str]:
    """None when the database is at the latest migration, else what to do about it."""

    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = head_revisions()
    if current == heads:
        return None
    if not current:
        return ("The database has no schema yet. Run `flask db upgrade` "
                "(or `make run`, which does it).")
    return (f"The database schema is at {', '.join(sorted(current))}, the code expects "
            f"{', '.join(sorted(heads))}. Run `flask db upgrade`.")
