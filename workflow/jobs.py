"""Long work as a job: a row the page polls (kind, owner, status, counters, errors) plus an RQ job that runs it
(notifications/jobs.py launches it after commit, in process when REDIS_URL is unset). Progress is committed with
the work itself, so it survives a page reload and a worker restart; `run` again continues where the row says the
work stopped, and the work is written so that repeating a chunk creates nothing twice. See DESIGN.md, "The second
wave"."""
from __future__ import annotations

import importlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from . import clock
from .authz import Actor, actor_of
from .db import db
from .errors import GuardRefused, NotFound, WorkflowError
from .models import JOB_STATUSES, Job

__all__ = ["JOB_STATUSES", "STALL_SECONDS", "Job", "require_resumable", "resumable", "run", "status", "visible_job"]

log = logging.getLogger(__name__)
STALL_SECONDS = 60
# Each kind's body, "module:function", called as function(job, **options); imported when a job of it runs.
KINDS: dict[str, str] = {
    "import": "workflow.imports:run_import",
    "mass_action": "workflow.mass_actions:run_mass_action",  # issue 10, section 3: mass actions as jobs
    "decision": "workflow.decisions:run_decision",  # issue 10, section 3: a decision over more than one chunk
    "decision_pdf": "workflow.papers.decision:run_decision_pdf",  # issue 12 s.1: a decision's PDF, chunk by chunk
}


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def visible_job(job_id: int, actor) -> Job:
    """A job its owner, or someone whose grants cover the job's unit, may see; NotFound for everyone else (a job
    names a unit and a file: its existence must not leak)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    job = db.session.get(Job, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if job is None:
        raise NotFound("job_not_found")
    if job.owner_id == actor.id or (job.unit is not None and actor.covers(job.unit.path)):
        return job
    raise NotFound("job_not_found")


def stalled(job: Job) -> bool:
    """Running, but the worker has not beaten for more than STALL_SECONDS: it is probably gone."""
    beat = _aware(job.heartbeat_at or job.started_at)
    return job.status == "running" and (beat is None or clock.now() - beat > timedelta(seconds=STALL_SECONDS))


def resumable(job: Job) -> bool:
    """A failed job, a stalled one, or one still queued long after it was made (no worker picked it up). A done
    job has nothing left; a live one is running already."""
    if job.status == "failed":
        return True
    if job.status == "queued":
        return clock.now() - _aware(job.created_at) > timedelta(seconds=STALL_SECONDS)
    return stalled(job)


def require_resumable(job: Job) -> None:
    """Refuse to launch a job again unless `resumable`; running it again then continues where its row stopped."""
    if not resumable(job):
        raise GuardRefused("job_not_resumable")


def status(job: Job, locale: str = "vi") -> dict[str, Any]:
    """What the page and the API show: counters, the first errors in the reader's language, speed, whether the
    worker seems gone (running without a heartbeat for more than a minute)."""
    from .imports import rows_per_second

    en = locale.startswith("en")
    params = job.params or {}
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "dry_run": job.dry_run, "total": job.total,
        "done": job.done, "created": job.created, "duplicates": job.duplicates,
        "valid": max(0, job.done - job.error_count - job.duplicates), "error_count": job.error_count,
        "errors": [{"row": e["row"], "column": e["column"], "code": e["code"],
                    "message": e["message_en" if en else "message_vi"]} for e in (job.errors or [])],
        "rows_per_second": rows_per_second(job), "stalled": stalled(job),
        "started_at": _iso(job.started_at), "finished_at": _iso(job.finished_at),
        "file_name": params.get("file_name"), "campaign_id": job.campaign_id, "unit_id": job.unit_id,
        "failure": job.failure,
    }


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value is not None else None


def run(job_id: int, **options: Any) -> None:
    """The job body, whoever runs it (an RQ worker, a thread, the CLI, a test): resumable, it skips the rows
    already done. A job that fails is marked failed with the reason and may be run again; a done job is left
    alone. `options` go to the kind's body (the import's chunk size, a hook after each chunk)."""
    job = db.session.get(Job, job_id)
    if job is None or job.status == "done":
        return
    job.status, job.finished_at, job.failure = "running", None, None
    job.started_at = job.started_at or clock.now()
    job.heartbeat_at = clock.now()
    db.session.commit()
    try:
        body = KINDS.get(job.kind)
        if body is None:
            raise ValueError(f"unknown job kind {job.kind!r}")
        module, name = body.split(":")
        getattr(importlib.import_module(module), name)(job, **options)
    except BaseException as exc:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = "failed", clock.now()
        if isinstance(exc, WorkflowError):
            job.failure = f"{exc.code}: {exc.message('vi')} / {exc.message('en')}"
        else:
            job.failure = f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("job %s failed", job_id)
        db.session.commit()
        if not isinstance(exc, Exception | WorkflowError):
            raise  # KeyboardInterrupt, SystemExit: let the process go
        return
    job.status, job.finished_at, job.heartbeat_at = "done", clock.now(), clock.now()
    db.session.commit()
