"""The OpenAPI description of the spreadsheet import of nominees (web/api/imports.py), added to the document of
web/api/openapi.py: the template, the upload that starts a job (202), the job's status, its error workbook, confirm
and resume."""
from __future__ import annotations

from .openapi import DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, nullable, op, ref

CAMPAIGN_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": ID_INT}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": ID_INT}
BINARY = {"type": "string", "format": "binary"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOB_STATUS = {"type": "string", "enum": ["queued", "running", "done", "failed"]}


def _xlsx(description: str) -> dict:
    return {"description": description, "content": {XLSX: {"schema": BINARY}},
            "headers": {"Content-Disposition": {"schema": STR, "description": "attachment; the file name"}}}


def _accepted(description: str) -> dict:
    return {**body(ref("ImportAccepted"), description),
            "headers": {"Location": {"schema": STR, "description": "GET it for the job's status."}}}


SCHEMAS.update({
    "ImportUpload": {
        "type": "object", "required": ["file", "unit"],
        "properties": {
            "file": {**BINARY, "description": "The campaign's template filled in: .xlsx, or .csv in UTF-8 (with or "
                                              "without BOM). Judged from its content, not its name."},
            "unit": {**STR, "description": "Where the nominees are filed: a unit id (digits) or a unit code, "
                                           "e.g. a branch, or a commune holding several of your branches (each "
                                           "row's «Chi hội» then names the branch)."},
            "dry_run": {"type": "string", "enum": ["true", "false"], "default": "false",
                        "description": "true: a preview that writes nothing (confirm it later); false (default): "
                                       "import."}}},
    "ImportAccepted": {"type": "object", "required": ["id", "status"],
                       "properties": {"id": INT, "status": JOB_STATUS}},
    "ImportRowError": {"type": "object", "required": ["row", "column", "code", "message"],
                       "properties": {"row": {**INT, "description": "The row number in the sheet (the header is 1)."},
                                      "column": {**STR, "description": "The template's header of the cell."},
                                      "code": {**STR, "description": "Stable, e.g. row_date, row_citizen_id_number, "
                                                                     "row_duplicate_in_file."},
                                      "message": {**STR, "description": "In the caller's language."}}},
    "ImportStatus": {
        "type": "object",
        "required": ["id", "status", "total", "done", "created", "duplicates", "errors"],
        "properties": {
            "id": INT, "kind": {"const": "import"}, "status": JOB_STATUS,
            "dry_run": {"type": "boolean", "description": "A preview: `created` stays 0."},
            "total": {**INT, "description": "Data rows in the file."}, "done": {**INT, "description": "Rows judged."},
            "created": {**INT, "description": "Applications created (an import)."},
            "duplicates": {**INT, "description": "Rows whose citizen already has an application in the campaign."},
            "valid": {**INT, "description": "Rows judged good and new (done - error_count - duplicates)."},
            "error_count": {**INT, "description": "Rows in error (each may have several errors)."},
            "errors": {"type": "array", "items": ref("ImportRowError"),
                       "description": "The first errors (at most 1,000); the error workbook has them all."},
            "rows_per_second": {"type": "number"},
            "stalled": {"type": "boolean", "description": "Running but its worker stopped reporting for a minute: "
                                                          "resume it."},
            "started_at": DATETIME, "finished_at": DATETIME, "file_name": nullable(STR), "campaign_id": INT,
            "unit_id": INT, "failure": nullable({**STR, "description": "Why a failed job stopped."})}},
})

PATHS.update({
    "/api/v1/campaigns/{campaign_id}/import-template": {"get": op(
        "Download the campaign's import template (xlsx)",
        {"200": _xlsx("Sheet 1: the Vietnamese headers (họ và tên, ngày sinh, số CCCD, nhóm đối tượng, nơi cư trú, "
                      "chi hội, then «Điểm <criterion>» per criterion of the rubric) and one sample row (skipped "
                      "on upload); sheet 2: each column and its allowed values. Named e.g. "
                      "mau-nhap-CDHT-2026.xlsx."),
         "404": err("NotFound"), "422": err("Unprocessable")},
        tag="imports", op_id="getImportTemplate", params=[CAMPAIGN_ID],
        description="Only titles for people (CDHT) import lists: XHT answers 422 nominees_person_only.")},
    "/api/v1/campaigns/{campaign_id}/imports": {"post": op(
        "Upload a spreadsheet of nominees: start an import (or a preview) as a background job",
        {"202": _accepted("The job is queued (or already running or done); poll the Location."),
         "403": err("Forbidden"), "404": err("NotFound"), "413": err("TooLarge"), "422": err("Unprocessable")},
        tag="imports", op_id="createImport", params=[CAMPAIGN_ID],
        request={"required": True, "content": {"multipart/form-data": {"schema": ref("ImportUpload")}}},
        description="The file as a whole is judged first; a bad one is refused with 422 and its code, storing "
                    "nothing: nominees_not_spreadsheet (a renamed program or image), nominees_encrypted, "
                    "nominees_old_format (.xls), nominees_empty, nominees_headers, nominees_merged_header, "
                    "nominees_too_many_rows (IMPORT_MAX_ROWS), nominees_too_big (IMPORT_MAX_MB). A unit outside "
                    "your grants: 403 outside_scope; after the deadline: 422 deadline_passed. Bad cells never "
                    "refuse the file: each bad row is reported in the job's `errors` and the error workbook. "
                    "Importing the same file twice creates nothing twice (`duplicates`).")},
    "/api/v1/imports/{job_id}": {"get": op(
        "An import job's status and counts",
        {"200": body(ref("ImportStatus")), "404": err("NotFound")},
        tag="imports", op_id="getImport", params=[JOB_ID],
        description="Visible to its owner and to anyone whose units cover the job's unit; anyone else gets 404, "
                    "exactly as for a job that does not exist.")},
    "/api/v1/imports/{job_id}/errors.xlsx": {"get": op(
        "Download the rows in error with a «Lỗi» column (fix them and upload the file again)",
        {"200": _xlsx("The template's columns and the bad rows as they were, plus «Lỗi»: row number, column and "
                      "what is wrong, in the caller's language. The «Lỗi» column is ignored on upload."),
         "404": err("NotFound"), "422": err("Unprocessable")},
        tag="imports", op_id="getImportErrors", params=[JOB_ID],
        description="422 nominees_file_gone when the stored upload has been cleaned away.")},
    "/api/v1/imports/{job_id}/confirm": {"post": op(
        "Import the file of a finished preview (dry run)",
        {"202": _accepted("The import job; confirming the same preview again answers the same job."),
         "403": err("Forbidden"), "404": err("NotFound"), "422": err("Unprocessable")},
        tag="imports", op_id="confirmImport", params=[JOB_ID],
        description="422 nominees_not_preview for a job that is not a finished preview; the scope, role and "
                    "deadline are judged again.")},
    "/api/v1/imports/{job_id}/resume": {"post": op(
        "Run a failed or stalled job again from where it stopped",
        {"202": _accepted("Launched again; rows already written are not written twice."),
         "404": err("NotFound"), "422": err("Unprocessable")},
        tag="imports", op_id="resumeImport", params=[JOB_ID],
        description="422 job_not_resumable for a job that is done or still running (not stalled).")},
})
