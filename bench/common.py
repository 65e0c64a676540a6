"""What both benchmarks need: a database URL in the driver's spelling, and a fresh schema with a test province."""
from __future__ import annotations

import contextlib
import io
import tempfile


def database_url(given: str | None, name: str) -> str:
    url = given or f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def fresh_world():
    """Inside an app context: drop what a previous run left, build the schema by the migrations, and seed the
    two-tier test province (tests.factories.World)."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tests.factories import build_world
    from workflow.db import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    with contextlib.redirect_stderr(io.StringIO()):
        upgrade(revision="heads")
    return build_world(tiers=2)
