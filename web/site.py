"""Wiring of the server-rendered site: translations, login, CSRF, login rate limit, error pages and blueprints.
Kept apart from create_app so the factory stays a readable list of parts."""
from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_wtf.csrf import CSRFProtect

from workflow.inputs import MAX_INT

from . import auth, errors, i18n

csrf = CSRFProtect()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def init_app(app: Flask) -> None:
    """Register everything the pages need. CSRF is checked by our own hook so that the JSON API blueprint
    ("api", bearer tokens) is exempt whatever order the blueprints are registered in."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form may stay open during a long scoring session
    app.config.setdefault("PAGE_SIZE", 25)
    # MAX_CONTENT_LENGTH (MAX_UPLOAD_MB) is the limit a person is told for one file; the request may carry a
    # little more (form fields, multipart framing), so a file just under the limit is not refused as a whole.
    if "UPLOAD_MAX_BYTES" not in app.config and app.config.get("MAX_CONTENT_LENGTH"):
        app.config["UPLOAD_MAX_BYTES"] = app.config["MAX_CONTENT_LENGTH"]
        app.config["MAX_CONTENT_LENGTH"] += 512 * 1024
    csrf.init_app(app)

    @app.before_request
    def _csrf_for_pages() -> None:
        if (app.config["WTF_CSRF_ENABLED"] and request.blueprint != "api"
                and not request.path.startswith("/api/")
                and request.method in app.config["WTF_CSRF_METHODS"]):
            csrf.protect()

    @app.before_request
    def _refuse_control_characters() -> None:
        """NUL and other control characters never belong in a form field, a query parameter or a path (PostgreSQL
        refuses NUL outright): answer with the friendly 400 page instead of letting them reach the database."""
        if request.blueprint == "api" or request.path.startswith("/api/"):
            return
        if _CONTROL.search(request.path) or any(
                _CONTROL.search(k) or _CONTROL.search(v) for k, values in request.args.lists() for v in values):
            abort(400)
        if request.method == "POST" and any(
                _CONTROL.search(v) for values in request.form.listvalues() for v in values):
            abort(400)

    @app.before_request
    def _refuse_ids_past_32_bits() -> None:
        """A safety net behind the bounded converter of the page views (views.common.ID): an integer path part
        that no 32-bit id column can hold names nothing, so it is a 404 rather than a database error."""
        if request.blueprint != "api" and any(
                isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= MAX_INT
                for v in (request.view_args or {}).values()):
            abort(404)

    i18n.init_app(app)
    from . import wording; wording.init_app(app)  # noqa: E702, I001  (issue 13: labels, names, sizes)
    auth.init_app(app)
    errors.init_app(app)

    from .views import (
        admin,
        admin_campaigns,
        admin_mergers,
        admin_officers,
        admin_units,
        admin_versions,
        auditing,
        diagrams,
        home,
        nominations,
        review,
    )

    for module in (home, nominations, review, auditing, diagrams, admin, admin_units, admin_officers,
                   admin_campaigns, admin_mergers, admin_versions):
        app.register_blueprint(module.bp)

    from .views import citizens  # citizens across years and places (issue 9, section 2)

    app.register_blueprint(citizens.bp)

    # Evidence in bulk (issue 9, part 3): several files, remove/replace, previews, the campaign's zip
    from .views import evidence as evidence_views

    app.register_blueprint(evidence_views.bp)

    # Spreadsheet import of nominees (issue 9, section 1): "Nhập danh sách từ bảng tính" and the job pages
    from .views import imports as imports_views

    app.register_blueprint(imports_views.bp)

    # Mass actions as jobs (issue 10, section 3): "Áp dụng cho tất cả hồ sơ khớp bộ lọc", its confirmation, the job
    from .views import mass_actions as mass_action_views

    app.register_blueprint(mass_action_views.bp)

    # Targets and denominators of the reports (issue 11, section 1, part A): /admin/targets
    from .views import admin_targets

    app.register_blueprint(admin_targets.bp)

    # Dashboards against the plan's targets (issue 11, section 3): /reports, drill-down, charts, CSV/XLSX
    from .views import reports as reports_views

    app.register_blueprint(reports_views.bp)

    # The annual report (issue 11, part D): /reports/annual, its XLSX and PDF, the communes' closing of a year
    from .views import reports_annual

    app.register_blueprint(reports_annual.bp)

    # Certificates with a public check (issue 12 §2, part F2): /verify/<code> (no login) and a decision's PDFs
    from .views import certificates as certificate_views
    from .views import verify as verify_views

    app.register_blueprint(verify_views.bp)
    app.register_blueprint(certificate_views.bp)

    # The decision as an official document (issue 12, section 1): /decisions/<id>.pdf, printed as a job when large
    from .views import papers as papers_views

    app.register_blueprint(papers_views.bp)

    # The browser's widgets in the page's language (issue 13): dd/mm/yyyy date fields, validation messages
    from . import widgets

    widgets.init_app(app)

    # Help (issue 13): /help, the header's unread count, the evidence each criterion expects
    from .views import help as help_views

    app.register_blueprint(help_views.bp)

    # The other learning titles (issue 14): households, clans and organisations with their members, the list
    # behind a counted criterion, and the title definitions' versions with their dry-run migration
    from .views import admin_definitions
    from .views import subjects as subject_views

    app.register_blueprint(subject_views.bp)
    app.register_blueprint(admin_definitions.bp)
