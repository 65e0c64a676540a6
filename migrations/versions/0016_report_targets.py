"""plans, targets and denominators of the reports (issue 11)

Revision ID: 0016_report_targets
Revises: 0015_audit_scale
Create Date: 2026-12-02 05:40:00

report_plans: a plan that sets targets (citation, issuer, date, national or a province's, the years it covers, its
mark C/P/?, whether it is history). report_targets: a percent per plan, indicator and year, for the plan's scope
(unit_id NULL) or one unit; NULL unit_id is kept unique by two partial unique indexes (one per case).
report_denominators: adults 15+, communes and wards, staff of learning units per unit and year. All three are
small (a few rows per commune and year) and read by their keys.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_report_targets'
down_revision = '0015_audit_scale'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('citation', sa.Text(), nullable=False),
        sa.Column('issuer', sa.String(length=200), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=True),
        sa.Column('province_id', sa.Integer(), nullable=True),
        sa.Column('first_year', sa.Integer(), nullable=False),
        sa.Column('last_year', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=1), server_default='C', nullable=False),
        sa.Column('is_history', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('C', 'P', '?')", name=op.f('ck_report_plans_status')),
        sa.CheckConstraint('first_year BETWEEN 2000 AND 2100 AND last_year BETWEEN first_year AND 2100',
                           name=op.f('ck_report_plans_years')),
        sa.ForeignKeyConstraint(['province_id'], ['units.id'], name=op.f('fk_report_plans_province_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_plans')),
        sa.UniqueConstraint('code', name=op.f('uq_report_plans_code')),
    )
    op.create_index(op.f('ix_report_plans_province_id'), 'report_plans', ['province_id'], unique=False)
    op.create_table(
        'report_targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('indicator', sa.String(length=32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('value', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_report_targets_year')),
        sa.CheckConstraint('value IS NULL OR (value >= 0 AND value <= 100)', name=op.f('ck_report_targets_value')),
        sa.ForeignKeyConstraint(['plan_id'], ['report_plans.id'], name=op.f('fk_report_targets_plan_id_report_plans'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_report_targets_unit_id_units')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_report_targets_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_targets')),
    )
    op.create_index(op.f('ix_report_targets_unit_id'), 'report_targets', ['unit_id'], unique=False)
    op.create_index('uq_report_targets_plan', 'report_targets', ['plan_id', 'indicator', 'year'], unique=True,
                    postgresql_where=sa.text('unit_id IS NULL'), sqlite_where=sa.text('unit_id IS NULL'))
    op.create_index('uq_report_targets_plan_unit', 'report_targets', ['plan_id', 'unit_id', 'indicator', 'year'],
                    unique=True, postgresql_where=sa.text('unit_id IS NOT NULL'),
                    sqlite_where=sa.text('unit_id IS NOT NULL'))
    op.create_table(
        'report_denominators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.Text(), server_default='', nullable=False),
        sa.Column('is_demo', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('adults', 'communes', 'unit_staff')", name=op.f('ck_report_denominators_kind')),
        sa.CheckConstraint('value >= 0', name=op.f('ck_report_denominators_value')),
        sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_report_denominators_year')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_report_denominators_unit_id_units')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_report_denominators_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_denominators')),
        sa.UniqueConstraint('unit_id', 'year', 'kind', name='uq_report_denominators_unit_year_kind'),
    )


def downgrade():
    op.drop_table('report_denominators')
    op.drop_index('uq_report_targets_plan_unit', table_name='report_targets')
    op.drop_index('uq_report_targets_plan', table_name='report_targets')
    op.drop_index(op.f('ix_report_targets_unit_id'), table_name='report_targets')
    op.drop_table('report_targets')
    op.drop_index(op.f('ix_report_plans_province_id'), table_name='report_plans')
    op.drop_table('report_plans')
