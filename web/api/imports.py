"""Spreadsheet import of nominees through the API (issue 9, section 1): the campaign's template, an upload that
starts an import job (202: the work runs in the background, the client polls the job), the job's status, its error
workbook, confirming a preview and resuming a failed or stalled job.

The judging and the writing are workflow.imports' and workflow.jobs'; notifications.jobs.launch runs the job after
the commit. The helpers below are shared with the pages (web/views/imports.py) so both doors apply one rule."""
from __future__ import annotations

import unicodedata
from typing import Any

from flask import Response, current_app, request, url_for
from sqlalchemy import select

from notifications.jobs import launch
from workflow import imports, jobs
from workflow.authz import Actor
from workflow.db import db
from workflow.inputs import is_ascii_digits, parse_int
from workflow.models import Campaign, Job, Unit

from . import bp
from .auth import current_actor
from .campaigns import visible_campaign
from .errors import ApiError, FieldErrors, locale
from .util import ID, commit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT = 20  # imports listed on the page, newest first


# Shared with the pages ---------------------------------------------------------------------------------------------

def request_limit() -> int:
    """An import file may be larger than one evidence file: IMPORT_MAX_MB (workflow.imports refuses past it with
    its own message), plus room for the multipart framing so that refusal, not a bare 413, is what people see."""
    mb = float(current_app.config.get("IMPORT_MAX_MB", imports.DEFAULT_MAX_MB))
    return int(mb * 1024 * 1024) + 512 * 1024


def clean_file_name(name: str | None) -> str:
    """The name as the officer saw it (NFC, Vietnamese kept), without any path part or control character: it is
    only ever shown back, never used to store the file (workflow.imports stores it under its sha256)."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()[:255] or "tep-nhap"


def template_name(campaign: Campaign) -> str:
    return f"mau-nhap-{campaign.title_code}-{campaign.year}.xlsx"


def error_file_name(job: Job) -> str:
    return f"loi-nhap-{job.id}.xlsx"


def resume(job: Job) -> None:
    """Run the job again from where its row says it stopped (workflow.jobs.run skips the rows done)."""
    jobs.require_resumable(job)
    launch(job.id)


def confirm(preview: Job, actor: Actor) -> tuple[Job, bool]:
    """(the import, whether it was started now): workflow.imports.confirm once per preview, committed and
    launched."""
    existing = imports.confirmation_of(preview)
    if existing is not None:
        return existing, False
    job = imports.confirm(preview, actor)
    commit()
    launch(job.id)
    return job, True


def start(campaign: Campaign, unit: Unit, actor: Actor, file_name: str, data: bytes, dry_run: bool) -> Job:
    """Judge the file and start the job: commit, then launch (refusals roll back and store nothing)."""
    job = imports.start(campaign, unit, actor, file_name=clean_file_name(file_name), data=data, dry_run=dry_run)
    commit()
    launch(job.id)
    return job


def refreshed(job_id: int) -> Job:
    """The row as the job left it (a background run commits in another session)."""
    db.session.expire_all()
    return db.session.get(Job, job_id)


def xlsx_response(content: bytes, name: str) -> Response:
    from werkzeug.datastructures import Headers

    headers = Headers()
    headers.set("Content-Disposition", "attachment", filename=name)
    return Response(content, mimetype=XLSX, headers=headers)


# The API -----------------------------------------------------------------------------------------------------------

def _campaign(campaign_id: int) -> Campaign:
    campaign = visible_campaign(campaign_id, current_actor())
    if campaign is None:
        raise ApiError(404, "campaign_not_found")
    return campaign


def _unit(raw: str | None, errors: FieldErrors) -> Unit | None:
    """`unit` is a unit id (digits) or a unit code; an id that names no unit is tried as a code."""
    raw = (raw or "").strip()
    if not raw:
        errors.add("unit", "required")
        return None
    unit = None
    if is_ascii_digits(raw) and (unit_id := parse_int(raw, minimum=1)) is not None:
        unit = db.session.get(Unit, unit_id)
    if unit is None and len(raw) <= 64:
        unit = db.session.scalar(select(Unit).where(Unit.code == raw))
    if unit is None:
        errors.add("unit", "unknown_unit")
    return unit


def _dry_run(raw: str | None, errors: FieldErrors) -> bool:
    value = (raw or "").strip().lower()
    if value in ("", "false", "0", "no"):
        return False
    if value in ("true", "1", "yes"):
        return True
    errors.add("dry_run", "choice", choices="true, false")
    return False


def _accepted(job: Job) -> tuple[dict[str, Any], int, dict[str, str]]:
    job = refreshed(job.id)
    return {"id": job.id, "status": job.status}, 202, {"Location": url_for("api.get_import", job_id=job.id)}


@bp.get(f"/campaigns/<{ID}:campaign_id>/import-template")
def import_template(campaign_id: int):
    """The campaign's import template: Vietnamese headers, one sample row, a sheet explaining each column."""
    campaign = _campaign(campaign_id)
    return xlsx_response(imports.template(campaign, locale()), template_name(campaign))


@bp.post(f"/campaigns/<{ID}:campaign_id>/imports")
def create_import(campaign_id: int):
    """Upload a file (multipart `file`) for `unit`; `dry_run=true` only previews. 202: poll the Location."""
    request.max_content_length = request_limit()
    campaign = _campaign(campaign_id)
    errors = FieldErrors()
    file = request.files.get("file")
    if file is None or not file.filename:
        errors.add("file", "file")
    unit = _unit(request.form.get("unit"), errors)
    dry_run = _dry_run(request.form.get("dry_run"), errors)
    errors.raise_if_any()
    job = start(campaign, unit, current_actor(), file.filename, file.read(), dry_run)
    return _accepted(job)


@bp.get(f"/imports/<{ID}:job_id>")
def get_import(job_id: int):
    """Where the job is: counters, rows per second, the first errors in the caller's language."""
    return jobs.status(jobs.visible_job(job_id, current_actor()), locale())


@bp.get(f"/imports/<{ID}:job_id>/errors.xlsx")
def import_errors(job_id: int):
    """The rows in error, as the file had them, with the «Lỗi» column: fix them and upload this file again."""
    job = jobs.visible_job(job_id, current_actor())
    return xlsx_response(imports.error_workbook(job, locale()), error_file_name(job))


@bp.post(f"/imports/<{ID}:job_id>/confirm")
def confirm_import(job_id: int):
    """Turn a finished preview into the import of the same stored file (once: a second call answers the same)."""
    actor = current_actor()
    job, _new = confirm(jobs.visible_job(job_id, actor), actor)
    return _accepted(job)


@bp.post(f"/imports/<{ID}:job_id>/resume")
def resume_import(job_id: int):
    """Run a failed or stalled job again from where it stopped; rows already written are not written twice."""
    job = jobs.visible_job(job_id, current_actor())
    resume(job)
    return _accepted(job)
