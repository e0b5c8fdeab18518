"""custom fields: their definitions, and a column of values on each entity's table

Revision ID: 5e2b7c9d1a40
Revises: 9d1f6b2a4c57
Create Date: 2026-12-04 13:00:00

crm_custom_field holds the fields administrators add; each entity that has them keeps
their values in its `custom` column (JSONB on PostgreSQL), keyed by the field's code;
crm_custom_booking the resources booked by booking fields. The
indexes of filterable fields (ix_cf_*) are made and dropped with their fields by the
application (app.services.custom_fields), not here.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '5e2b7c9d1a40'
down_revision = '9d1f6b2a4c57'
branch_labels = None
depends_on = None

TABLES = ("crm_client", "crm_contact", "crm_inquiry", "crm_interest", "crm_interaction",
          "crm_product")
VALUES = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        'crm_custom_field',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=20), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('label_ru', sa.String(length=150), nullable=False),
        sa.Column('label_en', sa.String(length=150), nullable=True),
        sa.Column('field_type', sa.String(length=20), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('multiple', sa.Boolean(), nullable=False),
        sa.Column('default', sa.JSON(), nullable=True),
        sa.Column('help_ru', sa.Text(), nullable=True),
        sa.Column('help_en', sa.Text(), nullable=True),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('sort', sa.Integer(), nullable=False),
        sa.Column('show_in_list', sa.Boolean(), nullable=False),
        sa.Column('filterable', sa.Boolean(), nullable=False),
        sa.Column('show_on_board', sa.Boolean(), nullable=False),
        sa.Column('pipelines', sa.JSON(), nullable=True),
        sa.Column('required_from', sa.JSON(), nullable=True),
        sa.Column('visibility', sa.JSON(), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_on', sa.DateTime(), nullable=False),
        sa.Column('changed_on', sa.DateTime(), nullable=False),
        sa.Column('created_by_fk', sa.Integer(), nullable=True),
        sa.Column('changed_by_fk', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['changed_by_fk'], ['ab_user.id'], ),
        sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('entity', 'code', name='uq_custom_field_entity_code'),
    )
    for table in TABLES:
        op.add_column(table, sa.Column('custom', VALUES, nullable=True))
    op.create_table(
        'crm_custom_booking',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('entity', sa.String(length=20), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['crm_dictionary_item.id'],
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_custom_booking_resource', 'crm_custom_booking',
                    ['resource_id', 'starts_at', 'ends_at'])
    op.create_index('ix_custom_booking_record', 'crm_custom_booking',
                    ['entity', 'record_id', 'code'])


def downgrade():
    op.drop_index('ix_custom_booking_record', table_name='crm_custom_booking')
    op.drop_index('ix_custom_booking_resource', table_name='crm_custom_booking')
    op.drop_table('crm_custom_booking')
    bind = op.get_bind()
    # The fields' indexes, by name: reflection does not see SQLite's expression indexes.
    if bind.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix\\_cf\\_%'"
    else:
        query = ("SELECT name FROM sqlite_master WHERE type = 'index' "
                 "AND name LIKE 'ix\\_cf\\_%' ESCAPE '\\'")
    for name in bind.execute(sa.text(query)).scalars().all():
        op.execute(f'DROP INDEX "{name}"')
    for table in TABLES:
        op.drop_column(table, 'custom')
    op.drop_table('crm_custom_field')
