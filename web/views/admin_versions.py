"""Pages of the administration. Rubric and chain versions: load a rubric version or a province's chain override,
preview re-scoring a campaign under a new version (page and CSV), then switch the campaign for new files.
Views only read and call workflow.admin.versions; they never write by themselves."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow.admin import campaigns as campaign_ops
from workflow.admin import versions as ops
from workflow.admin.inputs import InvalidInput
from workflow.authz import province_of
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.inputs import parse_int
from workflow.models import ApprovalChain, Campaign, Rubric, Unit

from ..i18n import locale
from .common import ID, actor, csv_rows, roles_required

bp = Blueprint("admin_versions", __name__, url_prefix="/admin/versions")
MAX_FILE = 1_000_000


def _provinces() -> list[Unit]:
    ids = {province_of(g.unit_path) for g in actor().grants if g.role == "admin" and g.unit_level == "province"}
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name))) if ids else []


def _campaign(campaign_id: int) -> Campaign:
    try:
        return campaign_ops.campaign_of(actor(), campaign_id)
    except WorkflowError as exc:
        abort(exc.status)


def _upload() -> bytes:
    file = request.files.get("file")
    return file.read(MAX_FILE + 1) if file else b""


def _index(errors: dict[str, str] | None = None, which: str = "", status: int = 200):
    provinces = _provinces()
    ids = [p.id for p in provinces]
    return render_template(
        "admin_versions_index.html", errors=errors or {}, which=which, provinces=provinces,
        rubrics=list(db.session.scalars(select(Rubric).order_by(Rubric.title_code, Rubric.loaded_at, Rubric.id))),
        overrides=list(db.session.scalars(select(ApprovalChain).where(ApprovalChain.province_id.in_(ids))
                                          .order_by(ApprovalChain.province_id, ApprovalChain.valid_from)))
        if ids else [],
        campaigns=list(db.session.scalars(select(Campaign).where(Campaign.province_id.in_(ids))
                                          .order_by(Campaign.year.desc(), Campaign.title_code))) if ids else [],
        names={p.id: p.name for p in provinces}), status


@bp.get("/")
@roles_required("admin")
def index():
    """Rubric versions per title, chain overrides per province, and each campaign's version to preview."""
    return _index()


@bp.post("/rubrics")
@roles_required("admin")
def upload_rubric():
    try:
        rubric = ops.load_rubric(actor(), _upload())
    except InvalidInput as exc:
        db.session.rollback()
        return _index(exc.field_messages(locale()), "rubric", 422)
    except WorkflowError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    flash(_("Rubric %(title)s version %(version)s loaded.", title=rubric.title_code, version=rubric.version),
          "success")
    return redirect(url_for("admin_versions.index"))


@bp.post("/chains")
@roles_required("admin")
def upload_chain():
    province = db.session.get(Unit, parse_int(request.form.get("province_id", ""), minimum=1) or 0)
    try:
        chain = ops.load_chain_override(actor(), province, _upload())
    except InvalidInput as exc:
        db.session.rollback()
        return _index(exc.field_messages(locale()), "chain", 422)
    except WorkflowError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    flash(_("Approval chain %(code)s loaded.", code=chain.code), "success")
    return redirect(url_for("admin_versions.index"))


def _preview(campaign: Campaign) -> ops.Preview:
    try:
        rubric = ops.rubric_for(campaign, parse_int(request.values.get("rubric_id", ""), minimum=1))
        return ops.rescore_preview(campaign, rubric)
    except InvalidInput:
        abort(404)


@bp.get(f"/campaigns/<{ID}:campaign_id>/preview")
@roles_required("admin")
def preview(campaign_id: int):
    """Xem trước chấm lại: counts under the pinned and the new version, the files whose outcome changes."""
    campaign = _campaign(campaign_id)
    return render_template("admin_versions_preview.html", preview=_preview(campaign), campaign=campaign)


@bp.get(f"/campaigns/<{ID}:campaign_id>/preview.csv")
@roles_required("admin")
def preview_csv(campaign_id: int):
    result = _preview(_campaign(campaign_id))
    head = [_("File"), _("Name"), _("Unit"), _("State"), _("Pinned version"), _("Total (pinned)"),
            _("Result (pinned)"), _("Total (new)"), _("Result (new)"), _("Changes"), _("Missing criteria")]
    verdict = {True: _("pass"), False: _("fail")}
    rows = [[r.application_id, r.name, r.unit_name, r.state, r.old_version, r.old_total, verdict[r.old_pass],
             r.new_total, verdict[r.new_pass], _("yes") if r.changed else "", " ".join(r.missing)]
            for r in result.rows]
    name = f"rescore-{result.campaign.id}-{result.rubric.id}.csv"
    return Response(csv_rows([head, *rows]), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.post(f"/campaigns/<{ID}:campaign_id>/switch")
@roles_required("admin")
def switch(campaign_id: int):
    """After the preview: new files of the campaign use the new version (files already created keep theirs)."""
    campaign = _campaign(campaign_id)
    result = _preview(campaign)
    try:
        ops.switch_campaign_rubric(actor(), campaign, result.rubric)
    except WorkflowError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    flash(_("Campaign «%(name)s» now uses rubric version %(version)s for new files.", name=campaign.name,
            version=result.rubric.version), "success")
    return redirect(url_for("admin_versions.index"))
