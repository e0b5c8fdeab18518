"""cache stamp: one version that rises with every change of users, rights or directories

Revision ID: 6b1f0c2d9a47
Revises: 39e104f4124e
Create Date: 2026-11-22 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b1f0c2d9a47'
down_revision = '39e104f4124e'
branch_labels = None
depends_on = None


def upgrade():
    stamp = op.create_table(
        'crm_cache_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(stamp, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('crm_cache_stamp')
