"""API: units of the caller's scope, adding units, importing a province's commune list (workflow.admin.units).
Reads are open to every grant (other systems need the unit ids their files name); changes need an admin grant."""
from __future__ import annotations

from typing import Any

from flask import request

from workflow.admin import units as ops
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.models import Unit
from workflow.vocabulary import LEVELS

from . import bp
from .auth import current_actor
from .errors import ApiError, FieldErrors, error_response, locale, text
from .openapi import declare
from .util import commit, iso, json_body, paged, query_int

TRUE = ("1", "true", "yes", "on")


def unit_dict(u: Unit) -> dict[str, Any]:
    return {"id": u.id, "code": u.code, "name": u.name, "level": u.level, "kind": u.kind, "parent_id": u.parent_id,
            "area_class": u.area_class, "population": u.population, "valid_from": iso(u.valid_from),
            "valid_to": iso(u.valid_to)}


@bp.get("/units")
def list_units():
    """Units within the caller's grants: `level`, `parent` (its children), `q` (name, diacritics ignored)."""
    errors = FieldErrors()
    level = request.args.get("level") or None
    if level is not None and level not in LEVELS:
        errors.add("level", "choice", choices=", ".join(LEVELS))
    parent = query_int("parent", errors)
    q = (request.args.get("q") or "").strip()[:100] or None
    errors.raise_if_any()
    stmt = ops.units_query(current_actor(), level=level, parent=parent, q=q)
    return paged(stmt, unit_dict, errors)


@bp.post("/units")
@declare(json=ops.NewUnit, operation_id="createUnit")
def create_unit():
    """Add a branch or village under a commune, or a commune under a province ({"name", "level", "parent"})."""
    unit = ops.add_unit(current_actor(), json_body())
    commit()
    return unit_dict(unit), 201


@bp.post("/units/import")
def import_units():
    """A province's official commune list (multipart: file, province, dry_run): all or nothing."""
    actor = current_actor()
    file = request.files.get("file")
    if file is None:
        errors = FieldErrors()
        errors.add("file", "file")
        errors.raise_if_any()
    province = (request.form.get("province") or "").strip()
    if not province:
        mine = ops.admin_provinces(actor)
        if len(mine) != 1:
            raise ApiError(422, "invalid_input", fields={"province": text(FIELD_REQUIRED, "required")})
        province = mine[0].name
    dry_run = (request.form.get("dry_run") or "").strip().lower() in TRUE
    report = ops.import_communes(province, file.read(), actor, dry_run=dry_run)  # type: ignore[union-attr]
    if report.errors:
        db.session.rollback()
        exc = WorkflowError("units_import_invalid", count=len(report.errors))
        return error_response(422, exc.code, exc.message(locale()), params={"count": len(report.errors)},
                              rows=[p.as_dict(locale()) for p in report.errors])
    if dry_run:
        db.session.rollback()
    else:
        commit()
    return report.as_dict(locale())


FIELD_REQUIRED = {"required": ("Bắt buộc (bạn quản trị nhiều tỉnh).", "Required (you administer several provinces).")}
