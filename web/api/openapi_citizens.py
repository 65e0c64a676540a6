"""The OpenAPI description of the citizens endpoints (issue 9, section 2), added to the document of
web/api/openapi.py: a CCCD's history, the flagged files, and the `flags` of an application's detail."""
from __future__ import annotations

from workflow.vocabulary import STATES

from .openapi import DATE, DATETIME, INT, PAGING, PATHS, SCHEMAS, STR, body, err, nullable, op, ref

CCCD = {"name": "cccd", "in": "path", "required": True, "schema": STR,
        "description": "Số CCCD: 12 ASCII digits (surrounding spaces ignored). Other digits (full-width, "
                       "Arabic-Indic ...) answer 422 citizen_id_ascii, any other shape 422 invalid_field."}
FLAG = {"type": "object", "required": ["code", "province", "campaign_id", "campaign", "year"],
        "properties": {"code": {"const": "cross_province"},
                       "province": {**STR, "description": "The other province's name."},
                       "campaign_id": INT, "campaign": {**STR, "description": "The other campaign's name."},
                       "year": INT},
        "description": "The same CCCD is live (not withdrawn) in another province's campaign of the same title and "
                       "year. Nothing else about the other file is given."}

SCHEMAS.update({
    "CitizenFlag": FLAG,
    "CitizenHistory": {
        "type": "object", "required": ["citizen_id", "items"],
        "properties": {"citizen_id": STR, "items": {"type": "array", "items": {
            "type": "object",
            "required": ["application_id", "state", "campaign", "unit", "province", "decision", "created_at"],
            "properties": {
                "application_id": INT, "full_name": nullable(STR),
                "state": {"type": "string", "enum": list(STATES)},
                "campaign": {"type": "object", "required": ["id", "name", "title", "year"],
                             "properties": {"id": INT, "name": STR, "title": STR, "year": INT}},
                "unit": {"type": "object", "required": ["id", "name"], "properties": {"id": INT, "name": STR}},
                "province": {"type": "object", "required": ["id", "name"],
                             "properties": {"id": INT, "name": STR}},
                "decision": nullable({"type": "object", "required": ["number", "signed_on"],
                                      "properties": {"number": STR, "signed_on": DATE}}),
                "created_at": DATETIME, "state_changed_at": DATETIME, "recognised_at": DATETIME}}}}},
    "FlaggedPage": {
        "type": "object", "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {"items": {"type": "array", "items": {"allOf": [ref("ApplicationSummary"), {
            "type": "object", "required": ["flags"],
            "properties": {"flags": {"type": "array", "items": ref("CitizenFlag")}}}]}},
            "page": INT, "per_page": INT, "total": INT, "pages": INT}},
})

# The application's detail gains its flags (empty for readers who are not appraisers, approvers or auditors).
SCHEMAS["Application"]["properties"]["flags"] = {"type": "array", "items": ref("CitizenFlag")}

PATHS.update({
    "/api/v1/citizens/flagged": {"get": op(
        "Files of your units whose citizen is also live in another province",
        {"200": body(ref("FlaggedPage")), "403": err("Forbidden"), "422": err("Unprocessable")},
        tag="citizens", op_id="listFlaggedApplications", params=PAGING,
        description="For appraisers, approvers, auditors and admins (403 citizen_history_forbidden otherwise). "
                    "Live = not withdrawn, as in the in-province duplicate rule.")},
    "/api/v1/citizens/{cccd}": {"get": op(
        "A citizen's history within your units",
        {"200": body(ref("CitizenHistory")), "403": err("Forbidden"), "404": err("NotFound"),
         "422": err("Unprocessable")},
        tag="citizens", op_id="getCitizenHistory", params=[CCCD],
        description="Every application of one CCCD (campaign, year, unit, province, state, decision) within the "
                    "caller's grants of an appraiser's, approver's, auditor's or admin's role, newest year first. "
                    "404 citizen_not_found when none is in scope, whether or not the citizen has files elsewhere; "
                    "403 citizen_history_forbidden for other roles (branch officers), whatever the CCCD.")},
})
