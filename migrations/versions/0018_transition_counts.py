"""files that passed, were returned or rejected at each stage, kept by triggers (issue 11)

Revision ID: 0018_transition_counts
Revises: 0017_report_holders
Create Date: 2026-12-02 05:40:00

The pass and return rates of the campaign's flow (workflow/reports/flow.py) read `transition_counts`: files per
(unit, campaign, stage, outcome), where outcome is "reached" (the file entered the stage), "passed" (left it
forward: submit or approve), "returned" or "rejected", and a file counts once per (stage, outcome) however often it
happened. The facts come from the audit trail (events of applications with from_state/to_state/action), so a
trigger on audit_events INSERT writes a delta only for the file's first such event (an earlier one is looked up
along ix_audit_events_application (application_id, id)). PostgreSQL: one statement-level trigger with a transition
table (the engine writes a batch's events in one INSERT, so a batch pays one call); SQLite: a row trigger. A second
trigger on applications moves a file's counts when its unit or campaign changes (re-homing, workflow/admin/
mergers.py): a row trigger whose WHEN clause keeps ordinary state changes from calling it. Deltas are only
inserted, as in 0011_state_counts; workflow/reports/transitions.py folds them. The counts are filled from the
existing events here. ix_applications_campaign_unit_created serves the weekly progress (files nominated per
week, an index-only scan); its recognised files are read from 0017's ix_applications_holders. The two partial
index on audit_events, on returns and rejections only, gives the list behind a rare figure (the files returned or
rejected at a stage) from the facts themselves; the dense lists (passed, reached) probe each file's events along
ix_audit_events_application, so approvals and submissions, nearly every event, pay for no further index. On a
large database build them beforehand (this step then skips them):

    CREATE INDEX CONCURRENTLY ix_applications_campaign_unit_created ON applications (campaign_id, unit_id, created_at);
    CREATE INDEX CONCURRENTLY ix_audit_events_setbacks ON audit_events (from_state, action, application_id)
        WHERE action IN ('return', 'reject') AND from_state <> to_state;
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_transition_counts'
down_revision = '0017_report_holders'
branch_labels = None
depends_on = None

CLOSED = "('recognised', 'rejected', 'withdrawn', 'revoked')"
# Returns and rejections only: the rare outcomes, whose lists cannot be found by probing file after file; the
# dense ones (passed, reached) probe each file's events through ix_audit_events_application. Partial, so that the
# approvals and submissions that make up nearly every event do not pay for another index.
SETBACKS_WHERE = "action IN ('return', 'reject') AND from_state <> to_state"
OUTCOME = ("CASE {e}.action WHEN 'return' THEN 'returned' WHEN 'reject' THEN 'rejected' "
           "WHEN 'submit' THEN 'passed' WHEN 'approve' THEN 'passed' END")
LEAVES = ("{e}.action IN ('submit', 'approve', 'return', 'reject') AND {e}.from_state IS NOT NULL "
          "AND {e}.to_state IS NOT NULL AND {e}.from_state <> {e}.to_state")
ENTERS = (f"{{e}}.to_state IS NOT NULL AND {{e}}.to_state NOT IN {CLOSED} "
          "AND ({e}.from_state IS NULL OR {e}.from_state <> {e}.to_state)")


def facts(source: str, e: str = "e") -> str:
    """(id, application_id, stage, outcome) of every counted fact of the events in `source`."""
    return (f"SELECT {e}.id, {e}.application_id, {e}.from_state AS stage, {OUTCOME.format(e=e)} AS outcome "
            f"FROM {source} {e} WHERE {e}.application_id IS NOT NULL AND {LEAVES.format(e=e)} "
            f"UNION ALL SELECT {e}.id, {e}.application_id, {e}.to_state, 'reached' "
            f"FROM {source} {e} WHERE {e}.application_id IS NOT NULL AND {ENTERS.format(e=e)}")


# A fact is new when no earlier event of the same file states it (ix_audit_events_application).
EARLIER = (f"SELECT 1 FROM audit_events p WHERE p.application_id = f.application_id AND p.id < f.id AND "
           f"CASE WHEN f.outcome = 'reached' THEN p.to_state = f.stage AND {ENTERS.format(e='p')} "
           f"ELSE p.from_state = f.stage AND {LEAVES.format(e='p')} AND {OUTCOME.format(e='p')} = f.outcome END")

PG_FUNCTION = f"""
CREATE FUNCTION hoctap_transition_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n)
  SELECT a.unit_id, a.campaign_id, f.stage, f.outcome, count(*)
  FROM ({facts('new_events')}) f JOIN applications a ON a.id = f.application_id
  WHERE NOT EXISTS ({EARLIER})
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$"""

FILE_FACTS = (f"SELECT e.from_state AS stage, {OUTCOME.format(e='e')} AS outcome FROM audit_events e "
              f"WHERE e.application_id = {{id}} AND {LEAVES.format(e='e')} "
              f"UNION SELECT e.to_state, 'reached' FROM audit_events e "
              f"WHERE e.application_id = {{id}} AND {ENTERS.format(e='e')}")

PG_REHOME = f"""
CREATE FUNCTION hoctap_transition_rehome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n)
  SELECT v.unit_id, v.campaign_id, f.stage, f.outcome, v.n
  FROM ({FILE_FACTS.format(id='NEW.id')}) f
  CROSS JOIN (VALUES (OLD.unit_id, OLD.campaign_id, -1), (NEW.unit_id, NEW.campaign_id, 1))
       AS v(unit_id, campaign_id, n);
  RETURN NULL;
