"""officers: phone, one-time set-password links

Revision ID: 0005_officers
Revises: 0004_units
Create Date: 2026-12-01 21:10:00

The set-password links are signed, never stored (workflow/admin/officers.py): only the phone column is new.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_officers'
down_revision = '0004_units'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('phone', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('phone')
