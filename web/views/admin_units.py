"""Pages of the administration. Units: the province's tree, the commune list import, branches and villages,
area classes, the 2025 mergers. Views only read and call workflow.admin; they never write by themselves."""
from __future__ import annotations

import base64
import binascii

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from workflow.admin import units as ops
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Unit
from workflow.vocabulary import AREA_CLASSES

from ..i18n import locale
from .common import ID, actor, int_arg, paginate, roles_required

bp = Blueprint("admin_units", __name__, url_prefix="/admin/units")
ADMIN_ROLES = ("admin",)


def labels() -> dict[str, dict[str, str]]:
    """What a person reads for the stored codes of levels and area classes."""
    return {
        "level": {"province": _("Province"), "district": _("District"), "commune": _("Commune"),
                  "branch": _("Branch (chi hội)"), "village": _("Village (thôn, tổ dân phố)")},
        "area_class": {"ordinary": _("Ordinary (pass mark 80)"), "disadvantaged": _("Disadvantaged (pass mark 70)")},
    }


@bp.get("/")
@roles_required(*ADMIN_ROLES)
def index():
    """The communes the admin administers, with their branches and villages counted; filter by name."""
    q = (request.args.get("q") or "").strip()[:100]
    provinces = ops.admin_provinces(actor())
    province_id = int_arg("province")
    stmt = ops.units_query(actor(), level="commune", q=q or None, admin_only=True)
    if province_id:
        stmt = stmt.where(Unit.parent_id == province_id)
    page = paginate(stmt, per_page=50)
    counts = ops.child_counts([u.id for u in page.items])
    return render_template("admin_units_index.html", page=page, counts=counts, q=q, provinces=provinces,
                           province_id=province_id, labels=labels(),
                           query={k: v for k, v in (("q", q), ("province", province_id)) if v})


def _file_bytes() -> bytes | None:
    """The uploaded file, or the content a preview handed back for confirmation (base64)."""
    file = request.files.get("file")
    if file is not None and file.filename:
        return file.read()
    raw = request.form.get("content") or ""
    if raw:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            abort(400)
    return None


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*ADMIN_ROLES)
def import_communes():
    """Upload the official commune list: a preview first (nothing stored), then confirm."""
    provinces = ops.admin_provinces(actor())
    province = request.form.get("province") or (provinces[0].name if provinces else "")
    report, content, error = None, None, None
    if request.method == "POST":
        data = _file_bytes()
        confirm = request.form.get("step") == "confirm"
        if data is None:
            error = _("Choose the file to import.")
        else:
            report = ops.import_communes(province, data, actor(), dry_run=not confirm)
            if report.errors or not confirm:
                db.session.rollback()
            if report.ok and confirm:
                db.session.commit()
                if report.changed:
                    flash(_("Commune list imported: %(created)s created, %(updated)s updated, %(unchanged)s "
                            "unchanged.", created=report.created, updated=report.updated,
                            unchanged=report.unchanged), "success")
                else:
                    flash(_("Nothing changed: all %(n)s communes are already as the file says.",
                            n=report.unchanged), "info")
                return redirect(url_for("admin_units.index"))
            content = base64.b64encode(data).decode() if report.ok else None
    status = 422 if (error or (report and report.errors)) else 200
    return render_template("admin_units_import.html", provinces=provinces, province=province, report=report,
                           content=content, error=error, lang=locale()), status


def _commune(unit_id: int) -> Unit:
    unit = ops.visible_unit(actor(), unit_id)
    if unit.level != "commune":
        abort(404)
    return unit


def _render_commune(unit: Unit, *, form_errors: dict[str, str] | None = None, area_errors: dict[str, str] | None
                    = None, report=None, status: int = 200, form: dict | None = None):
    children = list(db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)
                                       .order_by(Unit.level, Unit.name_folded, Unit.id)))
    return render_template("admin_units_commune.html", unit=unit, children=children,
                           former=ops.predecessors(unit), labels=labels(), area_classes=AREA_CLASSES,
                           form_errors=form_errors or {}, area_errors=area_errors or {}, report=report,
                           form=form or {}, lang=locale()), status


@bp.get(f"/<{ID}:unit_id>")
@roles_required(*ADMIN_ROLES)
def commune(unit_id: int):
    """One commune: its facts and former units, its branches and villages, the forms that change them."""
    return _render_commune(_commune(unit_id))


def _refused(exc: WorkflowError) -> dict[str, str]:
    db.session.rollback()
    if isinstance(exc, InvalidInput):
        return exc.field_messages(locale())
    if exc.status in (403, 404):
        raise exc
    return {"_": exc.message(locale())}


@bp.post(f"/<{ID}:unit_id>/units")
@roles_required(*ADMIN_ROLES)
def add_child(unit_id: int):
    unit = _commune(unit_id)
    form = {"name": request.form.get("name", ""), "level": request.form.get("level", ""), "parent": unit.id}
    if request.form.get("kind"):
        form["kind"] = request.form["kind"]
    try:
        child = ops.add_unit(actor(), form)
    except WorkflowError as exc:
        return _render_commune(db.session.get(Unit, unit_id), form_errors=_refused(exc), status=422, form=form)
    db.session.commit()
    flash(_("«%(name)s» added to %(commune)s.", name=child.name, commune=unit.name), "success")
    return redirect(url_for("admin_units.commune", unit_id=unit.id))


@bp.post(f"/<{ID}:unit_id>/import")
@roles_required(*ADMIN_ROLES)
def import_children(unit_id: int):
    """Branches and villages from a spreadsheet (name, level, commune code): all rows or none."""
    unit = _commune(unit_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _render_commune(unit, form_errors={"file": _("Choose the file to import.")}, status=422)
    report = ops.import_subunits(actor(), file.read(), unit)
    if report.errors:
        db.session.rollback()
        return _render_commune(db.session.get(Unit, unit_id), report=report, status=422)
    db.session.commit()
    flash(ngettext("%(num)s unit added from the spreadsheet.", "%(num)s units added from the spreadsheet.",
                   report.created) + " " + _("%(n)s already present.", n=report.unchanged), "success")
    return redirect(url_for("admin_units.commune", unit_id=unit.id))


@bp.post(f"/<{ID}:unit_id>/area-class")
@roles_required(*ADMIN_ROLES)
def area_class(unit_id: int):
    """Class the commune (and with it its branches and villages) ordinary or disadvantaged, with a reason."""
    unit = _commune(unit_id)
    if not request.form.get("confirm"):
        return _render_commune(unit, area_errors={"confirm": _("Tick the box to confirm the change.")}, status=422)
    try:
        n = ops.set_area_class(actor(), unit, {"area_class": request.form.get("area_class", ""),
                                               "reason": request.form.get("reason", "")})
    except WorkflowError as exc:
        return _render_commune(db.session.get(Unit, unit_id), area_errors=_refused(exc), status=422)
    db.session.commit()
    if n:
        flash(_("Area class of %(commune)s changed; %(n)s units follow it.", commune=unit.name, n=n), "success")
    else:
        flash(_("%(commune)s already has this area class; nothing changed.", commune=unit.name), "info")
    return redirect(url_for("admin_units.commune", unit_id=unit.id))
