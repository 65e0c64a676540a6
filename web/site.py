"""Wiring of the server-rendered site: translations, login, CSRF, login rate limit, error pages and blueprints.
Kept apart from create_app so the factory stays a readable list of parts."""
from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from . import auth, errors, i18n, ratelimit

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Register everything the pages need. CSRF is checked by our own hook so that the JSON API blueprint
    ("api", bearer tokens) is exempt whatever order the blueprints are registered in."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form may stay open during a long scoring session
    app.config.setdefault("PAGE_SIZE", 25)
    app.config.setdefault("LOGIN_ATTEMPTS", "5/300")  # failures per (username, address) per seconds
    csrf.init_app(app)

    @app.before_request
    def _csrf_for_pages() -> None:
        if (app.config["WTF_CSRF_ENABLED"] and request.blueprint != "api"
                and request.method in app.config["WTF_CSRF_METHODS"]):
            csrf.protect()

    i18n.init_app(app)
    auth.init_app(app)
    ratelimit.init_app(app)
    errors.init_app(app)

    from .views import auditing, diagrams, home, nominations, review

    for module in (home, nominations, review, auditing, diagrams):
        app.register_blueprint(module.bp)
