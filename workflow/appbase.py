"""The part of an app every process needs: configuration, the database and translations. The web app
(web.create_app) adds pages, API and CLI on top; the RQ worker (notifications.app.create_app) adds only the jobs,
so a worker never imports a view."""
from __future__ import annotations

import os

from flask import Flask
from flask_babel import Babel
from sqlalchemy import event

from . import config
from .db import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "web", "translations")  # one catalogue for pages and worker alike


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def create_base_app(import_name: str, overrides: dict | None = None, locale_selector=None) -> Flask:
    """A Flask app with the configuration (environment, then `overrides`), the database and Flask-Babel
    (Vietnamese unless `locale_selector` says otherwise)."""
    instance = os.environ.get("HOCTAP_INSTANCE_DIR")  # keys, uploads, kept heads; default ./instance
    app = Flask(import_name, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_env(app.instance_path))
    app.config.update(overrides or {})
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "vi")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    Babel(app, locale_selector=locale_selector)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    return app
