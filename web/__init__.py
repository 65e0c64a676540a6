"""The Flask app factory: configuration, database, migrations, blueprints and CLI commands."""
from __future__ import annotations

import os

from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import event

from workflow.db import db

from . import config

migrate = Migrate()
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_env(app.instance_path))
    app.config.update(overrides or {})
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    import notifications
    from workflow import cli as workflow_cli

    from . import health, site

    app.register_blueprint(health.bp)
    site.init_app(app)  # pages: translations, login, CSRF, error pages and their blueprints
    from .api import bp as api_bp; app.register_blueprint(api_bp)  # noqa: E702, I001  (JSON API)
    workflow_cli.register(app)
    notifications.init_app(app)
    return app
