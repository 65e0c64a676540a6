"""campaigns: the stage deadlines, closing, extensions

Revision ID: 0006_campaigns
Revises: 0005_officers
Create Date: 2026-12-01 21:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0006_campaigns'
down_revision = '0005_officers'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
