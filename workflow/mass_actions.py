"""Mass actions as jobs (issue 10, section 3): "act on everything that matches this filter" (the province approves
the 18,000 files a commune passed) as a background job with progress, a per-file outcome and a confirmation that
states the count before it starts.

`count` says how many files a selection holds; `start` fixes the set (one mass_action_items row per file, in id
order, with the state it was in) in the caller's transaction and refuses when the count differs from the one the
caller confirmed, so the count confirmed is the count acted on. `run_mass_action` is the job's body (workflow/jobs.py
KINDS): it fires engine.fire_batch chunk by chunk and writes each chunk's outcomes (mass_action_outcomes, at most
one per file) and the job's counters in the same transaction as the state changes. A killed worker therefore
leaves whole chunks only, and a re-run continues after the last recorded file. A file someone else moved after the
job started is reported "already moved" and never acted on; scope, role and guards are the engine's, judged per
file when its chunk runs.

A selection is either the work queue's filter (state, unit, campaign, q: `QueueFilter`) or a list of ids. A
filter is resolved with queries.applications for the actor (nothing outside their units is ever counted) and
narrowed to the files the action can leave and the actor acts on (campaign and state), as the queue's "waiting for
me" does; a list of ids is taken as given, and fire_batch reports each id it cannot act on ("not found" for one
outside the caller's units, exactly as the synchronous batch does)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from flask import current_app
from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Select, and_, false, func, insert, literal, or_, select

from . import clock, engine, jobs, queries
from .authz import Actor, actor_of, province_of
from .chains import chain_for
from .db import db
from .declared import Body, Id, Reason, text, whole
from .definitions import for_campaign
from .errors import MESSAGES, Conflict, GuardRefused, NotFound, WorkflowError
from .models import Application, Campaign, Job, MassActionItem, MassActionOutcome, Unit, User
from .vocabulary import STATES

__all__ = ["CHUNK", "KIND", "MASS_ACTIONS", "MassActionInput", "QueueFilter", "count", "offered", "outcomes",
           "run_mass_action", "start", "status", "visible"]

KIND = "mass_action"
MASS_ACTIONS = ("approve", "submit", "return", "reject")  # the batch actions (web/views/review.py BATCH_ACTIONS)
REASON_ACTIONS = ("return", "reject")  # every step of these needs a reason (workflow/states: needs_reason)
CHUNK = 2000  # files per transaction (engine.BATCH_CHUNK: one fire_batch chunk); MASS_ACTION_CHUNK overrides
DEFAULT_MAX_ITEMS = 200_000  # files per job (MASS_ACTION_MAX), as IMPORT_MAX_ROWS: beyond it, narrow the filter
MAX_IDS = 200_000  # ids in one request
FIRST_OUTCOMES = 20
STALE_TWIN_SECONDS = 60

items_t = MassActionItem.__table__
outcomes_t = MassActionOutcome.__table__
apps_t = Application.__table__


# ---------------------------------------------------------------- the declared inputs

def _queue_state(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or value.strip() not in ("", "all", *STATES):
        raise PydanticCustomError("choice", "not a state", {"expected": ", ".join(("", "all", *STATES))[2:]})
    return value.strip()


QueueState = Annotated[str, PlainValidator(_queue_state), WithJsonSchema(
    {"type": "string", "enum": ["", "all", *STATES], "default": ""})]


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise PydanticCustomError("boolean", "not a boolean")
    return value


StrictBool = Annotated[bool, PlainValidator(_strict_bool), WithJsonSchema({"type": "boolean"})]


def _ids(value: Any) -> list[int]:
    from .inputs import MAX_INT

    if (not isinstance(value, list) or not 0 < len(value) <= MAX_IDS
            or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_INT for i in value)):
        raise PydanticCustomError("list_of_ids", "a list of positive integers", {"max": MAX_IDS})
    return value


JobIds = Annotated[list[int], PlainValidator(_ids), WithJsonSchema(
    {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": MAX_IDS})]


class QueueFilter(Body):
    """The work queue's filter (the page /applications and GET /api/v1/applications): the files a mass action
    takes when given a filter. An empty state is the queue's default ("waiting for me"), "all" every state."""

    state: Annotated[QueueState, Field(description="\"\" (waiting for me, the default), \"all\", or one state.")] = ""
    unit: Annotated[Id | None, Field(description="A unit id; its whole subtree is included.")] = None
    campaign: Id | None = None
    q: Annotated[text(100) | None, Field(
        description="Name, ignoring diacritics and case; or a citizen ID prefix.")] = None

    def args(self) -> dict[str, Any]:
        """The filter as the queue page's query string has it (empty values left out)."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


class MassActionInput(Body):
    """POST /api/v1/jobs/<action>: a filter or a list of ids (exactly one), the reason, the count the caller
    confirmed; `dry_run` only counts."""

    filter: Annotated[QueueFilter | None, Field(description="The queue's filter (exactly one of filter, ids).")] = None
    ids: Annotated[JobIds | None, Field(description="Application ids (exactly one of filter, ids).")] = None
    reason: Annotated[Reason | None, Field(description="Required for return (what is missing) and reject.")] = None
    expected: Annotated[whole(0) | None, Field(
        description="The count you confirmed: when the selection holds another number, nothing starts (409 "
                    "mass_action_count_changed).")] = None
    dry_run: Annotated[StrictBool, Field(description="true: only count, start nothing (200).")] = False


# ---------------------------------------------------------------- the selection

def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def acting_clause(actor, action: str) -> ColumnElement[bool]:
    """(campaign, state) pairs of the actor's provinces where `action` leaves the state and the chain in force
    names one of the actor's roles at its level to act: the files the action can move for this actor (the
    engine still judges each one's unit, guards and reason)."""
    clauses = [and_(Application.campaign_id == campaign_id, Application.state.in_(sorted(states)))
               for campaign_id, states in _acting_states(_actor(actor), action).items()]
    return or_(*clauses) if clauses else false()


