"""reports: the report tables the jobs compute, their state, and the sales plans

Revision ID: c4a58740878f
Revises: 7c1d2e3f4a50
Create Date: 2026-12-04 21:40:00

crm_report_funnel holds each interest with each stage it reached, crm_report_activity each
manager's done interactions and points per day, crm_report_client each client's indicators
of the supervisor's control and the base's quality (crm_report_client_summary: added up
per responsible), crm_report_abc each client's revenue and ABC/XYZ class,
crm_report_state when each was computed; crm_report_subscription the reports users
receive by e-mail, crm_report_delivery each sending; crm_sales_plan the plans of
managers and departments the funnel is compared with.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a58740878f'
down_revision = '7c1d2e3f4a50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_report_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=True),
    sa.Column('watermark', sa.DateTime(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('crm_report_activity',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'user_id')
    )
    with op.batch_alter_table('crm_report_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_activity_user_id'), ['user_id'], unique=False)

    op.create_table('crm_sales_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('won_count', sa.Integer(), nullable=False),
    sa.Column('won_amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('created_on', sa.DateTime(), nullable=False),
    sa.Column('changed_on', sa.DateTime(), nullable=False),
    sa.Column('created_by_fk', sa.Integer(), nullable=True),
    sa.Column('changed_by_fk', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['crm_department.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['manager_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pipeline_id'], ['crm_pipeline.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_sales_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_sales_plan_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_sales_plan_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_sales_plan_pipeline_id'), ['pipeline_id'], unique=False)
        batch_op.create_index('ix_sales_plan_period', ['starts_on', 'ends_on'], unique=False)

    op.create_table('crm_report_funnel',
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('won', sa.Boolean(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('seconds', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['interest_id'], ['crm_interest.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['crm_stage.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interest_id', 'stage_id')
    )
    with op.batch_alter_table('crm_report_funnel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_funnel_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_report_funnel_responsible_id'), ['responsible_id'], unique=False)
        batch_op.create_index('ix_report_funnel_pipeline_started', ['pipeline_id', 'started_at'], unique=False)
        batch_op.create_index('ix_report_funnel_stage', ['stage_id', 'started_at'], unique=False)
    with op.batch_alter_table('crm_interaction', schema=None) as batch_op:
        batch_op.create_index('ix_interaction_done', ['done_at'], unique=False)
    op.create_table('crm_report_client_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('clients', sa.Integer(), nullable=False),
    sa.Column('green', sa.Integer(), nullable=False),
    sa.Column('yellow', sa.Integer(), nullable=False),
    sa.Column('red', sa.Integer(), nullable=False),
    sa.Column('warm', sa.Integer(), nullable=False),
    sa.Column('with_overdue', sa.Integer(), nullable=False),
    sa.Column('no_portrait', sa.Integer(), nullable=False),
    sa.Column('unreachable', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('open_interests', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('bare_contacts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_report_client_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_client_summary_responsible_id'), ['responsible_id'], unique=False)

    op.create_table('crm_report_client',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('open_interests', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('bare_contacts', sa.Integer(), nullable=False),
    sa.Column('portrait', sa.Boolean(), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('duplicate', sa.Boolean(), nullable=False),
    sa.Column('colour', sa.String(length=6), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id')
    )
    with op.batch_alter_table('crm_report_client', schema=None) as batch_op:
        batch_op.create_index('ix_report_client_responsible', ['responsible_id', 'colour'], unique=False)
    op.create_table('crm_report_abc',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('revenue', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('variation', sa.Numeric(precision=10, scale=1), nullable=False),
    sa.Column('abc', sa.String(length=1), nullable=False),
    sa.Column('xyz', sa.String(length=1), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id')
    )
    with op.batch_alter_table('crm_report_abc', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_abc_responsible_id'), ['responsible_id'], unique=False)
        batch_op.create_index('ix_report_abc_class', ['abc', 'xyz'], unique=False)
    op.create_table('crm_report_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('report', sa.String(length=20), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=True),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('last_sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.String(length=10), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_report_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_subscription_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_report_subscription_due', ['active', 'next_at'], unique=False)

    op.create_table('crm_report_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['crm_report_subscription.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_report_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_report_delivery_subscription_id'), ['subscription_id'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_report_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_report_delivery_subscription_id'))

    op.drop_table('crm_report_delivery')
    with op.batch_alter_table('crm_report_subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_report_subscription_due')
        batch_op.drop_index(batch_op.f('ix_crm_report_subscription_user_id'))

    op.drop_table('crm_report_subscription')
    with op.batch_alter_table('crm_report_abc', schema=None) as batch_op:
        batch_op.drop_index('ix_report_abc_class')
        batch_op.drop_index(batch_op.f('ix_crm_report_abc_responsible_id'))

    op.drop_table('crm_report_abc')
    with op.batch_alter_table('crm_report_client', schema=None) as batch_op:
        batch_op.drop_index('ix_report_client_responsible')

    op.drop_table('crm_report_client')
    with op.batch_alter_table('crm_report_client_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_report_client_summary_responsible_id'))

    op.drop_table('crm_report_client_summary')
    with op.batch_alter_table('crm_interaction', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_done')
    with op.batch_alter_table('crm_report_funnel', schema=None) as batch_op:
        batch_op.drop_index('ix_report_funnel_stage')
        batch_op.drop_index('ix_report_funnel_pipeline_started')
        batch_op.drop_index(batch_op.f('ix_crm_report_funnel_responsible_id'))
        batch_op.drop_index(batch_op.f('ix_crm_report_funnel_closed_at'))

    op.drop_table('crm_report_funnel')
    with op.batch_alter_table('crm_sales_plan', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_plan_period')
        batch_op.drop_index(batch_op.f('ix_crm_sales_plan_pipeline_id'))
        batch_op.drop_index(batch_op.f('ix_crm_sales_plan_manager_id'))
        batch_op.drop_index(batch_op.f('ix_crm_sales_plan_department_id'))

    op.drop_table('crm_sales_plan')
    with op.batch_alter_table('crm_report_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_report_activity_user_id'))

    op.drop_table('crm_report_activity')
    op.drop_table('crm_report_state')
