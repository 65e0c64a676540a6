"""The OpenAPI description of mass actions as jobs (web/api/jobs.py), added to the document of web/api/openapi.py:
the count (dry run) and the start (202), the job's progress, its outcome workbook, resume."""
from __future__ import annotations

from workflow.mass_actions import MASS_ACTIONS, MAX_IDS

from .openapi import DATETIME, ID_INT, INT, PATHS, SCHEMAS, STR, body, err, json_request, nullable, op, ref

JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": ID_INT}
ACTION = {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": list(MASS_ACTIONS)},
          "description": "A batch action; any other value answers 404 unknown_action."}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOB_STATUS = {"type": "string", "enum": ["queued", "running", "done", "failed"]}
RESULT = {"type": "string", "enum": ["moved", "refused", "already_moved", "pending"]}


def _accepted(description: str) -> dict:
    return {**body(ref("JobAccepted"), description),
            "headers": {"Location": {"schema": STR, "description": "GET it for the job's progress."}}}


SCHEMAS.update({
    "JobAccepted": {"type": "object", "required": ["id", "status", "total"],
                    "properties": {"id": INT, "status": JOB_STATUS,
                                   "total": {**INT, "description": "Files in the job's set, fixed at the start."}}},
    "JobCount": {"type": "object", "required": ["action", "dry_run", "total"],
                 "properties": {"action": STR, "dry_run": {"const": True},
                                "total": {**INT, "description": "Files the job would take now: send it back as "
                                                                "`expected` to start exactly this set."}}},
    "JobOutcome": {
        "type": "object", "required": ["id", "result"],
        "properties": {
            "id": {**INT, "description": "The application id."},
            "name": nullable({**STR, "description": "Null for a file outside your units (or an id naming none)."}),
            "result": RESULT, "from": nullable(STR), "to": nullable(STR),
            "code": nullable({**STR, "description": "The refusal: the engine's code (not_found, wrong_role, "
                                                    "total_below_pass, ...), or already_moved when someone else "
                                                    "moved the file after the job started."}),
            "message": {**STR, "description": "In the caller's language; empty when moved."}}},
    "JobStatus": {
        "type": "object",
        "required": ["id", "kind", "action", "status", "total", "done", "ok", "refused", "stalled", "outcomes"],
        "properties": {
            "id": INT, "kind": {"const": "mass_action"}, "action": STR, "status": JOB_STATUS,
            "total": {**INT, "description": "Files in the set (fixed when the job started)."},
            "done": {**INT, "description": "Files with an outcome so far."},
            "ok": {**INT, "description": "Files moved."},
            "refused": {**INT, "description": "Files refused (already_moved included)."},
            "already_moved": {**INT, "description": "Files someone else had moved meanwhile: reported, not acted "
                                                    "on."},
            "rows_per_second": {"type": "number"},
            "stalled": {"type": "boolean", "description": "Running but its worker stopped reporting for a minute: "
                                                          "resume it."},
            "started_at": DATETIME, "finished_at": DATETIME, "created_at": DATETIME, "reason": nullable(STR),
            "filter": nullable({"type": "object", "description": "The filter the set was taken with (null for a "
                                                                 "list of ids)."}),
            "failure": nullable({**STR, "description": "Why a failed job stopped."}),
            "outcomes": {"type": "array", "items": ref("JobOutcome"),
                         "description": "The first 20 files in id order; the workbook has them all."}}},
})

PATHS.update({
    "/api/v1/jobs/{action}": {"post": op(
        "Act on every file of a filter or a list of ids, as a background job (or only count them)",
        {"200": body(ref("JobCount"), "dry_run: the count only; nothing is stored."),
         "202": _accepted("The job is queued (or already under way for this very selection); poll the Location."),
         "400": err("BadRequest"), "404": err("NotFound"), "409": err("Conflict"), "422": err("Unprocessable")},
        tag="jobs", op_id="createJob", params=[ACTION],
        request=json_request(ref("MassActionInput"),
                             {"filter": {"state": "", "unit": 12, "campaign": 3}, "expected": 18000}),
        description="Beyond the synchronous batch (POST /api/v1/batches/{action}, at most 5,000 ids). Send exactly "
                    "one of `filter` (the work queue's: state \"\" = waiting for you, \"all\", or a state; unit "
                    "with its subtree; campaign; q) or `ids` (at most "
                    f"{MAX_IDS:,}). A filter takes the files of your units it matches on which the action can be "
                    "taken at a stage your role acts on; a list of ids is taken as given (an id outside your units "
                    "is reported not_found). The set is fixed when the job starts, in id order. First send "
                    "`\"dry_run\": true` to learn the count, then start with `\"expected\": <that count>`: when the "
                    "set then holds another number nothing starts (409 mass_action_count_changed). Other refusals "
                    "(422): mass_action_selection, mass_action_empty, mass_action_too_many (MASS_ACTION_MAX, "
                    "200,000 by default), reason_required (return, reject). Every file is judged by the engine "
                    "when its chunk runs (scope, role, guards); a file someone else moved after the start is "
                    "reported already_moved and never acted on.")},
    "/api/v1/jobs/{job_id}": {"get": op(
        "A mass action's progress and first outcomes",
        {"200": body(ref("JobStatus")), "404": err("NotFound")},
        tag="jobs", op_id="getJob", params=[JOB_ID],
        description="Only its owner sees a job; anyone else gets 404 mass_action_not_found, exactly as for a job "
                    "that does not exist.")},
    "/api/v1/jobs/{job_id}/outcomes.xlsx": {"get": op(
        "Download the outcome per file (xlsx)",
        {"200": {"description": "One row per file of the set in id order: application id, name, citizen ID, "
                                "state before, state after, result, message, in the caller's language. Named "
                                "ket-qua-xu-ly-hang-loat-<id>.xlsx.",
                 "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                 "headers": {"Content-Disposition": {"schema": STR, "description": "attachment; the file name"}}},
         "404": err("NotFound")},
        tag="jobs", op_id="getJobOutcomes", params=[JOB_ID])},
    "/api/v1/jobs/{job_id}/resume": {"post": op(
        "Run a failed or stalled mass action again from where it stopped",
        {"202": _accepted("Launched again; files already recorded are not acted on twice."),
         "404": err("NotFound"), "422": err("Unprocessable")},
        tag="jobs", op_id="resumeJob", params=[JOB_ID],
        description="422 mass_action_not_resumable for a job that is done or still running (not stalled).")},
})
