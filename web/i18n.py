"""Flask-Babel: Vietnamese by default, English on request (the language switch stores the choice in the
session). Labels for the engine's states, actions and roles live here so pages and exports share them."""
from __future__ import annotations

from flask import Flask, session
from flask_babel import format_decimal, get_locale, refresh
from flask_babel import lazy_gettext as _l

from workflow.labels import STATE_LABELS

LOCALES = ("vi", "en")

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
# What a step does, for the person taking it (issue 13): "submit" moves a file within the branch or sends it up,
# "return" at the branch's own scoring goes back to evidence collection, so a button names which. Keyed by
# (from state, to state); any other step keeps its action's label (ACTION_LABELS).
STEP_LABELS = {
    ("evidence_collection", "branch_scoring"): _l("Evidence complete: go on to scoring"),
    ("evidence_collection", "self_assessment"): _l("Evidence complete: go on to self-assessment"),
    ("branch_scoring", "commune_appraisal"): _l("Send to the commune for appraisal"),
    ("self_assessment", "upper_appraisal"): _l("Send up for appraisal"),
    ("branch_scoring", "evidence_collection"): _l("Back to adding evidence"),
    ("self_assessment", "evidence_collection"): _l("Back to adding evidence"),
}


def step_label(step) -> str:
    """The label of one engine step (workflow.states.Step): STEP_LABELS, else its action's."""
    label = STEP_LABELS.get((step.source, step.dest)) or ACTION_LABELS.get(step.action, step.action)
    return str(label)


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
    app.jinja_env.globals["step_label"] = step_label  # issue 13: a step named for what it does
    app.jinja_env.globals.update(GUARD_LABELS=GUARD_LABELS,
                                 STATE_LABELS=STATE_LABELS, ACTION_LABELS=ACTION_LABELS, ROLE_LABELS=ROLE_LABELS,
                                 current_locale=locale, LOCALES=LOCALES)
