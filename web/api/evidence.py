"""Evidence in bulk through the API: several files (or a zip by criterion) in one request with a per-file report,
removing and replacing a file (with the version the caller saw), the inline preview, and a campaign's zip of
folders by citizen ID. The single upload (POST .../evidence) stays in applications.py, unchanged."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from web import uploads
from workflow import evidence as ev
from workflow import operations
from workflow.admin.inputs import InvalidInput, parse
from workflow.declared import VersionInput
from workflow.inputs import is_ascii_digits

from . import bp
from .applications import evidence_dict
from .auth import current_actor
from .campaigns import visible_campaign
from .errors import ApiError, FieldErrors, locale
from .openapi import declare
from .util import ID, commit, int_field


def _limits() -> dict[str, int]:
    limits = uploads.bulk_limits(current_app.config)
    request.max_content_length = limits["request"]
    return limits


def _version(errors: FieldErrors, *, required: bool) -> int | None:
    """`version` from the form, the JSON body or the query string (a DELETE may carry no body)."""
    raw = request.form.get("version")
    if raw is None and request.is_json:
        sent = request.get_json(silent=True)
        if isinstance(sent, dict) and sent.get("version") is not None:  # the JSON body: its declared input
            try:
                return parse(VersionInput, sent).version
            except InvalidInput as exc:
                errors.absorb(exc)
                return None
    if raw is None:
        raw = request.args.get("version")
    if raw is None or raw == "":
        if required:
            errors.add("version", "required")
        return None
    if not is_ascii_digits(raw):
        errors.add("version", "integer")
        return None
    return int_field({"version": int(raw[:12])}, "version", errors)


def _archive(file, limits: dict[str, int]) -> bytes:
    """The archive's bytes; past EVIDENCE_ZIP_MAX_MB it is too large (413, with that limit in the message)."""
    data = file.stream.read(limits["zip"] + 1)
    if len(data) > limits["zip"]:
        raise ApiError(413, "payload_too_large", limit_mb=limits["zip"] // (1024 * 1024))
    return data


def _report(outcomes: list[ev.FileOutcome]) -> dict[str, Any]:
    ok = sum(1 for o in outcomes if o.ok)
    return {"succeeded": ok, "failed": len(outcomes) - ok, "results": [o.as_dict(locale()) for o in outcomes]}


@bp.post(f"/applications/<{ID}:app_id>/evidence/batch")
def upload_evidence_batch(app_id: int):
    """Multipart: `file` repeated with `criterion` repeated in the same order (the n-th criterion for the n-th
    file), and/or one `zip` whose entries are named by criterion code; optional `version`. Good files are kept,
    each bad one is reported by name; 200 with a result per file."""
    limits = _limits()
    actor = current_actor()
    app = operations.get_visible(app_id, actor)
    errors = FieldErrors()
    version = _version(errors, required=False)
    files = [f for f in request.files.getlist("file") if f.filename]
    criteria = request.form.getlist("criterion")
    archive = request.files.get("zip")
    if len(criteria) != len(files):
        errors.add("criterion", "range", min=len(files), max=len(files))
    if not files and (archive is None or not archive.filename):
        errors.add("file", "file")
    if len(files) > limits["files"]:
        errors.add("file", "range", min=1, max=limits["files"])
    errors.raise_if_any()
    items, to_store = [], {}
    for f, code in zip(files, criteria, strict=True):
        item, checked = uploads.judge_file(f.filename, f.filename, f.stream.read(limits["file"] + 1),
                                           limits["file"], code.strip())
        items.append(item)
        if checked is not None:
            to_store[item.label] = checked
    if archive is not None and archive.filename:
        entries = uploads.read_zip(_archive(archive, limits), file_limit=limits["file"], max_entries=limits["entries"],
                                   max_total=limits["total"])
        for item, checked in uploads.judge_zip_entries(entries, ev.criteria_codes(app)):
            items.append(item)
            if checked is not None:
                to_store[item.label] = checked
    outcomes = ev.add_several(app, actor, items, version=version)
    for o in outcomes:
        if o.ok:
            uploads.store(current_app.config["UPLOAD_DIR"], to_store[o.label])
    commit()
    app = operations.get_visible(app_id, actor)
    return _report(outcomes) | {"application": {"id": app.id, "version": app.version}}


@bp.delete(f"/applications/<{ID}:app_id>/evidence/<{ID}:evidence_id>")
@declare(json=VersionInput, operation_id="removeEvidence")
def remove_evidence(app_id: int, evidence_id: int):
    """Remove a file from the dossier while it is with the branch: `version` required (JSON body, form or query).
    The stored bytes and the row stay for the trail."""
    actor = current_actor()
    app = operations.get_visible(app_id, actor)
    errors = FieldErrors()
    version = _version(errors, required=True)
    errors.raise_if_any()
    item = ev.remove(app, actor, evidence_id, version=version)
    commit()
    app = operations.get_visible(app_id, actor)
    return {"removed": evidence_dict(item) | {"removed_at": item.removed_at.isoformat()},
            "application": {"id": app.id, "version": app.version}}


@bp.put(f"/applications/<{ID}:app_id>/evidence/<{ID}:evidence_id>")
def replace_evidence(app_id: int, evidence_id: int):
    """Multipart `file` and `version` (required): the new file takes the old one's criterion and place."""
    limits = _limits()
    actor = current_actor()
    app = operations.get_visible(app_id, actor)
    errors = FieldErrors()
    version = _version(errors, required=True)
    files = [f for f in request.files.getlist("file") if f.filename]
    if len(files) != 1:
        errors.add("file", "file")
    errors.raise_if_any()
    checked = uploads.check(files[0].filename, files[0].stream.read(limits["file"] + 1), limits["file"])
    new = ev.FileIn(checked.original_name, "", checked.original_name, checked.size, checked.sha256,
                    checked.media_type)
    row = ev.replace(app, actor, evidence_id, new, version=version)
    uploads.store(current_app.config["UPLOAD_DIR"], checked)
    commit()
    app = operations.get_visible(app_id, actor)
    return {"evidence": evidence_dict(row), "replaced_id": evidence_id,
            "application": {"id": app.id, "version": app.version}}


@bp.get(f"/applications/<{ID}:app_id>/evidence/<{ID}:evidence_id>/inline")
def preview_evidence(app_id: int, evidence_id: int):
    """Inline only for PNG, JPEG and PDF (judged from the stored bytes), under a sandboxing policy; any other
    type is an attachment, as the download is. Scoped exactly like the download."""
    operations.get_visible(app_id, current_actor())
    item = ev.visible_file(evidence_id, current_actor(), application_id=app_id)
    response = uploads.inline_response(current_app.config["UPLOAD_DIR"], item)
    if response is None:
        raise ApiError(404, "evidence_not_found")
    return response


@bp.post(f"/campaigns/<{ID}:campaign_id>/evidence-zip")
def campaign_evidence_zip(campaign_id: int):
    """Multipart `file`: a zip of folders named by citizen ID holding files named by criterion code; each file is
    attached to that citizen's application in the campaign within the caller's units. 200 with a report per
    file; a citizen outside the caller's units is reported as one with no application."""
    limits = _limits()
    actor = current_actor()
    campaign = visible_campaign(campaign_id, actor)
    if campaign is None:
        raise ApiError(404, "campaign_not_found")
    errors = FieldErrors()
    files = [f for f in request.files.getlist("file") if f.filename]
    if len(files) != 1:
        errors.add("file", "file")
    errors.raise_if_any()
    outcomes = uploads.attach_campaign_zip(campaign, actor, _archive(files[0], limits), limits,
                                           current_app.config["UPLOAD_DIR"])
    commit()
    return _report(outcomes)
