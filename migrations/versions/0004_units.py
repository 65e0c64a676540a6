"""units: validity dates and successor links (the 2025 mergers)

Revision ID: 0004_units
Revises: 0003_session_epoch
Create Date: 2026-12-01 21:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0004_units'
down_revision = '0003_session_epoch'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
