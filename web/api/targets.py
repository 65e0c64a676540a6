"""API: the plans' targets and the reports' denominators (issue 11, section 1; workflow.reports.targets and
denominators). Reads are open to every grant within its provinces (national plans to all); changes need an admin
grant: a province plan's targets (PATCH), the denominators import (POST, all or nothing, `dry_run` for a preview)."""
from __future__ import annotations

from typing import Any

from flask import request

from workflow.db import db
from workflow.errors import NotFound, WorkflowError
from workflow.models import ReportPlan, ReportTarget, Unit
from workflow.reports import denominators as dn
from workflow.reports import targets as tg

from . import bp
from .auth import current_actor
from .errors import FieldErrors, error_response, locale
from .openapi import declare
from .util import ID, commit, iso, json_body, query_int

TRUE = ("1", "true", "yes", "on")


def target_dict(t: ReportTarget) -> dict[str, Any]:
    return {"id": t.id, "indicator": t.indicator, "year": t.year, "value": t.value, "unit_id": t.unit_id,
            "updated_at": iso(t.updated_at)}


def plan_dict(p: ReportPlan, actor) -> dict[str, Any]:
    own = [target_dict(t) for years in tg.plan_table(p).values() for t in years.values()]
    return {"id": p.id, "code": p.code, "citation": p.citation, "issuer": p.issuer, "issued_on": iso(p.issued_on),
            "province_id": p.province_id, "first_year": p.first_year, "last_year": p.last_year,
            "status": p.status, "is_history": p.is_history, "note": p.note, "source": p.source,
            "editable": tg.editable(actor, p), "targets": own,
            "unit_targets": [target_dict(t) for t in tg.unit_targets(p)]}


def _visible_unit(actor, unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or not tg._sees(actor, unit):
        raise NotFound("unit_not_found")
    return unit


@bp.get("/targets/plans")
def list_plans():
    """The national plans and those of the caller's provinces, each with its targets per year."""
    actor = current_actor()
    return {"items": [plan_dict(p, actor) for p in tg.visible_plans(actor)]}


@bp.patch(f"/targets/plans/<{ID}:plan_id>/targets")
@declare(json=tg.TargetInput, operation_id="setTarget")
def set_target(plan_id: int):
    """Set or clear one target of a province's plan ({"indicator", "year", "value", "unit_id"}), audited."""
    row = tg.set_target(current_actor(), plan_id, json_body())
    commit()
    return {"target": target_dict(row) if row is not None else None}


@bp.get("/targets")
def applied_targets():
    """The target that applies to a unit for an indicator, by year (`unit`, `indicator`)."""
    errors = FieldErrors()
    unit_id = query_int("unit", errors)
    indicator = (request.args.get("indicator") or "").strip()
    if indicator not in tg.indicator_defs():
        errors.add("indicator", "choice", choices=", ".join(tg.indicator_defs()))
    if unit_id is None and "unit" not in errors:
        errors.add("unit", "required")
    errors.raise_if_any()
    unit = _visible_unit(current_actor(), unit_id)  # type: ignore[arg-type]
    return {"unit_id": unit.id, "indicator": indicator, "years": [
        {"year": y, "value": r.value, "plan_code": r.plan_code, "plan_citation": r.plan_citation,
         "status": r.status, "scope": r.scope} for y, r in tg.targets_by_year(unit, indicator).items()]}


@bp.get("/targets/denominators")
def list_denominators():
    """A province's denominators for a year (`province`, `year`): its row and one per commune in force."""
    errors = FieldErrors()
    province_id = query_int("province", errors)
    year = query_int("year", errors, minimum=2000, maximum=2100)
    if province_id is None and "province" not in errors:
        errors.add("province", "required")
    if year is None and "year" not in errors:
        errors.add("year", "required")
    errors.raise_if_any()
    unit = _visible_unit(current_actor(), province_id)  # type: ignore[arg-type]
    if unit.level != "province":
        raise NotFound("unit_not_found")

    def fig(d):
        return None if d is None else {"value": d.value, "is_demo": d.is_demo, "source": d.source,
                                       "derived": d.derived, "parts": d.parts, "missing": d.missing}

    return {"province_id": unit.id, "year": year, "items": [
        {"unit_id": r["unit"].id, "name": r["unit"].name, "level": r["unit"].level,
         "figures": {k: fig(r["figures"][k]) for k in tg.KINDS}}
        for r in tg.denominators_table(unit, year)]}  # type: ignore[arg-type]


@bp.post("/targets/denominators/import")
def import_denominators():
    """Denominators from a spreadsheet (multipart: file, dry_run): all or nothing, one audit event."""
    file = request.files.get("file")
    if file is None:
        errors = FieldErrors()
        errors.add("file", "file")
        errors.raise_if_any()
    dry_run = (request.form.get("dry_run") or "").strip().lower() in TRUE
    report = dn.import_denominators(current_actor(), file.read(), file.filename or "",  # type: ignore[union-attr]
                                    dry_run=dry_run)
    if report.errors:
        db.session.rollback()
        exc = WorkflowError("denominators_invalid", count=len(report.errors))
        return error_response(422, exc.code, exc.message(locale()), params={"count": len(report.errors)},
                              rows=[p.as_dict(locale()) for p in report.errors])
    if dry_run:
        db.session.rollback()
    else:
        commit()
    return report.as_dict(locale())
