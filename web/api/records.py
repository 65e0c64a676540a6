"""API: signed recognition records (issue 12, section 5; workflow/records.py, docs/records.md).

GET /api/v1/records?year=Y[&province=<id>] is one province's recognitions of that year, GET
/api/v1/records?citizen=<cccd> one citizen's within the caller's provinces: each a signed document of
docs/records-schema.json, streamed (a province-year of a million records never sits in memory). Callers: auditors,
admins and provincial approvers with a grant on the province itself; anyone else 403 records_forbidden whatever
they ask, a province outside the caller's 404 unit_not_found, a citizen with no recognition there 404.
GET /api/v1/records/key (no token) publishes the public key that verifies the documents."""
from __future__ import annotations

from flask import Response, current_app, request, stream_with_context

from workflow import records, recordskey
from workflow.records_cli import issuer, signing_key

from . import bp, public
from .auth import current_actor
from .errors import FieldErrors
from .util import query_int


@bp.get("/records")
def list_records():
    """The signed records of a province-year (`year`, optional `province`) or of one citizen (`citizen`)."""
    actor = current_actor()
    if not records.record_provinces(actor):  # before any parameter is read: the answer says nothing about them
        records.authorize_province(actor, None)
    errors = FieldErrors()
    citizen = request.args.get("citizen")
    year = query_int("year", errors, minimum=2000, maximum=2200)
    province_id = query_int("province", errors)
    if citizen is not None:  # a citizen's records span years and provinces: no other filter
        for name in ("year", "province"):
            if request.args.get(name):
                errors.add(name, "unknown_field")
    else:
        if year is None and "year" not in errors:
            errors.add("year", "required")
        if province_id is None and "province" not in errors and len(records.record_provinces(actor)) > 1:
            errors.add("province", "required")  # a caller of several provinces names one
    errors.raise_if_any()
    if citizen is not None:
        citizen_id, provinces = records.authorize_citizen(actor, citizen)
        stmt, scope = records.citizen_query(citizen_id, provinces), records.citizen_scope(citizen_id)
    else:
        province = records.authorize_province(actor, province_id)
        stmt, scope = records.province_year_query(province.id, year), records.province_scope(province, year)
    key = signing_key()
    body = records.export(stmt, scope, key, issuer=issuer())
    return Response(stream_with_context(body), mimetype="application/json")


@bp.get("/records/key")
@public
def records_key():
    """This instance's Ed25519 public key (PEM and raw base64) and its key id."""
    try:
        key = signing_key()
    except recordskey.RecordsKeyError:
        current_app.logger.exception("records key")
        raise
    return {**recordskey.PublicKey(key.public_key()).as_dict(), "format": records.FORMAT}
