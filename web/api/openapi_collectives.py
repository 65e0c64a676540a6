"""The OpenAPI description of the collectives and definition-version endpoints (issue 14), added to the document of
web/api/openapi.py."""
from __future__ import annotations

from .openapi import DATE, DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

COLLECTIVE_ID = {"name": "collective_id", "in": "path", "required": True, "schema": ID_INT}
DEFINITION_ID = {"name": "definition_id", "in": "path", "required": True, "schema": ID_INT}
PROVINCE = {"name": "province", "in": "query", "required": True, "schema": ID_INT}
KIND = {"type": "string", "enum": ["household", "clan", "organisation"]}
REFUSAL = {"type": "string", "enum": ["no_place", "no_actor"]}

SCHEMAS.update({
    "Collective": {"type": "object", "required": ["id", "kind", "name", "unit"],
                   "properties": {"id": INT, "kind": KIND, "name": STR,
                                  "unit": {"type": "object", "properties": {"id": INT, "name": STR}},
                                  "head_citizen_id": nullable(STR), "org_type": nullable(STR),
                                  "members": {"type": "array", "items": ref("Membership")}}},
    "CollectiveList": {"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": ref("Collective")}}},
    "Membership": {"type": "object", "required": ["id", "joined_on"],
                   "properties": {"id": INT, "member_citizen_id": nullable(STR), "member_collective_id": nullable(INT),
                                  "member_name": nullable(STR), "joined_on": DATE, "left_on": DATE}},
    "MembersImportReport": {"type": "object", "required": ["dry_run", "collectives", "members", "errors"],
                            "properties": {"file_name": STR, "dry_run": {"type": "boolean"}, "collectives": INT,
                                           "members": INT, "errors": {"type": "array", "items": {
                                               "type": "object", "properties": {"line": INT, "field": STR,
                                                                                "code": STR, "message": STR}}}}},
    "DefinitionVersion": {"type": "object", "required": ["id", "title", "version", "stages"],
                          "properties": {"id": INT, "title": STR, "version": STR,
                                         "stages": {"type": "array", "items": STR},
                                         "state_map": {"type": "object", "additionalProperties": STR},
                                         "loaded_at": DATETIME}},
    "DefinitionList": {"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": ref("DefinitionVersion")}}},
    "MigrationPlan": {"type": "object", "required": ["title", "version", "province_id", "applied", "counts", "rows"],
                      "properties": {"title": STR, "version": STR, "province_id": INT, "applied": {"type": "boolean"},
                                     "moved": nullable(INT),
                                     "fingerprint": {**STR, "description": "Send it back as ?expected= to migrate "
                                                                           "exactly this plan."},
                                     "unstaffed": {"type": "array", "items": STR},
                                     "counts": {"type": "object", "additionalProperties": INT},
                                     "groups": {"type": "array", "items": {"type": "object", "properties": {
                                         "from_version": STR, "from_state": STR, "to_state": nullable(STR),
                                         "refusal": nullable(REFUSAL), "files": INT,
                                         "refusal_message": nullable(STR)}}},
                                     "rows": {"type": "array", "description": "The first 1,000 files.",
                                              "items": {"type": "object", "properties": {
                                                  "application_id": INT, "name": STR, "from_version": STR,
                                                  "from_state": STR, "to_state": nullable(STR),
                                                  "refusal": nullable(REFUSAL)}}}}},
})

_COMMON = {"400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"), "409": err("Conflict"),
           "422": err("Unprocessable")}
PATHS.update({
    "/api/v1/collectives": {
        "get": op("Households, clans and organisations within your units", {"200": body(ref("CollectiveList"))},
                  tag="collectives", op_id="listCollectives",
                  params=[{"name": "kind", "in": "query", "schema": KIND}]),
        "post": op("Register a household, clan or organisation", {"201": body(ref("Collective")), **_COMMON},
                   tag="collectives", op_id="createCollective",
                   description="A household lives in a village; a clan or an organisation belongs to a commune "
                               "(or a village of it). Audited (collective.create).",
                   request=json_request(ref("CollectiveInput"), {"kind": "household", "name": "Hộ ông Nguyễn Văn "
                                                                 "An", "unit_id": 12}))},
    "/api/v1/collectives/{collective_id}": {"get": op(
        "A collective with its members", {"200": body(ref("Collective")), "404": err("NotFound")},
        tag="collectives", op_id="getCollective", params=[COLLECTIVE_ID])},
    "/api/v1/collectives/{collective_id}/members": {"post": op(
        "Add a member (a person to a household or organisation, a household to a clan)",
        {"201": body(ref("Membership")), **_COMMON}, tag="collectives", op_id="addMember", params=[COLLECTIVE_ID],
        description="Refused (422 membership_exists) when the member already belongs for an overlapping period. "
                    "Audited (membership.add).",
        request=json_request(ref("MembershipInput"), {"member_citizen_id": "001099000001",
                                                      "joined_on": "2026-01-01"}))},
    "/api/v1/collectives/import": {"post": op(
        "Import households, clans, organisations and members from a spreadsheet (multipart/form-data)",
        {"200": body(ref("MembersImportReport")), "422": body(ref("MembersImportReport"), "Nothing stored."),
         "400": err("BadRequest")}, tag="collectives", op_id="importMembers",
        request={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary", "description": "XLSX or CSV: Loại, Tên, Nơi, Số "
                                                                              "CCCD or Hộ thành viên, Họ tên, "
                                                                              "Từ ngày."},
                "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"]}}}}}},
        description="A dry run unless dry_run is false. All or nothing: any bad row answers 422 with each problem "
                    "and its line. Each registration and membership is audited.")},
    "/api/v1/definitions": {
        "get": op("The title definitions' versions", {"200": body(ref("DefinitionList"))}, tag="definitions",
                  op_id="listDefinitions"),
        "post": op("Load a new definition version (admins)", {"201": body(ref("DefinitionVersion")), **_COMMON},
                   tag="definitions", op_id="loadDefinition",
                   description="National data: nothing changes until a province adopts it (migrate). A loaded version "
                               "is immutable (422 definition_version_exists).",
                   request=json_request(ref("DefinitionIn"), {
                       "code": "CDHT", "version": "2", "stages": ["evidence_collection", "commune_appraisal",
                                                                  "final_approval"],
                       "state_map": {"branch_scoring": "evidence_collection"}}))},
    "/api/v1/definitions/{definition_id}/plan": {"get": op(
        "Dry run: what migrating the province's files in flight to this version would do",
        {"200": body(ref("MigrationPlan")), **_COMMON}, tag="definitions", op_id="planDefinition",
        params=[DEFINITION_ID, PROVINCE], description="Reads only.")},
    "/api/v1/definitions/{definition_id}/migrate": {"post": op(
        "Migrate the province's files in flight as the dry run says (admins)",
        {"200": body(ref("MigrationPlan")), **_COMMON}, tag="definitions", op_id="migrateDefinition",
        params=[DEFINITION_ID, PROVINCE, {"name": "expected", "in": "query", "schema": STR,
                                          "description": "The dry run's fingerprint: 409 plan_changed if the "
                                                         "files changed since."}],
        description="The province adopts the version: its campaigns of the title give new files this version, and "
                    "the files in flight move as the dry run says. One audit event (migrate) per file moved and one "
                    "(definition.migrate) for the whole; refused files stay as they are. 422 stages_unstaffed when "
                    "the province's chain names nobody for a stage of the version.")},
})
