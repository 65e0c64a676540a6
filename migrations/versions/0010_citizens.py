"""citizens: a citizen's history across campaigns, years and provinces

Revision ID: 0010_citizens
Revises: 0009_evidence_bulk
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0010_citizens'
down_revision = '0009_evidence_bulk'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
