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
    # MAX_CONTENT_LENGTH (MAX_UPLOAD_MB) is the limit a person is told for one file; the request may carry a
    # little more (form fields, multipart framing), so a file just under the limit is not refused as a whole.
    if "UPLOAD_MAX_BYTES" not in app.config and app.config.get("MAX_CONTENT_LENGTH"):
        app.config["UPLOAD_MAX_BYTES"] = app.config["MAX_CONTENT_LENGTH"]
        app.config["MAX_CONTENT_LENGTH"] += 512 * 1024
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
