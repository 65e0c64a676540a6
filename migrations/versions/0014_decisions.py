"""decisions without the 1,000-row cap

Revision ID: 0014_decisions
Revises: 0013_mass_actions
Create Date: 2026-12-02 02:10:00

Two partial indexes on applications (workflow/decisions.py):
- ix_applications_undecided (campaign_id, unit_id, state, id) WHERE decision_id IS NULL AND state IN
  ('final_approval', 'recognised'): a decision's candidates, counted (by state too) and paged from the index
  alone; without it the count of a province's 500,000 candidates read the heap (4 s at 2,000,000 files).
- ix_applications_decision (decision_id, full_name_folded, id) WHERE decision_id IS NOT NULL: a decision's files
  counted, paged and exported in the order of its printed list without a sort.
On a large table, build them beforehand with CREATE INDEX CONCURRENTLY (the same names and definitions); this step
then skips them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_decisions'
down_revision = '0013_mass_actions'
branch_labels = None
depends_on = None

UNDECIDED = "decision_id IS NULL AND state IN ('final_approval', 'recognised')"
DECIDED = "decision_id IS NOT NULL"


def upgrade():
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("applications")}
    if "ix_applications_undecided" not in existing:
        op.create_index("ix_applications_undecided", "applications", ["campaign_id", "unit_id", "state", "id"],
                        postgresql_where=sa.text(UNDECIDED), sqlite_where=sa.text(UNDECIDED))
    if "ix_applications_decision" not in existing:
        op.create_index("ix_applications_decision", "applications", ["decision_id", "full_name_folded", "id"],
                        postgresql_where=sa.text(DECIDED), sqlite_where=sa.text(DECIDED))


def downgrade():
    op.drop_index("ix_applications_decision", table_name="applications")
    op.drop_index("ix_applications_undecided", table_name="applications")
