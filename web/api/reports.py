"""API: the reports (issue 11). `GET /reports/coverage?unit=&year=`: the unit's CDHT coverage and its children's
(a province's communes, a commune's branches), each with its target, denominator and the link to the list it
counts; `GET /reports/annual?unit=&year=&format=json|xlsx|pdf`: the annual report (workflow.reports.annual).
Scope as everywhere: a unit outside the caller's grants answers 404; bad parameters 400."""
from __future__ import annotations

import io
from typing import Any

from flask import request, send_file, url_for

from workflow.reports import Figure, annual
from workflow.reports import targets as report_targets

from . import bp
from .auth import current_actor
from .errors import MESSAGES, ApiError, locale, text
from .util import query_int

FORMATS = ("json", "xlsx", "pdf")
MESSAGES.update({
    "invalid_query": ("Tham số truy vấn không hợp lệ, xem chi tiết từng tham số.",
                      "The query parameters are not valid; see the errors per parameter."),
})
_PARAM = {
    "unit": ("Bắt buộc: mã số (id) của một tỉnh hoặc xã, phường.", "Required: the id of a province or a commune."),
    "year": ("Bắt buộc: năm từ {min} đến {max}.", "Required: a year from {min} to {max}."),
    "format": ("Một trong: json, xlsx, pdf.", "One of: json, xlsx, pdf."),
}


def _params(*, with_format: bool = False) -> tuple[int, int, str]:
    """unit and year (and format), every bad one named at once (400 invalid_query)."""
    from .errors import FieldErrors

    fields: dict[str, str] = {}
    probe = FieldErrors()
    unit_id = query_int("unit", probe)
    year = query_int("year", probe, minimum=annual.MIN_YEAR, maximum=annual.MAX_YEAR)
    if unit_id is None or "unit" in probe:
        fields["unit"] = text(_PARAM, "unit")
    if year is None or "year" in probe:
        fields["year"] = text(_PARAM, "year", min=annual.MIN_YEAR, max=annual.MAX_YEAR)
    fmt = (request.args.get("format") or "json").strip().lower()
    if with_format and fmt not in FORMATS:
        fields["format"] = text(_PARAM, "format")
    if fields:
        raise ApiError(400, "invalid_query", fields=fields)
    return unit_id, year, fmt  # type: ignore[return-value]


def _list_url(f: Figure) -> str | None:
    if not f.list_name:
        return None
    return url_for("review.queue", list=f.list_name, unit=f.unit_id, **f.list_args)


def figure_dict(f: Figure, name: str, target: Any) -> dict[str, Any]:
    return {"unit_id": f.unit_id, "unit_name": name, "numerator": f.numerator, "denominator": f.denominator,
            "value": f.value, "target": target.value if target is not None else None,
            "target_plan": target.plan_citation if target is not None else None,
            "met": None if target is None or target.value is None or f.value is None else f.value >= target.value,
            "denominator_note": f.denominator_note, "list_url": _list_url(f)}


@bp.get("/reports/coverage")
def report_coverage():
    """The CDHT coverage of a unit and its children against their targets, with each figure's list."""
    from sqlalchemy import select

    from workflow.db import db
    from workflow.models import Unit
    from workflow.reports import indicators

    unit_id, year, _fmt = _params()
    actor = current_actor()
    unit = _any_unit(actor, unit_id)
    own, children = indicators.coverage(actor, unit, year)
    ids = [f.unit_id for f in children]
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}
    units[unit.id] = unit

    from workflow.authz import province_of

    found = annual.Targets(province_of(unit.path), year)  # the province's target once, communes' own ones only

    def one(f: Figure) -> dict[str, Any]:
        u = units[f.unit_id]
        return figure_dict(f, u.name, found.get(u, "cdht_coverage"))

    adults = report_targets.denominator(unit, "adults", year)
    return {"unit": {"id": unit.id, "name": unit.name, "level": unit.level}, "year": year,
            "as_of": indicators.as_of(year).isoformat(), "indicator": "cdht_coverage",
            "is_demo": bool(adults and adults.is_demo), "figure": one(own), "children": [one(f) for f in children]}


def _any_unit(actor, unit_id: int):
    """Coverage is asked of any unit in scope (a branch too): outside the grants, not found."""
    from workflow.db import db
    from workflow.errors import NotFound
    from workflow.models import Unit

    unit = db.session.get(Unit, unit_id)
    if unit is None or not actor.covers(unit.path):
        raise NotFound("unit_not_found")
    return unit


@bp.get("/reports/annual")
def report_annual():
    """The annual report of a province or a commune: JSON, or the XLSX / PDF the pages offer."""
    unit_id, year, fmt = _params(with_format=True)
    actor = current_actor()
    unit = annual.report_unit(actor, unit_id)
    report = annual.build(actor, unit, year, locale())
    if fmt == "json":
        return report.as_dict()
    render, mimetype = annual.RENDERERS[fmt]
    return send_file(io.BytesIO(render(report)), mimetype=mimetype, as_attachment=True,
                     download_name=annual.filename(report, fmt))
