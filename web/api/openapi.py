"""The OpenAPI 3.1 document of /api/v1. Request bodies are generated from the declared inputs (workflow/declared.py,
the admin models of workflow/admin/) by spectree: a view says `@declare(json=Model, operation_id=...)` and the
document's requestBody schema for that operation is the model's own JSON schema, so the document cannot differ from
the rule. The rest (responses, parameters, examples) is still written by hand in PATHS and SCHEMAS, which stay the
merge point for the parts not yet converted (openapi_<part>.py modules update them). A test walks the app's URL map
and checks that every route and method is documented and every documented path exists, and validates the document.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from spectree import SpecTree

from workflow.admin.campaigns import CampaignIn
from workflow.admin.officers import GrantIn, UserIn, UserPatch
from workflow.admin.units import NewUnit
from workflow.declared import (
    ActionInput,
    BatchInput,
    CampaignChange,
    NominationInput,
    ScoreSheetInput,
    TokenInput,
    VersionInput,
)
from workflow.vocabulary import ACTIONS, STATES, SUBJECT_KINDS

from . import bp, public
from .util import MAX_INT

# Component names clients already know: a declared input keeps the name its hand-written schema had.
SCHEMA_NAMES: dict[type, str] = {NominationInput: "NewApplication", ScoreSheetInput: "ScoresRequest",
                                 ActionInput: "ActionRequest", BatchInput: "BatchRequest",
                                 TokenInput: "TokenRequest",
                                 # the admin bodies (second pass)
                                 CampaignIn: "NewCampaign", CampaignChange: "CampaignPatch", NewUnit: "NewUnit",
                                 UserIn: "NewUser", UserPatch: "UserPatch", GrantIn: "GrantRequest",
                                 VersionInput: "EvidenceRemove"}


def _nested_name(parent: str, child: str) -> str:
    """A model nested in another (UserIn's GrantIn) is one component, under its own stable name, not
    spectree's "<parent>.<child>"."""
    return next((name for model, name in SCHEMA_NAMES.items() if model.__name__ == child), child)


# Never registered on the app: it adds no routes (our document is served at /api/v1/openapi.json), validates
# nothing (the views call workflow.admin.inputs.parse, so errors keep our shape) and only documents.
SPEC = SpecTree("flask", mode="strict", annotations=False, openapi_version="3.1.0",
                naming_strategy=lambda model: SCHEMA_NAMES.get(model, model.__name__),
                nested_naming_strategy=_nested_name)
_DECLARED: dict[str, Callable[..., Any]] = {}


def declare(*, json: type[BaseModel], operation_id: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document a view's JSON body by its declared input. The operation itself (responses, parameters) is in PATHS
    under the same operationId; the view validates with `parse(Model, body)`."""
    document_only = SPEC.validate(json=json, skip_validation=True, operation_id=operation_id)

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = document_only(view)
        _DECLARED[operation_id] = wrapped
        return wrapped

    return wrap


def declared_schema(model: type[BaseModel]) -> tuple[str, dict[str, Any]]:
    """The component name and JSON schema spectree generated for a declared input (what the document serves)."""
    name = SPEC.naming_strategy(model)
    return name, document()["components"]["schemas"][name]

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {JSON: {"schema": schema}}}


def err(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def op(summary: str, responses: dict[str, Any], *, tag: str, request: dict[str, Any] | None = None,
       params: list[dict[str, Any]] | None = None, secure: bool = True, description: str = "",
       op_id: str) -> dict[str, Any]:
    """One operation; every authenticated one can answer 401, every one 400 (bad query or body) and 500."""
    out: dict[str, Any] = {"summary": summary, "operationId": op_id, "tags": [tag],
                           "parameters": [{"$ref": "#/components/parameters/AcceptLanguage"}] + (params or [])}
    if description:
        out["description"] = description
    if request:
        out["requestBody"] = request
    all_responses = dict(responses)
    if secure:
        all_responses.setdefault("401", err("Unauthorized"))
    else:
        out["security"] = []
    all_responses.setdefault("500", err("ServerError"))
    out["responses"] = dict(sorted(all_responses.items()))
    return out


def json_request(schema: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": True, "content": {JSON: media}}


ID_INT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": ID_INT}
ACTION = {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": list(ACTIONS)},
          "description": "A workflow action; any other value answers 404 unknown_action."}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
]

STR = {"type": "string"}
INT = {"type": "integer"}
DATETIME = nullable({"type": "string", "format": "date-time"})
DATE = nullable({"type": "string", "format": "date"})

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {**STR, "description": "Machine code, stable across languages (e.g. not_found, conflict, "
                                               "reason_required, invalid_input, upload_bad_type)."},
                "message": {**STR, "description": "For a person, in the language asked for by Accept-Language."},
                "params": {"type": "object", "description": "Values the message was built from (engine errors)."},
                "fields": {"type": "object", "additionalProperties": STR,
                           "description": "Per-field messages (422 invalid_input and upload refusals)."},
            }}},
    },
    "Token": {"type": "object", "required": ["token", "token_type", "expires_in"],
              "properties": {"token": STR, "token_type": {"const": "Bearer"}, "expires_in": INT,
                             "user": {"type": "object", "properties": {
                                 "id": INT, "username": STR, "full_name": STR,
                                 "roles": {"type": "array", "items": {"type": "object", "properties": {
                                     "role": STR, "unit_id": INT}}}}}}},
    "Campaign": {"type": "object", "required": ["id", "title", "year", "rubric_id"],
                 "properties": {"id": INT, "title": STR, "year": INT, "name": STR, "province_id": INT,
                                "rubric_id": INT, "rubric_version": STR, "opens_on": DATE, "submit_deadline": DATE,
                                "decision_deadline": DATE}},
    "CampaignList": {"type": "object", "required": ["items"],
                     "properties": {"items": {"type": "array", "items": ref("Campaign")}}},
    "Rubric": {"type": "object", "required": ["rubric_id", "kind", "criteria", "pass_rule"],
               "properties": {
                   "campaign_id": INT, "rubric_id": INT, "title": STR, "version": STR,
                   "kind": {"type": "string", "enum": ["points", "met"]},
                   "pass_rule": {"type": "object", "description": "points: min_total, min_total_disadvantaged, "
                                                                  "min_each; met: every indicator met."},
                   "frameworks": {"type": "array", "items": STR},
                   "criteria": {"type": "array", "items": {
                       "type": "object", "required": ["code", "min", "max"],
                       "properties": {"code": STR, "group": STR, "min": INT, "max": INT,
                                      "levels": {"type": "array", "items": INT}, "evidence_required": {
                                          "type": "boolean"},
                                      "name": {"type": "object", "properties": {"vi": STR, "en": STR}}}}}}},
    "Unit": nullable({"type": "object", "properties": {"id": INT, "code": STR, "name": STR, "level": STR}}),
    "ApplicationSummary": {
        "type": "object", "required": ["id", "campaign_id", "unit", "state", "version"],
        "properties": {"id": INT, "campaign_id": INT, "title": STR, "unit": ref("Unit"),
                       "state": {"type": "string", "enum": list(STATES)}, "version": INT,
                       "full_name": nullable(STR), "citizen_id": nullable(STR), "score_total": INT,
                       "state_changed_at": DATETIME}},
    "ApplicationPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages", "older", "newer", "capped", "estimated"],
        "description": "`total` is exact (from the per-state summary) unless `estimated` (a search on PostgreSQL: "
                       "the planner's estimate) or `capped` (a search elsewhere, counted up to 1,000). "
                       "`older` / `newer` are the cursors of the next and previous pages (?before= / "
                       "?after=), null at either end; `page` and `pages` are null when paging by cursor.",
        "properties": {"items": {"type": "array", "items": ref("ApplicationSummary")}, "page": nullable(INT),
                       "per_page": INT, "total": INT, "pages": nullable(INT), "older": nullable(INT),
                       "newer": nullable(INT), "capped": {"type": "boolean"}, "estimated": {"type": "boolean"}}},
    "Evidence": {"type": "object", "required": ["id", "criterion", "original_name", "size", "media_type"],
                 "properties": {"id": INT, "criterion": STR, "original_name": STR, "size": INT, "media_type": STR,
                                "sha256": STR, "uploaded_at": DATETIME, "download_url": STR}},
    "Application": {
        "type": "object",
        "required": ["id", "campaign", "unit", "state", "version", "scores", "allowed_actions"],
        "properties": {
            "id": INT,
            "campaign": {"type": "object", "properties": {"id": INT, "title": STR, "year": INT, "name": STR}},
            "rubric": {"type": "object", "properties": {"id": INT, "version": STR, "kind": STR}},
            "unit": ref("Unit"), "state": {"type": "string", "enum": list(STATES)},
            "version": {**INT, "description": "Send it back with every change (optimistic locking)."},
            "full_name": nullable(STR), "date_of_birth": DATE, "citizen_id": nullable(STR),
            "subject_group": nullable(STR), "residence_unit": ref("Unit"), "target_level": INT,
            "score": {"type": "object", "properties": {"total": INT, "lowest": nullable(INT), "scored": INT,
                                                       "required": INT, "passes": {"type": "boolean"}}},
            "scores": {"type": "array", "items": {"type": "object", "properties": {
                "criterion": STR, "value": INT, "reason": nullable(STR), "scored_by_id": nullable(INT),
                "scored_at": DATETIME}}},
            "evidence": {"type": "array", "items": ref("Evidence")},
            "closed_reason": nullable(STR), "recognised_at": DATETIME, "created_at": DATETIME,
            "state_changed_at": DATETIME,
            # issue 12: the last day in force (titles.json "validity"), the decision, the recognition renewed
            "valid_until": DATE, "renews_id": nullable(INT),
            "decision": nullable({"type": "object", "properties": {"id": INT, "number": STR, "signed_on": DATE}}),
            # issue 14: who the file is about, the definition version it follows, a graded band, counted criteria
            "subject": {"type": "object", "properties": {
                "kind": {"type": "string", "enum": list(SUBJECT_KINDS)}, "key": STR,
                "collective": nullable({"type": "object", "properties": {"id": INT, "kind": STR, "name": STR}}),
                "village": nullable(ref("Unit"))}},
            "definition_version": STR,
            "band": nullable({"type": "object", "properties": {"code": STR, "name": STR, "name_en": STR},
                              "description": "The graded result of a rubric with bands (Thông tư 22/2020)."}),
            "counted": {"type": "array", "description": "Criteria counted from other titles' live recognitions, "
                                                        "as of today, beside the self-assessed value.",
                        "items": {"type": "object", "properties": {
                            "criterion": STR, "counts": STR, "members_kind": STR, "holders": INT, "members": INT,
                            "percent": {"type": "number"}, "required_percent": {"type": "number"},
                            "met": {"type": "boolean"}, "self_assessed": nullable(INT)}}},
            "allowed_actions": {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)},
                                "description": "Workflow actions the caller may take now (scope, role, state); "
                                               "guards needing input are judged when the action is taken."}}},
    "EvidenceUpload": {
        "type": "object", "required": ["criterion", "file"],
        "properties": {"criterion": STR, "file": {"type": "string", "format": "binary",
                                                  "description": "PDF, JPEG, PNG, DOCX or XLSX, judged from content."},
                       "version": ID_INT}},
    "EvidenceCreated": {"type": "object", "required": ["evidence", "application"],
                        "properties": {"evidence": ref("Evidence"), "application": {
                            "type": "object", "properties": {"id": INT, "version": INT}}}},
    "ActionResult": {"type": "object", "required": ["id", "ok", "state", "version"],
                     "properties": {"id": INT, "ok": {"const": True}, "from": STR, "state": STR, "version": INT,
                                    "event_id": INT, "allowed_actions": {"type": "array", "items": STR}}},
    "BatchResult": {
        "type": "object", "required": ["action", "succeeded", "failed", "results"],
        "properties": {"action": STR, "succeeded": INT, "failed": INT, "results": {"type": "array", "items": {
            "type": "object", "required": ["id", "ok"],
            "properties": {"id": INT, "ok": {"type": "boolean"}, "from": STR, "state": STR, "version": INT,
                           "error": nullable({"type": "object", "properties": {
                               "code": STR, "message": STR, "params": {"type": "object"}}})}}}}},
    "History": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"id": INT, "action": STR, "from": nullable(STR), "to": nullable(STR),
                                         "actor_id": nullable(INT), "actor": STR, "reason": nullable(STR),
                                         "payload": {"type": "object"}, "created_at": DATETIME}}}}},
    "AuditReport": {"type": "object", "required": ["ok", "sealed", "waiting"],
                    "properties": {"ok": {"type": "boolean"}, "sealed": INT, "waiting": INT,
                                   "first_bad": nullable(INT), "problem": nullable(STR), "head_seq": INT,
                                   "head_hash": STR, "details": {"type": "object"}}},
    "NotificationPage": {
        "type": "object", "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
            "id": INT, "kind": STR, "application_id": nullable(INT), "subject": STR, "body": STR,
            "created_at": DATETIME, "read_at": DATETIME}}}, "page": INT, "per_page": INT, "total": INT,
            "pages": INT}},
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


RESPONSES = {
    "BadRequest": _error_response("Malformed JSON (bad_json) or a body that is not an object (bad_body)."),
    "Unauthorized": _error_response("Missing, invalid or expired bearer token (unauthorized, invalid_token)."),
    "Forbidden": _error_response("Inside your units but not your role or stage (wrong_role, outside_scope, "
                                 "forbidden)."),
    "NotFound": _error_response("Not found, or outside your units (never revealed as forbidden)."),
    "Conflict": _error_response("The version you sent is stale: someone changed the application (conflict)."),
    "TooLarge": _error_response("The file exceeds the upload limit (upload_too_large) or the whole request does "
                                "(payload_too_large). Nothing is stored."),
    "Unprocessable": _error_response("Field errors (invalid_input, with `fields`) or a refusal by the engine: a "
                                     "guard (e.g. evidence_missing, total_below_pass, reason_required, "
                                     "duplicate_subject) or an action not possible in this state "
                                     "(invalid_action)."),
    "TooMany": _error_response("Too many failed logins; see Retry-After."),
    "ServerError": _error_response("Unexpected error."),
}

PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": op(
        "This document", {"200": body({"type": "object"}, "OpenAPI 3.1 document")}, tag="meta", secure=False,
        op_id="getOpenApi")},
    "/api/v1/tokens": {"post": op(
        "Exchange username and password for a bearer token",
        {"200": body(ref("Token")), "400": err("BadRequest"), "401": err("Unauthorized"),
         "422": err("Unprocessable"), "429": err("TooMany")},
        tag="auth", secure=False, op_id="createToken",
        request=json_request(ref("TokenRequest"), {"username": "canbo.chihoi1", "password": "hoctap-demo"}),
        description="Tokens are signed and expire after `expires_in` seconds; changing the password ends them.")},
    "/api/v1/campaigns": {"get": op(
        "Campaigns of the caller's provinces", {"200": body(ref("CampaignList"))}, tag="campaigns",
        op_id="listCampaigns")},
    "/api/v1/campaigns/{campaign_id}/rubric": {"get": op(
        "The rubric pinned by a campaign: criteria codes and bounds, pass rule, kind",
        {"200": body(ref("Rubric")), "404": err("NotFound")}, tag="campaigns", op_id="getRubric",
        params=[{"name": "campaign_id", "in": "path", "required": True, "schema": ID_INT}])},
    "/api/v1/applications": {
        "get": op("Applications within the caller's units (paged)",
                  {"200": body(ref("ApplicationPage")), "422": err("Unprocessable")}, tag="applications",
                  op_id="listApplications",
                  params=[{"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}},
                          {"name": "unit", "in": "query", "schema": ID_INT,
                           "description": "A unit id; its whole subtree is included."},
                          {"name": "campaign", "in": "query", "schema": ID_INT},
                          {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100},
                           "description": "Name, ignoring diacritics and case; or a citizen ID prefix."},
                          {"name": "before", "in": "query", "schema": ID_INT,
                           "description": "Keyset paging: the page of files older than this id (the `older` of "
                                          "the page before). Deep pages cost what the first does; `page` is "
                                          "ignored."},
                          {"name": "after", "in": "query", "schema": ID_INT,
                           "description": "Keyset paging: the page of files just newer than this id (`newer`)."},
                          {"name": "list", "in": "query", "schema": {"type": "string", "maxLength": 32},
                           "description": "The files behind a report figure (issue 11): `holders` (with `title` "
                                          "CDHT or XHT and `on` YYYY-MM-DD), `digital` (with `on`), and the "
                                          "campaign flow's lists (`funnel`, `stage`, `late`, `recognised_by`: "
                                          "see each figure's `list_args`). Pass the list's own parameters as "
                                          "they are; `total` is then the exact count."},
                          *PAGING]),
        "post": op("Create a nomination at the first stage",
                   {"201": {**body(ref("Application"), "Created"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    "400": err("BadRequest"), "403": err("Forbidden"), "422": err("Unprocessable")},
                   tag="applications", op_id="createApplication",
                   request=json_request(ref("NewApplication"), {
                       "campaign": 1, "unit": 5, "full_name": "Nguyễn Thị Hoa", "date_of_birth": "1985-02-14",
                       "citizen_id": "001185000123", "subject_group": "1"}))},
    "/api/v1/applications/{app_id}": {"get": op(
        "One application with its scores, evidence and allowed actions",
        {"200": body(ref("Application")), "404": err("NotFound")}, tag="applications", op_id="getApplication",
        params=[APP_ID])},
    "/api/v1/applications/{app_id}/history": {"get": op(
        "The audit events of one application, oldest first",
        {"200": body(ref("History")), "404": err("NotFound")}, tag="applications", op_id="getHistory",
        params=[APP_ID])},
    "/api/v1/applications/{app_id}/scores": {"put": op(
        "Record or adjust points per criterion",
        {"200": body(ref("Application")), "400": err("BadRequest"), "403": err("Forbidden"),
         "404": err("NotFound"), "409": err("Conflict"), "422": err("Unprocessable")},
        tag="applications", op_id="putScores", params=[APP_ID],
        request=json_request(ref("ScoresRequest"), {"scores": {"1.1": 9, "1.2": 8}, "version": 4}))},
    "/api/v1/applications/{app_id}/evidence": {"post": op(
        "Upload one evidence file for a criterion (multipart/form-data)",
        {"201": body(ref("EvidenceCreated"), "Created"), "403": err("Forbidden"), "404": err("NotFound"),
         "409": err("Conflict"), "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="evidence", op_id="uploadEvidence", params=[APP_ID],
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("EvidenceUpload")}}},
        description="Refused (422, code upload_*): empty files, names with path parts or control characters, "
                    "content that is not PDF, JPEG, PNG, DOCX or XLSX. Nothing is stored on refusal.")},
    "/api/v1/applications/{app_id}/evidence/{evidence_id}": {"get": op(
        "Download an evidence file (attachment, original name)",
        {"200": {"description": "The file, as an attachment (Content-Disposition with the original name, "
                                "RFC 5987), X-Content-Type-Options: nosniff.",
                 "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
         "404": err("NotFound")},
        tag="evidence", op_id="downloadEvidence",
        params=[APP_ID, {"name": "evidence_id", "in": "path", "required": True, "schema": ID_INT}])},
    "/api/v1/applications/{app_id}/actions/{action}": {"post": op(
        "Take a workflow action (submit, approve, return, reject, withdraw, revoke)",
        {"200": body(ref("ActionResult"), "The action was taken; the new state and version."),
         "400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"), "409": err("Conflict"),
         "422": err("Unprocessable")},
        tag="workflow", op_id="act", params=[APP_ID, ACTION],
        description="return, reject, withdraw and revoke need a reason (422 reason_required without one); it is "
                    "kept in the audit event and shown in the file's history.",
        request=json_request(ref("ActionRequest"), {"version": 5, "reason": "Thiếu minh chứng tiêu chí 2.1"}))},
    "/api/v1/batches/{action}": {"post": op(
        "One action over many applications; a result per item",
        {"200": body(ref("BatchResult")), "400": err("BadRequest"), "404": err("NotFound"),
         "422": err("Unprocessable")},
        tag="workflow", op_id="batch", params=[ACTION],
        request=json_request(ref("BatchRequest"), {"ids": [12, 13, 14]}))},
    "/api/v1/audit/verify": {"get": op(
        "Verify the audit hash chain (auditors and admins)",
        {"200": body(ref("AuditReport")), "403": err("Forbidden")}, tag="audit", op_id="verifyAudit")},
    "/api/v1/notifications": {"get": op(
        "The caller's in-app notices, newest first",
        {"200": body(ref("NotificationPage")), "422": err("Unprocessable")}, tag="notifications",
        op_id="listNotifications",
        params=[{"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
                *PAGING])},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Học tập: workflow API (CDHT, XHT)",
        "version": "1.0.0",
        "description": "Nominations for the learning-society titles (Công dân học tập, Xã học tập): the same rules "
                       "as the web pages. Errors are {\"error\": {\"code\", \"message\", ...}}, the message in "
                       "Vietnamese by default or English (Accept-Language: en). Unknown addresses under /api/v1 "
                       "answer 404 and unsupported methods 405, as JSON.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "tags": [{"name": t} for t in ("meta", "auth", "campaigns", "applications", "evidence", "workflow", "audit",
                                   "notifications")],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "From POST /api/v1/tokens."}},
        "parameters": {"AcceptLanguage": {"name": "Accept-Language", "in": "header", "required": False,
                                          "schema": {"type": "string", "default": "vi"},
                                          "description": "vi (default) or en: the language of error messages."}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}


_BUILT: dict[str, Any] = {}


def _generated() -> dict[str, Any]:
    """DOCUMENT with each declared operation's request body taken from its model (examples kept)."""
    declared = {op_id: SPEC.get_function_metadata(view) for op_id, view in _DECLARED.items()}
    for item in PATHS.values():
        for operation in item.values():
            meta = declared.get(operation.get("operationId"))
            if meta is None or meta.json is None:
                continue
            request_body = operation.setdefault("requestBody", {"content": {}})
            request_body.setdefault("required", True)  # a DELETE's body may be optional (?version= instead)
            media = request_body["content"]
            example = media.get(JSON, {}).get("example")
            media[JSON] = {"schema": ref(meta.json), **({"example": example} if example is not None else {})}
    for name, schema in SPEC.models.items():
        # nested models (UserIn's grants): one component each; spectree already pointed the $refs at them
        for child, nested in schema.pop("$defs", {}).items():
            nested_name = _nested_name(name, child)
            if SPEC.models.get(nested_name, nested) != nested:
                raise RuntimeError(f"{nested_name}: nested in {name} with a schema of its own")
            SCHEMAS[nested_name] = nested
        SCHEMAS[name] = schema
    return DOCUMENT


def document() -> dict[str, Any]:
    """The document, built on first use (after every openapi_<part> module added its PATHS and SCHEMAS)."""
    if "doc" not in _BUILT:
        _BUILT["doc"] = _generated()
    return _BUILT["doc"]


@bp.get("/openapi.json")
@public
def openapi_json():
    """Served without a token: the contract is public, the data is not."""
    return document()
