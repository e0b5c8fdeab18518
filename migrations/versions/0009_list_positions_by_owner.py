"""list positions by owner: the summary also counts each owner's rows per stretch

Revision ID: 5e93b1c07d2a
Revises: c52e0d7a9b14
Create Date: 2026-12-04 02:40:00

A list narrowed by the access filter to some owners (a manager's clients, a department's)
then finds its deep pages from the summary too. The triggers note the owner of every row
entering or leaving a stretch, and a change of owner as well. The summary is emptied: the
next deep page builds it again with the owners' counts.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e93b1c07d2a'
down_revision = 'c52e0d7a9b14'
branch_labels = None
depends_on = None

# list name -> (table, key column, owner column); the list is ordered by (key column, id).
LISTS = {'client': ('crm_client', 'name_search', 'responsible_id')}


def _note(list_name: str, row: str, key: str, owner: str | None, delta: int) -> str:
    owner_value = f"COALESCE({row}.{owner}, 0)" if owner else "NULL"
    return ("INSERT INTO crm_list_position_change (list_name, bucket, owner_id, delta) "
            f"SELECT '{list_name}', bucket, {owner_value}, {delta} FROM crm_list_position "
            f"WHERE list_name = '{list_name}' "
            f"AND (start_key, start_id) <= ({row}.{key}, {row}.id) "
            f"ORDER BY start_key DESC, start_id DESC LIMIT 1;")


def _create_triggers(dialect: str, with_owner: bool) -> None:
    for list_name, (table, key, owner_column) in LISTS.items():
        owner = owner_column if with_owner else None
        watched = f"{key}, {owner}" if owner else key
        changed = (f"OLD.{key} IS DISTINCT FROM NEW.{key}"
                   + (f" OR OLD.{owner} IS DISTINCT FROM NEW.{owner}" if owner else ""))
        name = f"{table}_list_position"
        if dialect == 'postgresql':
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN {_note(list_name, 'OLD', key, owner, -1)} END IF;
                    IF TG_OP <> 'DELETE' THEN {_note(list_name, 'NEW', key, owner, 1)} END IF;
                    RETURN NULL;
                END $$""")
            op.execute(f"CREATE TRIGGER {name} AFTER INSERT OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {name}()")
            op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {watched} ON {table} "
                       f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}()")
        else:
            changed = changed.replace("IS DISTINCT FROM", "IS NOT")
            op.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN "
                       f"{_note(list_name, 'NEW', key, owner, 1)} END")
            op.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN "
                       f"{_note(list_name, 'OLD', key, owner, -1)} END")
            op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {watched} ON {table} "
                       f"WHEN {changed} BEGIN "
                       f"{_note(list_name, 'OLD', key, owner, -1)} "
                       f"{_note(list_name, 'NEW', key, owner, 1)} END")


def _drop_triggers(dialect: str) -> None:
    for table, _key, _owner in LISTS.values():
        name = f"{table}_list_position"
        if dialect == 'postgresql':
            op.execute(f"DROP TRIGGER IF EXISTS {name}_update ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            for suffix in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")


def _forget_summary() -> None:
    op.execute("DELETE FROM crm_list_position_change")
    op.execute("DELETE FROM crm_list_position")


def upgrade():
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    _forget_summary()
    with op.batch_alter_table('crm_list_position_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.BigInteger(), nullable=True))
    op.create_table(
        'crm_list_position_owner',
        sa.Column('list_name', sa.String(length=30), nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('owner_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('list_name', 'bucket', 'owner_id'),
    )
    _create_triggers(dialect, with_owner=True)


def downgrade():
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    _forget_summary()
    op.drop_table('crm_list_position_owner')
    with op.batch_alter_table('crm_list_position_change', schema=None) as batch_op:
        batch_op.drop_column('owner_id')
    _create_triggers(dialect, with_owner=False)
