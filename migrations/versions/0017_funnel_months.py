"""the funnel's facts added up per month; report tables without foreign keys

Revision ID: 24700cd76fe9
Revises: c4a58740878f
Create Date: 2026-12-05 00:36:35

crm_report_funnel_month holds the funnel's facts added up per month, pipeline, stage and
responsible, for a grid of a long period to read instead of every interest.
crm_report_funnel gains `current`, the row of the stage an interest is in now, and an
index of the won interests by the time they were won. It and crm_report_client lose their
foreign keys: a report table is a computed copy whose job removes the rows of what is
gone, and checking every row it writes made computing it several times slower.

Both tables are made anew, empty, and their state forgotten: the next run of the report
jobs computes them whole. Clients, contacts, interests and interactions get an index of when
they were last changed, which the jobs' refresh looks for every few minutes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '24700cd76fe9'
down_revision = 'c4a58740878f'
branch_labels = None
depends_on = None

WON_SQLITE, WON_POSTGRESQL = sa.text("current = 1 AND won = 1"), sa.text("current AND won")
CHANGED = {'ix_client_changed': 'crm_client', 'ix_contact_changed': 'crm_contact',
           'ix_interest_changed': 'crm_interest', 'ix_interaction_changed': 'crm_interaction'}


def _funnel_columns():
    return [sa.Column('interest_id', sa.Integer(), nullable=False),
            sa.Column('stage_id', sa.Integer(), nullable=False),
            sa.Column('pipeline_id', sa.Integer(), nullable=False),
            sa.Column('responsible_id', sa.Integer(), nullable=True),
            sa.Column('started_at', sa.DateTime(), nullable=False),
            sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
            sa.Column('won', sa.Boolean(), nullable=False),
            sa.Column('closed_at', sa.DateTime(), nullable=True),
            sa.Column('seconds', sa.BigInteger(), nullable=True)]


def _client_columns():
    return [sa.Column('client_id', sa.Integer(), nullable=False),
            sa.Column('responsible_id', sa.Integer(), nullable=True),
            sa.Column('open_interests', sa.Integer(), nullable=False),
            sa.Column('overdue', sa.Integer(), nullable=False),
            sa.Column('planned', sa.Integer(), nullable=False),
            sa.Column('contacts', sa.Integer(), nullable=False),
            sa.Column('bare_contacts', sa.Integer(), nullable=False),
            sa.Column('portrait', sa.Boolean(), nullable=False),
            sa.Column('reachable', sa.Boolean(), nullable=False),
            sa.Column('duplicate', sa.Boolean(), nullable=False),
            sa.Column('colour', sa.String(length=6), nullable=False)]


def _forget_report_tables():
    op.drop_table('crm_report_funnel')
    op.drop_table('crm_report_client')
    op.execute("DELETE FROM crm_report_state WHERE name IN ('funnel', 'clients')")


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

    _forget_report_tables()
    op.create_table('crm_report_funnel', *_funnel_columns(),
                    sa.Column('current', sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint('interest_id', 'stage_id'))
    op.create_index('ix_report_funnel_pipeline_started', 'crm_report_funnel',
                    ['pipeline_id', 'started_at'], unique=False)
    op.create_index('ix_report_funnel_stage', 'crm_report_funnel',
                    ['stage_id', 'started_at'], unique=False)
    op.create_index('ix_report_funnel_won', 'crm_report_funnel', ['pipeline_id', 'closed_at'],
                    unique=False, sqlite_where=WON_SQLITE,
                    postgresql_where=WON_POSTGRESQL)
    op.create_table('crm_report_client', *_client_columns(),
                    sa.PrimaryKeyConstraint('client_id'))
    op.create_index('ix_report_client_responsible', 'crm_report_client',
                    ['responsible_id', 'colour'], unique=False)
    for name, table in CHANGED.items():
        op.create_index(name, table, ['changed_on'], unique=False)


def downgrade():
    for name, table in CHANGED.items():
        op.drop_index(name, table_name=table)
    _forget_report_tables()
    op.create_table('crm_report_funnel', *_funnel_columns(),
                    sa.ForeignKeyConstraint(['interest_id'], ['crm_interest.id'],
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['stage_id'], ['crm_stage.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('interest_id', 'stage_id'))
    op.create_index('ix_crm_report_funnel_closed_at', 'crm_report_funnel', ['closed_at'],
                    unique=False)
    op.create_index('ix_crm_report_funnel_responsible_id', 'crm_report_funnel',
                    ['responsible_id'], unique=False)
    op.create_index('ix_report_funnel_pipeline_started', 'crm_report_funnel',
                    ['pipeline_id', 'started_at'], unique=False)
    op.create_index('ix_report_funnel_stage', 'crm_report_funnel', ['stage_id', 'started_at'],
                    unique=False)
    op.create_table('crm_report_client', *_client_columns(),
                    sa.ForeignKeyConstraint(['client_id'], ['crm_client.id'],
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('client_id'))
    op.create_index('ix_report_client_responsible', 'crm_report_client',
                    ['responsible_id', 'colour'], unique=False)
    op.drop_index('ix_report_funnel_month', table_name='crm_report_funnel_month')
    op.drop_table('crm_report_funnel_month')