END $$"""

PG_TRIGGERS = (
    "CREATE TRIGGER transition_counts_events AFTER INSERT ON audit_events REFERENCING NEW TABLE AS new_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION hoctap_transition_deltas()",
    "CREATE TRIGGER transition_counts_rehome AFTER UPDATE OF unit_id, campaign_id ON applications FOR EACH ROW "
    "WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id) "
    "EXECUTE FUNCTION hoctap_transition_rehome()",
)


def _sqlite_leaves(outcome: str, actions: tuple[str, ...]) -> str:
    """One outcome of leaving a state, for the SQLite row trigger; an earlier such event of the file is looked up
    along ix_audit_events_application."""
    acts = ", ".join(f"'{a}'" for a in actions)
    return f"""
          INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n)
          SELECT a.unit_id, a.campaign_id, NEW.from_state, '{outcome}', 1 FROM applications a
          WHERE NEW.action IN ({acts}) AND NEW.from_state IS NOT NULL AND a.id = NEW.application_id
            AND NOT EXISTS (SELECT 1 FROM audit_events p WHERE p.from_state = NEW.from_state
                            AND p.action IN ({acts}) AND p.application_id = NEW.application_id
                            AND p.id < NEW.id AND p.from_state <> p.to_state);"""


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER transition_counts_events AFTER INSERT ON audit_events
        WHEN NEW.application_id IS NOT NULL AND NEW.to_state IS NOT NULL
             AND (NEW.from_state IS NULL OR NEW.from_state <> NEW.to_state)
        BEGIN{_sqlite_leaves("passed", ("submit", "approve"))}{_sqlite_leaves("returned", ("return",))}\
{_sqlite_leaves("rejected", ("reject",))}
          INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n)
          SELECT a.unit_id, a.campaign_id, NEW.to_state, 'reached', 1 FROM applications a
          WHERE NEW.to_state NOT IN {CLOSED} AND a.id = NEW.application_id
            AND NOT EXISTS (SELECT 1 FROM audit_events p WHERE p.to_state = NEW.to_state
                            AND p.application_id = NEW.application_id AND p.id < NEW.id
                            AND (p.from_state IS NULL OR p.from_state <> p.to_state));
        END""",
    f"""CREATE TRIGGER transition_counts_rehome AFTER UPDATE OF unit_id, campaign_id ON applications
        WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.campaign_id IS NOT NEW.campaign_id
        BEGIN
          INSERT INTO transition_count_deltas (unit_id, campaign_id, stage, outcome, n)
          SELECT v.unit_id, v.campaign_id, f.stage, f.outcome, v.n
          FROM ({FILE_FACTS.format(id='NEW.id')}) f,
               (SELECT OLD.unit_id AS unit_id, OLD.campaign_id AS campaign_id, -1 AS n
                UNION ALL SELECT NEW.unit_id, NEW.campaign_id, 1) v;
        END""",
)

BACKFILL = (f"INSERT INTO transition_counts (unit_id, campaign_id, stage, outcome, n) "
            f"SELECT a.unit_id, a.campaign_id, f.stage, f.outcome, count(DISTINCT f.application_id) "
            f"FROM ({facts('audit_events')}) f JOIN applications a ON a.id = f.application_id "
            f"GROUP BY a.unit_id, a.campaign_id, f.stage, f.outcome")


def upgrade():
    op.create_table(
        "transition_counts",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("n >= 0", name="ck_transition_counts_n"),
    )
    op.create_table(
        "transition_count_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    inspector = sa.inspect(op.get_bind())
    if "ix_applications_campaign_unit_created" not in {ix["name"] for ix in inspector.get_indexes("applications")}:
        op.create_index("ix_applications_campaign_unit_created", "applications",
                        ["campaign_id", "unit_id", "created_at"])
    events = {ix["name"] for ix in inspector.get_indexes("audit_events")}
    if "ix_audit_events_setbacks" not in events:
        op.create_index("ix_audit_events_setbacks", "audit_events", ["from_state", "action", "application_id"],
                        postgresql_where=sa.text(SETBACKS_WHERE), sqlite_where=sa.text(SETBACKS_WHERE))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_REHOME)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    for name, table in (("transition_counts_events", "audit_events"), ("transition_counts_rehome", "applications")):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if pg else f"DROP TRIGGER IF EXISTS {name}")
    if pg:
        op.execute("DROP FUNCTION IF EXISTS hoctap_transition_deltas()")
        op.execute("DROP FUNCTION IF EXISTS hoctap_transition_rehome()")
    op.drop_index("ix_audit_events_setbacks", table_name="audit_events")
    op.drop_index("ix_applications_campaign_unit_created", table_name="applications")
    op.drop_table("transition_count_deltas")
    op.drop_table("transition_counts")
