"""The help page (/help): the steps of the procedure for each of the reader's roles, who to contact (the
administrators and appraisers over the reader's units, by name), a short FAQ. Also what every page needs from this
area: the unread count in the header's "Inbox" link (one indexed count per request, only when a page shows it)
and the evidence a criterion expects (workflow.guidance)."""
from __future__ import annotations

from flask import Blueprint, has_request_context, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from workflow import clock, contacts, deadlines, guidance
from workflow.db import db
from workflow.definitions import for_campaign
from workflow.models import Notification

from ..i18n import locale
from .common import actor
from .home import acting_states, campaigns_of

bp = Blueprint("help", __name__)

# What each role does, in the order the work reaches it (the stages themselves come from the approval chains).
ROLE_STEPS = {
    "branch_officer": (
        _l("Press «New application» on the home page (or import a list from a spreadsheet on Campaigns)."),
        _l("Upload the evidence for each criterion; the hint beside a criterion says what is expected."),
        _l("Send the file on for branch scoring, score every criterion, then send it to the commune."),
        _l("A file returned for completion appears on your home page with the reason: fix it and send it again."),
    ),
    "commune_appraiser": (
        _l("Open the work queue: the files waiting for your appraisal are listed first."),
        _l("Check the evidence and scores; adjust a score with a reason if needed."),
        _l("Approve, return for completion (with a reason) or reject (with a reason); several files at once "
           "with the batch actions."),
        _l("For a learning commune, the commune's own file is prepared and self-assessed here."),
    ),
    "district_approver": (
        _l("Open the work queue: the files appraised below you wait for your approval."),
        _l("Approve, return or reject each file, or several at once."),
    ),
    "provincial_approver": (
        _l("Open the work queue: the files appraised by the communes wait for your approval."),
        _l("Approve the files, then issue a recognition decision grouping them (Decisions → New decision)."),
        _l("Download the list as CSV or XLSX and print the decision and certificates."),
    ),
    "auditor": (
        _l("The audit log lists every action on the files of your units; search it by name or citizen ID."),
        _l("A file's timeline shows its whole history and checks it against the sealed audit chain."),
        _l("The audit chain page checks the whole chain."),
    ),
    "admin": (
        _l("Administration: units, officers and their roles, campaigns and deadlines, criteria versions."),
        _l("An officer who forgot the password gets a new set-password link from you (Administration → Officers "
           "→ the officer → Reset password)."),
    ),
}

FAQ = (
    (_l("I forgot my password."),
     _l("Ask an administrator of your unit (listed above): they send you a link to set a new password.")),
    (_l("My file was returned. What now?"),
     _l("The home page lists returned files with the reason. Open the file, add or replace the evidence, "
        "correct the scores and send it again.")),
    (_l("Which files can I upload as evidence?"),
     _l("PDF, JPG, PNG, Word (.docx) or Excel (.xlsx), one or several at a time. A blurry or wrong file can "
        "be removed or replaced while the file is at your stage.")),
    (_l("When is the deadline?"),
     _l("The home page and each file show the deadline of the stage and how many days are left; a late file "
        "is marked in red.")),
    (_l("Can I use the site in English?"),
     _l("Yes: press EN at the top of any page (VI switches back).")),
)


@bp.get("/help")
@login_required
def index():
    me = actor()
    roles = [r for r in ROLE_STEPS if r in me.roles()]
    paths = [gr.unit_path for gr in me.grants]
    titles = []
    for campaign in campaigns_of():
        d = for_campaign(campaign)
        mine = [s for gr in me.grants for s in acting_states(gr, campaign)]
        titles.append((campaign, d.stages, set(mine)))
    return render_template(
        "help.html", roles=roles, steps=ROLE_STEPS, faq=FAQ, campaigns=titles,
        admins=contacts.covering(paths, ("admin",), exclude=me.id),
        appraisers=contacts.covering(paths, ("commune_appraiser", "district_approver", "provincial_approver"),
                                     exclude=me.id))


def unread_notices() -> int:
    """The signed-in user's unread in-app notices: counted once per request, and only when a page asks (the
    header's "Inbox" link), through the partial index of unread notices (ix_notifications_unread)."""
    if not has_request_context() or not current_user.is_authenticated:
        return 0
    cache = request.environ  # this request's own (an app context, and its `g`, may outlive one request)
    if "hoctap.unread_notices" not in cache:
        cache["hoctap.unread_notices"] = db.session.scalar(
            select(func.count()).select_from(Notification).where(
                Notification.user_id == current_user.id, Notification.channel == "inapp",
                Notification.read_at.is_(None))) or 0
    return cache["hoctap.unread_notices"]


def evidence_hint(rubric_id: int, code: str) -> str | None:
    """What evidence a criterion expects, in the page's language (workflow.guidance)."""
    return guidance.hint(rubric_id, code, locale())


# The deadline each stage answers to, as a warning names it ("Còn 3 ngày đến hạn thẩm định (15/12/2026)").
DEADLINE_NAMES = {
    "submit_deadline": _l("the nomination deadline"),
    "scoring_deadline": _l("the scoring deadline"),
    "appraisal_deadline": _l("the appraisal deadline"),
    "decision_deadline": _l("the decision deadline"),
}


def stage_due(campaign, state: str):
    """workflow.deadlines.stage_due on today's Vietnam date: what a page's deadline warning shows."""
    return deadlines.stage_due(campaign, state, clock.today())


@bp.record_once
def _globals(state) -> None:
    """Template globals (also seen by imported macros, which a context processor's names are not)."""
    state.app.jinja_env.globals.update(unread_notices=unread_notices, evidence_hint=evidence_hint,
                                       administrators=contacts.administrators, stage_due=stage_due,
                                       DEADLINE_NAMES=DEADLINE_NAMES)
