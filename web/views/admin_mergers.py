"""Pages of the 2025 mergers: per province the admin administers, the former units each new commune absorbed,
matched, waiting for a hand mapping, or matching nothing; a form maps one by hand. Views only read and call
workflow.admin.mergers; they commit once after a change and roll back on a refusal."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow.admin import mergers, require_admin
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.models import Unit
from workflow.text import fold

from ..i18n import locale
from .common import ID, actor, roles_required

bp = Blueprint("admin_mergers", __name__, url_prefix="/admin/mergers")


def _sections(province: Unit) -> dict:
    rows = mergers.statuses(province)
    choices: dict[str, list[Unit]] = {}
    for row in rows:
        kind = fold(row.link.former_kind) or ""
        if kind not in choices:
            choices[kind] = mergers.old_units(province, kind or None)
    return {
        "province": province,
        "hand": [r for r in rows if r.status == mergers.HAND],
        "unmatched": [r for r in rows if r.status == mergers.UNMATCHED],
        "matched": [r for r in rows if r.status == mergers.MATCHED],
        "choices": choices,
    }


@bp.get("/")
@roles_required("admin")
def index():
    """Every province the admin administers, with its former units by status."""
    provinces = mergers.provinces_for(actor())
    return render_template("admin_mergers_index.html", sections=[_sections(p) for p in provinces], errors={},
                           failed_link=None, fold=fold)


def _province(province_id: int) -> Unit:
    """The province the admin administers (another province, or a unit that is not one, is not found)."""
    unit = db.session.get(Unit, province_id)
    require_admin(actor(), unit if unit is not None and unit.level == "province" else None)
    return unit


@bp.get(f"/<{ID}:province_id>")
@roles_required("admin")
def province(province_id: int):
    """One province's page (another province's is not found)."""
    unit = _province(province_id)
    return render_template("admin_mergers_index.html", sections=[_sections(unit)], errors={}, failed_link=None,
                           fold=fold)


@bp.post(f"/<{ID}:province_id>/match")
@roles_required("admin")
def match(province_id: int):
    """Link every former name that has exactly one candidate (safe to repeat: linked names stay linked)."""
    unit = _province(province_id)
    counts = mergers.match(unit, actor())
    db.session.commit()
    flash(_("Matching done: %(matched)s matched, %(hand)s waiting for a hand mapping, %(unmatched)s unmatched.",
            **counts), "success")
    return redirect(url_for("admin_mergers.province", province_id=unit.id))


@bp.post(f"/links/<{ID}:link_id>/map")
@roles_required("admin")
def map_link(link_id: int):
    """Map one former name to an old unit by hand."""
    data = {k: request.form[k] for k in ("predecessor_id",) if k in request.form}
    try:
        link = mergers.map_predecessor(actor(), link_id, data)
    except InvalidInput as exc:
        db.session.rollback()
        link, unit = mergers.link_in_scope(actor(), link_id)
        return render_template("admin_mergers_index.html", sections=[_sections(unit)],
                               errors=exc.field_messages(locale()), failed_link=link.id, fold=fold), 422
    db.session.commit()
    flash(_("%(former)s is now mapped to %(unit)s.", former=mergers.former_label(link), unit=link.predecessor.name),
          "success")
    province_id = int(link.successor.path.split("/", 2)[1])
    return redirect(url_for("admin_mergers.province", province_id=province_id) + f"#link-{link.id}")
