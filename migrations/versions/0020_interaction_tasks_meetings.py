"""interactions: tasks given, planned length, time spent, place, participants

Revision ID: 477d7dfb504f
Revises: 8f4c2a9e6b13
Create Date: 2026-12-05 16:54:17
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '477d7dfb504f'
down_revision = '8f4c2a9e6b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_interaction_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (contact_id IS NULL)', name='ck_participant_one_of'),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['crm_interaction.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id', 'contact_id', name='uq_participant_contact'),
    sa.UniqueConstraint('interaction_id', 'user_id', name='uq_participant_user')
    )
    with op.batch_alter_table('crm_interaction_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_interaction_participant_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_participant_user', ['user_id', 'interaction_id'], unique=False)

    with op.batch_alter_table('crm_interaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('given_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('planned_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('spent_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('place', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_crm_interaction_given_by_id'), ['given_by_id'], unique=False)
        batch_op.create_foreign_key('fk_crm_interaction_given_by_id', 'ab_user', ['given_by_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('crm_interaction', schema=None) as batch_op:
        batch_op.drop_constraint('fk_crm_interaction_given_by_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_crm_interaction_given_by_id'))
        batch_op.drop_column('place')
        batch_op.drop_column('spent_minutes')
        batch_op.drop_column('planned_minutes')
        batch_op.drop_column('given_by_id')
        batch_op.drop_column('description')

    with op.batch_alter_table('crm_interaction_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_participant_user')
        batch_op.drop_index(batch_op.f('ix_crm_interaction_participant_contact_id'))

    op.drop_table('crm_interaction_participant')
