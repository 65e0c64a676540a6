"""API: the decision as an official document (issue 12, section 1). GET /api/v1/decisions/<id>/pdf answers the PDF
(200) when it is stored and current or small enough to print within the request
(workflow.papers.decision.SYNC_LIMIT names); otherwise 202 with the printing job's progress (a job of kind
"decision_pdf" is started once and launched after the commit): call the same address again until it answers 200.
A decision outside the caller's units is 404 decision_not_found, as on the pages."""
from __future__ import annotations

from flask import current_app, send_file, url_for

from notifications.jobs import launch
from workflow.db import db
from workflow.papers import PDF
from workflow.papers import decision as papers

from . import bp
from .auth import current_actor
from .util import ID, commit


@bp.get(f"/decisions/<{ID}:decision_id>/pdf")
def decision_pdf(decision_id: int):
    """The decision's PDF, or 202 while a large one is printed."""
    actor = current_actor()
    decision = papers.visible_decision(decision_id, actor)
    upload_dir = current_app.config["UPLOAD_DIR"]
    if papers.fresh(decision, upload_dir) is None:
        if papers.size(decision) > papers.SYNC_LIMIT:
            job, new = papers.start_job(decision, actor)
            commit()
            if new:
                launch(job.id)
            db.session.refresh(job)
            body = {"job": job.id, "status": job.status, "total": job.total, "done": job.done}
            return body, 202, {"Location": url_for("api.decision_pdf", decision_id=decision.id), "Retry-After": "5"}
        papers.render_and_store(decision, upload_dir)
        commit()
    paper = papers.fresh(decision, upload_dir)
    return send_file(papers.file_path(paper, upload_dir), mimetype=PDF, as_attachment=True,
                     download_name=papers.filename(decision), etag=paper.sha256)
