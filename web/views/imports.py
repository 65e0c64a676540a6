"""Spreadsheet import of nominees, the pages (issue 9, section 1): "Nhập danh sách từ bảng tính" from a campaign
(template, the columns explained, the upload that starts a PREVIEW, the officer's recent imports), then the job's
page: a live progress bar while it runs (polled by static/jobs.js, or a page that refreshes itself without
JavaScript), the preview's counts and first errors with the confirm button, the import's result, the error file and
"Tiếp tục" for a failed or stalled job. The job id is in the URL and the page reads the job's row, so a reload
shows where the work is. The rules are web/api/imports.py's (shared with the API) and workflow.imports'."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from workflow import imports, jobs
from workflow.authz import province_of
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.imports.template import columns
from workflow.models import Campaign, Job, Unit
from workflow.rubrics import spec

from ..api import imports as shared
from ..i18n import locale
from .common import ID, actor

bp = Blueprint("imports", __name__)
SHOWN_ERRORS = 20


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.province_id not in {province_of(g.unit_path) for g in actor().grants}:
        abort(404)
    return campaign


def _recent(campaign: Campaign) -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.owner_id == actor().id, Job.kind == "import",
                                                     Job.campaign_id == campaign.id)
                                   .order_by(Job.id.desc()).limit(shared.RECENT)))


def _page(campaign: Campaign, units: list[Unit], *, error: str | None = None, chosen: str = "", status: int = 200):
    rubric = spec(campaign.rubric_id)
    return render_template("imports_new.html", campaign=campaign, units=units, error=error, chosen=chosen,
                           columns=columns(campaign), groups=(campaign.rubric.definition or {}).get("frameworks", []),
                           rubric=rubric, recent=_recent(campaign), units_by_id=_unit_names(_recent(campaign)),
                           max_rows=imports.max_rows()), status


def _unit_names(rows: list[Job]) -> dict[int, str]:
    ids = {j.unit_id for j in rows if j.unit_id}
    return dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


@bp.route(f"/campaigns/<{ID}:campaign_id>/import", methods=["GET", "POST"])
@login_required
def new(campaign_id: int):
    campaign = _campaign(campaign_id)
    units = imports.import_units(campaign, actor())
    if not units:
        abort(403)
    if request.method == "GET":
        return _page(campaign, units, chosen=request.args.get("unit", ""))
    request.max_content_length = shared.request_limit()
    chosen = (request.form.get("unit") or "").strip()
    unit = next((u for u in units if str(u.id) == chosen), None)
    file = request.files.get("file")
    if unit is None:
        return _page(campaign, units, error=_("Choose the unit the nominees are filed under."), status=422)
    if file is None or not file.filename:
        return _page(campaign, units, error=_("Choose the spreadsheet to upload."), chosen=chosen, status=422)
    try:
        job = shared.start(campaign, unit, actor(), file.filename, file.read(), dry_run=True)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _page(campaign, units, error=exc.message(locale()), chosen=chosen, status=422)
    flash(_("File «%(name)s» received: checking every row. Nothing is imported before you confirm.",
            name=job.params["file_name"]), "success")
    return redirect(url_for("imports.show", job_id=job.id))


@bp.get(f"/campaigns/<{ID}:campaign_id>/import-template.xlsx")
@login_required
def template(campaign_id: int):
    campaign = _campaign(campaign_id)
    return shared.xlsx_response(imports.template(campaign, locale()), shared.template_name(campaign))


@bp.get(f"/imports/<{ID}:job_id>")
@login_required
def show(job_id: int):
    job = jobs.visible_job(job_id, actor())
    state = jobs.status(job, locale())
    campaign = db.session.get(Campaign, job.campaign_id)
    unit = db.session.get(Unit, job.unit_id) if job.unit_id else None
    preview_of = (job.params or {}).get("preview_of")
    confirmed = imports.confirmation_of(job) if job.dry_run and job.status == "done" else None
    running = job.status in ("queued", "running") and not state["stalled"]
    resumed = request.args.get("resumed") == "1" and job.status == "failed"  # launched again, not picked up yet
    return render_template("imports_job.html", job=job, s=state, campaign=campaign, unit=unit,
                           errors=state["errors"][:SHOWN_ERRORS], running=running or resumed,
                           resumable=jobs.resumable(job) and not resumed, confirmed=confirmed,
                           preview_of=preview_of, percent=_percent(job))


def _percent(job: Job) -> int:
    return min(100, int(job.done * 100 / job.total)) if job.total else (100 if job.status == "done" else 0)


@bp.get(f"/imports/<{ID}:job_id>/status.json")
@login_required
def status(job_id: int):
    """What static/jobs.js polls every second (the same fields as GET /api/v1/imports/<id>, without the errors list
    past the ones the page shows)."""
    job = jobs.visible_job(job_id, actor())
    state = jobs.status(job, locale())
    state["errors"] = state["errors"][:SHOWN_ERRORS]
    state["percent"] = _percent(job)
    return state, 200, {"Cache-Control": "no-store"}


@bp.get(f"/imports/<{ID}:job_id>/errors.xlsx")
@login_required
def errors_file(job_id: int):
    job = jobs.visible_job(job_id, actor())
    return shared.xlsx_response(imports.error_workbook(job, locale()), shared.error_file_name(job))


@bp.post(f"/imports/<{ID}:job_id>/confirm")
@login_required
def confirm(job_id: int):
    preview = jobs.visible_job(job_id, actor())
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the import."), "error")
        return redirect(url_for("imports.show", job_id=preview.id))
    try:
        job, started = shared.confirm(preview, actor())
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(exc.message(locale()), "error")
        return redirect(url_for("imports.show", job_id=preview.id))
    if started:
        flash(_("Import started: %(n)s rows.", n=job.total), "success")
    return redirect(url_for("imports.show", job_id=job.id))


@bp.post(f"/imports/<{ID}:job_id>/resume")
@login_required
def resume(job_id: int):
    job = jobs.visible_job(job_id, actor())
    from_row = job.done + 1
    try:
        shared.resume(job)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return redirect(url_for("imports.show", job_id=job.id))
    flash(_("The import continues from row %(n)s.", n=from_row), "success")
    return redirect(url_for("imports.show", job_id=job.id, resumed=1))
