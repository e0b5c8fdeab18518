"""Writing generated rows in bulk, bypassing the ORM: COPY on PostgreSQL, `executemany`
of plain tuples on SQLite, Core `insert()` elsewhere; the tables and columns written, the
secondary indexes and foreign keys a large load drops and builds again, ids and sequences,
and fresh planner statistics at the end (app.sample_data.generator)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Optional

from sqlalchemy import func, select, text

from app.database import db
from app.models import (
    AUDIT_STAMPS,
    Model,
)

AUDIT = AUDIT_STAMPS

COLUMNS = {
    "crm_client": ("id", "kind", "name", "name_search", "inn", "kpp", "ogrn", "phone",
                   "phone_normalized", "phone_tail", "email", "email_normalized",
                   "email_domain", "site", "address",
                   "industry_id", "size_id", "contact_type_id", "source_id", "responsible_id",
                   "abc_class", "xyz_class", *AUDIT, "version"),
    "crm_client_tag": ("client_id", "tag_id"),
    "crm_contact": ("id", "client_id", "name", "name_search", "position", "phone",
                    "phone_normalized", "phone_tail", "email", "email_normalized",
                    "email_domain", "birthday", "birthday_key", "is_key",
                    "responsible_id", *AUDIT, "version"),
    "crm_interest": ("id", "title", "title_search", "description", "service_type_id",
                     "deal_type_id", "source_id", "pipeline_id", "stage_id", "amount",
                     "currency", "responsible_id", "client_id", "potential_name",
                     "potential_company", "potential_email", "potential_phone", "flagged",
                     "closed_at", "closed_by_id", "lost_reason_id", *AUDIT, "version"),
    "crm_interest_tag": ("interest_id", "tag_id"),
    "crm_interest_product": ("id", "interest_id", "product_id", "quantity", "price",
                             "discount", *AUDIT),
    "crm_interaction": ("id", "type_id", "subject", "client_id", "contact_id", "interest_id",
                        "responsible_id", "planned_at", "done_at", "status", "result", *AUDIT,
                        "version"),
    "crm_inquiry": ("id", "channel", "inquiry_type_id", "text", "sender_name",
                    "sender_company", "sender_phone", "sender_email", "received_at",
                    "manager_id", "status", "client_id", "interest_id", *AUDIT, "version"),
}
# Parents before children: on PostgreSQL the foreign keys are checked row by row.
TABLE_ORDER = list(COLUMNS)
ID_TABLES = [name for name, columns in COLUMNS.items() if columns[0] == "id"]


# --- Writers -------------------------------------------------------------------------------


class Writer:
    """Core insert() of lists of dicts: any database SQLAlchemy speaks."""

    def __init__(self, connection):
        self.connection = connection

    @staticmethod
    def ts(value: Optional[dt.datetime]):
        return value

    day = ts

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = COLUMNS[table]
        target = Model.metadata.tables[table]
        self.connection.execute(target.insert(),
                                [dict(zip(columns, row, strict=True)) for row in rows])

    def begin_load(self) -> None:
        """Session settings for the load, outside its transaction."""

    def begin_transaction(self) -> None:
        """Open the load's transaction so that the DDL in it is rolled back on failure."""

    def end_load(self) -> None:
        """Put the session settings back."""


class SqliteWriter(Writer):
    """executemany of plain tuples; times in the text form SQLAlchemy stores on SQLite."""

    def __init__(self, connection):
        super().__init__(connection)
        self.sql = {
            table: f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join('?' for _ in columns)})"
            for table, columns in COLUMNS.items()
        }
        self.saved_pragmas: dict[str, object] = {}

    @staticmethod
    def ts(value: Optional[dt.datetime]):
        return None if value is None else value.isoformat(" ", "microseconds")

    @staticmethod
    def day(value: Optional[dt.date]):
        return None if value is None else value.isoformat()

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.sql[table], rows)

    def begin_load(self) -> None:
        # Durability of a half-written load does not matter; speed does.
        for pragma, value in (("synchronous", "OFF"), ("cache_size", "-400000"),
                              ("temp_store", "MEMORY")):
            self.saved_pragmas[pragma] = self.connection.exec_driver_sql(
                f"PRAGMA {pragma}").scalar()
            self.connection.exec_driver_sql(f"PRAGMA {pragma}={value}")

    def begin_transaction(self) -> None:
        # The sqlite3 module opens a transaction only before INSERT/UPDATE/DELETE: DROP and
        # CREATE INDEX would run in autocommit mode without an explicit BEGIN.
        self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def end_load(self) -> None:
        for pragma, value in self.saved_pragmas.items():
            self.connection.exec_driver_sql(f"PRAGMA {pragma}={value}")


class PostgresWriter(Writer):
    """COPY ... FROM STDIN through psycopg: several times faster than INSERT."""

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        raw = self.connection.connection.driver_connection
        statement = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)


def writer_for(connection) -> Writer:
    name = connection.dialect.name
    if name == "sqlite":
        return SqliteWriter(connection)
    if name == "postgresql" and connection.dialect.driver == "psycopg":
        return PostgresWriter(connection)
    return Writer(connection)


def check_columns() -> None:
    """The column lists above must name real columns and every required one.

    Bulk inserts bypass SQLAlchemy's Python-side defaults: a NOT NULL column without a
    server default that is not generated here would fail the load halfway.
    """
    for table_name, columns in COLUMNS.items():
        table = Model.metadata.tables[table_name]
        unknown = set(columns) - set(table.c.keys())
        missing = {c.name for c in table.c if not c.nullable and c.name not in columns
                   and not c.primary_key and c.server_default is None}
        if unknown or missing:
            raise RuntimeError(f"{table_name}: unknown columns {sorted(unknown)}, "
                               f"required columns not generated {sorted(missing)}")


def next_ids(connection) -> dict[str, int]:
    return {table: (connection.execute(
        select(func.max(Model.metadata.tables[table].c.id))).scalar() or 0) + 1
        for table in ID_TABLES}


def fix_sequences(connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in ID_TABLES:
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"))


def analyze(echo=print) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map)."""
    started = time.perf_counter()
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in TABLE_ORDER + ["ab_user"]:
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
        echo(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
    elif engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        echo(f"  ANALYZE: {time.perf_counter() - started:.1f} s")
    else:
        with engine.begin() as connection:
            for table in TABLE_ORDER:
                connection.exec_driver_sql(f"ANALYZE {table}")


def secondary_indexes(connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the generated tables' indexes that no constraint owns."""
    tables = tuple(TABLE_ORDER)
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' for _ in tables)})", tables).all()
    elif connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"),
            {"tables": list(tables)}).all()
    else:
        return []
    return [(name, sql) for name, sql in rows]


def foreign_keys(connection) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the generated tables' foreign keys, on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' "
        "AND c.conrelid = ANY(CAST(:tables AS regclass[]))"),
        {"tables": TABLE_ORDER}).all()
    return [(table, name, definition) for table, name, definition in rows]
