"""The JSON API under /api/v1: the contract other systems use. Every change goes through the engine's entry points
(workflow.engine / workflow.operations) and every read through workflow.queries, so the API enforces exactly the
rules the pages do. One commit per request that changed something; any refusal rolls back.

Register with `app.register_blueprint(bp)`; the OpenAPI document is served at /api/v1/openapi.json."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that needs no bearer token (token exchange, the OpenAPI document)."""
    view.api_public = True  # type: ignore[attr-defined]
    return view


@bp.before_request
def _require_token() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "api_public", False):
        return
    auth.authenticate()


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.vary.add("Accept-Language")
    return resp


def _unmatched_as_json() -> Response | None:
    """Unknown addresses and methods under /api/v1 never reach a blueprint (routing failed first), so the
    blueprint's error handlers cannot answer them; this app-wide hook does, before the view would run, without
    touching the pages' own 404/405 handlers."""
    exc = request.routing_exception
    under_api = request.path == PREFIX or request.path.startswith(PREFIX + "/")
    if under_api and isinstance(exc, NotFound | MethodNotAllowed):
        return _headers(errors.http_error(exc))
    return None


@bp.record_once
def _app_wide_hooks(state) -> None:
    """Bearer tokens, not cookies, authenticate the API, so CSRF does not apply: exempt the blueprint when Flask-WTF
    is set up before registration (the pages skip the blueprint named "api" otherwise). The hook for unmatched
    addresses goes first among the app's before-request hooks, so that no page hook (CSRF, login) answers an
    unknown /api/v1 address with HTML."""
    csrf = state.app.extensions.get("csrf")
    if csrf is not None and hasattr(csrf, "exempt"):
        csrf.exempt(bp)
    state.app.before_request_funcs.setdefault(None, []).insert(0, _unmatched_as_json)


from . import applications, audit, auth, campaigns, errors, inbox, officers, openapi, units  # noqa: E402, I001
from . import evidence  # noqa: E402, F401  (evidence in bulk: its routes join the blueprint)
from . import openapi_campaigns, openapi_officers, openapi_units  # noqa: E402, F401  (their paths join the document)
from . import openapi_evidence  # noqa: E402, F401  (evidence in bulk: its paths join the document)
from . import citizens, openapi_citizens  # noqa: E402, F401  (citizens across years and places)
from . import imports, openapi_imports  # noqa: E402, F401  (spreadsheet import of nominees)
from . import jobs, openapi_jobs  # noqa: E402, F401  (mass actions as jobs, issue 10)
from . import openapi_targets, targets  # noqa: E402, F401  (targets and denominators, issue 11 A)
from . import openapi_reports, reports  # noqa: E402, F401  (the annual report and coverage, issue 11)
from . import openapi_records, records  # noqa: E402, F401  (signed recognition records, issue 12 s.5)
from . import openapi_papers, papers  # noqa: E402, F401  (the decision's PDF, issue 12 s.1)
from . import collectives, openapi_collectives  # noqa: E402, F401  (the other titles' subjects, versions: issue 14)

errors.register(bp)

__all__ = ["bp", "public", "applications", "audit", "auth", "campaigns", "inbox", "officers", "openapi", "units"]
