"""The annual report's pages (issue 11, section 4): /reports/annual?unit=&year= shows a province's or a commune's
report (each indicator against its target, per commune for a province), its XLSX and PDF, the commune officer's
closing of the year (with a confirmation stating what closes) and, for the province, which communes have closed;
a provincial admin or approver reopens a commune's year with a reason. The figures and the rules are
workflow.reports.annual and workflow.reports.closing; this module only reads, calls and commits."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from workflow import clock
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Unit
from workflow.reports import annual, closing

from ..i18n import locale
from .common import actor, int_arg

bp = Blueprint("reports_annual", __name__)
FIELDS = ("cdht_trained_numerator", "cdht_trained_denominator", "cdht_unit_staff_numerator",
          "cdht_unit_staff_denominator")


def default_unit_id() -> int | None:
    """The unit a person's report opens on: their commune (an appraiser), else their province."""
    me = actor()
    for level in ("commune", "province"):
        for g in me.grants:
            if g.unit_level == level:
                return g.unit_id
    return None


def _params() -> tuple[Unit, int]:
    unit_id = int_arg("unit") or default_unit_id()
    year = int_arg("year", minimum=annual.MIN_YEAR, maximum=annual.MAX_YEAR) or clock.today().year
    if request.values.get("year") and int_arg("year", minimum=annual.MIN_YEAR, maximum=annual.MAX_YEAR) is None:
        abort(400)
    if unit_id is None:
        abort(404)
    return annual.report_unit(actor(), unit_id), year


def _choices(unit: Unit) -> list[Unit]:
    """Units the selector offers: the person's provinces and communes, and the communes of the province shown."""
    from sqlalchemy import select

    ids = {g.unit_id for g in actor().grants if g.unit_level in annual.LEVELS}
    units = list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)))) if ids else []
    province = unit if unit.level == "province" else (unit.parent if unit.parent and unit.parent.level == "province"
                                                      else None)
    if province is not None and actor().covers(province.path):
        units += annual.communes_of(province, clock.today().year)
    seen: dict[int, Unit] = {}
    for u in sorted(units, key=lambda u: (u.level != "province", u.name_folded)):
        seen.setdefault(u.id, u)
    return list(seen.values())


@bp.get("/reports/annual")
@login_required
def index():
    unit, year = _params()
    me = actor()
    report = annual.build(me, unit, year, locale())
    closure = closing.closure_of(unit.id, year) if unit.level == "commune" else None
    return render_template("annual_report.html", r=report, unit=unit, year=year, units=_choices(unit),
                           closure=closure, may_close=unit.level == "commune" and closing.may_close(me, unit),
                           may_reopen=closing.may_reopen(me, unit), fields=FIELDS, values={},
                           word=lambda key, **p: annual.word(key, report.lang, **p), dmy=annual.dmy,
                           due=_due(year))


def _due(year: int) -> str:
    return closing.due_date(year).strftime("%d/%m/%Y")


def _download(fmt: str):
    unit, year = _params()
    report = annual.build(actor(), unit, year, locale())
    render, mimetype = annual.RENDERERS[fmt]
    return send_file(io.BytesIO(render(report)), mimetype=mimetype, as_attachment=True,
                     download_name=annual.filename(report, fmt))


@bp.get("/reports/annual.xlsx")
@login_required
def xlsx():
    return _download("xlsx")


@bp.get("/reports/annual.pdf")
@login_required
def pdf():
    return _download("pdf")


@bp.post("/reports/annual/close")
@login_required
def close():
    """First post: the confirmation page states what closes; the second (confirm=1) closes and commits."""
    me = actor()
    unit = closing.commune(me, int_arg("unit"))
    if not closing.may_close(me, unit):
        abort(403)
    values = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    try:
        data = closing.parse_form({"year": request.form.get("year", ""), **values})
    except InvalidInput as exc:
        year = int_arg("year", minimum=annual.MIN_YEAR, maximum=annual.MAX_YEAR) or clock.today().year
        report = annual.build(me, annual.report_unit(me, unit.id), year, locale())
        return render_template("annual_report.html", r=report, unit=unit, year=year, units=_choices(unit),
                               closure=closing.closure_of(unit.id, year), may_close=True,
                               may_reopen=closing.may_reopen(me, unit), fields=FIELDS, values=values,
                               field_errors=exc.field_messages(locale()), error=_("Check the values entered."),
                               word=lambda key, **p: annual.word(key, report.lang, **p), dmy=annual.dmy,
                               due=_due(year)), 422
    if request.form.get("confirm") != "1":
        report = annual.build(me, unit, data.year, locale())
        return render_template("annual_report_confirm.html", r=report, unit=unit, year=data.year, values=values,
                               reported=data.reported(), fields=FIELDS,
                               word=lambda key, **p: annual.word(key, report.lang, **p), dmy=annual.dmy)
    try:
        closing.close_year(me, unit, data)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
    else:
        db.session.commit()
        flash(_("The %(year)s figures of %(unit)s are closed.", year=data.year, unit=unit.name), "success")
    return redirect(url_for("reports_annual.index", unit=unit.id, year=data.year))


@bp.post("/reports/annual/reopen")
@login_required
def reopen():
    me = actor()
    unit = closing.commune(me, int_arg("unit"))
    year = int_arg("year", minimum=annual.MIN_YEAR, maximum=annual.MAX_YEAR)
    if year is None:
        abort(400)
    back = int_arg("back") or unit.id
    try:
        closing.reopen_year(me, unit, year, request.form.get("reason"))
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        flash(exc.message(locale()), "error")
    else:
        db.session.commit()
        flash(_("The %(year)s figures of %(unit)s are open again.", year=year, unit=unit.name), "success")
    return redirect(url_for("reports_annual.index", unit=back, year=year))
