"""other titles: the subject kinds of GDHT, DHHT, CDHT_THON and DVHT, their collectives and memberships, and the
title definitions' versions that files pin (issue 14)

Revision ID: 0024_other_titles
Revises: 0023_unread_notices
Create Date: 2026-12-03 07:00:00

title_types' CHECK widens to every subject kind (SQLite rebuilds that small table). Households, clans and
organisations are `collectives`; `memberships` hold who belongs to which over a period. Applications gain the
collective or village they are about and the definition version they started under (NULL: the first version);
SQLite adds these as plain columns with their keys inline, so the applications table is not rebuilt. Campaigns
gain the definition version their new files take (NULL: the first).
"""
import sqlalchemy as sa
from alembic import op

revision = '0024_other_titles'
down_revision = '0023_unread_notices'
branch_labels = None
depends_on = None

KINDS = "subject_kind IN ('person', 'household', 'clan', 'village', 'organisation', 'commune')"
OLD_KINDS = "subject_kind IN ('person', 'commune')"
COLUMNS = (("collective_id", "collectives"), ("subject_unit_id", "units"), ("definition_id", "title_definitions"))


def _subject_kinds(check: str) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        if op.get_bind().connection.dbapi_connection.in_transaction:  # PRAGMA foreign_keys works outside one only
            op.execute('COMMIT')
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('title_types', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_title_types_subject_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_title_types_subject_kind'), check)
    if sqlite:
        op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    _subject_kinds(KINDS)
    op.create_table(
        'collectives',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('name_folded', sa.String(length=200), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('head_citizen_id', sa.String(length=12), nullable=True),
        sa.Column('org_type', sa.String(length=16), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('household', 'clan', 'organisation')", name=op.f('ck_collectives_kind')),
        sa.CheckConstraint("org_type IS NULL OR (kind = 'organisation' AND org_type IN ('agency', 'education', "
                           "'enterprise'))", name=op.f('ck_collectives_org_type')),
        sa.CheckConstraint('head_citizen_id IS NULL OR length(head_citizen_id) = 12',
                           name=op.f('ck_collectives_head_citizen_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_collectives_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_collectives')),
    )
    op.create_index('ix_collectives_unit_kind', 'collectives', ['unit_id', 'kind', 'name_folded'])
    op.create_table(
        'memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('collective_id', sa.Integer(), nullable=False),
        sa.Column('member_citizen_id', sa.String(length=12), nullable=True),
        sa.Column('member_name', sa.String(length=200), nullable=True),
        sa.Column('member_collective_id', sa.Integer(), nullable=True),
        sa.Column('joined_on', sa.Date(), nullable=False),
        sa.Column('left_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(member_citizen_id IS NULL) <> (member_collective_id IS NULL)',
                           name=op.f('ck_memberships_one_member')),
        sa.CheckConstraint('member_citizen_id IS NULL OR length(member_citizen_id) = 12',
                           name=op.f('ck_memberships_member_citizen_id')),
        sa.CheckConstraint('left_on IS NULL OR left_on >= joined_on', name=op.f('ck_memberships_period')),
        sa.CheckConstraint('member_collective_id IS NULL OR member_collective_id <> collective_id',
                           name=op.f('ck_memberships_not_self')),
        sa.ForeignKeyConstraint(['collective_id'], ['collectives.id'],
                                name=op.f('fk_memberships_collective_id_collectives')),
        sa.ForeignKeyConstraint(['member_collective_id'], ['collectives.id'],
                                name=op.f('fk_memberships_member_collective_id_collectives')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    )
    op.create_index('ix_memberships_collective', 'memberships', ['collective_id', 'joined_on'])
    op.create_index('ix_memberships_member_collective', 'memberships', ['member_collective_id'])
    op.create_index('ix_memberships_member_citizen', 'memberships', ['member_citizen_id'])
    op.create_table(
        'title_definitions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title_code', sa.String(length=16), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('content', sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql'), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['title_code'], ['title_types.code'],
                                name=op.f('fk_title_definitions_title_code_title_types')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_title_definitions')),
        sa.UniqueConstraint('title_code', 'version', name='uq_title_definitions_title_version'),
    )
    for column, table in COLUMNS:
        fk = f'fk_applications_{column}_{table}'
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE applications ADD COLUMN {column} INTEGER CONSTRAINT {fk} REFERENCES {table} (id)')
        else:
            op.add_column('applications', sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(fk), 'applications', table, [column], ['id'])
    op.create_index(op.f('ix_applications_collective_id'), 'applications', ['collective_id'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':  # triggers name campaigns: add the column, never rebuild the table
        op.execute('ALTER TABLE campaigns ADD COLUMN definition_id INTEGER '
                   'CONSTRAINT fk_campaigns_definition_id_title_definitions REFERENCES title_definitions (id)')
    else:
        op.add_column('campaigns', sa.Column('definition_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_campaigns_definition_id_title_definitions'), 'campaigns',
                              'title_definitions', ['definition_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE campaigns DROP COLUMN definition_id')  # SQLite >= 3.35 drops a plain column
    else:
        op.drop_constraint(op.f('fk_campaigns_definition_id_title_definitions'), 'campaigns', type_='foreignkey')
        op.drop_column('campaigns', 'definition_id')
    op.drop_index(op.f('ix_applications_collective_id'), table_name='applications')
    if op.get_bind().dialect.name == 'sqlite':
        if op.get_bind().connection.dbapi_connection.in_transaction:
            op.execute('COMMIT')
        op.execute('PRAGMA foreign_keys=OFF')
        with op.batch_alter_table('applications', recreate='always') as batch_op:
            for column, _table in COLUMNS:
                batch_op.drop_column(column)
        op.execute('PRAGMA foreign_keys=ON')
    else:
        for column, table in COLUMNS:
            op.drop_constraint(op.f(f'fk_applications_{column}_{table}'), 'applications', type_='foreignkey')
            op.drop_column('applications', column)
    op.drop_table('title_definitions')
    op.drop_table('memberships')
    op.drop_table('collectives')
    _subject_kinds(OLD_KINDS)
