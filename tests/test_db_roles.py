"""Finding 3: the app's own database role cannot rewrite the audit trail. Migrations run as an owner role; the app
and the workers connect as a runtime role that may only add to and read the audit tables, so it can neither switch
their triggers off, drop them, nor UPDATE, DELETE or TRUNCATE them, while the normal flow still works.

These run on PostgreSQL with two roles (DATABASE_URL = runtime role, DATABASE_OWNER_URL = owner), as CI does."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from notifications import sealing
from workflow import audit, dbroles
from workflow.db import db

from .factories import cdht_at

PG = os.environ.get("DATABASE_URL", "").startswith("postgres")
TWO_ROLES = bool(os.environ.get("DATABASE_OWNER_URL"))
NOT_PG = "database roles exist on PostgreSQL only (SQLite has none); CI runs these on PostgreSQL"
pg_only = pytest.mark.skipif(not PG, reason=NOT_PG)
two_roles = pytest.mark.skipif(not (PG and TWO_ROLES), reason=NOT_PG if not PG else (
    "needs DATABASE_OWNER_URL: with one role the app owns the tables and nothing can refuse it (single-role mode)"))
INSUFFICIENT_PRIVILEGE = "42501"


def _refused(stmt: str) -> None:
    """Run `stmt` as the app's runtime role in its own transaction; it must fail for lack of privilege."""
    db.session.commit()
    with pytest.raises(DBAPIError) as caught:
        with db.engine.begin() as conn:
            conn.execute(text(stmt))
    assert caught.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE, caught.value


@pytest.fixture
def sealed(world):
    """A file at final approval: events written, sealed, and a head recorded, all by the runtime role."""
    cdht_at(world, "final_approval")
    db.session.commit()
    assert audit.seal_all() > 0
    sealing.record_head()
    return world


@pg_only
def test_the_suite_really_runs_as_a_separate_runtime_role():
    """Guards the other tests: with an owner URL the app must not be the owner, a superuser, or own the trail."""
    me, superuser = db.session.execute(text(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
    owns = db.session.scalar(text(
        "SELECT pg_has_role(current_user, tableowner, 'MEMBER') FROM pg_tables WHERE tablename = 'audit_events'"))
    if not TWO_ROLES:
        pytest.skip("single-role mode (no DATABASE_OWNER_URL): the app is the owner by design")
    owner = make_url(os.environ["DATABASE_OWNER_URL"]).username
    assert me != owner, "the app connects as the owner role"
    assert not superuser, f"the app connects as superuser {me}"
    assert not owns, f"{me} owns (or is a member of the owner of) audit_events"


@two_roles
@pytest.mark.parametrize("stmt", [
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "DROP TRIGGER audit_seals_append_only ON audit_seals",
    "ALTER TABLE audit_seals DISABLE TRIGGER ALL",
    "DROP FUNCTION refuse_audit_change() CASCADE",
    "DROP TABLE audit_heads",
    "UPDATE audit_events SET reason = 'rewritten'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events CASCADE",
    "UPDATE audit_seals SET hash = repeat('0', 64)",
    "DELETE FROM audit_seals",
    "TRUNCATE audit_seals",
    "UPDATE audit_heads SET hash = repeat('0', 64)",
    "DELETE FROM audit_heads",
    "TRUNCATE audit_heads",
    "SET session_replication_role = replica",
    "CREATE TABLE sneaky (id int)",
    "TRUNCATE applications CASCADE",
])
def test_the_runtime_role_cannot_rewrite_the_trail(sealed, stmt):
    _refused(stmt)
    assert audit.verify().ok


@two_roles
def test_the_runtime_role_holds_exactly_its_privileges(app):
    rows = db.session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
    assert set(dbroles.APPEND_ONLY) <= set(rows)
    for table in rows:
        want = ({"SELECT", "INSERT"} if table in dbroles.APPEND_ONLY else {"SELECT"} if table in dbroles.READ_ONLY
                else {"SELECT", "INSERT", "UPDATE", "DELETE"})
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
            held = db.session.scalar(text("SELECT has_table_privilege(current_user, :t, :p)"),
                                     {"t": f"public.{table}", "p": privilege})
            assert held == (privilege in want), f"{privilege} on {table}: {held}"
    sequences = db.session.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                                   ).scalars().all()
    for seq in sequences:
        assert db.session.scalar(text("SELECT has_sequence_privilege(current_user, :s, 'USAGE')"), {"s": seq})
    assert not db.session.scalar(text("SELECT has_schema_privilege(current_user, 'public', 'CREATE')"))


@two_roles
def test_insert_and_select_work_and_the_normal_flow_verifies(sealed, runner):
    events = db.session.scalar(text("SELECT count(*) FROM audit_events"))
    assert events > 5 and db.session.scalar(text("SELECT count(*) FROM audit_heads")) == 1
    db.session.execute(text("INSERT INTO audit_events (actor_name, action, payload, created_at) "
                            "VALUES ('runtime', 'note', '{}', now())"))
    db.session.commit()
    assert audit.seal_all() == 1
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"OK: {events + 1} sealed" in result.output


@two_roles
def test_grant_runtime_takes_back_a_privilege_added_by_hand(sealed, owner_engine, runner):
    role = db.session.scalar(text("SELECT current_user"))
    db.session.commit()
    with owner_engine.begin() as conn:
        conn.execute(text(f'GRANT UPDATE, TRUNCATE ON audit_events TO "{role}"'))
    held = "SELECT has_table_privilege(current_user, 'audit_events', 'UPDATE')"
    assert db.session.scalar(text(held))  # now it could (only the trigger would still say no)
    db.session.commit()
    result = runner.invoke(args=["db", "grant-runtime"])
    assert result.exit_code == 0, result.output
    assert f"granted the runtime role {role}" in result.output
    assert not db.session.scalar(text(held))
    _refused("TRUNCATE audit_events CASCADE")


@two_roles
def test_grant_runtime_refuses_the_owner_itself(owner_engine, runner):
    owner = make_url(os.environ["DATABASE_OWNER_URL"]).username
    with owner_engine.connect() as conn, pytest.raises(dbroles.RoleError, match="running the migrations"):
        dbroles.grant_runtime(conn, owner)
    result = runner.invoke(args=["db", "grant-runtime", owner])
    assert result.exit_code != 0 and "running the migrations" in result.output


def test_no_grants_on_sqlite(app, runner):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite case: there are no roles to grant to")
    with db.engine.connect() as conn:
        assert dbroles.grant_runtime(conn, "anyone") == []
    result = runner.invoke(args=["db", "grant-runtime", "anyone"])
    assert result.exit_code == 0 and "nothing to grant" in result.output


def test_runtime_role_comes_from_the_environment():
    app_url = "postgresql://hoctap_app@db/hoctap"
    assert dbroles.runtime_role(app_url, {}) is None  # one role: nothing to grant
    assert dbroles.runtime_role(app_url, {"DATABASE_OWNER_URL": "postgresql://hoctap_owner@db/hoctap"}) == "hoctap_app"
    assert dbroles.runtime_role(app_url, {"DATABASE_RUNTIME_ROLE": "web"}) == "web"
    sql = dbroles.statements("hoctap_app", ["audit_events", "users", "alembic_version"])
    assert 'GRANT SELECT, INSERT ON "public"."audit_events" TO "hoctap_app"' in sql
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON "public"."users" TO "hoctap_app"' in sql
    assert 'GRANT SELECT ON "public"."alembic_version" TO "hoctap_app"' in sql
    assert sql[0].startswith("REVOKE ALL ON ALL TABLES")
