"""failed logins counted in the database

Revision ID: c52e0d7a9b14
Revises: a371f8bb8876
Create Date: 2026-12-03 09:30:00

crm_login_failure: one row per failed login, which the login throttle of every web process
counts per user, per user and address, and per address (app.web.auth).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c52e0d7a9b14'
down_revision = 'a371f8bb8876'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'crm_login_failure',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.Column('user_key', sa.String(length=64), nullable=True),
        sa.Column('address_key', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('crm_login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_address', ['address_key', 'failed_at'],
                              unique=False)
        batch_op.create_index('ix_login_failure_time', ['failed_at'], unique=False)
        batch_op.create_index('ix_login_failure_user', ['user_key', 'failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_user')
        batch_op.drop_index('ix_login_failure_time')
        batch_op.drop_index('ix_login_failure_address')
    op.drop_table('crm_login_failure')
