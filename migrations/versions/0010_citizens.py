"""citizens: a citizen's history across campaigns, years and provinces

Revision ID: 0010_citizens
Revises: 0009_evidence_bulk
Create Date: 2026-12-01 23:20:00

The history page and the cross-province flag look applications up by citizen ID across every campaign
(workflow/citizens.py): one plain index. On a large PostgreSQL table, build it beforehand with
CREATE INDEX CONCURRENTLY ix_applications_citizen_id ON applications (citizen_id); this step then skips it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_citizens'
down_revision = '0009_evidence_bulk'
branch_labels = None
depends_on = None


def upgrade():
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("applications")}
    if "ix_applications_citizen_id" not in existing:
        op.create_index("ix_applications_citizen_id", "applications", ["citizen_id"])


def downgrade():
    op.drop_index("ix_applications_citizen_id", table_name="applications")
