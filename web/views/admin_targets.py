"""Pages of the administration: the plans' targets and the reports' denominators (issue 11, section 1). The plans
with their targets per year (national and history plans read-only; a province's plan edited inline, each change
shown for confirmation first), the communes' own targets, the denominators of a year with their import (preview,
per-row errors, confirm) and its template. Views only read and call workflow.reports.targets / denominators."""
from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from workflow import clock
from workflow.admin.inputs import InvalidInput
from workflow.admin.units import admin_provinces
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.reports import denominators as dn
from workflow.reports import indicator_defs
from workflow.reports import targets as tg

from ..i18n import locale
from .common import ID, actor, int_arg, roles_required

bp = Blueprint("admin_targets", __name__, url_prefix="/admin/targets")
ADMIN_ROLES = ("admin",)


def indicator_names() -> dict[str, str]:
    key = "en" if locale().startswith("en") else "vi"
    return {code: d["name"][key] for code, d in indicator_defs().items()}


def labels() -> dict[str, Any]:
    return {"status": {"C": _("confirmed in a source"), "P": _("partly confirmed"), "?": _("not confirmed")},
            "kind": {"adults": _("People aged 15 and over"), "communes": _("Communes and wards"),
                     "unit_staff": _("Staff of learning units")},
            "indicator": indicator_names()}


def _years(plan) -> list[int]:
    return list(range(plan.first_year, plan.last_year + 1))


def _province(provinces):
    wanted = int_arg("province")
    return next((p for p in provinces if p.id == wanted), provinces[0] if provinces else None)


@bp.get("/")
@roles_required(*ADMIN_ROLES)
def index():
    """The plans and their targets, the communes' own targets, and the denominators of a year."""
    who = actor()
    provinces = admin_provinces(who)
    province = _province(provinces)
    year = int_arg("year", clock.today().year, minimum=2000, maximum=2100) or clock.today().year
    plans = [{"plan": p, "table": tg.plan_table(p), "units": tg.unit_targets(p), "years": _years(p),
              "editable": tg.editable(who, p)} for p in tg.visible_plans(who)]
    table = tg.denominators_table(province, year) if province else []
    communes = tg.active_communes(province, year) if province else []
    return render_template("admin_targets.html", plans=plans, provinces=provinces, province=province, year=year,
                           table=table, communes=communes, demo=bool(province and tg.any_demo(province)),
                           labels=labels(), kinds=tg.KINDS, demo_source=tg.DEMO_SOURCE)


def _changes(plan) -> list[dict[str, Any]]:
    """The edits a plan's form asks for: each cell whose value differs from the stored one, and the new commune
    target if one is filled in. Values stay as typed; set_target judges them."""
    out = []
    for indicator, years in tg.plan_table(plan).items():
        for year, row in years.items():
            name = f"t-{indicator}-{year}"
            if name in request.form:
                typed = request.form[name].strip()
                stored = "" if row.value is None else _num(row.value)
                if typed.replace(",", ".") != stored:
                    out.append({"indicator": indicator, "year": year, "value": typed, "unit_id": None,
                                "before": row.value})
    for row in tg.unit_targets(plan):
        name = f"u-{row.unit_id}-{row.indicator}-{row.year}"
        if name in request.form:
            typed = request.form[name].strip()
            if typed.replace(",", ".") != ("" if row.value is None else _num(row.value)):
                out.append({"indicator": row.indicator, "year": row.year, "value": typed, "unit_id": row.unit_id,
                            "before": row.value, "unit": row.unit})
    new_unit, new_value = int_arg("new_unit_id"), (request.form.get("new_value") or "").strip()
    if new_unit and new_value:
        out.append({"indicator": (request.form.get("new_indicator") or "").strip(),
                    "year": (request.form.get("new_year") or "").strip(), "value": new_value, "unit_id": new_unit,
                    "before": None})
    return out


def _num(value: float) -> str:
    return f"{value:g}"


