"""validity, renewal and the level-2 guard (issue 12)

Revision ID: 0022_validity
Revises: 0021_decision_papers
Create Date: 2026-12-02 06:10:00

renewals: a renewing file and the recognition it renews (looked up both ways: by the file, its key, and by the
renewed recognition, ix_renewals_renews). validity_reminders: the reminders that a recognition expires soon, one
per recognition and officer (the daily job's idempotence). The expiry lists read the recognition dates through
ix_applications_holders (campaign, unit, recognised_at; 0017), so no index on applications is added here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0022_validity'
down_revision = '0021_decision_papers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'renewals',
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('renews_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_renewals_application_id_applications')),
        sa.ForeignKeyConstraint(['renews_id'], ['applications.id'], name=op.f('fk_renewals_renews_id_applications')),
        sa.PrimaryKeyConstraint('application_id', name=op.f('pk_renewals')),
    )
    op.create_index('ix_renewals_renews', 'renewals', ['renews_id'])
    op.create_table(
        'validity_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_validity_reminders_application_id_applications')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_validity_reminders_user_id_users')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox_messages.id'],
                                name=op.f('fk_validity_reminders_outbox_id_outbox_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_validity_reminders')),
        sa.UniqueConstraint('application_id', 'user_id', name='uq_validity_reminders_application_id'),
    )


def downgrade():
    op.drop_table('validity_reminders')
    op.drop_index('ix_renewals_renews', table_name='renewals')
    op.drop_table('renewals')
