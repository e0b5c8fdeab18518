"""client search: phones in E.164 by phonenumbers, phone tails, e-mail domains, a word index

Revision ID: 3c8a5e0f71b2
Revises: 7b4e2c91d0a3
Create Date: 2026-12-04 09:00:00

Clients' and contacts' phones are normalised again, with phonenumbers (region RU, E.164),
and get their digits from the last one back (`phone_tail`: a number typed without its
country or area code is a prefix of it); e-mails get their domain. The words of clients'
names get an index of their own: an FTS5 table kept by triggers on SQLite, a GIN index
over a `simple` tsvector on PostgreSQL (app.services.client_search).
"""
from alembic import op
import sqlalchemy as sa

from app.rules.validation import email_domain, normalize_phone, phone_tail


# revision identifiers, used by Alembic.
revision = '3c8a5e0f71b2'
down_revision = '7b4e2c91d0a3'
branch_labels = None
depends_on = None

BATCH = 20_000


def _search_string(length):
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _backfill(table_name: str) -> None:
    """Every row's phone and e-mail keys, in batches by id."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column("id"), sa.column("phone"), sa.column("email"),
                     sa.column("phone_normalized"), sa.column("phone_tail"),
                     sa.column("email_domain"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.phone, table.c.email)
            .where(table.c.id > last, sa.or_(table.c.phone.isnot(None),
                                             table.c.email.isnot(None)))
            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(
            table.update().where(table.c.id == sa.bindparam("row_id")),
            [{"row_id": row.id,
              "phone_normalized": normalize_phone(row.phone or "") or None,
              "phone_tail": phone_tail(row.phone or ""),
              "email_domain": email_domain(row.email or "")} for row in rows])
        last = rows[-1].id


def upgrade():
    for table, prefix in (("crm_client", "client"), ("crm_contact", "contact")):
        # Plain ALTER TABLE, also on SQLite: a copied table would lose its triggers.
        op.add_column(table, sa.Column('phone_tail', _search_string(20), nullable=True))
        op.add_column(table, sa.Column('email_domain', _search_string(255), nullable=True))
        _backfill(table)
        op.create_index(f'ix_{prefix}_phone_tail', table, ['phone_tail'])
        op.create_index(f'ix_{prefix}_email_domain', table, ['email_domain'])

    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE INDEX ix_client_name_words ON crm_client "
                   "USING gin (to_tsvector('simple'::regconfig, name_search))")
        return
    op.execute("CREATE VIRTUAL TABLE crm_client_words USING fts5(name_search, "
               "content='crm_client', content_rowid='id', "
               "tokenize='unicode61 remove_diacritics 0')")
    op.execute("CREATE TRIGGER crm_client_words_insert AFTER INSERT ON crm_client BEGIN "
               "INSERT INTO crm_client_words(rowid, name_search) "
               "VALUES (new.id, new.name_search); END")
    op.execute("CREATE TRIGGER crm_client_words_delete AFTER DELETE ON crm_client BEGIN "
               "INSERT INTO crm_client_words(crm_client_words, rowid, name_search) "
               "VALUES ('delete', old.id, old.name_search); END")
    op.execute("CREATE TRIGGER crm_client_words_update AFTER UPDATE OF name_search "
               "ON crm_client BEGIN "
               "INSERT INTO crm_client_words(crm_client_words, rowid, name_search) "
               "VALUES ('delete', old.id, old.name_search); "
               "INSERT INTO crm_client_words(rowid, name_search) "
               "VALUES (new.id, new.name_search); END")
    op.execute("INSERT INTO crm_client_words(crm_client_words) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_client_name_words")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS crm_client_words_{trigger}")
        op.execute("DROP TABLE IF EXISTS crm_client_words")
    for table, prefix in (("crm_client", "client"), ("crm_contact", "contact")):
        op.drop_index(f'ix_{prefix}_email_domain', table_name=table)
        op.drop_index(f'ix_{prefix}_phone_tail', table_name=table)
        op.drop_column(table, 'email_domain')
        op.drop_column(table, 'phone_tail')
