"""list positions: a maintained summary of where rows stand in the clients' name order

Revision ID: 8d2e4a61c5b3
Revises: 6b1f0c2d9a47
Create Date: 2026-11-22 18:50:00

The database's own triggers note every client entering or leaving a stretch of the list
(app.services.positions), whoever writes: the application, an import, a bulk generator.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d2e4a61c5b3'
down_revision = '6b1f0c2d9a47'
branch_labels = None
depends_on = None

# list name -> (table, key column); the list is ordered by (key column, id).
LISTS = {'client': ('crm_client', 'name_search')}


def _bucket_of(list_name: str, row: str, key: str) -> str:
    return (f"SELECT '{list_name}', bucket, {{delta}} FROM crm_list_position "
            f"WHERE list_name = '{list_name}' AND (start_key, start_id) <= ({row}.{key}, {row}.id) "
            f"ORDER BY start_key DESC, start_id DESC LIMIT 1")


def _note(list_name: str, row: str, key: str, delta: int) -> str:
    return ("INSERT INTO crm_list_position_change (list_name, bucket, delta) "
            + _bucket_of(list_name, row, key).format(delta=delta) + ";")


def _create_triggers(dialect: str) -> None:
    for list_name, (table, key) in LISTS.items():
        name = f"{table}_list_position"
        if dialect == 'postgresql':
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN {_note(list_name, 'OLD', key, -1)} END IF;
                    IF TG_OP <> 'DELETE' THEN {_note(list_name, 'NEW', key, 1)} END IF;
                    RETURN NULL;
                END $$""")
            op.execute(f"CREATE TRIGGER {name} AFTER INSERT OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {name}()")
            op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {key} ON {table} "
                       f"FOR EACH ROW WHEN (OLD.{key} IS DISTINCT FROM NEW.{key}) "
                       f"EXECUTE FUNCTION {name}()")
        else:
            op.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN "
                       f"{_note(list_name, 'NEW', key, 1)} END")
            op.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN "
                       f"{_note(list_name, 'OLD', key, -1)} END")
            op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {key} ON {table} "
                       f"WHEN OLD.{key} IS NOT NEW.{key} BEGIN "
                       f"{_note(list_name, 'OLD', key, -1)} {_note(list_name, 'NEW', key, 1)} END")


def _drop_triggers(dialect: str) -> None:
    for table, _key in LISTS.values():
        name = f"{table}_list_position"
        if dialect == 'postgresql':
            op.execute(f"DROP TRIGGER IF EXISTS {name}_update ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            for suffix in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")


def upgrade():
    op.create_table(
        'crm_list_position',
        sa.Column('list_name', sa.String(length=30), nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('start_key', sa.String(length=255).with_variant(
            sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
        sa.Column('start_id', sa.BigInteger(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('list_name', 'bucket'),
    )
    op.create_index('ix_list_position_start', 'crm_list_position',
                    ['list_name', 'start_key', 'start_id'], unique=True)
    op.create_table(
        'crm_list_position_change',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('list_name', sa.String(length=30), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_list_position_change_bucket', 'crm_list_position_change',
                    ['list_name', 'bucket'])
    _create_triggers(op.get_bind().dialect.name)


def downgrade():
    _drop_triggers(op.get_bind().dialect.name)
    op.drop_index('ix_list_position_change_bucket', table_name='crm_list_position_change')
    op.drop_table('crm_list_position_change')
    op.drop_index('ix_list_position_start', table_name='crm_list_position')
    op.drop_table('crm_list_position')
