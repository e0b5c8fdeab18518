"""absences: an employee's work with a deputy between two dates

Revision ID: 3b6e7c13798c
Revises: 477d7dfb504f
Create Date: 2026-12-05 16:56:57
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b6e7c13798c'
down_revision = '477d7dfb504f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.DateTime(), nullable=False),
    sa.Column('changed_on', sa.DateTime(), nullable=False),
    sa.Column('created_by_fk', sa.Integer(), nullable=True),
    sa.Column('changed_by_fk', sa.Integer(), nullable=True),
    sa.CheckConstraint('deputy_id <> user_id', name='ck_absence_deputy'),
    sa.CheckConstraint('ends_on >= starts_on', name='ck_absence_dates'),
    sa.ForeignKeyConstraint(['changed_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['deputy_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_absence', schema=None) as batch_op:
        batch_op.create_index('ix_absence_deputy', ['deputy_id', 'starts_on'], unique=False)
        batch_op.create_index('ix_absence_status', ['status', 'starts_on'], unique=False)
        batch_op.create_index('ix_absence_user', ['user_id', 'starts_on'], unique=False)

    op.create_table('crm_absence_item',
    sa.Column('absence_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['absence_id'], ['crm_absence.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('absence_id', 'kind', 'record_id')
    )


def downgrade():
    op.drop_table('crm_absence_item')
    with op.batch_alter_table('crm_absence', schema=None) as batch_op:
        batch_op.drop_index('ix_absence_user')
        batch_op.drop_index('ix_absence_status')
        batch_op.drop_index('ix_absence_deputy')

    op.drop_table('crm_absence')