@bp.post(f"/plans/<{ID}:plan_id>")
@roles_required(*ADMIN_ROLES)
def edit_plan(plan_id: int):
    """Step 1 (preview): list what the form changes; step 2 (confirm): apply every change and commit once."""
    who = actor()
    try:
        plan = tg.visible_plan(who, plan_id)
    except WorkflowError:
        abort(404)
    if not tg.editable(who, plan):
        abort(403)
    changes = _changes(plan) if request.form.get("step") != "confirm" else _confirmed()
    if not changes:
        flash(_("Nothing to change."), "info")
        return redirect(url_for("admin_targets.index", province=plan.province_id) + f"#plan-{plan.id}")
    errors: list[str] = []
    for change in changes:
        try:
            tg.set_target(who, plan.id, {k: change[k] for k in ("indicator", "year", "value", "unit_id")})
        except InvalidInput as exc:
            errors.extend(f"{change['indicator']} {change['year']}: {m}" for m in exc.field_messages(locale())
                          .values())
        except WorkflowError as exc:
            db.session.rollback()
            abort(exc.status)
    if errors or request.form.get("step") != "confirm":
        db.session.rollback()
        names = {c.id: c.name for c in tg.active_communes(plan.province, clock.today().year)}
        return render_template("admin_targets_confirm.html", plan=plan, changes=changes, errors=errors,
                               labels=labels(), names=names), 422 if errors else 200
    db.session.commit()
    flash(ngettext("%(num)s target changed.", "%(num)s targets changed.", len(changes)), "success")
    return redirect(url_for("admin_targets.index", province=plan.province_id) + f"#plan-{plan.id}")


def _confirmed() -> list[dict[str, Any]]:
    """The changes a confirmation form hands back (c-<n>-indicator, -year, -value, -unit)."""
    out = []
    for n in range(int_arg("count", 0, maximum=1000) or 0):
        out.append({"indicator": request.form.get(f"c-{n}-indicator", ""), "year": request.form.get(f"c-{n}-year", ""),
                    "value": request.form.get(f"c-{n}-value", ""), "unit_id": request.form.get(f"c-{n}-unit") or None,
                    "before": None})
    return out


# ------------------------------------------------------------------------------------------------ denominators
def _file_bytes() -> tuple[bytes | None, str]:
    file = request.files.get("file")
    if file is not None and file.filename:
        return file.read(), file.filename
    raw = request.form.get("content") or ""
    if raw:
        try:
            return base64.b64decode(raw, validate=True), request.form.get("file_name") or ""
        except (binascii.Error, ValueError):
            abort(400)
    return None, ""


@bp.route("/denominators/import", methods=["GET", "POST"])
@roles_required(*ADMIN_ROLES)
def import_denominators():
    """Upload a spreadsheet of denominators: a preview first (nothing stored), then confirm."""
    report, content, error = None, None, None
    if request.method == "POST":
        data, name = _file_bytes()
        confirm = request.form.get("step") == "confirm"
        if data is None:
            error = _("Choose the file to import.")
        else:
            try:
                report = dn.import_denominators(actor(), data, name, dry_run=not confirm)
            except WorkflowError as exc:
                abort(exc.status)
            if report.errors or not confirm:
                db.session.rollback()
            if report.ok and confirm:
                db.session.commit()
                flash(_("Denominators imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.",
                        created=report.created, updated=report.updated, unchanged=report.unchanged), "success")
                return redirect(url_for("admin_targets.index") + "#denominators")
            content = base64.b64encode(data).decode() if report.ok and report.changed else None
    status = 422 if (error or (report and report.errors)) else 200
    return render_template("admin_targets_import.html", report=report, content=content, error=error,
                           lang=locale(), labels=labels(), year=clock.today().year), status


@bp.get("/denominators/template.xlsx")
@roles_required(*ADMIN_ROLES)
def template():
    """The import template: every commune of the admin's provinces for the year, values empty."""
    year = int_arg("year", clock.today().year, minimum=2000, maximum=2100) or clock.today().year
    data = dn.template_xlsx(actor(), year)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="mau-nhap-mau-so-{year}.xlsx"'})
