"""calendar feeds: each user's private iCalendar feed, by a hash of its token

Revision ID: 8f4c2a9e6b13
Revises: 5b8e1f0c3d27
Create Date: 2026-12-05 13:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f4c2a9e6b13'
down_revision = '5b8e1f0c3d27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_calendar_feed',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_on', sa.DateTime(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('token_hash')
    )


def downgrade():
    op.drop_table('crm_calendar_feed')