def _acting_states(actor: Actor, action: str) -> dict[int, set[str]]:
    """Per campaign of the actor's provinces, the states `action` leaves where the chain in force names one of
    the actor's roles at its level (no file is read)."""
    provinces = {province_of(g.unit_path) for g in actor.grants}
    found: dict[int, set[str]] = {}
    for campaign in db.session.scalars(select(Campaign).where(Campaign.province_id.in_(provinces))
                                       .order_by(Campaign.id)):
        try:
            chain = chain_for(campaign.title_code, campaign.province_id, clock.today())
        except WorkflowError:
            continue
        d = for_campaign(campaign)
        states = set()
        for state in d.states:
            step = d.step(state, action)
            stage = chain.stages.get(step.actor) if step is not None else None
            if stage is not None and any(g.role == stage.role and g.unit_level == stage.level
                                         for g in actor.grants):
                states.add(state)
        if states:
            found[campaign.id] = states
    return found


def offered(actor, flt: QueueFilter) -> list[str]:
    """The mass actions this actor's roles take at some state the filter can hold (issue 13: a branch officer is
    never offered approve or reject); judged from the chains, without reading a file."""
    actor = _actor(actor)
    out = []
    for action in MASS_ACTIONS:
        for campaign_id, states in _acting_states(actor, action).items():
            if flt.campaign and campaign_id != flt.campaign:
                continue
            if flt.state in STATES and flt.state not in states:
                continue
            out.append(action)
            break
    return out


def matching(actor, action: str, flt: QueueFilter) -> Select:
    """(id, state) of the files a filter selects for this action, in the actor's units."""
    stmt = queries.applications(_actor(actor), state=flt.state if flt.state in STATES else None, unit_id=flt.unit,
                                campaign_id=flt.campaign, q=flt.q)
    return stmt.where(acting_clause(actor, action)).with_only_columns(Application.id, Application.state) \
        .order_by(None)


def _check_action(action: str) -> None:
    if action not in MASS_ACTIONS:
        raise GuardRefused("mass_action_action", action=str(action)[:40])


def _selection(flt: QueueFilter | None, ids: list[int] | None) -> None:
    if (flt is None) == (ids is None):
        raise GuardRefused("mass_action_selection")


def count(actor, action: str, *, filter: QueueFilter | None = None, ids: list[int] | None = None) -> int:
    """How many files `start` would take now: what the confirmation states."""
    _check_action(action)
    _selection(filter, ids)
    if ids is not None:
        return len(dict.fromkeys(ids))
    return db.session.scalar(select(func.count()).select_from(matching(actor, action, filter).subquery())) or 0


def max_items() -> int:
    return int(current_app.config.get("MASS_ACTION_MAX", DEFAULT_MAX_ITEMS))


def _digest(action: str, flt: QueueFilter | None, ids: list[int] | None, reason: str | None) -> str:
    chosen = {"action": action, "reason": reason or "",
              "filter": flt.model_dump() if flt is not None else None, "ids": ids}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def live_twin(actor, digest: str) -> Job | None:
    """The actor's job for this very selection that is still queued or running (not stalled): starting it again
    (a double click, a client retrying) answers that job instead of a second one."""
    recent = db.session.scalars(select(Job).where(Job.owner_id == _actor(actor).id, Job.kind == KIND,
                                                  Job.status.in_(("queued", "running")))
                                .order_by(Job.id.desc()).limit(20))
    return next((j for j in recent if (j.params or {}).get("digest") == digest and not jobs.resumable(j)), None)


