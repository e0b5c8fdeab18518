"""the funnel's facts added up per month; report tables without foreign keys

Revision ID: 24700cd76fe9
Revises: c4a58740878f
Create Date: 2026-12-05 00:36:35

crm_report_funnel_month holds the funnel's facts added up per month, pipeline, stage and
responsible, for a grid of a long period to read instead of every interest.
crm_report_funnel holds one row per interest (its stage now and the furthest open stage it
entered) instead of one per stage reached, crm_report_funnel_stay the time it spent in
each stage it has left.

The report tables lose their foreign keys: each is a computed copy whose job removes the
rows of what is gone, and checking every row it writes made computing it several times
slower. They are made anew, empty, and their state forgotten: the next run of the report
jobs computes them whole. Clients, contacts, interests and interactions get an index of
when they were last changed, which the jobs' refresh looks for every few minutes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '24700cd76fe9'
down_revision = 'c4a58740878f'
branch_labels = None
depends_on = None

CHANGED = {'ix_client_changed': 'crm_client', 'ix_contact_changed': 'crm_contact',
           'ix_interest_changed': 'crm_interest', 'ix_interaction_changed': 'crm_interaction'}
REPORT_TABLES = {'crm_report_funnel': 'funnel', 'crm_report_activity': 'activity',
                 'crm_report_client': 'clients', 'crm_report_abc': 'abc'}


def _cascade(column, target, keys):
    return [sa.ForeignKeyConstraint([column], [target], ondelete='CASCADE')] if keys else []


def _make_report_tables(keys: bool):
    """The report tables as this revision has them, or (`keys`) as the one before."""
    if keys:
        op.create_table(
            'crm_report_funnel',
            sa.Column('interest_id', sa.Integer(), nullable=False),
            sa.Column('stage_id', sa.Integer(), nullable=False),
            sa.Column('pipeline_id', sa.Integer(), nullable=False),
            sa.Column('responsible_id', sa.Integer(), nullable=True),
            sa.Column('started_at', sa.DateTime(), nullable=False),
            sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
            sa.Column('won', sa.Boolean(), nullable=False),
            sa.Column('closed_at', sa.DateTime(), nullable=True),
            sa.Column('seconds', sa.BigInteger(), nullable=True),
            *_cascade('interest_id', 'crm_interest.id', keys),
            *_cascade('stage_id', 'crm_stage.id', keys),
            sa.PrimaryKeyConstraint('interest_id', 'stage_id'))
        op.create_index('ix_report_funnel_stage', 'crm_report_funnel',
                        ['stage_id', 'started_at'])
        op.create_index('ix_crm_report_funnel_closed_at', 'crm_report_funnel', ['closed_at'])
        op.create_index('ix_crm_report_funnel_responsible_id', 'crm_report_funnel',
                        ['responsible_id'])
        op.create_index('ix_report_funnel_pipeline_started', 'crm_report_funnel',
                        ['pipeline_id', 'started_at'])
    else:
        op.create_table(
            'crm_report_funnel',
            sa.Column('interest_id', sa.Integer(), nullable=False),
            sa.Column('pipeline_id', sa.Integer(), nullable=False),
            sa.Column('stage_id', sa.Integer(), nullable=False),
            sa.Column('depth', sa.Integer(), nullable=True),
            sa.Column('responsible_id', sa.Integer(), nullable=True),
            sa.Column('started_at', sa.DateTime(), nullable=False),
            sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
            sa.Column('won', sa.Boolean(), nullable=False),
            sa.Column('closed_at', sa.DateTime(), nullable=True),
            sa.PrimaryKeyConstraint('interest_id'))
        op.create_index('ix_report_funnel_started', 'crm_report_funnel',
                        ['pipeline_id', 'started_at'])
        op.create_index('ix_report_funnel_won', 'crm_report_funnel',
                        ['pipeline_id', 'closed_at'], sqlite_where=sa.text("won = 1"),
                        postgresql_where=sa.text("won"))
        op.create_table(
            'crm_report_funnel_stay',
            sa.Column('interest_id', sa.Integer(), nullable=False),
            sa.Column('stage_id', sa.Integer(), nullable=False),
            sa.Column('seconds', sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint('interest_id', 'stage_id'))
    op.create_table(
        'crm_report_activity',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        *_cascade('user_id', 'ab_user.id', keys),
        sa.PrimaryKeyConstraint('day', 'user_id'))
    if keys:
        op.create_index('ix_crm_report_activity_user_id', 'crm_report_activity', ['user_id'])
    op.create_table(
        'crm_report_client',
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
        *_cascade('client_id', 'crm_client.id', keys),
        sa.PrimaryKeyConstraint('client_id'))
    op.create_index('ix_report_client_responsible', 'crm_report_client',
                    ['responsible_id', 'colour'])
    op.create_table(
        'crm_report_abc',
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('responsible_id', sa.Integer(), nullable=True),
        sa.Column('revenue', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('variation', sa.Numeric(precision=10, scale=1), nullable=False),
        sa.Column('abc', sa.String(length=1), nullable=False),
        sa.Column('xyz', sa.String(length=1), nullable=False),
        *_cascade('client_id', 'crm_client.id', keys),
        sa.PrimaryKeyConstraint('client_id'))
    op.create_index('ix_crm_report_abc_responsible_id', 'crm_report_abc', ['responsible_id'])
    op.create_index('ix_report_abc_class', 'crm_report_abc', ['abc', 'xyz'])


def _forget_report_tables(stays: bool):
    for table in REPORT_TABLES:
        op.drop_table(table)
    if stays:
        op.drop_table('crm_report_funnel_stay')
    names = ", ".join(f"'{name}'" for name in REPORT_TABLES.values())
    op.execute(f"DELETE FROM crm_report_state WHERE name IN ({names})")


def upgrade():
    op.create_table('crm_report_funnel_month',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('reached', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=True),
    sa.Column('stays', sa.Integer(), nullable=False),
    sa.Column('current', sa.Integer(), nullable=False),
    sa.Column('current_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('current_won', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_funnel_month', 'crm_report_funnel_month',
                    ['pipeline_id', 'kind', 'month'], unique=False)
    _forget_report_tables(stays=False)
    _make_report_tables(keys=False)
    for name, table in CHANGED.items():
        op.create_index(name, table, ['changed_on'], unique=False)


def downgrade():
    for name, table in CHANGED.items():
        op.drop_index(name, table_name=table)
    _forget_report_tables(stays=True)
    _make_report_tables(keys=True)
    op.drop_index('ix_report_funnel_month', table_name='crm_report_funnel_month')
    op.drop_table('crm_report_funnel_month')
