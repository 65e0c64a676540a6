"""Spreadsheet import of nominees (issue 9, section 1): parse -> validate (the declared input) -> dedupe -> set-wise
insert + audit, as a resumable job (workflow/jobs.py) whose row the page polls.

`start` judges the file as a whole and refuses a bad one storing nothing; otherwise it stores the bytes under
UPLOAD_DIR/imports/<sha256> and adds a queued job (a dry run by default: the preview). `run_import` is the job's
body: it judges every row, then writes chunk by chunk, each chunk in its own transaction together with the job's
counters, so a killed worker leaves whole chunks only and a re-run continues from `done` (and the partial unique
index makes a re-run, or a second upload of the same file, create nothing twice)."""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import clock, subjects
from ..authz import Actor, actor_of
from ..db import db
from ..errors import GuardRefused, WorkflowError
from ..models import Campaign, Job, Unit, User
from . import errorfile, reader, rows, store
from . import template as _template
from .reader import ImportRefused
from .rows import MAX_STORED_ERRORS, Context, Judged

__all__ = ["ImportRefused", "confirm", "confirmation_of", "error_workbook", "import_units", "run_import", "start",
           "template"]

CHUNK = 2000
RECENT_SECONDS = 300
_recent: dict[str, tuple[float, Any, Any, Any]] = {}  # sha256 -> the file as `start` read it (one entry at most)
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_MB = 20


