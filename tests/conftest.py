"""Fixtures after Flask's tutorial (app, client, runner) on a real database: SQLite by default, PostgreSQL when
DATABASE_URL says so. The schema is built once by the migrations (so every run proves they build it); each test
then starts from empty tables.

With DATABASE_OWNER_URL as well (CI does this), PostgreSQL runs as in production: the migrations and the wipe
between tests run as the owner role, the app under test connects with DATABASE_URL as the runtime role, which may
only add to and read the audit trail (workflow/dbroles.py). Every app the tests build seals with one fixed audit
key and keeps its heads in a file under the test directory."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from web import create_app
from workflow import chains, definitions, rubrics
from workflow.db import db

from .factories import World, build_world
from .factories import owner_engine as _owner_engine

TMP = tempfile.mkdtemp(prefix="hoctap-tests-")
TEST_AUDIT_KEY = "a0d17e57" * 8  # hex: 32 bytes
AUDIT_HEAD_FILE = os.path.join(TMP, "audit-heads.log")
# Set in the environment too, so the second apps some tests build (CSRF, browser) seal with the same key.
os.environ["AUDIT_KEY"] = TEST_AUDIT_KEY
os.environ["AUDIT_HEAD_FILE"] = AUDIT_HEAD_FILE


def _sqlite_url() -> str:
    return f"sqlite:///{os.path.join(TMP, 'test.db')}"


@pytest.fixture(scope="session")
def app():
    url = os.environ.get("DATABASE_URL") or _sqlite_url()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": _normalise(url), "PASSWORD_HASH_FAST": True,
                      "UPLOAD_DIR": os.path.join(TMP, "uploads"), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "AUDIT_KEY": bytes.fromhex(TEST_AUDIT_KEY), "AUDIT_HEAD_FILE": AUDIT_HEAD_FILE})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            owner = _owner_engine()
            _create_database(owner.url)
            with owner.begin() as conn:
                if owner is db.engine:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                else:  # an owner may not own the schema itself (PostgreSQL < 15): drop what it owns instead
                    conn.execute(text("DROP OWNED BY CURRENT_USER; CREATE SCHEMA IF NOT EXISTS public"))
        upgrade(revision="heads")  # as the owner when DATABASE_OWNER_URL is set; then grants the runtime role
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            db.engine.dispose()
            shutil.copy(_path(app), _path(app) + ".template")
    yield app


def _create_database(url) -> None:
    """Create the test database on the throwaway cluster if it is not there yet."""
    from sqlalchemy import create_engine

    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def _normalise(url: str) -> str:
    from workflow.config import database_url

    os.environ["DATABASE_URL"] = url
    return database_url(TMP)


def _path(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]


def wipe(app) -> None:
    """Empty every table and the head file. PostgreSQL: see _empty_pg, as the owner when there is one, else as the
    superuser; SQLite: put back the freshly migrated file."""
    db.session.remove()
    if os.path.exists(app.config["AUDIT_HEAD_FILE"]):
        os.remove(app.config["AUDIT_HEAD_FILE"])
    if db.engine.dialect.name == "postgresql":
        owner = _owner_engine()
        with owner.begin() as conn:
            _empty_pg(conn, superuser=owner is db.engine)
    else:
        db.engine.dispose()
        path = _path(app)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        # A fresh inode renamed into place, never the old file overwritten: a connection some thread still holds
        # (a pooled one closed by the garbage collector checkpoints its WAL) writes into the old, unlinked file,
        # not into the half-copied new one (seen once: "no such table" right after a wipe).
        shutil.copy(path + ".template", path + ".next")
        os.replace(path + ".next", path)
    chains.clear_cache()
    rubrics.spec.cache_clear()
    definitions.clear_cache()  # ids restart with the database: a cached version would be another title's


def _empty_pg(conn, superuser: bool) -> None:
    """DELETE from the few tables a test filled, children first, with user triggers off (the audit tables refuse
    it otherwise; the summary triggers would count the deletions); then restart each sequence that was used. Ten
    times cheaper than a TRUNCATE of every table, which cost a third of the PostgreSQL run. As the superuser by the
    replica mode; as the owner by switching off the triggers of the tables that have them, for this transaction.
    A foreign key a tamper test left unvalidated is validated again."""
    names = [t.name for t in db.metadata.sorted_tables]
    filled = set(conn.execute(text(" UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in names))).scalars())
    if superuser:
        switched = set()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        switched = filled & set(conn.execute(text(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    for table in switched:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    for name in reversed(names):
        if name in filled:
            conn.execute(text(f"DELETE FROM {name}"))
    for table in switched:
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    conn.execute(text("SELECT setval(quote_ident(sequencename)::regclass, 1, false) FROM pg_sequences "
                      "WHERE schemaname = 'public' AND last_value IS NOT NULL"))
    for table, name in conn.execute(text(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE NOT convalidated AND connamespace = 'public'::regnamespace")).all():
        conn.execute(text(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"'))


@pytest.fixture(autouse=True)
def _ctx(app):
    from web import ratelimit

    with app.app_context():
        wipe(app)
        ratelimit.reset()  # login counters start empty in every test
        yield
        db.session.remove()


@pytest.fixture
def owner_engine(app):
    """An engine with the owner's rights (DATABASE_OWNER_URL; without one, the app's own engine, which owns all)."""
    return _owner_engine()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def world() -> World:
    """A two-tier province (after 1/7/2025): branch -> commune -> province."""
    return build_world(tiers=2)


@pytest.fixture
def world3(time_machine) -> World:
    """A three-tier province before the reform (time fixed at 3/3/2025): branch -> commune -> district."""
    time_machine.move_to("2025-03-03 09:00:00+07:00", tick=True)
    return build_world(tiers=3)
