"""imports: import jobs with progress, and the rows they created

Revision ID: 0008_imports
Revises: 0007_rehome
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0008_imports'
down_revision = '0007_rehome'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
