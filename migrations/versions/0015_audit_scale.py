"""audit log, citizens and auditor pages at two million files

Revision ID: 0015_audit_scale
Revises: 0014_decisions
Create Date: 2026-12-02 02:10:00

Two indexes on audit_events for the audit log (issue 10): (actor_name, id) serves the actor filter, newest first,
and the list of actors (a skip scan: one index probe per distinct name instead of a DISTINCT over every event);
(action, id) serves the action filter, newest first. On a large PostgreSQL table build them beforehand, outside
a transaction, so that writers are not blocked while they build; this step then skips them:

    CREATE INDEX CONCURRENTLY ix_audit_events_actor_name_id ON audit_events (actor_name, id);
    CREATE INDEX CONCURRENTLY ix_audit_events_action_id ON audit_events (action, id);

`cross_province_citizens` lists the CCCDs that have (or once had) live files in campaigns of one title and year in
two provinces: the flagged-citizens list starts from it instead of testing every file of the province for a twin.
It is a superset kept by triggers in the writer's own transaction, whoever the writer is: a row is added when a
live file is inserted, or a file becomes live again, changes CCCD or campaign, or a campaign changes title, year or
province, and such a twin exists. Rows are never removed (a withdrawn twin leaves a stale row): the list still
applies the exact rule (workflow.citizens.flagged_clause) to the few files of these CCCDs. PostgreSQL: a
statement-level trigger with a transition table for inserts (one statement per import batch), row triggers with a
WHEN clause for updates (an ordinary state change does not even call the function); SQLite: row triggers. Filled
from the existing rows here (one pass over the citizen index).
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_audit_scale'
down_revision = '0014_decisions'
branch_labels = None
depends_on = None

INDEXES = (("ix_audit_events_actor_name_id", ["actor_name", "id"]), ("ix_audit_events_action_id", ["action", "id"]))

# The rule of workflow.citizens.flagged_clause, for one new row `n` joined to its campaign `c`.
TWIN = """EXISTS (SELECT 1 FROM applications t JOIN campaigns tc ON tc.id = t.campaign_id
                  WHERE t.citizen_id = n.citizen_id AND t.state <> 'withdrawn' AND t.id <> n.id
                    AND tc.title_code = c.title_code AND tc.year = c.year AND tc.province_id <> c.province_id)"""

PG_FUNCTIONS = (
    f"""CREATE FUNCTION hoctap_cross_province_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cross_province_citizens (citizen_id)
  SELECT DISTINCT n.citizen_id FROM new_rows n JOIN campaigns c ON c.id = n.campaign_id
  WHERE n.citizen_id IS NOT NULL AND n.state <> 'withdrawn' AND {TWIN}
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION hoctap_cross_province_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cross_province_citizens (citizen_id)
  SELECT n.citizen_id FROM (SELECT NEW.id AS id, NEW.citizen_id AS citizen_id) n
  JOIN campaigns c ON c.id = NEW.campaign_id WHERE {TWIN}
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION hoctap_cross_province_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cross_province_citizens (citizen_id)
  SELECT DISTINCT n.citizen_id FROM applications n JOIN campaigns c ON c.id = n.campaign_id
  WHERE n.campaign_id = NEW.id AND n.citizen_id IS NOT NULL AND n.state <> 'withdrawn' AND {TWIN}
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$""",
)

# An update matters only when it can make a twin appear: the file becomes live again, or changes CCCD or campaign.
UPDATE_WHEN = ("NEW.citizen_id IS NOT NULL AND NEW.state <> 'withdrawn' AND (OLD.state = 'withdrawn' "
               "OR OLD.citizen_id IS DISTINCT FROM NEW.citizen_id OR OLD.campaign_id <> NEW.campaign_id)")
CAMPAIGN_WHEN = ("OLD.title_code <> NEW.title_code OR OLD.year <> NEW.year OR OLD.province_id <> NEW.province_id")

PG_TRIGGERS = (
    "CREATE TRIGGER cross_province_insert AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hoctap_cross_province_rows()",
    "CREATE TRIGGER cross_province_update AFTER UPDATE OF state, citizen_id, campaign_id ON applications "
    f"FOR EACH ROW WHEN ({UPDATE_WHEN}) EXECUTE FUNCTION hoctap_cross_province_row()",
    "CREATE TRIGGER cross_province_campaign AFTER UPDATE OF title_code, year, province_id ON campaigns "
    f"FOR EACH ROW WHEN ({CAMPAIGN_WHEN}) EXECUTE FUNCTION hoctap_cross_province_campaign()",
)

_SQLITE_NEW = f"""INSERT OR IGNORE INTO cross_province_citizens (citizen_id, noted_at)
         SELECT n.citizen_id, CURRENT_TIMESTAMP FROM (SELECT NEW.id AS id, NEW.citizen_id AS citizen_id) n
         JOIN campaigns c ON c.id = NEW.campaign_id WHERE {TWIN};"""
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER cross_province_insert AFTER INSERT ON applications
         WHEN NEW.citizen_id IS NOT NULL AND NEW.state <> 'withdrawn' BEGIN {_SQLITE_NEW} END""",
    f"""CREATE TRIGGER cross_province_update AFTER UPDATE OF state, citizen_id, campaign_id ON applications
         WHEN {UPDATE_WHEN.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {_SQLITE_NEW} END""",
    f"""CREATE TRIGGER cross_province_campaign AFTER UPDATE OF title_code, year, province_id ON campaigns
         WHEN {CAMPAIGN_WHEN} BEGIN
         INSERT OR IGNORE INTO cross_province_citizens (citizen_id, noted_at)
         SELECT DISTINCT n.citizen_id, CURRENT_TIMESTAMP FROM applications n JOIN campaigns c ON c.id = n.campaign_id
         WHERE n.campaign_id = NEW.id AND n.citizen_id IS NOT NULL AND n.state <> 'withdrawn' AND {TWIN}; END""",
)

BACKFILL = f"""INSERT INTO cross_province_citizens (citizen_id, noted_at)
SELECT DISTINCT n.citizen_id, CURRENT_TIMESTAMP FROM applications n JOIN campaigns c ON c.id = n.campaign_id
WHERE n.citizen_id IS NOT NULL AND n.state <> 'withdrawn' AND {TWIN}"""


def upgrade():
    bind = op.get_bind()
    existing = {ix["name"] for ix in sa.inspect(bind).get_indexes("audit_events")}
    for name, columns in INDEXES:
        if name not in existing:
            op.create_index(name, "audit_events", columns)
    op.create_table(
        "cross_province_citizens",
        sa.Column("citizen_id", sa.String(12), primary_key=True),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
    )
    op.execute(BACKFILL)
    if bind.dialect.name == "postgresql":
        for ddl in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(ddl)
    else:
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)


def downgrade():
    bind = op.get_bind()
    for name, table in (("cross_province_insert", "applications"), ("cross_province_update", "applications"),
                        ("cross_province_campaign", "campaigns")):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if bind.dialect.name == "postgresql"
                   else f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        for fn in ("hoctap_cross_province_rows", "hoctap_cross_province_row", "hoctap_cross_province_campaign"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.drop_table("cross_province_citizens")
    for name, _ in INDEXES:
        op.drop_index(name, table_name="audit_events")
