"""A health page for load balancers and operators: the database answers and the schema is migrated."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from workflow.db import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    try:
        db.session.execute(text("SELECT 1 FROM applications LIMIT 1"))
        return jsonify(status="ok", database=db.engine.dialect.name)
    except Exception as exc:  # the page exists to report exactly this
        return jsonify(status="error", error=exc.__class__.__name__), 503
