"""Mass actions as jobs, the pages (issue 10, section 3): from the work queue, "Áp dụng cho tất cả hồ sơ khớp bộ
lọc" leads to a confirmation that states the action and the exact count (and asks a reason for a return or a
rejection); confirming starts the job with that count (if the set now holds another number, nothing starts and
the page says so), then the job's page shows a live progress bar (polled by static/jobs.js, or a page that
refreshes itself without JavaScript), the result, the outcome per file as xlsx, and "Tiếp tục" for a failed or
stalled job. The job id is in the URL and the page reads the job's row, so a reload shows where the work is. The
rules are web/api/jobs.py's (shared with the API) and workflow.mass_actions'."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from workflow import jobs, mass_actions
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.inputs import parse_int
from workflow.mass_actions import QueueFilter
from workflow.models import Campaign, Job, Unit
from workflow.vocabulary import STATES

from ..api import jobs as shared
from ..i18n import locale
from .common import ID, actor

bp = Blueprint("mass_actions", __name__)
SHOWN_OUTCOMES = 20


def filter_from(values: Any) -> QueueFilter:
    """The queue's filter from a query string or a form, read as the queue page reads it (a value it would
    ignore is ignored here too), then judged by the declared QueueFilter."""
    state = (values.get("state") or "").strip()
    raw: dict[str, Any] = {"state": state if state in ("", "all", *STATES) else ""}
    for name in ("unit", "campaign"):
        number = parse_int(values.get(name) or "", minimum=1)
        if number is not None:
            raw[name] = number
    q = (values.get("q") or "").strip()
    if q:
        raw["q"] = q[:100]
    try:
        return parse(QueueFilter, raw)
    except InvalidInput:
        abort(400)


def _action(action: str) -> str:
    if action not in mass_actions.MASS_ACTIONS:
        abort(404)
    return action


def _described(flt: QueueFilter) -> dict[str, str]:
    """The filter in words, as the queue's select boxes name it."""
    unit = db.session.get(Unit, flt.unit) if flt.unit else None
    campaign = db.session.get(Campaign, flt.campaign) if flt.campaign else None
    me = actor()
    return {"unit": unit.name if unit is not None and me.covers(unit.path) else "",
            "campaign": campaign.name if campaign is not None else "", "q": flt.q or ""}


def _confirm_page(action: str, flt: QueueFilter, *, error: str | None = None, reason: str = "", status: int = 200):
    total = mass_actions.count(actor(), action, filter=flt)
    return render_template("mass_action_confirm.html", action=action, flt=flt, args=flt.args(), total=total,
                           described=_described(flt), needs_reason=action in mass_actions.REASON_ACTIONS,
                           error=error, reason=reason), status


@bp.get("/applications/mass")
@login_required
def choose():
    """The queue's form: the action picked in a select box, the filter as it stood; on to its confirmation. The
    list starts at "Chọn thao tác…" (issue 13): with no action chosen, back to the queue, nothing done."""
    if not request.args.get("action"):
        flash(_("Choose an action for the files matching the filter."), "error")
        return redirect(url_for("review.queue", **filter_from(request.args).args()))
    action = _action(request.args.get("action", ""))
    return redirect(url_for("mass_actions.confirm", action=action, **filter_from(request.args).args()))


@bp.get("/applications/mass/<action>")
@login_required
def confirm(action: str):
    action = _action(action)
    return _confirm_page(action, filter_from(request.args))


@bp.post("/applications/mass/<action>")
@login_required
def begin(action: str):
    action = _action(action)
    flt = filter_from(request.form)
    reason = (request.form.get("reason") or "").strip()
    expected = parse_int(request.form.get("expected") or "", minimum=0)
    if request.form.get("confirm") != "yes" or expected is None:
        return _confirm_page(action, flt, error=_("Tick the box to confirm."), reason=reason, status=422)
    try:
        job, new = shared.start(actor(), action, filter=flt, reason=reason or None, expected=expected)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _confirm_page(action, flt, error=exc.message(locale()), reason=reason, status=exc.status)
    if new:
        flash(_("Started: %(n)s files, in the background.", n=job.total), "success")
    return redirect(url_for("mass_actions.show", job_id=job.id))


def _visible(job_id: int) -> Job:
    try:
        return mass_actions.visible(job_id, actor())
    except WorkflowError:
        abort(404)


def _percent(job: Job) -> int:
    return min(100, int(job.done * 100 / job.total)) if job.total else (100 if job.status == "done" else 0)


def _status(job: Job) -> dict[str, Any]:
    state = mass_actions.status(job, actor(), locale(), shared.state_label, first=SHOWN_OUTCOMES)
    state["percent"] = _percent(job)
    for o in state["outcomes"]:
        o["result_label"] = shared.result_label(o["result"])
    return state


@bp.get(f"/mass-actions/<{ID}:job_id>")
@login_required
def show(job_id: int):
    job = _visible(job_id)
    state = _status(job)
    running = job.status in ("queued", "running") and not state["stalled"]
    resumed = request.args.get("resumed") == "1" and job.status == "failed"  # launched again, not picked up yet
    flt = QueueFilter(**job.params["filter"]) if (job.params or {}).get("filter") else None
    return render_template("mass_action_job.html", job=job, s=state, running=running or resumed,
                           resumable=jobs.resumable(job) and not resumed, percent=_percent(job), flt=flt,
                           described=_described(flt) if flt else None, back=flt.args() if flt else {})


@bp.get(f"/mass-actions/<{ID}:job_id>/status.json")
@login_required
def status(job_id: int):
    """What static/jobs.js polls every second (GET /api/v1/jobs/<id>'s fields, with the percentage)."""
    return _status(_visible(job_id)), 200, {"Cache-Control": "no-store"}


@bp.get(f"/mass-actions/<{ID}:job_id>/outcomes.xlsx")
@login_required
def outcomes_file(job_id: int):
    job = _visible(job_id)
    return shared.xlsx_response(shared.outcome_workbook(job, actor(), locale()), shared.outcome_file_name(job))


@bp.post(f"/mass-actions/<{ID}:job_id>/resume")
@login_required
def resume(job_id: int):
    job = _visible(job_id)
    try:
        shared.resume(job)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return redirect(url_for("mass_actions.show", job_id=job.id))
    flash(_("The work continues after the %(n)s files already done.", n=job.done), "success")
    return redirect(url_for("mass_actions.show", job_id=job.id, resumed=1))
