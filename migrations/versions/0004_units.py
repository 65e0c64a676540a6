"""units: validity dates and successor links (the 2025 mergers)

Units gain their kind (xã / phường / đặc khu, thôn / tổ dân phố), valid-from and valid-to dates and the "village"
level; unit_predecessors records the former units each post-merger unit absorbed, as its official list names them.

Revision ID: 0004_units
Revises: 0003_session_epoch
Create Date: 2026-12-01 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_units'
down_revision = '0003_session_epoch'
branch_labels = None
depends_on = None

OLD_LEVELS = "level IN ('province', 'district', 'commune', 'branch')"
NEW_LEVELS = "level IN ('province', 'district', 'commune', 'branch', 'village')"
VALIDITY = "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _recreate_units(change) -> None:
    """SQLite rebuilds the table to change a CHECK: the other tables' keys to units must not be checked while
    the old table is dropped (PRAGMA foreign_keys is honoured here: SQLite migrations run outside a transaction,
    alembic's "non-transactional DDL")."""
    if _sqlite():
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('units', recreate='auto') as batch_op:
        change(batch_op)
    if _sqlite():
        op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    def change(batch_op):
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_units_level'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_units_level'), NEW_LEVELS)
        batch_op.create_check_constraint(batch_op.f('ck_units_validity'), VALIDITY)

    _recreate_units(change)
    op.create_table(
        'unit_predecessors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('successor_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), server_default='0', nullable=False),
        sa.Column('former_kind', sa.String(length=32), nullable=True),
        sa.Column('former_name', sa.String(length=200), nullable=False),
        sa.Column('qualifier', sa.String(length=200), nullable=True),
        sa.Column('partial', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('predecessor_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['predecessor_id'], ['units.id'],
                                name=op.f('fk_unit_predecessors_predecessor_id_units')),
        sa.ForeignKeyConstraint(['successor_id'], ['units.id'], name=op.f('fk_unit_predecessors_successor_id_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_predecessors')),
    )
    with op.batch_alter_table('unit_predecessors') as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_predecessors_successor_id'), ['successor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_predecessors_predecessor_id'), ['predecessor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('unit_predecessors') as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_predecessors_predecessor_id'))
        batch_op.drop_index(batch_op.f('ix_unit_predecessors_successor_id'))
    op.drop_table('unit_predecessors')
    op.execute("DELETE FROM units WHERE level = 'village'")

    def change(batch_op):
        batch_op.drop_constraint(batch_op.f('ck_units_validity'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_units_level'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_units_level'), OLD_LEVELS)
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
        batch_op.drop_column('kind')

    _recreate_units(change)
