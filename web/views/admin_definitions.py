"""Pages of the administration. Title definition versions (issue 14 §3): load a new version of a title's stages,
see what moving the province's files in flight to it would do (the dry run, also as CSV), and migrate them after
a confirmation. Views only read and call workflow.admin.definitions; they never write by themselves."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow.admin import definitions as ops
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import TitleType, Unit

from ..i18n import locale
from .admin_versions import _provinces, _upload
from .common import ID, actor, csv_rows, roles_required

bp = Blueprint("admin_definitions", __name__, url_prefix="/admin/definitions")
SHOWN = 200  # files listed on the page; the CSV holds them all


def _title(code: str) -> TitleType:
    return db.session.get(TitleType, code) or abort(404)


def _province() -> Unit:
    provinces = _provinces()
    wanted = request.values.get("province_id", "")
    found = next((p for p in provinces if str(p.id) == wanted), provinces[0] if provinces else None)
    return found or abort(403)


@bp.get("/")
@roles_required("admin")
def index(errors: dict[str, str] | None = None, status: int = 200):
    titles = list(db.session.scalars(select(TitleType).order_by(TitleType.code)))
    return render_template("admin_definitions.html", titles=titles, versions={t.code: ops.versions(t.code)
                                                                              for t in titles},
                           provinces=_provinces(), errors=errors or {}), status


@bp.post("/")
@roles_required("admin")
def upload():
    try:
        row = ops.load(actor(), _upload())
    except InvalidInput as exc:
        db.session.rollback()
        return index(exc.field_messages(locale()), 422)
    except WorkflowError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    flash(_("Version %(version)s of %(title)s loaded. Nothing changes until a province adopts it: read the dry run "
            "below, then adopt it for your province.", version=row.version, title=row.title_code), "success")
    return redirect(url_for("admin_definitions.plan", code=row.title_code, definition_id=row.id))


def _plan(code: str, definition_id: int):
    title = _title(code)
    try:
        target = ops.target_version(title.code, definition_id)
        province = _province()
        return title, target, province, ops.plan(actor(), province, title.code, target)
    except WorkflowError as exc:
        abort(exc.status)


@bp.get(f"/<code>/<{ID}:definition_id>/plan")
@roles_required("admin")
def plan(code: str, definition_id: int):
    """The dry run: nothing is written; the migrate button asks for a confirmation."""
    title, target, province, result = _plan(code, definition_id)
    if request.args.get("format") == "csv":
        rows = [[_("Application"), _("Unit"), _("Campaign"), _("From version"), _("State now"), _("State after"),
                 _("Refused because")]] + [
            [r.name, r.unit_name, r.campaign, r.from_version, r.from_state, r.to_state or "",
             ops.refusal_text(r, locale()) if r.refusal else ""] for r in result.rows()]
        return Response(csv_rows(rows), mimetype="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="migration-{title.code}-{target.version}.csv"'})
    return render_template("admin_definitions_plan.html", title=title, target=target, province=province,
                           plan=result, rows=result.rows(limit=SHOWN), shown=SHOWN,
                           refusal_text=lambda r: ops.refusal_text(r, locale()), provinces=_provinces())


@bp.post(f"/<code>/<{ID}:definition_id>/migrate")
@roles_required("admin")
def migrate(code: str, definition_id: int):
    title, target, province, _result = _plan(code, definition_id)
    try:
        done = ops.migrate(actor(), province, title.code, target, expected=request.form.get("expected") or "")
    except WorkflowError as exc:  # the files changed since the dry run, or the chain leaves a stage unstaffed
        db.session.rollback()
        flash(exc.message(locale()), "error")
        return redirect(url_for("admin_definitions.plan", code=title.code, definition_id=target.id,
                                province_id=province.id))
    db.session.commit()
    flash(_("%(moved)s files moved to version %(version)s; %(refused)s refused, listed below.",
            moved=done.moved, version=target.version, refused=done.counts["refused"]), "success")
    return redirect(url_for("admin_definitions.plan", code=title.code, definition_id=target.id,
                            province_id=province.id))
