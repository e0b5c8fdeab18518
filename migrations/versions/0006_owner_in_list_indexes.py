"""the indexes lists are ordered by end with the responsible

Revision ID: 2f7c9b13e8d4
Revises: 8d2e4a61c5b3
Create Date: 2026-11-22 19:05:00

The access filter of a manager (responsible is me or someone of my department) is then
answered from the index alone while the list walks it in name order.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '2f7c9b13e8d4'
down_revision = '8d2e4a61c5b3'
branch_labels = None
depends_on = None

# index -> (table, its columns before the responsible was added)
INDEXES = {
    'ix_client_name_search': ('crm_client', ['name_search', 'id']),
    'ix_client_inn': ('crm_client', ['inn', 'name_search', 'id']),
    'ix_contact_name_search': ('crm_contact', ['name_search', 'id']),
    'ix_interest_title_search': ('crm_interest', ['title_search', 'id']),
}


def _replace(with_owner: bool) -> None:
    for name, (table, columns) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns + (['responsible_id'] if with_owner else []),
                                  unique=False)


def upgrade():
    _replace(with_owner=True)


def downgrade():
    _replace(with_owner=False)
