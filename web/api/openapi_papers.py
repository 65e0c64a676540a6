"""The OpenAPI description of the decision's PDF (web/api/papers.py), added to the document of web/api/openapi.py."""
from __future__ import annotations

from .openapi import ID_INT, INT, PATHS, SCHEMAS, STR, body, err, op, ref

SCHEMAS.update({
    "DecisionPdfPending": {
        "type": "object", "required": ["job", "status", "total", "done"],
        "properties": {"job": {**INT, "description": "The printing job (kind decision_pdf)."},
                       "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                       "total": {**INT, "description": "Names in the decision."},
                       "done": {**INT, "description": "Names printed so far."}}},
})

PATHS.update({
    "/api/v1/decisions/{decision_id}/pdf": {"get": op(
        "The recognition decision as an official document (PDF)",
        {"200": {"description": "The PDF (Nghị định 30/2020/NĐ-CP layout, the attached list grouped by commune "
                                "and branch), as an attachment.",
                 "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
         "202": {**body(ref("DecisionPdfPending"), "A large decision is being printed: ask again later."),
                 "headers": {"Location": {"schema": STR, "description": "This address: GET it again."},
                             "Retry-After": {"schema": STR, "description": "Seconds to wait."}}},
         "404": err("NotFound")},
        tag="papers", op_id="getDecisionPdf",
        params=[{"name": "decision_id", "in": "path", "required": True, "schema": ID_INT}],
        description="Printed within the request up to 300 names; a larger decision is printed by a job and the "
                    "call answers 202 until the stored PDF is ready. The stored PDF is printed again when the "
                    "decision's list changed. A decision outside the caller's units (or none): 404 "
                    "decision_not_found.")},
})
