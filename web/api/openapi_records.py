"""The OpenAPI description of the signed recognition records (web/api/records.py), added to the document of
web/api/openapi.py. The document's schema is docs/records-schema.json itself (JSON Schema 2020-12, the dialect of
OpenAPI 3.1), so the API cannot promise a shape the open schema does not state."""
from __future__ import annotations

from typing import Any

from workflow import records

from .openapi import ID_INT, PATHS, SCHEMAS, STR, body, err, op, ref


def _records_schema() -> dict[str, Any]:
    return {k: v for k, v in records.schema().items() if k not in ("$schema", "$id")}


SCHEMAS.update({
    "RecordsDocument": _records_schema(),
    "RecordsKey": {"type": "object", "required": ["algorithm", "key_id", "public_key_pem", "public_key", "format"],
                   "properties": {"algorithm": {"const": "Ed25519"},
                                  "key_id": {**STR, "description": "Matches signature.key_id of the documents."},
                                  "public_key_pem": {**STR, "description": "SubjectPublicKeyInfo, PEM."},
                                  "public_key": {**STR, "description": "The 32 raw bytes, base64."},
                                  "format": {"const": records.FORMAT}}},
})

PATHS.update({
    "/api/v1/records": {"get": op(
        "Signed recognition records of a province-year or of one citizen",
        {"200": body(ref("RecordsDocument"), "A signed document of docs/records-schema.json (streamed)."),
         "400": err("BadRequest"), "403": err("Forbidden"), "404": err("NotFound"), "422": err("Unprocessable")},
        tag="records", op_id="exportRecords",
        params=[{"name": "year", "in": "query", "schema": {"type": "integer", "minimum": 2000, "maximum": 2200},
                 "description": "The campaigns' year: every recognition (state recognised or revoked) of the "
                                "province's campaigns of that year."},
                {"name": "province", "in": "query", "schema": ID_INT,
                 "description": "The province's unit id; required only of a caller with records grants on "
                                "several provinces. Outside them: 404 unit_not_found."},
                {"name": "citizen", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{12}$"},
                 "description": "Instead of `year`: every recognition of this CCCD within the caller's "
                                "provinces (none: 404 records_no_recognition)."}],
        description="Auditors, admins and provincial approvers with a grant on the province itself; every other "
                    "caller gets 403 records_forbidden whatever it asks. Verify a document with the key of "
                    "GET /api/v1/records/key (docs/records.md): Ed25519 over the SHA-512 of the canonical "
                    "serialization without `signature`.")},
    "/api/v1/records/key": {"get": op(
        "The public key that verifies the records documents",
        {"200": body(ref("RecordsKey"))}, tag="records", op_id="recordsKey", secure=False,
        description="No token needed: a receiving system fetches it once and keeps it.")},
})
