"""Who may do what in the database (PostgreSQL): the rule as data, and the function that applies it.

Migrations run as an owner role (DATABASE_OWNER_URL); the app and the workers connect as a runtime role
(DATABASE_URL) that owns nothing. An owner can switch triggers off, drop them, or TRUNCATE, so the audit trail is
only append-only against the runtime role if that role holds no more than SELECT and INSERT on the audit tables.
`grant_runtime` makes the runtime role's privileges exactly these, whatever they were before; migrations/env.py runs
it after every `flask db upgrade`, and `flask db grant-runtime` runs it on demand. SQLite has no roles: nothing to do.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

# Tables whose rows are never changed once written: the runtime role may only add and read them.
APPEND_ONLY = ("audit_events", "audit_seals", "audit_heads")
# Tables the runtime role may read and nothing more.
READ_ONLY = ("alembic_version",)
# Privileges on ordinary tables. Never TRUNCATE (it skips row triggers), TRIGGER or REFERENCES.
ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
APPEND = "SELECT, INSERT"
SEQUENCES = "USAGE, SELECT"  # nextval needs USAGE; setval (UPDATE) is not needed


class RoleError(RuntimeError):
    """The runtime role cannot be granted to (unknown, or the very role that owns the schema)."""


def sqlalchemy_url(url: str) -> str:
    """The normalisation workflow.config applies to DATABASE_URL (postgres:// and the psycopg 3 driver)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def owner_url(environ: Mapping[str, str] | None = None) -> str | None:
    """DATABASE_OWNER_URL, normalised, or None in a single-role set-up."""
    env = os.environ if environ is None else environ
    url = env.get("DATABASE_OWNER_URL")
    return sqlalchemy_url(url) if url else None


def runtime_role(runtime_url: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The role to grant to: DATABASE_RUNTIME_ROLE, else the user of the runtime URL when an owner URL is set
    (two roles), else None (one role does everything: nothing to grant)."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_RUNTIME_ROLE"):
        return env["DATABASE_RUNTIME_ROLE"]
    if env.get("DATABASE_OWNER_URL") and runtime_url:
        return make_url(runtime_url).username
    return None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def statements(role: str, tables: list[str], schema: str = "public") -> list[str]:
    """The SQL that gives `role` exactly its privileges on `tables` of `schema`: everything is revoked first, so
    running it again, or after a privilege was added by hand, converges on the same set."""
    r, s = _ident(role), _ident(schema)
    sql = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
           f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
           f"REVOKE CREATE ON SCHEMA {s} FROM {r}",
           f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    for table in sorted(tables):
        privileges = APPEND if table in APPEND_ONLY else "SELECT" if table in READ_ONLY else ORDINARY
        if table in APPEND_ONLY:  # a grant to PUBLIC would reach the runtime role too
            sql.append(f"REVOKE ALL ON {s}.{_ident(table)} FROM PUBLIC")
        sql.append(f"GRANT {privileges} ON {s}.{_ident(table)} TO {r}")
    sql.append(f"GRANT {SEQUENCES} ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    return sql


def grant_runtime(connection: Connection, role: str, schema: str = "public") -> list[str]:
    """Apply `statements` on this (owner's) connection, in its transaction; return what was run. Refuses to grant
    to the connected role itself or to a superuser: revoking from the owner would lock the owner out, and a
    superuser is beyond privileges anyway, which would leave the trail unprotected without saying so."""
    if connection.dialect.name != "postgresql":
        return []
    me = connection.scalar(text("SELECT current_user"))
    found = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        raise RoleError(f"role {role} does not exist")
    if role == me:
        raise RoleError(f"role {role} is the role running the migrations; the runtime role must be another one")
    if found[0]:
        raise RoleError(f"role {role} is a superuser: no grant can restrict it")
    owned = connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s "
                                    "AND pg_has_role(:r, tableowner, 'MEMBER') ORDER BY 1"),
                               {"s": schema, "r": role}).all()
    if owned:  # owning a table (or being a member of its owner) carries every right: no grant can take it away
        raise RoleError(f"role {role} owns, or is a member of the owner of: {', '.join(owned)}")
    tables = connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).all()
    sql = statements(role, list(tables), schema)
    for stmt in sql:
        connection.execute(text(stmt))
    return sql
