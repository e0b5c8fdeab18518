"""roles' descriptions

Revision ID: a371f8bb8876
Revises: 2f7c9b13e8d4
Create Date: 2026-12-03 08:09:18

crm_role_info: what a role is for, in the administrator's words, shown on the roles screen
(Flask-AppBuilder's role table has only a name).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a371f8bb8876'
down_revision = '2f7c9b13e8d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'crm_role_info',
        sa.Column('role_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('role_id'),
    )


def downgrade():
    op.drop_table('crm_role_info')