def start(actor, action: str, *, filter: QueueFilter | None = None, ids: list[int] | None = None,
          reason: str | None = None, expected: int | None = None) -> tuple[Job, bool]:
    """Fix the set and add the queued job: (the job, whether it was added now; False when the same selection is
    already under way). Refused, storing nothing once the caller rolls back: an unknown action, no files, more
    than MASS_ACTION_MAX files, a count other than `expected` (409). The caller commits, then calls
    notifications.jobs.launch(job.id)."""
    actor = _actor(actor)
    _check_action(action)
    _selection(filter, ids)
    reason = (reason or "").strip() or None
    if action in REASON_ACTIONS and reason is None:
        raise GuardRefused("reason_required")
    digest = _digest(action, filter, ids, reason)
    twin = live_twin(actor, digest)
    if twin is not None:
        return twin, False
    if filter is not None:
        found = count(actor, action, filter=filter)
        if found > max_items():
            raise GuardRefused("mass_action_too_many", count=found, max=max_items())
    elif len(dict.fromkeys(ids)) > max_items():
        raise GuardRefused("mass_action_too_many", count=len(dict.fromkeys(ids)), max=max_items())
    params: dict[str, Any] = {"action": action, "reason": reason, "digest": digest,
                              "filter": filter.model_dump() if filter is not None else None,
                              "ids_given": len(ids) if ids is not None else None}
    job = Job(kind=KIND, owner_id=actor.id, status="queued", dry_run=False, total=0, errors=[],
              created_at=clock.now(), params=params)
    db.session.add(job)
    db.session.flush()
    if filter is not None:
        chosen = matching(actor, action, filter).subquery()
        db.session.execute(insert(items_t).from_select(
            ["job_id", "application_id", "snap_state"], select(literal(job.id), chosen.c.id, chosen.c.state)))
    else:
        _insert_ids(actor, job.id, list(dict.fromkeys(ids)))
    total = db.session.scalar(select(func.count()).select_from(items_t).where(items_t.c.job_id == job.id)) or 0
    if total == 0:
        raise GuardRefused("mass_action_empty")
    if expected is not None and expected != total:
        raise Conflict("mass_action_count_changed", expected=expected, actual=total)
    job.total = total
    db.session.flush()
    return job, True


def _insert_ids(actor: Actor, job_id: int, ids: list[int]) -> None:
    """The ids as given; the state only of those the actor may see (the others stay unnamed: "not found")."""
    for begin in range(0, len(ids), 5000):
        part = ids[begin:begin + 5000]
        seen = dict(db.session.execute(queries.applications(actor).where(Application.id.in_(part))
                                       .with_only_columns(Application.id, Application.state).order_by(None)).all())
        db.session.execute(insert(items_t), [{"job_id": job_id, "application_id": i, "snap_state": seen.get(i)}
                                             for i in part])


# ---------------------------------------------------------------- the job's body

Hook = Callable[[Job, int], None]


def _recount(job: Job) -> None:
    """The counters from the recorded outcomes (they are committed together, so this only repairs a row edited by
    hand; it keeps a resumed job honest whatever happened before)."""
    row = db.session.execute(
        select(func.count(), func.count().filter(outcomes_t.c.ok),
               func.count().filter(outcomes_t.c.already_moved))
        .where(outcomes_t.c.job_id == job.id)).one()
    job.done, job.created, job.duplicates = row[0], row[1], row[2]
    job.error_count = row[0] - row[1]


