"""The engine's states as people read them, in one place for pages, exports and the worker's notices alike
(notifications/ reads them here, never from web/). Lazy strings: each is worded in the reader's language when shown."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

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


def stage_label(state: str, locale: str | None) -> str:
    """A state's label in the reader's language ("en", else Vietnamese), outside a request too (the worker, an
    admin's dry run); the code itself where there is no app to translate with."""
    from flask import has_app_context
    from flask_babel import force_locale

    if state not in STATE_LABELS or not has_app_context():
        return state
    with force_locale("en" if locale == "en" else "vi"):
        return str(STATE_LABELS[state])
