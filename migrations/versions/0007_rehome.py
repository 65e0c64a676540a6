"""rehome: each application moved under a post-merger unit remembers the unit it was filed at before the move

Revision ID: 0007_rehome
Revises: 0006_campaigns
Create Date: 2026-12-01 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007_rehome'
down_revision = '0006_campaigns'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite: a plain ADD COLUMN with its key inline, so the applications table (every file, and the tables that
    # point at it) is not rebuilt; PostgreSQL adds the column and its key as usual.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE applications ADD COLUMN former_unit_id INTEGER '
                   'CONSTRAINT fk_applications_former_unit_id_units REFERENCES units (id)')
    else:
        op.add_column('applications', sa.Column('former_unit_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_applications_former_unit_id_units'), 'applications', 'units',
                              ['former_unit_id'], ['id'])
    op.create_index(op.f('ix_applications_former_unit_id'), 'applications', ['former_unit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_applications_former_unit_id'), table_name='applications')
    if op.get_bind().dialect.name == 'sqlite':  # SQLite drops a column with a key only by rebuilding the table
        if op.get_bind().connection.dbapi_connection.in_transaction:  # PRAGMA foreign_keys works outside one only
            op.execute('COMMIT')
        op.execute('PRAGMA foreign_keys=OFF')
        with op.batch_alter_table('applications', recreate='always') as batch_op:
            batch_op.drop_column('former_unit_id')
        op.execute('PRAGMA foreign_keys=ON')
        return
    op.drop_constraint(op.f('fk_applications_former_unit_id_units'), 'applications', type_='foreignkey')
    op.drop_column('applications', 'former_unit_id')
