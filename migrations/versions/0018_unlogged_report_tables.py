"""report tables unlogged on PostgreSQL

Revision ID: 5b8e1f0c3d27
Revises: 24700cd76fe9
Create Date: 2026-12-05 12:45:00

The report tables hold figures computed from the records, which the report jobs compute
again at any time: on PostgreSQL they are written without the write-ahead log, with which
writing a table computed whole cost about as much as computing it. After a crash
PostgreSQL empties them, and the next run of their job, finding a table empty that had
rows, computes it whole (app.services.report_tables.compute). Their state, the sales
plans and everything else stay logged. On SQLite nothing changes.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b8e1f0c3d27'
down_revision = '24700cd76fe9'
branch_labels = None
depends_on = None

REPORT_TABLES = ('crm_report_funnel', 'crm_report_funnel_stay', 'crm_report_funnel_month',
                 'crm_report_activity', 'crm_report_client', 'crm_report_client_summary',
                 'crm_report_abc')


def _persistence(kind: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in REPORT_TABLES:
        op.execute(f'ALTER TABLE {table} SET {kind}')


def upgrade():
    _persistence('UNLOGGED')


def downgrade():
    _persistence('LOGGED')
