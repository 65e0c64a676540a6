"""Flask-Babel: Vietnamese by default, English on request (the language switch stores the choice in the
session). Labels for the engine's states, actions and roles live here so pages and exports share them."""
from __future__ import annotations

from flask import Flask, session
from flask_babel import format_decimal, get_locale, refresh
from flask_babel import lazy_gettext as _l

LOCALES = ("vi", "en")

STATE_LABELS = {
    "evidence_collection": _l("Collecting evidence"),
    "branch_scoring": _l("Branch scoring"),
    "self_assessment": _l("Self-assessment"),
    "commune_appraisal": _l("Commune appraisal"),
    "upper_appraisal": _l("Upper-level appraisal"),
    "final_approval": _l("Awaiting approval"),
    "recognised": _l("Recognised"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "revoked": _l("Revoked"),
}
ACTION_LABELS = {
    "submit": _l("Submit"),
    "approve": _l("Approve"),
    "return": _l("Return for completion"),
    "reject": _l("Reject"),
    "withdraw": _l("Withdraw"),
    "revoke": _l("Revoke"),
    "create": _l("Create"),
    "score": _l("Score"),
    "evidence": _l("Upload evidence"),
    "decision": _l("Recognition decision"),
    "renew": _l("Request recognition again"),
}
GUARD_LABELS = {
    "evidence_complete": _l("evidence for every required criterion"),
    "passes_rubric": _l("meets the pass rule"),
    "level_ready": _l("the lower level recognised long enough before"),
}
ROLE_LABELS = {
    "branch_officer": _l("Branch officer"),
    "commune_appraiser": _l("Commune appraiser"),
    "district_approver": _l("District approver"),
    "provincial_approver": _l("Provincial approver"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LOCALES else "vi"


def locale() -> str:
    """The current locale as the engine's message functions want it ("vi" or "en")."""
    return str(get_locale() or "vi")


def short(value: object, keep: int = 12) -> str:
    """Shorten long hashes in audit details: the first characters identify them for a person."""
    text = str(value)
    return text[:keep] + "…" if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def init_app(app: Flask) -> None:
    """Flask-Babel itself is set up by the shared base (workflow.appbase) with `select_locale`."""
    # Flask-Babel caches the locale on `g`; when an app context outlives one request (tests, CLI), start afresh.
    app.before_request(refresh)
    app.jinja_env.filters["short"] = short
    app.jinja_env.filters["number"] = format_decimal  # 1.000 in Vietnamese, 1,000 in English
    app.jinja_env.globals.update(GUARD_LABELS=GUARD_LABELS,
                                 STATE_LABELS=STATE_LABELS, ACTION_LABELS=ACTION_LABELS, ROLE_LABELS=ROLE_LABELS,
                                 current_locale=locale, LOCALES=LOCALES)
