"""exports: who exported what, how many rows, and the files written in the background

Revision ID: 7c1d2e3f4a50
Revises: 4f3f6e465865
Create Date: 2026-12-04 18:10:00

crm_export records every export of a list, a grid or a resource: the user, the source and
its filters, the format, the rows counted and written, and for an export written in the
background its progress, its file and its error.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1d2e3f4a50'
down_revision = '4f3f6e465865'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_export',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=5), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('background', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('file_key', sa.String(length=80), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_export', schema=None) as batch_op:
        batch_op.create_index('ix_export_user', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_export_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_export_created', ['created_at'], unique=False)


def downgrade():
    op.drop_table('crm_export')
