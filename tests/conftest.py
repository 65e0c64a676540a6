"""Fixtures after Flask's tutorial (app, client, runner) on a real database: SQLite by default, PostgreSQL when
DATABASE_URL says so. The schema is built once by the migrations (so every run proves they build it); each test
then starts from empty tables."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from web import create_app
from workflow import chains, rubrics
from workflow.db import db

from .factories import World, build_world

TMP = tempfile.mkdtemp(prefix="hoctap-tests-")


def _sqlite_url() -> str:
    return f"sqlite:///{os.path.join(TMP, 'test.db')}"


@pytest.fixture(scope="session")
def app():
    url = os.environ.get("DATABASE_URL") or _sqlite_url()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": _normalise(url), "PASSWORD_HASH_FAST": True,
                      "UPLOAD_DIR": os.path.join(TMP, "uploads"), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _create_database(db.engine.url)
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(revision="heads")
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
    from web.config import database_url

    os.environ["DATABASE_URL"] = url
    return database_url(TMP)


def _path(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]


def wipe(app) -> None:
    """Empty every table. PostgreSQL: TRUNCATE with triggers off (the audit tables refuse it otherwise);
    SQLite: put back the freshly migrated file."""
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        db.engine.dispose()
        path = _path(app)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        shutil.copy(path + ".template", path)
    chains.clear_cache()
    rubrics.spec.cache_clear()


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.app_context():
        wipe(app)
        yield
        db.session.remove()


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
