"""the communes' closing of a year's figures (issue 11)

Revision ID: 0019_report_closures
Revises: 0018_transition_counts
Create Date: 2026-12-02 05:40:00

report_closures: a commune's closing of a year (who, when, the values it reported for the indicators the system
does not compute, a snapshot of the computed figures), reopened by the province with a reason.
closing_reminders: the December reminders to close, one per officer, commune, year and day (the daily job's
idempotence). Both are small (a row per commune and year; a few per commune in early December) and read by their
unique keys, so they need no other index.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019_report_closures'
down_revision = '0018_transition_counts'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'report_closures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('reported', JSON, nullable=False),
        sa.Column('snapshot', JSON, nullable=False),
        sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reopened_by_id', sa.Integer(), nullable=True),
        sa.Column('reopen_reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_report_closures_year')),
        sa.CheckConstraint('(closed_at IS NULL) = (closed_by_id IS NULL)', name=op.f('ck_report_closures_closed')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_report_closures_unit_id_units')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_report_closures_closed_by_id_users')),
        sa.ForeignKeyConstraint(['reopened_by_id'], ['users.id'],
                                name=op.f('fk_report_closures_reopened_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_closures')),
        sa.UniqueConstraint('unit_id', 'year', name='uq_report_closures_unit_year'),
    )
    op.create_table(
        'closing_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_closing_reminders_user_id_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_closing_reminders_unit_id_units')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox_messages.id'],
                                name=op.f('fk_closing_reminders_outbox_id_outbox_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_closing_reminders')),
        sa.UniqueConstraint('user_id', 'unit_id', 'year', 'day', name='uq_closing_reminders_user_id'),
    )


def downgrade():
    op.drop_table('closing_reminders')
    op.drop_table('report_closures')
