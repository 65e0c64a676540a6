"""The web app factory: the shared base (configuration, database, translations: workflow.appbase), then
migrations, pages, the JSON API, login throttling and the CLI commands."""
from __future__ import annotations

import gc
import os

from flask import Flask
from flask_migrate import Migrate

from workflow.appbase import ROOT, create_base_app
from workflow.db import db

migrate = Migrate()
MIGRATIONS_DIR = os.path.join(ROOT, "migrations")


def create_app(overrides: dict | None = None) -> Flask:
    import notifications
    from workflow import cli as workflow_cli
    from workflow.admin import cli as admin_cli

    from . import health, i18n, proxies, ratelimit, site

    app = create_base_app(__name__, overrides, locale_selector=i18n.select_locale)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)
    proxies.init_app(app)
    app.register_blueprint(health.bp)
    site.init_app(app)  # pages: translations, login, CSRF, error pages and their blueprints
    from .api import bp as api_bp; app.register_blueprint(api_bp)  # noqa: E702, I001  (JSON API)
    ratelimit.init_app(app)  # after the blueprints: it wraps the page and API login views
    workflow_cli.register(app)
    admin_cli.register(app)  # units import, rehome
    from workflow import imports_cli; imports_cli.register(app)  # noqa: E702, I001  (nominees import, issue 9)
    from workflow import records_cli; records_cli.register(app)  # noqa: E702, I001  (signed records, issue 12)
    from workflow import certificates_cli; certificates_cli.register(app)  # noqa: E702, I001  (issue 12 §2)
    notifications.init_app(app)
    # What start-up built lives as long as the process: take it out of the collector's reach, so that a full
    # collection walks only what requests make. Each full pass over it paused a page for 100-180 ms every few
    # hundred requests (bench/scale_bench.py, the p95 of one user); with a preloaded app the frozen objects also
    # stay shared between gunicorn's workers.
    gc.freeze()
    return app
