"""evidence in bulk: a file removed or replaced while with the branch stays stored for the trail

Revision ID: 0009_evidence_bulk
Revises: 0008_imports
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009_evidence_bulk'
down_revision = '0008_imports'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