def run_mass_action(job: Job, *, chunk: int | None = None, after_chunk: Hook | None = None) -> None:
    """The job's body: for each chunk of files not yet recorded (in id order), fire the action through
    engine.fire_batch and record each file's outcome with the job's counters and heartbeat, one transaction per
    chunk. A file whose state is no longer the one it had when the job started is recorded "already moved" and
    left alone."""
    size = int(chunk or current_app.config.get("MASS_ACTION_CHUNK", CHUNK))
    owner = db.session.get(User, job.owner_id)
    actor = actor_of(owner)
    action, reason = job.params["action"], job.params.get("reason")
    lock = db.session.get_bind().dialect.name == "postgresql"
    _recount(job)
    db.session.commit()
    last = db.session.scalar(select(func.max(outcomes_t.c.application_id))
                             .where(outcomes_t.c.job_id == job.id)) or 0
    while True:
        # Chunks run in id order and commit whole, so the files with an outcome are exactly those up to `last`
        # (the outcomes' primary key refuses a second one, rolling its chunk back, should that ever not hold).
        pending = db.session.execute(
            select(items_t.c.application_id, items_t.c.snap_state)
            .where(items_t.c.job_id == job.id, items_t.c.application_id > last)
            .order_by(items_t.c.application_id).limit(size)).all()
        if not pending:
            break
        begin = job.done
        rows = _act(job.id, pending, action, actor, reason, lock)
        _insert_outcomes(job.id, rows, lock)
        ok = sum(1 for r in rows if r["ok"])
        job.done += len(rows)
        job.created += ok
        job.error_count += len(rows) - ok
        job.duplicates += sum(1 for r in rows if r["already_moved"])
        job.heartbeat_at = clock.now()
        db.session.commit()
        last = pending[-1][0]
        if after_chunk is not None:
            after_chunk(job, begin)


_PG_OUTCOMES = """
    INSERT INTO mass_action_outcomes (job_id, application_id, ok, already_moved, from_state, to_state, event_id,
                                      error_code, error_params, acted_at)
    SELECT %(job)s, t.id, t.ok, t.moved, t.from_state, t.to_state, t.event_id, t.code, t.params::jsonb, %(now)s
    FROM unnest(%(ids)s::integer[], %(ok)s::boolean[], %(moved)s::boolean[], %(from)s::text[], %(to)s::text[],
                %(events)s::bigint[], %(codes)s::text[], %(params)s::text[])
         AS t(id, ok, moved, from_state, to_state, event_id, code, params)"""


def _insert_outcomes(job_id: int, rows: list[dict[str, Any]], pg: bool) -> None:
    """A chunk's outcomes in one statement on PostgreSQL (arrays, as workflow/writes.py does: an executemany
    costs a round of server work per row); SQLite takes them as an executemany."""
    if not rows:
        return
    if not pg:
        db.session.execute(insert(outcomes_t), rows)
        return
    from . import writes

    _dialect, cur = writes.cursor()
    cur.execute(_PG_OUTCOMES, {
        "job": job_id, "now": rows[0]["acted_at"], "ids": [r["application_id"] for r in rows],
        "ok": [r["ok"] for r in rows], "moved": [r["already_moved"] for r in rows],
        "from": [r["from_state"] for r in rows], "to": [r["to_state"] for r in rows],
        "events": [r["event_id"] for r in rows], "codes": [r["error_code"] for r in rows],
        "params": [json.dumps(r["error_params"], ensure_ascii=False) for r in rows]})


def _act(job_id: int, pending, action: str, actor: Actor, reason: str | None, lock: bool) -> list[dict[str, Any]]:
    now = clock.now()
    ids = [r[0] for r in pending]
    current_stmt = select(apps_t.c.id, apps_t.c.state).where(apps_t.c.id.in_(ids)).order_by(apps_t.c.id)
    if lock:
        current_stmt = current_stmt.with_for_update(of=apps_t)
    current = dict(db.session.execute(current_stmt).all())
    rows: list[dict[str, Any]] = []

    def record(app_id: int, ok: bool, *, from_state=None, to_state=None, event_id=None, code=None, params=None,
               moved: bool = False) -> None:
        rows.append({"job_id": job_id, "application_id": app_id, "ok": ok, "already_moved": moved,
                     "from_state": from_state, "to_state": to_state, "event_id": event_id, "error_code": code,
                     "error_params": _plain(params or {}), "acted_at": now})

    fire, snapshot = [], {}
    for app_id, snap in pending:
        state = current.get(app_id)
        if snap is not None and state is not None and state != snap:
            record(app_id, False, from_state=state, code="already_moved", params={"state": state}, moved=True)
        else:
            fire.append(app_id)
            snapshot[app_id] = snap
    for o in engine.fire_batch(fire, action, actor, reason=reason) if fire else []:
        if o.ok:
            record(o.id, True, from_state=o.from_state, to_state=o.to_state, event_id=o.event_id)
        else:
            code = o.error.code if o.error is not None else "not_found"
            record(o.id, False, from_state=o.from_state if snapshot.get(o.id) is not None else None, code=code,
                   params=o.error.params if o.error is not None else {}, moved=code == "conflict")
    return sorted(rows, key=lambda r: r["application_id"])


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {str(k): v if isinstance(v, str | int | float | bool) or v is None else str(v) for k, v in params.items()}


# ---------------------------------------------------------------- reading a job

