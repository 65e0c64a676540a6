"""officers: phone, one-time set-password links

Revision ID: 0005_officers
Revises: 0004_units
Create Date: 2026-12-01 21:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0005_officers'
down_revision = '0004_units'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