def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def max_rows() -> int:
    return int(current_app.config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def template(campaign: Campaign, locale: str = "vi") -> bytes:
    """The campaign's import template (xlsx)."""
    if subjects.kind_of(campaign.title_code) != "person":
        raise ImportRefused("nominees_person_only")
    return _template.workbook(campaign, locale)


def may_import_at(campaign: Campaign, unit: Unit, actor: Actor) -> bool:
    """The importer's own rule (scope, role, deadline, at least one branch), asked without reading a file."""
    try:
        Context.build(campaign, unit, actor)
    except WorkflowError:
        return False
    return True


def import_units(campaign: Campaign, actor: Actor) -> list[Unit]:
    """Where the actor may import for this campaign: each unit of their grants in the campaign's province, and a
    commune holding two or more of their branches (one file then serves all of them); each kept only when the
    importer itself would accept it. Sorted by name."""
    prefix = f"/{campaign.province_id}/"
    grants = [g for g in actor.grants if g.unit_path.startswith(prefix)]
    candidates: dict[int, Unit] = {}
    parents: dict[int, int] = {}
    for g in grants:
        unit = db.session.get(Unit, g.unit_id)
        if unit is None:
            continue
        candidates[unit.id] = unit
        if unit.parent_id:
            parents[unit.parent_id] = parents.get(unit.parent_id, 0) + 1
    for parent_id, n in parents.items():
        if n >= 2 and (parent := db.session.get(Unit, parent_id)) is not None:
            candidates[parent.id] = parent
    return sorted((u for u in candidates.values() if may_import_at(campaign, u, actor)), key=lambda u: u.name)


def confirmation_of(preview: Job) -> Job | None:
    """The import already started from this preview, if any: confirming twice answers the same import (a double
    click must not run the file twice, even though a second run would create nothing)."""
    recent = db.session.scalars(select(Job).where(Job.owner_id == preview.owner_id, Job.kind == "import",
                                                  Job.campaign_id == preview.campaign_id,
                                                  Job.dry_run.is_(False), Job.id > preview.id)
                                .order_by(Job.id).limit(200))
    return next((j for j in recent if (j.params or {}).get("preview_of") == preview.id), None)


def _store_dir() -> str:
    path = os.path.join(current_app.config["UPLOAD_DIR"], "imports")
    os.makedirs(path, exist_ok=True)
    return path


def _stored(sha256: str) -> bytes:
    try:
        with open(os.path.join(_store_dir(), sha256), "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise GuardRefused("nominees_file_gone") from None


def judge_file(campaign: Campaign, data: bytes) -> tuple[reader.Sheet, dict[str, int], list[tuple[int, list[Any]]]]:
    """The whole-file checks: size, kind, encryption, merged headers, headers, emptiness, row limit."""
    limit_mb = float(current_app.config.get("IMPORT_MAX_MB", DEFAULT_MAX_MB))
    if len(data) > limit_mb * 1024 * 1024:
        raise ImportRefused("nominees_too_big", size=f"{len(data) / 1048576:.1f}", max=f"{limit_mb:g}")
    if not data:
        raise ImportRefused("nominees_empty")
    sheet = reader.read(data, max_rows())
    index = rows.match_headers(sheet.header, campaign)
    data_rows = rows.data_rows(sheet, index)
    if not data_rows:
        raise ImportRefused("nominees_empty")
    return sheet, index, data_rows


def start(campaign: Campaign, unit: Unit, actor, *, file_name: str, data: bytes, dry_run: bool = True) -> Job:
    """Judge the file and the actor's right to file under `unit` (refusals store nothing), keep the bytes, add the
    queued job. The caller commits, then calls notifications.jobs.launch(job.id)."""
    actor = _actor(actor)
    Context.build(campaign, unit, actor)  # scope, role, deadline: refused before the file is even read
    sheet, index, data_rows = judge_file(campaign, data)
    sha = hashlib.sha256(data).hexdigest()
    _recent.clear()
    if not current_app.config.get("REDIS_URL"):  # the job will run in this process: spare it a second read
        _recent[sha] = (time.monotonic(), sheet, index, data_rows)
    path = os.path.join(_store_dir(), sha)
    if not os.path.exists(path):
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    job = Job(kind="import", owner_id=actor.id, campaign_id=campaign.id, unit_id=unit.id, status="queued",
              dry_run=bool(dry_run), total=len(data_rows), errors=[], created_at=clock.now(),
              params={"file_name": (file_name or "")[:255], "sha256": sha, "media": sheet.media,
                      "size": len(data)})
    db.session.add(job)
    db.session.flush()
    return job


def confirm(preview: Job, actor) -> Job:
    """The real import of a finished preview's stored file (a new job; the caller commits and launches it)."""
    actor = _actor(actor)
    if preview.kind != "import" or not preview.dry_run or preview.status != "done":
        raise GuardRefused("nominees_not_preview")
    campaign, unit = db.session.get(Campaign, preview.campaign_id), db.session.get(Unit, preview.unit_id)
    Context.build(campaign, unit, actor)
    _stored(preview.params["sha256"])
    job = Job(kind="import", owner_id=actor.id, campaign_id=campaign.id, unit_id=unit.id, status="queued",
              dry_run=False, total=preview.total, errors=[], created_at=clock.now(),
              params={**preview.params, "preview_of": preview.id})
    db.session.add(job)
    db.session.flush()
    return job


def _context(job: Job) -> tuple[Context, Actor]:
    owner = db.session.get(User, job.owner_id)
    actor = actor_of(owner)
    campaign, unit = db.session.get(Campaign, job.campaign_id), db.session.get(Unit, job.unit_id)
    return Context.build(campaign, unit, actor), actor


def judged_rows(job: Job) -> tuple[reader.Sheet, list[tuple[int, list[Any]]], list[Judged]]:
    """Re-read the stored file and judge every row (pure: the same file gives the same verdicts)."""
    ctx, _actor_ = _context(job)
    sheet, index, data_rows = judge_file(ctx.campaign, _stored(job.params["sha256"]))
    return sheet, data_rows, rows.judge_all(ctx, sheet, index, data_rows)


Hook = Callable[[Job, int], None]


def run_import(job: Job, *, chunk: int = CHUNK, after_chunk: Hook | None = None) -> None:
    """The job's body: judge the rows, and write (or, for a preview, count) them chunk by chunk from job.done, each
    chunk committed with the job's counters. Scope, role and deadline are judged once, here and at start.

    The judging (pure Python) runs in a thread one or two chunks ahead of the writes (mostly database time), so the
    two overlap on two cores; only this thread touches the session."""
    ctx, actor = _context(job)
    read = _recent.pop(job.params["sha256"], None)  # read by `start` in this very process a moment ago
    if read is None or time.monotonic() - read[0] > RECENT_SECONDS:
        read = (0.0, *judge_file(ctx.campaign, _stored(job.params["sha256"])))
    _t, sheet, index, data_rows = read
    ctx.preload()
    job.total = len(data_rows)
    db.session.commit()
    chunks = _ahead(rows.judge_stream(ctx, sheet, index, data_rows), job.done, chunk)
    try:
        for part in chunks:
            valid = [j.valid for j in part if j.valid is not None]
            errors = [e for j in part for e in j.errors]
            if job.dry_run:
                created, duplicates = 0, len(store.live_keys(ctx.campaign_id, [v.citizen_id for v in valid]))
            else:
                created = store.write_chunk(ctx, valid, actor, job.id, clock.now())
                duplicates = len(valid) - created
            room = MAX_STORED_ERRORS - len(job.errors or [])
            if errors and room > 0:
                job.errors = [*(job.errors or []), *errors[:room]]
            begin = job.done
            job.done = begin + len(part)
            job.created += created
            job.duplicates += duplicates
            job.error_count += sum(1 for j in part if j.errors)
            job.heartbeat_at = clock.now()
            db.session.commit()
            if after_chunk is not None:
                after_chunk(job, begin)
    finally:
        chunks.close()


class _ahead:
    """Chunks of judged rows from `skip` on, produced by a daemon thread at most two chunks ahead."""

    def __init__(self, stream: Iterator[Judged], skip: int, size: int) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(stream, skip, size), daemon=True,
                                        name="import-judge")
        self._thread.start()

    def _put(self, item: Any) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, stream: Iterator[Judged], skip: int, size: int) -> None:
        try:
            part: list[Judged] = []
            for i, judged in enumerate(stream):
                if i < skip:  # judged all the same: the file's own duplicates count from its first row
                    continue
                part.append(judged)
                if len(part) == size:
                    if not self._put(part):
                        return
                    part = []
            if part:
                self._put(part)
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(exc)

    def __iter__(self) -> Iterator[list[Judged]]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def error_workbook(job: Job, locale: str = "vi") -> bytes:
    """The rows in error of this job's file, with the «Lỗi» column."""
    sheet, data_rows, judged = judged_rows(job)
    cells = dict(data_rows)
    bad = [(j.row, cells[j.row], j.errors) for j in judged if j.errors]
    return errorfile.workbook(list(sheet.header), bad, locale)


def rows_per_second(job: Job) -> float:
    if job.started_at is None or not job.done:
        return 0.0
    end = _aware(job.finished_at or job.heartbeat_at or clock.now())
    seconds = max((end - _aware(job.started_at)).total_seconds(), 1e-3)
    return round(job.done / seconds, 1)


def _aware(value):
    """SQLite hands datetimes back naive (they are stored in UTC)."""
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