def visible(job_id: int, actor) -> Job:
    """A mass action its owner may see; NotFound for everyone else and for other kinds of job (the outcomes name
    files: a job's existence must not leak)."""
    try:
        job = jobs.visible_job(job_id, actor)
    except NotFound:
        raise NotFound("mass_action_not_found") from None
    if job.kind != KIND or job.owner_id != _actor(actor).id:
        raise NotFound("mass_action_not_found")
    return job


def require_resumable(job: Job) -> None:
    """Refuse to launch a job again unless it failed or stalled (workflow.jobs.resumable)."""
    if not jobs.resumable(job):
        raise GuardRefused("mass_action_not_resumable")


Label = Callable[[str], str]


def message(code: str | None, params: dict[str, Any] | None, locale: str = "vi", label: Label | None = None) -> str:
    """A refusal's message in the reader's language; state and action codes among its parameters shown by
    `label` (the pages' names for them) when given."""
    if not code:
        return ""
    en = locale.startswith("en")
    vi_text, en_text = MESSAGES.get(code, MESSAGES["mass_action_refused"])
    values = {k: (label(v) if label is not None and k in ("state", "action") and isinstance(v, str) else v)
              for k, v in (params or {}).items()}
    try:
        return (en_text if en else vi_text).format(**values)
    except (KeyError, IndexError, ValueError):  # parameters withheld (a file no longer in the reader's units)
        vi_text, en_text = MESSAGES["mass_action_refused"]
        return en_text if en else vi_text


@dataclass(slots=True)
class Row:
    """One file of a job as the outcome file and the page show it; `name` is None for a file outside the
    reader's units (or an id that names none)."""

    application_id: int
    name: str | None
    citizen_id: str | None
    snap_state: str | None
    result: str  # moved, refused, already_moved, pending
    from_state: str | None
    to_state: str | None
    code: str | None
    params: dict[str, Any]


def outcomes(job: Job, actor, *, limit: int | None = None) -> Iterator[Row]:
    """The job's files in id order with what happened to each (pending while not yet reached), streamed."""
    actor = _actor(actor)
    stmt = (select(items_t.c.application_id, items_t.c.snap_state, outcomes_t.c.ok, outcomes_t.c.already_moved,
                   outcomes_t.c.from_state, outcomes_t.c.to_state, outcomes_t.c.error_code, outcomes_t.c.error_params,
                   apps_t.c.full_name, apps_t.c.citizen_id, Unit.path)
            .select_from(items_t)
            .outerjoin(outcomes_t, and_(outcomes_t.c.job_id == items_t.c.job_id,
                                        outcomes_t.c.application_id == items_t.c.application_id))
            .outerjoin(apps_t, apps_t.c.id == items_t.c.application_id)
            .outerjoin(Unit, Unit.id == apps_t.c.unit_id)
            .where(items_t.c.job_id == job.id).order_by(items_t.c.application_id))
    if limit is not None:
        stmt = stmt.limit(limit)
    for r in db.session.execute(stmt.execution_options(yield_per=2000)):
        seen = r.path is not None and actor.covers(r.path)
        result = ("pending" if r.ok is None else "moved" if r.ok else "already_moved" if r.already_moved
                  else "refused")
        yield Row(r.application_id, r.full_name if seen else None, r.citizen_id if seen else None,
                  r.snap_state if seen else None, result, r.from_state if seen else None,
                  r.to_state if seen else None, r.error_code, dict(r.error_params or {}) if seen else {})


def rows_per_second(job: Job) -> float:
    from .imports import rows_per_second as rate

    return rate(job)


def status(job: Job, actor, locale: str = "vi", label: Label | None = None, first: int = FIRST_OUTCOMES
           ) -> dict[str, Any]:
    """What the page and the API show: the action, the counters, speed, whether the worker seems gone, and the
    first outcomes in the reader's language."""
    params = job.params or {}
    shown = [{"id": r.application_id, "name": r.name, "result": r.result, "from": r.from_state, "to": r.to_state,
              "code": r.code, "message": message(r.code, r.params, locale, label)}
             for r in outcomes(job, actor, limit=first)] if first else []
    return {
        "id": job.id, "kind": job.kind, "action": params.get("action"), "status": job.status, "total": job.total,
        "done": job.done, "ok": job.created, "refused": job.error_count, "already_moved": job.duplicates,
        "rows_per_second": rows_per_second(job), "stalled": jobs.stalled(job),
        "started_at": jobs._iso(job.started_at), "finished_at": jobs._iso(job.finished_at),
        "created_at": jobs._iso(job.created_at), "reason": params.get("reason"), "filter": params.get("filter"),
        "failure": job.failure, "outcomes": shown,
    }
