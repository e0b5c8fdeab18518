"""scheduled jobs and notifications: runs, the SQLite lease, settings, reminders, and
birthdays found by month and day

Revision ID: 4f3f6e465865
Revises: 5e2b7c9d1a40
Create Date: 2026-12-04 15:09:37

crm_job_run records every run of a job (unique per job and slot), crm_job_lease is the
job's lock on SQLite, crm_setting the company's reminder settings, crm_notification the
users' reminders (unique per kind, record, user and day) and crm_notification_setting
their choices. A person-client gets a birthday; clients and contacts keep the birthday's
month * 100 + day in an indexed column, filled here for the birthdays already kept.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f3f6e465865'
down_revision = '5e2b7c9d1a40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_job_lease',
    sa.Column('job_id', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('job_id')
    )
    op.create_table('crm_setting',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('crm_job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=60), nullable=False),
    sa.Column('slot', sa.DateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('runner', sa.String(length=120), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['ab_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'slot', name='uq_job_run_slot')
    )
    with op.batch_alter_table('crm_job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job', ['job_id', 'id'], unique=False)
        batch_op.create_index('ix_job_run_started', ['started_at'], unique=False)

    op.create_table('crm_notification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('emailed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'entity', 'record_id', 'user_id', 'day', name='uq_notification_once')
    )
    with op.batch_alter_table('crm_notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_notification_user_unread', ['user_id', 'read_at', 'id'], unique=False)
        batch_op.create_index('ix_notification_created', ['created_at'], unique=False)

    op.create_table('crm_notification_setting',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('disabled', sa.JSON(), nullable=True),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('crm_change_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor', sa.String(length=80), nullable=True))

    with op.batch_alter_table('crm_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('birthday_key', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_crm_client_birthday_key'), ['birthday_key'], unique=False)

    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday_key', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_crm_contact_birthday_key'), ['birthday_key'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        key = "EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday)"
    else:
        key = "CAST(strftime('%m', birthday) AS INTEGER) * 100 " \
              "+ CAST(strftime('%d', birthday) AS INTEGER)"
    op.execute(f"UPDATE crm_contact SET birthday_key = {key} WHERE birthday IS NOT NULL")



def downgrade():
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contact_birthday_key'))
        batch_op.drop_column('birthday_key')

    with op.batch_alter_table('crm_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_client_birthday_key'))
        batch_op.drop_column('birthday_key')
        batch_op.drop_column('birthday')

    with op.batch_alter_table('crm_change_log', schema=None) as batch_op:
        batch_op.drop_column('actor')

    op.drop_table('crm_notification_setting')
    with op.batch_alter_table('crm_notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_created')
        batch_op.drop_index('ix_notification_user_unread')
        batch_op.drop_index('ix_notification_user')

    op.drop_table('crm_notification')
    with op.batch_alter_table('crm_job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_started')
        batch_op.drop_index('ix_job_run_job')

    op.drop_table('crm_job_run')
    op.drop_table('crm_setting')
    op.drop_table('crm_job_lease')
