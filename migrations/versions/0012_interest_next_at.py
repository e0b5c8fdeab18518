"""interests keep when their next interaction is due

Revision ID: 9d1f6b2a4c57
Revises: 3c8a5e0f71b2
Create Date: 2026-12-04 10:00:00

crm_interest.next_at: the time of the interest's first planned interaction, kept by the
application with every change of its interactions (app.services.plans), so that the board
reads and orders a column by an index instead of looking each interest's plans up. Filled
here for every interest.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d1f6b2a4c57'
down_revision = '3c8a5e0f71b2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('crm_interest', sa.Column('next_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE crm_interest SET next_at = (SELECT min(planned_at) FROM crm_interaction "
               "WHERE crm_interaction.interest_id = crm_interest.id "
               "AND crm_interaction.status = 'planned')")
    # A board's column in its order: pinned first, then by the next interaction, nothing
    # planned first (SQLite puts NULLs first in ascending order; PostgreSQL is told to).
    nulls = " NULLS FIRST" if op.get_bind().dialect.name == "postgresql" else ""
    op.execute("CREATE INDEX ix_interest_board ON crm_interest "
               f"(stage_id, flagged DESC, next_at{nulls}, id)")


def downgrade():
    op.execute("DROP INDEX ix_interest_board")
    op.drop_column('crm_interest', 'next_at')
