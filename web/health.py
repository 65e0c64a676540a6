"""Health endpoints for load balancers and orchestrators, public and cheap.

- /health/live: the process answers (no database): restart it when this fails.
- /health/ready: the database answers and the schema is at the migrations' head: send traffic only then.
- /health: the readiness answer under its historical name."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from workflow.db import db

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live():
    return jsonify(status="ok")


def _schema_revision() -> set[str]:
    return {row[0] for row in db.session.execute(text("SELECT version_num FROM alembic_version"))}


def _expected_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from . import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return set(ScriptDirectory.from_config(config).get_heads())


@bp.get("/health/ready")
@bp.get("/health")
def ready():
    try:
        current = _schema_revision()
    except Exception as exc:  # the endpoint exists to report exactly this
        db.session.rollback()
        return jsonify(status="error", error=exc.__class__.__name__), 503
    expected = _heads()
    if current != expected:
        return jsonify(status="error", error="schema_not_migrated", schema=sorted(current),
                       expected=sorted(expected)), 503
    return jsonify(status="ok", database=db.engine.dialect.name)


_heads_cache: set[str] | None = None


def _heads() -> set[str]:
    global _heads_cache
    if _heads_cache is None:
        _heads_cache = _expected_heads()
    return _heads_cache
