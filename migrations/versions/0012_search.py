"""queue at scale: trigram name search (pg_trgm), CCCD prefix on an index, the last action of each file

Revision ID: 0012_search
Revises: 0011_state_counts
Create Date: 2026-12-02 02:10:00

- Name search ignoring diacritics is `full_name_folded LIKE '%...%'`: on PostgreSQL a GIN trigram index
  (pg_trgm, a trusted extension the database owner may create) answers it without a scan; SQLite keeps the plain
  LIKE. Without pg_trgm installed the step says so and the search still works, by scanning.
- A CCCD prefix is `citizen_id LIKE '0123%'`: a varchar_pattern_ops index serves it whatever the collation.
- A search within a commune (a few units) reads the matching ids from an index of (unit, folded name, id) alone
  and then only those rows: a commune's files are scattered over the whole table, and the trigram index is slow
  on the commonest names ("nguyen thi" matches one file in forty of a province).
- The queue's pages read their ids from an index first and then only the page's rows ("late row lookup",
  workflow.queries.keyset_page); the unit and state index grows to (unit, state, campaign, id) for it.
- `last_action`, the action of each file's latest state change (written by workflow/writes.py with the change),
  with a small partial index of the returned files: the home page's "returned to me" without searching the trail.
On a large table, build the indexes beforehand with CREATE INDEX CONCURRENTLY (the same names); this step then
skips them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_search'
down_revision = '0011_state_counts'
branch_labels = None
depends_on = None

PG_INDEXES = {
    "ix_applications_name_trgm": "CREATE INDEX ix_applications_name_trgm ON applications "
                                 "USING gin (full_name_folded gin_trgm_ops)",
    "ix_applications_citizen_prefix": "CREATE INDEX ix_applications_citizen_prefix ON applications "
                                      "(citizen_id varchar_pattern_ops)",
}


def upgrade():
    bind = op.get_bind()
    op.add_column("applications", sa.Column("last_action", sa.String(16), nullable=True))
    latest = ("SELECT e.action FROM audit_events e WHERE e.application_id = applications.id "
              "AND e.from_state IS NOT NULL AND e.from_state <> e.to_state ORDER BY e.id DESC LIMIT 1")
    op.execute(f"UPDATE applications SET last_action = ({latest}) "
               "WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.application_id = applications.id)")
    op.create_index("ix_applications_unit_name", "applications", ["unit_id", "full_name_folded", "id"])
    # The work queue's index grows to (unit, state, campaign, id): a page's ids come from it alone.
    op.create_index("ix_applications_unit_state_campaign", "applications", ["unit_id", "state", "campaign_id", "id"])
    op.drop_index("ix_applications_unit_state", table_name="applications")
    # The plain index of the folded name served no query (a name search is LIKE '%...%'; a decision's list has its
    # own index): every state change paid for it.
    op.drop_index("ix_applications_full_name_folded", table_name="applications")
    op.create_index("ix_applications_returned", "applications", ["id"],
                    postgresql_where=sa.text("last_action = 'return'"),
                    sqlite_where=sa.text("last_action = 'return'"))
    if bind.dialect.name != "postgresql":
        return
    existing = {ix["name"] for ix in sa.inspect(bind).get_indexes("applications")}
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if available:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    else:
        print("pg_trgm is not installed: name search will scan (install postgresql-contrib)")
    for name, sql in PG_INDEXES.items():
        if name not in existing and (available or "trgm" not in name):
            op.execute(sql)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_applications_returned", table_name="applications")
    op.drop_index("ix_applications_unit_name", table_name="applications")
    op.create_index("ix_applications_unit_state", "applications", ["unit_id", "state"])
    op.drop_index("ix_applications_unit_state_campaign", table_name="applications")
    op.create_index("ix_applications_full_name_folded", "applications", ["full_name_folded"])
    op.drop_column("applications", "last_action")
