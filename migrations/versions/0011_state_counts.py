"""state counts: files per (unit, campaign, state), kept by triggers in the same transaction

Revision ID: 0011_state_counts
Revises: 0010_citizens
Create Date: 2026-12-02 02:10:00

The home page, the queue's count and the reports read `state_counts` (workflow/summary.py) instead of counting
millions of applications. Triggers on applications write every change as a row of `state_count_deltas`, in the
writer's own transaction, whoever the writer is (the engine, an import, a re-homing, a hand-written UPDATE); a
rollback takes the delta with it. Deltas are only ever inserted, so two officers acting at once never wait on a
shared counter row; workflow.summary.fold sums them into state_counts. PostgreSQL uses statement-level triggers
with transition tables (one delta per key per statement, however many rows a batch moves); SQLite row triggers.
The counts are filled from the existing rows here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_state_counts'
down_revision = '0010_citizens'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION hoctap_state_count_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
    SELECT unit_id, campaign_id, state, count(*) FROM new_rows GROUP BY 1, 2, 3;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
    SELECT unit_id, campaign_id, state, -count(*) FROM old_rows GROUP BY 1, 2, 3;
  ELSE
    INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
    SELECT unit_id, campaign_id, state, sum(d) FROM (
      SELECT unit_id, campaign_id, state, 1 AS d FROM new_rows
      UNION ALL SELECT unit_id, campaign_id, state, -1 FROM old_rows) t
    GROUP BY 1, 2, 3 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$"""

PG_TRIGGERS = (
    "CREATE TRIGGER state_counts_insert AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hoctap_state_count_deltas()",
    "CREATE TRIGGER state_counts_update AFTER UPDATE ON applications "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hoctap_state_count_deltas()",
    "CREATE TRIGGER state_counts_delete AFTER DELETE ON applications REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hoctap_state_count_deltas()",
)

SQLITE_TRIGGERS = (
    """CREATE TRIGGER state_counts_insert AFTER INSERT ON applications BEGIN
         INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
         VALUES (NEW.unit_id, NEW.campaign_id, NEW.state, 1); END""",
    """CREATE TRIGGER state_counts_update AFTER UPDATE OF unit_id, campaign_id, state ON applications
         WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.campaign_id IS NOT NEW.campaign_id OR OLD.state IS NOT NEW.state
       BEGIN
         INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
         VALUES (OLD.unit_id, OLD.campaign_id, OLD.state, -1), (NEW.unit_id, NEW.campaign_id, NEW.state, 1); END""",
    """CREATE TRIGGER state_counts_delete AFTER DELETE ON applications BEGIN
         INSERT INTO state_count_deltas (unit_id, campaign_id, state, n)
         VALUES (OLD.unit_id, OLD.campaign_id, OLD.state, -1); END""",
)


def upgrade():
    op.create_table(
        "state_counts",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("state", sa.String(32), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("n >= 0", name="ck_state_counts_n"),
    )
    op.create_table(
        "state_count_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO state_counts (unit_id, campaign_id, state, n) "
               "SELECT unit_id, campaign_id, state, count(*) FROM applications GROUP BY unit_id, campaign_id, state")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    for name in ("state_counts_insert", "state_counts_update", "state_counts_delete"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON applications")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hoctap_state_count_deltas()")
    op.drop_table("state_count_deltas")
    op.drop_table("state_counts")
