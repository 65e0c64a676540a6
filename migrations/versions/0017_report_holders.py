"""who holds a title on a date, counted from an index (issue 11)

Revision ID: 0017_report_holders
Revises: 0016_report_targets
Create Date: 2026-12-02 05:40:00

The coverage, Xã học tập share and digital skills figures (workflow/reports/indicators.py) count the files holding
a title on a day per unit: state 'recognised', recognised within the title's validity, campaigns of the window.
`ix_applications_holders` (campaign_id, unit_id, recognised_at, subject_key, id) WHERE state = 'recognised' holds
every column the count and its "no later recognition of the same person" test read, so a province's count is an
index-only scan of the recognised files of a few campaigns, grouped by unit. `ix_applications_holder_subject`
(subject_key, campaign_id, recognised_at, id) WHERE state = 'recognised' answers that test person by person where
the files counted are few (a commune, a branch, a page of the queue), from the index alone. `ix_scores_criterion_value`
(criterion_code, value, application_id) gives the files scoring at least the threshold on the ICT criterion
(digital skills) from the index alone.

On a large PostgreSQL database build them beforehand, outside a transaction, so that writers are not blocked while
they build; this step then skips them:

    CREATE INDEX CONCURRENTLY ix_applications_holders ON applications
        (campaign_id, unit_id, recognised_at, subject_key, id) WHERE state = 'recognised';
    CREATE INDEX CONCURRENTLY ix_applications_holder_subject ON applications
        (subject_key, campaign_id, recognised_at, id) WHERE state = 'recognised';
    CREATE INDEX CONCURRENTLY ix_scores_criterion_value ON scores (criterion_code, value, application_id);
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_report_holders'
down_revision = '0016_report_targets'
branch_labels = None
depends_on = None

HOLDING = "state = 'recognised'"
INDEXES = (("ix_applications_holders", ["campaign_id", "unit_id", "recognised_at", "subject_key", "id"]),
           ("ix_applications_holder_subject", ["subject_key", "campaign_id", "recognised_at", "id"]))


def upgrade():
    inspector = sa.inspect(op.get_bind())
    existing = {ix["name"] for ix in inspector.get_indexes("applications")}
    for name, columns in INDEXES:
        if name not in existing:
            op.create_index(name, "applications", columns, postgresql_where=sa.text(HOLDING),
                            sqlite_where=sa.text(HOLDING))
    if "ix_scores_criterion_value" not in {ix["name"] for ix in inspector.get_indexes("scores")}:
        op.create_index("ix_scores_criterion_value", "scores", ["criterion_code", "value", "application_id"])


def downgrade():
    op.drop_index("ix_scores_criterion_value", table_name="scores")
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="applications")
