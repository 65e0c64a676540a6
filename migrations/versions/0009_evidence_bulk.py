"""evidence in bulk: a file removed or replaced while with the branch stays stored for the trail

Revision ID: 0009_evidence_bulk
Revises: 0008_imports
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009_evidence_bulk'
down_revision = '0008_imports'
branch_labels = None
depends_on = None

COLUMNS = (('removed_by_id', 'users'), ('replaced_by_id', 'evidence'))


def upgrade():
    # SQLite: plain ADD COLUMNs with their keys inline (as 0007 does), so the evidence table is not rebuilt;
    # PostgreSQL adds the columns and their keys as usual.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE evidence ADD COLUMN removed_at DATETIME')
        for column, table in COLUMNS:
            op.execute(f'ALTER TABLE evidence ADD COLUMN {column} INTEGER '
                       f'CONSTRAINT fk_evidence_{column}_{table} REFERENCES {table} (id)')
        return
    op.add_column('evidence', sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
    for column, table in COLUMNS:
        op.add_column('evidence', sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f'fk_evidence_{column}_{table}'), 'evidence', table, [column], ['id'])


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':  # SQLite drops a column with a key only by rebuilding the table
        if op.get_bind().connection.dbapi_connection.in_transaction:  # PRAGMA foreign_keys works outside one only
            op.execute('COMMIT')
        op.execute('PRAGMA foreign_keys=OFF')
        with op.batch_alter_table('evidence', recreate='always') as batch_op:
            for column, _table in reversed(COLUMNS):
                batch_op.drop_column(column)
            batch_op.drop_column('removed_at')
        op.execute('PRAGMA foreign_keys=ON')
        return
    for column, table in reversed(COLUMNS):
        op.drop_constraint(op.f(f'fk_evidence_{column}_{table}'), 'evidence', type_='foreignkey')
        op.drop_column('evidence', column)
    op.drop_column('evidence', 'removed_at')
