"""The OpenAPI description of evidence in bulk (web/api/evidence.py), added to the document of web/api/openapi.py:
several files in one request, remove, replace, the inline preview and a campaign's zip by citizen ID."""
from __future__ import annotations

from .openapi import DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": ID_INT}
EVIDENCE_ID = {"name": "evidence_id", "in": "path", "required": True, "schema": ID_INT}
CAMPAIGN_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": ID_INT}
BINARY = {"type": "string", "format": "binary"}
VERSION = {**ID_INT, "description": "The version of the application you saw; a stale one answers 409 conflict."}
APP_VERSION = {"type": "object", "properties": {"id": INT, "version": INT}}
STATUSES = ["attached", "unknown_criterion", "invalid_name", "evidence_bad_file", "evidence_no_criterion",
            "evidence_bad_layout", "evidence_no_application", "evidence_not_with_branch", "evidence_not_allowed"]

SCHEMAS.update({
    "EvidenceBatchUpload": {
        "type": "object",
        "properties": {
            "file": {"type": "array", "items": BINARY, "description": "Repeat the field, one part per file."},
            "criterion": {"type": "array", "items": STR,
                          "description": "Repeat the field in the same order as `file`: the n-th criterion code "
                                         "is the n-th file's."},
            "zip": {**BINARY, "description": "A zip whose entries are named by criterion code: «1.1.pdf», «1.1 "
                                             "giấy khen.jpg» or a folder «1.1/xxx.pdf»."},
            "version": VERSION}},
    "EvidenceReplace": {"type": "object", "required": ["file", "version"],
                        "properties": {"file": BINARY, "version": VERSION}},
    # EvidenceRemove (the JSON body of DELETE .../evidence/{evidence_id}) is generated from
    # workflow.declared.VersionInput; the multipart bodies here stay written by hand.
    "EvidenceFileResult": {
        "type": "object", "required": ["name", "status", "message"],
        "properties": {"name": {**STR, "description": "The file's name, or its path in the archive."},
                       "criterion": nullable(STR), "status": {"type": "string", "enum": STATUSES},
                       "evidence_id": nullable(INT), "application_id": nullable(INT),
                       "message": {**STR, "description": "In the caller's language (Accept-Language)."}}},
    "EvidenceReport": {
        "type": "object", "required": ["succeeded", "failed", "results"],
        "properties": {"succeeded": INT, "failed": INT,
                       "results": {"type": "array", "items": ref("EvidenceFileResult")},
                       "application": APP_VERSION}},
    "EvidenceRemoved": {"type": "object", "required": ["removed", "application"],
                        "properties": {"removed": {"allOf": [ref("Evidence")], "properties": {
                            "removed_at": DATETIME}}, "application": APP_VERSION}},
    "EvidenceReplaced": {"type": "object", "required": ["evidence", "replaced_id", "application"],
                         "properties": {"evidence": ref("Evidence"), "replaced_id": INT, "application": APP_VERSION}},
})

PATHS.update({
    "/api/v1/applications/{app_id}/evidence/batch": {"post": op(
        "Upload several evidence files in one request, each to its criterion, or a zip by criterion",
        {"200": body(ref("EvidenceReport"), "A result per file, in the order sent (zip entries last)."),
         "403": err("Forbidden"), "404": err("NotFound"), "409": err("Conflict"), "413": err("TooLarge"),
         "422": err("Unprocessable")},
        tag="evidence-bulk", op_id="uploadEvidenceBatch", params=[APP_ID],
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("EvidenceBatchUpload")}}},
        description="Good files are kept and each bad one is reported by name (status other than `attached`), "
                    "each kept file with its own audit event; one version bump for the request. The request "
                    "itself is refused, storing nothing, when the application is not found, your role may not "
                    "add evidence, the file has left the branch, or the version is stale. A crafted zip (a path "
                    "out of the archive, an absolute name, a link, too many entries, more bytes unpacked than "
                    "allowed, declared or counted) is refused whole (422 upload_zip_*). Limits: "
                    "EVIDENCE_BATCH_MAX_FILES files, EVIDENCE_ZIP_MAX_MB, EVIDENCE_ZIP_MAX_ENTRIES, "
                    "EVIDENCE_ZIP_MAX_TOTAL_MB.")},
    "/api/v1/applications/{app_id}/evidence/{evidence_id}/inline": {"get": op(
        "Preview an evidence file in the page",
        {"200": {"description": "Inline (Content-Disposition: inline) only for image/png, image/jpeg and "
                                "application/pdf judged from the stored bytes; any other type is an attachment. "
                                "Content-Security-Policy with default-src 'none' and sandbox, "
                                "X-Content-Type-Options: nosniff.",
                 "content": {"application/octet-stream": {"schema": BINARY}}},
         "404": err("NotFound")},
        tag="evidence-bulk", op_id="previewEvidence", params=[APP_ID, EVIDENCE_ID],
        description="Scoped exactly like the download: outside your units, or a file removed from the dossier "
                    "(unless you audit), is not found.")},
    "/api/v1/campaigns/{campaign_id}/evidence-zip": {"post": op(
        "Attach a zip of folders by citizen ID to a campaign's applications",
        {"200": body(ref("EvidenceReport"), "A result per file."), "404": err("NotFound"),
         "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="evidence-bulk", op_id="attachCampaignEvidenceZip", params=[CAMPAIGN_ID],
        request={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {"file": {
                **BINARY, "description": "«001090000001/1.1.pdf», «001090000001/1.2 giấy khen.jpg», "
                                         "«001090000001/2.1/bằng.pdf»."}}}}}},
        description="Each file goes to the live application of that citizen in the campaign, within your units, "
                    "while it is with the branch. A citizen ID outside your units is reported exactly as one with "
                    "no application (evidence_no_application). Synchronous, within the zip limits.")},
})

PATHS["/api/v1/applications/{app_id}/evidence/{evidence_id}"].update({
    "delete": op(
        "Remove an evidence file from the dossier (while the file is with the branch)",
        {"200": body(ref("EvidenceRemoved")), "403": err("Forbidden"), "404": err("NotFound"),
         "409": err("Conflict"), "422": err("Unprocessable")},
        tag="evidence-bulk", op_id="removeEvidence", params=[APP_ID, EVIDENCE_ID],
        request={**json_request(ref("EvidenceRemove"), {"version": 3}), "required": False},
        description="`version` is required (JSON body, form field or ?version=). The row and the stored bytes stay "
                    "for the trail (audit event evidence_remove with the name and sha256); the detail, the "
                    "evidence guard and downloads forget the file. After the file left the branch: 422 "
                    "evidence_locked (allowed again once it is returned)."),
    "put": op(
        "Replace an evidence file (same criterion), e.g. the one an appraiser rejected",
        {"200": body(ref("EvidenceReplaced")), "403": err("Forbidden"), "404": err("NotFound"),
         "409": err("Conflict"), "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="evidence-bulk", op_id="replaceEvidence", params=[APP_ID, EVIDENCE_ID],
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("EvidenceReplace")}}},
        description="Audit event evidence_replace with both names and hashes; the old file stays stored."),
})
