"""Mass actions as jobs through the API (issue 10, section 3): beyond the synchronous batch (POST /batches/<action>,
at most 5,000 ids), `POST /jobs/<action>` takes the work queue's filter or a list of ids and answers 202 with the
job; `GET /jobs/<id>` reports its progress and first outcomes; `/jobs/<id>/outcomes.xlsx` is the outcome per file;
`/jobs/<id>/resume` runs a failed or stalled job again. `"dry_run": true` only counts (what a confirmation states),
and `"expected": N` starts nothing unless the selection holds exactly N files.

The rules are workflow.mass_actions' (the set, the chunks, the outcomes) and the engine's (scope, role, guards);
notifications.jobs.launch runs the job after the commit. The helpers below are shared with the pages
(web/views/mass_actions.py) so that both doors apply one rule."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from flask import Response, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from notifications.jobs import launch
from workflow import mass_actions
from workflow.admin.inputs import InvalidInput, parse
from workflow.authz import Actor
from workflow.db import db
from workflow.mass_actions import MassActionInput, QueueFilter
from workflow.models import Job

from . import bp
from .auth import current_actor
from .errors import ApiError, FieldErrors, locale
from .openapi import declare
from .util import ID, commit, json_body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Shared with the pages ---------------------------------------------------------------------------------------------

def start(actor: Actor, action: str, *, filter: QueueFilter | None = None, ids: list[int] | None = None,
          reason: str | None = None, expected: int | None = None) -> tuple[Job, bool]:
    """Fix the set and start the job: commit, then launch (a refusal rolls back and stores nothing). A selection
    already under way answers its job, launched once."""
    job, new = mass_actions.start(actor, action, filter=filter, ids=ids, reason=reason, expected=expected)
    commit()
    if new:
        launch(job.id)
    return job, new


def resume(job: Job) -> None:
    """Run the job again from the first file without an outcome (files recorded are never acted on twice)."""
    mass_actions.require_resumable(job)
    launch(job.id)


def refreshed(job_id: int) -> Job:
    """The row as the job left it (a background run commits in another session)."""
    db.session.expire_all()
    return db.session.get(Job, job_id)


def state_label(code: str) -> str:
    """A state's or an action's name for people (the pages' labels), the code itself when it has none."""
    from ..i18n import ACTION_LABELS, STATE_LABELS

    label = STATE_LABELS.get(code) or ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def result_label(result: str) -> str:
    labels = {"moved": _("Acted on"), "refused": _("Not acted on"),
              "already_moved": _("Already moved by someone else"), "pending": _("Not reached yet")}
    return labels[result]


def outcome_rows(job: Job, actor: Actor, lang: str) -> Iterator[list[Any]]:
    """The header, then one row per file: id, name, citizen ID, from, to, result, message (the reader's
    language; names only for files within the reader's units)."""
    from workflow.vocabulary import ACTIONS, STATES

    yield [_("Application ID"), _("Full name"), _("Citizen ID"), _("State before"), _("State after"), _("Result"),
           _("Message")]
    names = {code: state_label(code) for code in (*STATES, *ACTIONS)}  # translated once, not once per row
    results = {result: result_label(result) for result in ("moved", "refused", "already_moved", "pending")}

    def label(code: str) -> str:
        return names.get(code, code)

    for r in mass_actions.outcomes(job, actor):
        before = r.from_state or r.snap_state
        yield [r.application_id, r.name or "", r.citizen_id or "", label(before) if before else "",
               label(r.to_state) if r.to_state else "", results[r.result],
               mass_actions.message(r.code, r.params, lang, label) if r.code else ""]


def outcome_workbook(job: Job, actor: Actor, lang: str) -> bytes:
    """The outcome per file as an xlsx, written row by row (openpyxl write_only: memory stays flat for 200,000
    files)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    with force_locale(lang):
        sheet = book.create_sheet(_("Outcomes"))
        sheet.column_dimensions["A"].width = 14
        sheet.column_dimensions["B"].width = 30
        sheet.column_dimensions["C"].width = 15
        sheet.column_dimensions["D"].width = 22
        sheet.column_dimensions["E"].width = 22
        sheet.column_dimensions["F"].width = 26
        sheet.column_dimensions["G"].width = 80
        sheet.freeze_panes = "A2"
        for row in outcome_rows(job, actor, lang):
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def outcome_file_name(job: Job) -> str:
    return f"ket-qua-xu-ly-hang-loat-{job.id}.xlsx"


def xlsx_response(content: bytes, name: str) -> Response:
    from werkzeug.datastructures import Headers

    headers = Headers()
    headers.set("Content-Disposition", "attachment", filename=name)
    return Response(content, mimetype=XLSX, headers=headers)


# The API -----------------------------------------------------------------------------------------------------------

def _action(action: str) -> str:
    if action not in mass_actions.MASS_ACTIONS:
        raise ApiError(404, "unknown_action", action=action[:40])
    return action


def _accepted(job: Job) -> tuple[dict[str, Any], int, dict[str, str]]:
    job = refreshed(job.id)
    return ({"id": job.id, "status": job.status, "total": job.total}, 202,
            {"Location": url_for("api.get_job", job_id=job.id)})


@bp.post("/jobs/<action>")
@declare(json=MassActionInput, operation_id="createJob")
def create_job(action: str):
    """A mass action over the queue's filter or a list of ids, as a background job (202 + Location); with
    "dry_run": true, only the count (200)."""
    action = _action(action)
    try:
        body = parse(MassActionInput, json_body())
    except InvalidInput as exc:
        errors = FieldErrors()
        errors.absorb(exc)
        errors.raise_if_any()
        raise
    actor = current_actor()
    if body.dry_run:
        total = mass_actions.count(actor, action, filter=body.filter, ids=body.ids)
        return {"action": action, "dry_run": True, "total": total}
    job, _new = start(actor, action, filter=body.filter, ids=body.ids, reason=body.reason, expected=body.expected)
    return _accepted(job)


@bp.get(f"/jobs/<{ID}:job_id>")
def get_job(job_id: int):
    """Where the job is: counters, files per second, whether its worker seems gone, the first outcomes."""
    actor = current_actor()
    return mass_actions.status(mass_actions.visible(job_id, actor), actor, locale())


@bp.get(f"/jobs/<{ID}:job_id>/outcomes.xlsx")
def job_outcomes(job_id: int):
    """The outcome per file (id, name, state before and after, result, message), in the caller's language."""
    actor = current_actor()
    job = mass_actions.visible(job_id, actor)
    return xlsx_response(outcome_workbook(job, actor, locale()), outcome_file_name(job))


@bp.post(f"/jobs/<{ID}:job_id>/resume")
def resume_job(job_id: int):
    """Run a failed or stalled job again from where it stopped; files already recorded are not acted on twice."""
    job = mass_actions.visible(job_id, current_actor())
    resume(job)
    return _accepted(job)
