"""Validity and renewal, the pages (issue 12 §3): what the file's detail shows of its recognition (valid until,
expired, its decision, the recognition it renews or the file renewing it, and "Đề nghị công nhận lại"), the
expiry lists per year (recognitions of a title whose last day in force falls in year Y, within the reader's
units), and the renewal action. The rule of validity is workflow.validity's; the renewal workflow.renewals'.

The routes stay on the review blueprint (review.expiring, review.renew), like the decisions' pages."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from workflow import clock, operations, renewals, validity
from workflow import decisions as decision_ops
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Application, Decision

from ..wording import explain
from .common import ID, actor, int_arg
from .review import bp, render_detail

PER_PAGE = 100


def papers_of(app: Application) -> dict[str, Any]:
    """What the detail page shows of the file's life after recognition (templates call it: `papers_of(app)`)."""
    out: dict[str, Any] = {"valid_until": None, "expired": False, "decision": None, "renews": None,
                           "renewed_by": None, "can_renew": False}
    title = app.campaign.title_code
    today = clock.today()
    if app.recognised_at is not None and app.state in ("recognised", "revoked"):
        until = validity.valid_until(title, validity.vn_day(app.recognised_at))
        out["valid_until"], out["expired"] = until, today > until
    if app.decision_id is not None:
        out["decision"] = db.session.get(Decision, app.decision_id)
    out["renews"] = renewals.renews(app)
    if out["renews"] is not None and not actor().covers(out["renews"].unit.path):
        out["renews"] = None  # a renewed file outside one's units (a merger): not named
    if app.state == "recognised":
        out["renewed_by"] = renewals.renewal_of(app)
        if out["renewed_by"] is not None and not actor().covers(out["renewed_by"].unit.path):
            out["renewed_by"] = None
        if renewals.renewable_now(app, today):
            campaign = renewals.open_campaign(app, today)
            try:
                if campaign is not None:
                    operations.require_can_create(campaign, app.unit, actor())
                    out["can_renew"] = True
            except WorkflowError:
                pass
    return out


def valid_until_of(title_code: str, recognised_at) -> Any:
    """The last day in force of a recognition made at `recognised_at` (None without one)."""
    return validity.valid_until(title_code, validity.vn_day(recognised_at)) if recognised_at else None


@bp.app_context_processor
def _papers() -> dict[str, Any]:
    return {"papers_of": papers_of, "valid_until_of": valid_until_of, "today_vn": clock.today}


@bp.post(f"/applications/<{ID}:application_id>/renew")
@login_required
def renew(application_id: int):
    """Đề nghị công nhận lại: open the renewal of this recognition and go to the new file."""
    app = operations.get_visible(application_id, actor())
    try:
        new = renewals.renew(app, actor())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return render_detail(operations.get_visible(application_id, actor()), error=explain(exc),
                             status=exc.status)
    db.session.commit()
    flash(_("Renewal file opened: it renews the recognition of %(year)s.", year=app.campaign.year), "success")
    return redirect(url_for("review.detail", application_id=new.id))


@bp.get("/validity/expiring")
@login_required
def expiring():
    """Recognitions of a title that expire in a year, within the reader's units, soonest first, each linking to
    its file (filterable by title; `unit` narrows to a subtree)."""
    codes = list(validity.titles())
    title = request.args.get("title") if request.args.get("title") in codes else ("XHT" if "XHT" in codes
                                                                                  else codes[0])
    year = int_arg("year", clock.today().year, minimum=2000, maximum=2100)
    stmt = validity.expiring_query(actor(), title, year, int_arg("unit"))
    total = decision_ops.count(stmt)
    page = int_arg("page", 1, minimum=1, maximum=100000)
    items = list(db.session.scalars(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    rows = [(a, validity.valid_until(title, validity.vn_day(a.recognised_at))) for a in items]
    return render_template("validity_expiring.html", rows=rows, total=total, title=title, year=year,
                           titles=validity.titles(), page=page, pages=max(1, -(-total // PER_PAGE)),
                           first=(page - 1) * PER_PAGE, today=clock.today())
