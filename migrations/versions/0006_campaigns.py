"""campaigns: the stage deadlines, closing, extensions

Revision ID: 0006_campaigns
Revises: 0005_officers
Create Date: 2026-12-01 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_campaigns'
down_revision = '0005_officers'
branch_labels = None
depends_on = None


# The same text as workflow.models.DEADLINES_IN_ORDER (kept here: a migration never imports the models).
DEADLINES_IN_ORDER = (
    "opens_on <= submit_deadline AND submit_deadline <= decision_deadline"
    " AND (scoring_deadline IS NULL OR (submit_deadline <= scoring_deadline AND scoring_deadline <= decision_deadline))"
    " AND (appraisal_deadline IS NULL OR (submit_deadline <= appraisal_deadline"
    " AND appraisal_deadline <= decision_deadline))"
    " AND (scoring_deadline IS NULL OR appraisal_deadline IS NULL OR scoring_deadline <= appraisal_deadline)")


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scoring_deadline', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('appraisal_deadline', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_campaigns_deadlines'), DEADLINES_IN_ORDER)


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_campaigns_deadlines'), type_='check')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('appraisal_deadline')
        batch_op.drop_column('scoring_deadline')
