"""The decision as an official document, the pages (issue 12, section 1): /decisions/<id>.pdf sends the stored PDF
when it was printed from the decision's list as it is now; otherwise a decision of up to
workflow.papers.decision.SYNC_LIMIT names is printed within the request, a larger one by a job (kind
"decision_pdf", launched after the commit) whose page (/decisions/<id>/pdf/job) shows its progress through
static/jobs.js and offers the file when it is done. Who may open the decision's page may have its paper; anyone
else gets 404."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from notifications.jobs import launch
from workflow import jobs
from workflow.db import db
from workflow.errors import NotFound
from workflow.models import Campaign, Decision
from workflow.papers import PDF
from workflow.papers import decision as papers

from ..i18n import locale
from .common import ID, actor

bp = Blueprint("papers", __name__)


def _decision(decision_id: int) -> Decision:
    try:
        return papers.visible_decision(decision_id, actor())
    except NotFound:
        abort(404)


def send_paper(decision: Decision):
    """The stored, current PDF of the decision as an attachment (its Vietnamese file name kept, RFC 5987)."""
    paper = papers.fresh(decision, current_app.config["UPLOAD_DIR"])
    response = send_file(papers.file_path(paper, current_app.config["UPLOAD_DIR"]), mimetype=PDF,
                         as_attachment=True, download_name=papers.filename(decision), etag=paper.sha256)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get(f"/decisions/<{ID}:decision_id>.pdf")
@login_required
def decision_pdf(decision_id: int):
    decision = _decision(decision_id)
    upload_dir = current_app.config["UPLOAD_DIR"]
    if papers.fresh(decision, upload_dir) is None:
        if papers.size(decision) <= papers.SYNC_LIMIT:
            papers.render_and_store(decision, upload_dir)
            db.session.commit()
        else:
            job, new = papers.start_job(decision, actor())
            db.session.commit()
            if new:
                launch(job.id)
            return redirect(url_for("papers.decision_pdf_job", decision_id=decision.id))
    return send_paper(decision)


def _job(decision: Decision):
    job = papers.current_job(decision)
    if job is None:
        abort(404)
    return jobs.visible_job(job.id, actor())


def _percent(job) -> int:
    return min(100, int(job.done * 100 / job.total)) if job.total else (100 if job.status == "done" else 0)


@bp.get(f"/decisions/<{ID}:decision_id>/pdf/job")
@login_required
def decision_pdf_job(decision_id: int):
    decision = _decision(decision_id)
    job = _job(decision)
    db.session.refresh(job)
    state = jobs.status(job, locale())
    ready = job.status == "done" and papers.fresh(decision, current_app.config["UPLOAD_DIR"]) is not None
    return render_template("decision_pdf_job.html", decision=decision, job=job, s=state, ready=ready,
                           campaign=db.session.get(Campaign, decision.campaign_id), percent=_percent(job),
                           running=job.status in ("queued", "running") and not state["stalled"],
                           title=_("Printing decision %(number)s", number=decision.number))


@bp.get(f"/decisions/<{ID}:decision_id>/pdf/status.json")
@login_required
def decision_pdf_status(decision_id: int):
    """What static/jobs.js polls while the PDF is printed (the fields of workflow.jobs.status)."""
    job = _job(_decision(decision_id))
    db.session.refresh(job)
    state = jobs.status(job, locale())
    state["percent"] = _percent(job)
    return state, 200, {"Cache-Control": "no-store"}
