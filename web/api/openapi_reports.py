"""The OpenAPI description of the reports endpoints (web/api/reports.py), added to the document of web/api/openapi.py:
the coverage of a unit and its children, and the annual report as JSON, XLSX or PDF."""
from __future__ import annotations

from .openapi import DATE, DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, nullable, op, ref

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
UNIT = {"name": "unit", "in": "query", "required": True, "schema": ID_INT,
        "description": "A unit id within your grants (else 404)."}
YEAR = {"name": "year", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 2000,
                                                                       "maximum": 2100}}
ROW = {"type": "object", "required": ["indicator", "unit_id", "name", "computed"],
       "properties": {"indicator": STR, "unit_id": INT, "unit_name": STR, "name": STR, "computed": BOOL,
                      "official_code": nullable({**STR, "description": "The official indicator code: empty until "
                                                                       "a circular names one."}),
                      "numerator": nullable(INT), "denominator": nullable(INT), "value": nullable(NUM),
                      "target": nullable(NUM), "target_plan": nullable(STR), "target_status": nullable(STR),
                      "met": nullable(BOOL), "note": nullable(STR), "list_name": nullable(STR),
                      "list_args": {"type": "object"}}}

SCHEMAS.update({
    "CoverageFigure": {
        "type": "object", "required": ["unit_id", "unit_name", "numerator", "denominator", "value", "target"],
        "properties": {"unit_id": INT, "unit_name": STR,
                       "numerator": {**INT, "description": "Holders of CDHT on the day counted (each person once)."},
                       "denominator": nullable({**INT, "description": "Adults aged 15 and over (targets data)."}),
                       "value": nullable({**NUM, "description": "Percent, one decimal."}),
                       "target": nullable(NUM), "target_plan": nullable(STR), "met": nullable(BOOL),
                       "denominator_note": nullable(STR),
                       "list_url": nullable({**STR, "description": "The work queue filtered to exactly the files "
                                                                   "counted."})}},
    "Coverage": {
        "type": "object", "required": ["unit", "year", "as_of", "figure", "children"],
        "properties": {"unit": {"type": "object", "properties": {"id": INT, "name": STR, "level": STR}},
                       "year": INT, "as_of": {"type": "string", "format": "date"}, "indicator": STR,
                       "is_demo": {**BOOL, "description": "The denominators are demo figures (số liệu mẫu)."},
                       "figure": ref("CoverageFigure"),
                       "children": {"type": "array", "items": ref("CoverageFigure")}}},
    "AnnualReport": {
        "type": "object",
        "required": ["unit_id", "unit_name", "level", "year", "as_of", "generated_on", "rows", "communes", "plans",
                     "sources", "closures", "is_demo"],
        "properties": {
            "unit_id": INT, "unit_name": STR, "level": {"type": "string", "enum": ["province", "commune"]},
            "year": INT, "as_of": DATE, "generated_on": DATE, "lang": STR,
            "rows": {"type": "array", "items": ROW},
            "communes": {"type": "array", "items": {"type": "object", "properties": {
                "unit_id": INT, "unit_name": STR, "rows": {"type": "array", "items": ROW}}}},
            "plans": {"type": "array", "items": STR},
            "sources": {"type": "object", "description": "files (in the year's campaigns), holders, xht_holders, "
                                                         "adults and communes (the denominators: value, is_demo, "
                                                         "source, missing, parts), communes_listed."},
            "closures": {"type": "array", "items": {"type": "object", "properties": {
                "unit_id": INT, "unit_name": STR, "closed": BOOL, "closed_at": DATETIME,
                "closed_by": nullable(STR), "reopened_at": DATETIME, "reopen_reason": nullable(STR)}}},
            "is_demo": BOOL}},
})

PATHS.update({
    "/api/v1/reports/coverage": {"get": op(
        "CDHT coverage of a unit and its children, against their targets",
        {"200": body(ref("Coverage")), "400": err("BadRequest"), "404": err("NotFound")},
        tag="reports", op_id="getCoverage", params=[UNIT, YEAR],
        description="Holders of the Learning Citizen title on the year's day (31/12, or today while the year "
                    "runs) over adults aged 15 and over; a province's children are its communes, a commune's its "
                    "branches. Missing or malformed `unit` or `year` answers 400 invalid_query.")},
    "/api/v1/reports/annual": {"get": op(
        "The annual report of a province or a commune (JSON, XLSX or PDF)",
        {"200": {"description": "The report: JSON, or the workbook / PDF as an attachment.",
                 "content": {"application/json": {"schema": ref("AnnualReport")},
                             XLSX: {"schema": {"type": "string", "format": "binary"}},
                             "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
         "400": err("BadRequest"), "404": err("NotFound")},
        tag="reports", op_id="getAnnualReport",
        params=[UNIT, YEAR, {"name": "format", "in": "query", "schema": {"type": "string",
                                                                           "enum": ["json", "xlsx", "pdf"],
                                                                           "default": "json"}}],
        description="One row per indicator (workflow/data/indicators.json) with its target and plan cited, and "
                    "for a province one per commune; the communes' closing of the year. A unit that is neither "
                    "a province nor a commune, a bad year or format answers 400.")},
})
