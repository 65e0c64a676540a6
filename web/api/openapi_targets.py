"""The OpenAPI description of the targets and denominators endpoints (issue 11, section 1), added to the document
of web/api/openapi.py."""
from __future__ import annotations

from workflow.reports.targets import KINDS

from .openapi import DATE, DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref
from .openapi_units import PROBLEM

NUM = nullable({"type": "number", "minimum": 0, "maximum": 100})
PLAN_ID = {"name": "plan_id", "in": "path", "required": True, "schema": ID_INT}
FIGURE = nullable({"type": "object", "required": ["value", "is_demo", "source", "derived"],
                   "properties": {"value": INT, "is_demo": {"type": "boolean"}, "source": STR,
                                  "derived": {"type": "string", "enum": ["row", "sum", "units"],
                                              "description": "row: the unit's own figure; sum: its communes' "
                                                             "figures added up; units: communes counted from the "
                                                             "unit list in force at the year's end."},
                                  "parts": INT, "missing": INT}})

SCHEMAS.update({
    "Target": {"type": "object", "required": ["id", "indicator", "year", "value", "unit_id"],
               "properties": {"id": INT, "indicator": STR, "year": INT, "value": NUM, "unit_id": nullable(INT),
                              "updated_at": DATETIME}},
    "Plan": {"type": "object", "required": ["id", "code", "citation", "first_year", "last_year", "status",
                                            "is_history", "editable", "targets", "unit_targets"],
             "properties": {"id": INT, "code": STR, "citation": STR, "issuer": STR, "issued_on": DATE,
                            "province_id": nullable(INT), "first_year": INT, "last_year": INT,
                            "status": {"type": "string", "enum": ["C", "P", "?"]}, "is_history": {"type": "boolean"},
                            "note": nullable(STR), "source": nullable(STR), "editable": {"type": "boolean"},
                            "targets": {"type": "array", "items": ref("Target")},
                            "unit_targets": {"type": "array", "items": ref("Target")}}},
    "PlanList": {"type": "object", "required": ["items"],
                 "properties": {"items": {"type": "array", "items": ref("Plan")}}},
    "TargetResult": {"type": "object", "required": ["target"], "properties": {"target": nullable(ref("Target"))}},
    "AppliedTargets": {"type": "object", "required": ["unit_id", "indicator", "years"],
                       "properties": {"unit_id": INT, "indicator": STR, "years": {"type": "array", "items": {
                           "type": "object", "required": ["year", "value", "plan_code", "scope"],
                           "properties": {"year": INT, "value": NUM, "plan_code": STR, "plan_citation": STR,
                                          "status": STR,
                                          "scope": {"type": "string", "enum": ["national", "province", "unit"]}}}}}},
    "Denominators": {"type": "object", "required": ["province_id", "year", "items"],
                     "properties": {"province_id": INT, "year": INT, "items": {"type": "array", "items": {
                         "type": "object", "required": ["unit_id", "name", "level", "figures"],
                         "properties": {"unit_id": INT, "name": STR, "level": STR, "figures": {
                             "type": "object", "properties": {k: FIGURE for k in KINDS}}}}}}},
    "DenominatorImport": {"type": "object", "required": ["file"],
                          "properties": {"file": {"type": "string", "format": "binary",
                                                  "description": "XLSX or CSV (UTF-8): Mã đơn vị or Tên đơn vị, "
                                                                 "Năm, Loại số liệu, Giá trị, Nguồn."},
                                         "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"]}}},
    "DenominatorImportReport": {"type": "object", "required": ["dry_run", "created", "updated", "unchanged"],
                                "properties": {"file_name": STR, "dry_run": {"type": "boolean"}, "created": INT,
                                               "updated": INT, "unchanged": INT, "skipped": INT,
                                               "changed": {"type": "boolean"},
                                               "errors": {"type": "array", "items": PROBLEM},
                                               "rows": {"type": "array", "items": {"type": "object"}}}},
})

PATHS.update({
    "/api/v1/targets/plans": {"get": op(
        "The plans and their targets (national, and the caller's provinces')",
        {"200": body(ref("PlanList"))}, tag="targets", op_id="listPlans",
        description="National and history plans are read-only (`editable` false); a province's plan is editable "
                    "by an admin of the province.")},
    "/api/v1/targets/plans/{plan_id}/targets": {"patch": op(
        "Set or clear one target of a province's plan (admins)",
        {"200": body(ref("TargetResult"), "The row as stored; null when a commune's own target was removed."),
         "400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"), "409": err("Conflict"),
         "422": err("Unprocessable")},
        tag="targets", op_id="setTarget", params=[PLAN_ID],
        description="`value` a percent 0-100, or null / \"\" to clear (a commune's own target is then removed and "
                    "the commune follows the plan); `unit_id` a commune of the plan's province for its own target. "
                    "National and history plans answer 403 plan_read_only; a non-admin 403; a plan of another "
                    "province 404; someone adding the same target at the same instant 409 target_conflict. "
                    "Audited (target.set) with the value before and after.",
        request=json_request(ref("TargetInput"), {"indicator": "cdht_coverage", "year": 2027, "value": 45}))},
    "/api/v1/targets": {"get": op(
        "The target that applies to a unit, by year",
        {"200": body(ref("AppliedTargets")), "404": err("NotFound"), "422": err("Unprocessable")},
        tag="targets", op_id="appliedTargets",
        params=[{"name": "unit", "in": "query", "required": True, "schema": ID_INT},
                {"name": "indicator", "in": "query", "required": True, "schema": STR}],
        description="The unit's own target, else its province's plan covering the year, else the national plan.")},
    "/api/v1/targets/denominators": {"get": op(
        "A province's denominators for a year",
        {"200": body(ref("Denominators")), "404": err("NotFound"), "422": err("Unprocessable")},
        tag="targets", op_id="listDenominators",
        params=[{"name": "province", "in": "query", "required": True, "schema": ID_INT},
                {"name": "year", "in": "query", "required": True,
                 "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}],
        description="Demo figures carry `is_demo` true (số liệu mẫu (demo)).")},
    "/api/v1/targets/denominators/import": {"post": op(
        "Import denominators from a spreadsheet (admins; multipart/form-data)",
        {"200": body(ref("DenominatorImportReport")), "400": err("BadRequest"), "403": err("Forbidden"),
         "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="targets", op_id="importDenominators",
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("DenominatorImport")}}},
        description="All or nothing: any bad row (unknown unit, outside your province, bad year, negative value, "
                    "duplicate row, unknown kind) answers 422 denominators_invalid with `rows`, one per problem "
                    "with its line, and stores nothing. One audit event (denominators.import) with the row count.")},
})
