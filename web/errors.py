"""Friendly error pages in the user's language. Paths of the JSON API are left to the API's own handlers."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow.errors import WorkflowError

from .i18n import locale


def _is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def page(status: int, message: str | None = None):
    """Render the error page for `status`, with a specific message when one is known."""
    titles = {
        400: _("The request could not be understood"),
        403: _("You may not do this"),
        404: _("Not found"),
        409: _("Someone else changed this application"),
        413: _("The file is too large"),
        422: _("This cannot be done now"),
        429: _("Too many attempts"),
        500: _("Something went wrong"),
    }
    defaults = {
        400: _("Please go back, reload the page and try again."),
        403: _("Your role or unit does not allow this page or action."),
        404: _("The page or application does not exist, or it is outside your units."),
        409: _("Reload the page to see the current version, then try again."),
        413: _("The upload exceeds %(mb)s MB. Please send a smaller file (scan at a lower resolution or split it).",
               mb=_max_mb()),
        422: _("The request was refused."),
        429: _("Please wait a few minutes and try again."),
        500: _("The error was recorded. Please try again later."),
    }
    return render_template("error.html", status=status, title=titles.get(status, titles[500]),
                           message=message or defaults.get(status, defaults[500])), status


def _max_mb() -> int:
    from flask import current_app

    limit = current_app.config.get("UPLOAD_MAX_BYTES") or current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return int(limit // (1024 * 1024))


def init_app(app: Flask) -> None:
    def http_error(exc: HTTPException):
        if _is_api():
            return exc
        return page(exc.code or 500)

    for code in (400, 403, 404, 405, 409, 413, 429, 500):
        app.register_error_handler(code, http_error)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if _is_api():
            return exc
        return page(400, _("The form has expired or did not come from this site. Reload the page and try again."))

    @app.errorhandler(WorkflowError)
    def workflow_error(exc: WorkflowError):
        from workflow.db import db

        db.session.rollback()
        if _is_api():  # a fallback only: the API blueprint's own handler takes precedence
            return {"error": exc.as_dict(locale())}, exc.status
        from .wording import explain

        return page(exc.status, explain(exc))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS only: browsers must never downgrade
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={app.config.get('HSTS_MAX_AGE', 31536000)}")
        if not _is_api():
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
        return response
