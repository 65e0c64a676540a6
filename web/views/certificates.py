"""A decision's certificates as PDF (issue 12 §2): /decisions/<id>/certificates.pdf for whoever may open the
decision (a branch or commune officer gets its own units' certificates only), ?unit=<commune or branch id> for one
batch. Printing is by batches: one PDF per branch (CDHT) or commune (XHT), a few hundred pages each, rendered within
the request. A whole decision above CERTIFICATES_PER_PDF certificates (300; bench/certificates_bench.py: WeasyPrint
prints 15-20 certificate pages a second here, so 300 pages take ~20 s, inside gunicorn's 60 s timeout, and 500
pages took 33 s) answers with the page of its batches instead (a branch above it in parts, ?part=2, ...), so no
request holds a worker for minutes; `flask --app wsgi certificates pdf --decision ID --out DIR` writes every batch
at once for a print shop."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import login_required

from workflow import certificates
from workflow import decisions as ops
from workflow.db import db
from workflow.models import Application, Unit
from workflow.papers import PDF
from workflow.papers import certificates as papers

from .common import ID, actor, int_arg
from .decisions import _decision_visible_or_404

bp = Blueprint("certificates", __name__)

PER_PDF = 300  # default of CERTIFICATES_PER_PDF (see above)


def base_url() -> str:
    """PUBLIC_BASE_URL when configured (production: the address the public reaches), else this request's host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def _visible_ids(decision):
    """The ids of the decision's files the actor may see (None: all of them)."""
    if ops.covers_whole(decision, actor()):
        return None
    return ops.members(decision, actor()).with_only_columns(Application.id).order_by(None)


@bp.get(f"/decisions/<{ID}:decision_id>/certificates.pdf")
@login_required
def decision_certificates(decision_id: int):
    decision = _decision_visible_or_404(decision_id)
    ids = _visible_ids(decision)
    unit_id = int_arg("unit")
    unit = None
    if unit_id:
        unit = db.session.get(Unit, unit_id) or abort(404)  # a unit outside the actor's part: no rows, 404 below
    limit = int(current_app.config.get("CERTIFICATES_PER_PDF") or PER_PDF)
    if unit is None:
        total = sum(n for _, n in certificates.batches(decision, ids)) if ids is not None else \
            certificates.count(decision)
        if total > limit:
            return render_template("certificate_batches.html", decision=decision,
                                   batches=certificates.batches(decision, ids), limit=limit), 200
    facts = certificates.of_decision(decision, ids, unit)
    part = int_arg("part", 1, minimum=1)
    if unit is not None and len(facts) > limit:  # an unusually large branch: printed in parts of `limit` pages
        facts = facts[(part - 1) * limit:part * limit]
    if not facts:
        abort(404)
    pdf, _pages = papers.render(facts, base_url(), current_app.config.get("CERTIFICATE_PAPER"))
    name = (f"giay-chung-nhan-{decision.id}" + (f"-{unit.code}" if unit is not None else "")
            + (f"-{part}" if part > 1 else "") + ".pdf")
    return Response(pdf, mimetype=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"'})
