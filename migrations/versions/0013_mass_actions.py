"""mass actions: a job's per-item outcomes

Revision ID: 0013_mass_actions
Revises: 0012_search
Create Date: 2026-12-02 02:10:00

A mass action (workflow/mass_actions.py) is a job whose set of files is fixed when it starts
(mass_action_items: one row per file, with the state it was in) and whose per-file outcomes are recorded in the
same transaction as each chunk of state changes (mass_action_outcomes, at most one per item).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013_mass_actions'
down_revision = '0012_search'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
STATES = ("evidence_collection", "branch_scoring", "self_assessment", "commune_appraisal", "upper_appraisal",
          "final_approval", "recognised", "rejected", "withdrawn", "revoked")


def upgrade():
    op.create_table(
        'mass_action_items',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('snap_state', sa.String(length=32), nullable=True),
        sa.CheckConstraint(f"snap_state IS NULL OR snap_state IN ({', '.join(repr(s) for s in STATES)})",
                           name=op.f('ck_mass_action_items_snap_state')),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_mass_action_items_job_id_jobs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', 'application_id', name=op.f('pk_mass_action_items')),
    )
    op.create_table(
        'mass_action_outcomes',
        sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('application_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('already_moved', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('from_state', sa.String(length=32), nullable=True),
        sa.Column('to_state', sa.String(length=32), nullable=True),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('error_params', JSON, nullable=False),
        sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(ok AND to_state IS NOT NULL AND event_id IS NOT NULL AND error_code IS NULL "
                           "AND NOT already_moved) OR (NOT ok AND error_code IS NOT NULL AND to_state IS NULL "
                           "AND event_id IS NULL)", name=op.f('ck_mass_action_outcomes_ok')),
        sa.CheckConstraint("NOT already_moved OR error_code IN ('already_moved', 'conflict')",
                           name=op.f('ck_mass_action_outcomes_already_moved')),
        sa.ForeignKeyConstraint(['job_id', 'application_id'],
                                ['mass_action_items.job_id', 'mass_action_items.application_id'],
                                name=op.f('fk_mass_action_outcomes_job_id_mass_action_items'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', 'application_id', name=op.f('pk_mass_action_outcomes')),
    )


def downgrade():
    op.drop_table('mass_action_outcomes')
    op.drop_table('mass_action_items')
