"""The OpenAPI description of the units endpoints, added to the document of web/api/openapi.py."""
from __future__ import annotations

from workflow.vocabulary import AREA_CLASSES, LEVELS

from .openapi import DATE, ID_INT, INT, PAGING, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

PROBLEM = {"type": "object", "required": ["line", "field", "code", "message"],
           "properties": {"line": {**INT, "description": "Line of the file (1 is the header)."}, "field": STR,
                          "code": STR, "message": STR}}

# The request body of POST /units (NewUnit) is generated from workflow.admin.units.NewUnit (the view's @declare);
# the import (multipart/form-data) stays written here: its parts are a file and form fields, not a JSON body.
SCHEMAS.update({
    "UnitItem": {"type": "object", "required": ["id", "code", "name", "level"],
                 "properties": {"id": INT, "code": STR, "name": STR, "level": {"type": "string", "enum": list(LEVELS)},
                                "kind": nullable(STR), "parent_id": nullable(INT),
                                "area_class": {"type": "string", "enum": list(AREA_CLASSES)},
                                "population": nullable(INT), "valid_from": DATE, "valid_to": DATE}},
    "UnitPage": {"type": "object", "required": ["items", "page", "per_page", "total", "pages"],
                 "properties": {"items": {"type": "array", "items": ref("UnitItem")}, "page": INT, "per_page": INT,
                                "total": INT, "pages": INT}},
    "UnitImport": {"type": "object", "required": ["file"],
                   "properties": {"file": {"type": "string", "format": "binary",
                                           "description": "CSV, UTF-8: gso_code, name, type, population, "
                                                          "area_km2, former_units."},
                                  "province": {**STR, "description": "The province's name (diacritics and case "
                                                                      "ignored); optional when the caller "
                                                                      "administers one province."},
                                  "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"]}}},
    "UnitImportReport": {"type": "object", "required": ["province", "dry_run", "created", "updated", "unchanged"],
                         "properties": {"province": STR, "dry_run": {"type": "boolean"}, "created": INT,
                                        "updated": INT, "unchanged": INT, "changed": {"type": "boolean"},
                                        "errors": {"type": "array", "items": PROBLEM},
                                        "rows": {"type": "array", "items": {"type": "object"}}}},
})

PATHS.update({
    "/api/v1/units": {
        "get": op("Units within the caller's grants",
                  {"200": body(ref("UnitPage")), "400": err("BadRequest"), "404": err("NotFound"),
                   "422": err("Unprocessable")},
                  tag="units", op_id="listUnits",
                  params=[{"name": "level", "in": "query", "schema": {"type": "string", "enum": list(LEVELS)}},
                          {"name": "parent", "in": "query", "schema": ID_INT,
                           "description": "Only its children; a unit outside your grants answers 404."},
                          {"name": "q", "in": "query", "schema": STR,
                           "description": "Part of the name, diacritics and case ignored."}, *PAGING]),
        "post": op("Add a branch, a village or a commune (admins)",
                   {"201": body(ref("UnitItem"), "Created"), "400": err("BadRequest"), "403": err("Forbidden"),
                    "404": err("NotFound"), "422": err("Unprocessable")},
                   tag="units", op_id="createUnit",
                   request=json_request(ref("NewUnit"), {"name": "Chi hội thôn Đông", "level": "branch",
                                                         "parent": 3}),
                   description="`level`: branch (or chi hội), village (or thôn, tổ dân phố) under a commune, or "
                               "commune under a province; `kind`: xã / phường / đặc khu, thôn / tổ dân phố. "
                               "The parent must lie within the caller's admin grants (else 404; inside them "
                               "without the admin role 403). A unit of that name and level under the same parent "
                               "answers 422 unit_exists."),
    },
    "/api/v1/units/import": {"post": op(
        "Import a province's official commune list (multipart/form-data)",
        {"200": body(ref("UnitImportReport"), "What was (or, on a dry run, would be) created, updated and left "
                                              "unchanged; a second import of the same file changes nothing."),
         "400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"),
         "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="units", op_id="importUnits",
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("UnitImport")}}},
        description="All or nothing: a bad row (missing name, unknown type, a repeated code) answers 422 "
                    "units_import_invalid with `rows`, one entry per problem with its line number, and stores "
                    "nothing.")},
})
