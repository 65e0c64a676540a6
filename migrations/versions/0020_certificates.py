"""certificates with a public check (issue 12)

Revision ID: 0020_certificates
Revises: 0019_report_closures
Create Date: 2026-12-02 06:10:00

certificates: one per recognised file of a decision, with its serial (unique per province and year: `seq` from
certificate_counters) and an unguessable public code (the verify page's key). certificate_counters: the last serial
per (province, year). Existing decided files get theirs with `flask --app wsgi certificates issue` (all decisions
or --decision ID): the backfill runs the same set-wise code as a new decision, so it is not repeated here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_certificates'
down_revision = '0019_report_closures'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certificate_counters',
        sa.Column('province_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['province_id'], ['units.id'],
                                name=op.f('fk_certificate_counters_province_id_units')),
        sa.PrimaryKeyConstraint('province_id', 'year', name=op.f('pk_certificate_counters')),
    )
    op.create_table(
        'certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('province_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=40), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_certificates_application_id_applications')),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_certificates_decision_id_decisions')),
        sa.ForeignKeyConstraint(['province_id'], ['units.id'], name=op.f('fk_certificates_province_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
        sa.UniqueConstraint('application_id', name=op.f('uq_certificates_application_id')),
        sa.UniqueConstraint('code', name=op.f('uq_certificates_code')),
        sa.UniqueConstraint('province_id', 'year', 'seq', name='uq_certificates_province_year_seq'),
    )
    op.create_index(op.f('ix_certificates_decision_id'), 'certificates', ['decision_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_certificates_decision_id'), table_name='certificates')
    op.drop_table('certificates')
    op.drop_table('certificate_counters')
