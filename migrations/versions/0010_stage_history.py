"""stage history, stage probability and time limit

Revision ID: 7b4e2c91d0a3
Revises: 5e93b1c07d2a
Create Date: 2026-12-04 08:00:00

crm_stage_change: every interest entering a stage (created in it, moved, closed, reopened),
written by the sales commands; time in a stage is read from it. Each interest that exists
gets one row for the stage it is in: since it was created, or since it was closed.

crm_stage: the probability of winning from the stage (the board's weighted sums; 100 for a
won stage) and how many days an interest should stay in it at most.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b4e2c91d0a3'
down_revision = '5e93b1c07d2a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_stage') as batch:
        batch.add_column(sa.Column('probability', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('days_limit', sa.Integer(), nullable=True))
    op.execute("UPDATE crm_stage SET probability = 100 WHERE kind = 'won'")

    op.create_table(
        'crm_stage_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('interest_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('from_stage_id', sa.Integer(), nullable=True),
        sa.Column('to_stage_id', sa.Integer(), nullable=True),
        sa.Column('from_stage_name', sa.String(length=150), nullable=True),
        sa.Column('to_stage_name', sa.String(length=150), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['interest_id'], ['crm_interest.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['from_stage_id'], ['crm_stage.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['to_stage_id'], ['crm_stage.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['changed_by_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stage_change_interest', 'crm_stage_change',
                    ['interest_id', 'changed_at', 'id'])
    op.create_index(op.f('ix_crm_stage_change_from_stage_id'), 'crm_stage_change',
                    ['from_stage_id'])
    op.create_index(op.f('ix_crm_stage_change_to_stage_id'), 'crm_stage_change',
                    ['to_stage_id'])
    op.execute(
        "INSERT INTO crm_stage_change (interest_id, action, to_stage_id, to_stage_name, "
        "changed_at, changed_by_id) "
        "SELECT i.id, CASE WHEN i.closed_at IS NULL THEN 'create' ELSE 'close' END, "
        "i.stage_id, s.name, COALESCE(i.closed_at, i.created_on), "
        "CASE WHEN i.closed_at IS NULL THEN i.created_by_fk ELSE i.closed_by_id END "
        "FROM crm_interest i JOIN crm_stage s ON s.id = i.stage_id")


def downgrade():
    op.drop_index(op.f('ix_crm_stage_change_to_stage_id'), table_name='crm_stage_change')
    op.drop_index(op.f('ix_crm_stage_change_from_stage_id'), table_name='crm_stage_change')
    op.drop_index('ix_stage_change_interest', table_name='crm_stage_change')
    op.drop_table('crm_stage_change')
    with op.batch_alter_table('crm_stage') as batch:
        batch.drop_column('days_limit')
        batch.drop_column('probability')
