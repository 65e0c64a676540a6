"""Recognition decisions (quyết định công nhận) at provincial scale (issue 10, section 3): one decision of a province
may recognise 50,000 citizens.

The candidates of a decision are the files of its campaign under the issuing unit (and the actor's grants) that
await final approval or are recognised without a decision; the pages list them a page at a time, filtered by
commune and by name or CCCD, and "every file matching the filter" is resolved here, never posted as ids. Files
awaiting approval are recognised through `engine.fire_batch` (the decision id rides in the audit payload); files
already recognised are attached set-wise with an audit event each. Up to `SYNC_LIMIT` files a decision is issued
within the request; beyond, the decision row and a job (kind "decision") are stored together and the job works
through the candidates (those counted at the confirmation: in their state since `as_of`) a chunk per
transaction, unit by unit and by id within each, its cursor committed with each chunk: a failed or stalled job
resumes where it stopped and nothing is recognised twice. Two decisions never share a file: the engine's version
check and the attach's "no decision yet" refuse the second. The caller commits."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, exists, false, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import clock, engine, queries
from .authz import Actor, actor_of, visible_units_clause
from .db import db
from .errors import GuardRefused, InvalidAction, NotFound, WorkflowError
from .inputs import clean_name
from .models import Application, AuditEvent, Campaign, Decision, Job, Unit
from .text import nfc

CANDIDATE_STATES = ("final_approval", "recognised")
SYNC_LIMIT = engine.BATCH_CHUNK  # a decision of up to this many files is issued within the request
CHUNK = engine.BATCH_CHUNK  # files per transaction of a decision job (one engine batch chunk)
MAX_STORED_ERRORS = 200
KIND = "decision"

apps = Application.__table__

Hook = Callable[[Job], None]


@dataclass(frozen=True, slots=True)
class Filter:
    """Which candidates: a commune under the issuing unit (None: all of them) and a name or CCCD prefix."""

    commune_id: int | None = None
    q: str | None = None


def _actor(actor: Any) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def communes(unit: Unit) -> list[Unit]:
    """The communes under the issuing unit still in existence today (the filter's choices), by name."""
    today = clock.today()
    return list(db.session.scalars(
        select(Unit).where(Unit.level == "commune", Unit.path.startswith(unit.path, autoescape=False),
                           (Unit.valid_to.is_(None)) | (Unit.valid_to >= today))
        .order_by(Unit.name_folded, Unit.id)))


def candidates(campaign: Campaign, unit: Unit, actor: Any, flt: Filter = Filter(),
               as_of: datetime | None = None) -> Select:
    """The files this decision may hold, newest first: the campaign's, under `unit` and the actor's grants (a
    commune outside `unit` or another province is never reached), at final approval or recognised without a
    decision, filtered by `flt`. `as_of`: only files in that state since then (the set a confirmation counted)."""
    target = _target(unit, flt)
    stmt = (queries.applications(_actor(actor), campaign_id=campaign.id, states=CANDIDATE_STATES, q=flt.q)
            .where(Application.decision_id.is_(None),
                   # the subtree as a literal prefix: the planner then knows how many units it holds (through a
                   # subquery it guessed 5 of a province's 1,090, and sorted every candidate to show 25)
                   Unit.path.startswith(target.path, autoescape=False) if target is not None else false()))
    if as_of is not None:
        stmt = stmt.where(Application.state_changed_at <= as_of)
    return stmt


def _target(unit: Unit, flt: Filter) -> Unit | None:
    """The subtree the filter names: the issuing unit, or one of its communes; None for a commune id that is not
    one of them (it then matches nothing rather than everything)."""
    if not flt.commune_id:
        return unit
    commune = db.session.get(Unit, flt.commune_id)
    if commune is None or commune.level != "commune" or not commune.path.startswith(unit.path):
        return None
    return commune


def count(stmt: Select) -> int:
    """An exact count of a candidate (or decision) select."""
    return db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).with_only_columns(Application.id).subquery())) or 0


def by_state(stmt: Select) -> dict[str, int]:
    """How many of the selected files are in each state: the confirmation says how many are recognised now and
    how many, already recognised, are added."""
    sub = stmt.order_by(None).with_only_columns(Application.state).subquery()
    return {s: n for s, n in db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))}


def check_header(campaign: Campaign, unit: Unit, actor: Any, number: str, signed_on: date | None,
                 signer: str) -> tuple[str, str]:
    """Whether `actor` may issue at `unit` and the number, date and signer are acceptable (the number unused in
    this campaign): the cleaned (number, signer), or the first refusal. Run before the confirmation too."""
    from .operations import _require_stage

    actor = _actor(actor)
    _require_stage(unit, campaign.title_code, "final_approval", actor, "decision", hidden=False)
    number, signer = nfc(number) or "", clean_name(signer, "signer") or ""
    if not number:
        raise GuardRefused("invalid_field", field="number", detail="trống / empty")
    if not signer:
        raise GuardRefused("invalid_field", field="signer", detail="trống / empty")
    if not isinstance(signed_on, date) or signed_on > clock.today():
        raise GuardRefused("invalid_field", field="signed_on", detail=str(signed_on))
    taken = select(Decision.id).where(Decision.campaign_id == campaign.id, Decision.number == number)
    if db.session.scalar(select(exists(taken))):
        raise GuardRefused("duplicate_decision", number=number)
    return number, signer


def _open(campaign: Campaign, unit: Unit, actor: Actor, number: str, signed_on: date, signer: str) -> Decision:
    number, signer = check_header(campaign, unit, actor, number, signed_on, signer)
    decision = Decision(campaign_id=campaign.id, unit_id=unit.id, number=number, signed_on=signed_on, signer=signer,
                        created_by_id=actor.id, created_at=clock.now())
    db.session.add(decision)
    try:  # no SAVEPOINT: on SQLite one opened before any write would commit on release; refusals roll back
        db.session.flush()
    except IntegrityError as exc:  # the unique (campaign, number): a concurrent twin won the race
        raise GuardRefused("duplicate_decision", number=number) from exc
    return decision


def _attach(decision: Decision, campaign: Campaign, unit: Unit, actor: Actor,
            ids: Sequence[int]) -> dict[int, engine.Outcome]:
    """One chunk (at most engine.BATCH_CHUNK ids): approve those awaiting approval through the engine, attach
    those recognised without a decision set-wise, one audit event each; an outcome per id."""
    found = {r.id: r for r in db.session.execute(
        select(apps.c.id, apps.c.state, apps.c.decision_id).join(Unit.__table__, Unit.id == apps.c.unit_id)
        .where(apps.c.id.in_(list(ids)), apps.c.campaign_id == campaign.id,
               Unit.path.startswith(unit.path, autoescape=False)))}
    outcomes: dict[int, engine.Outcome] = {i: engine.Outcome(i, False, error=NotFound("not_found"))
                                           for i in ids if i not in found}
    pending = [i for i in ids if i in found and found[i].state == "final_approval"]
    if pending:
        for o in engine.fire_batch(pending, "approve", actor, payload={"decision_id": decision.id}):
            outcomes[o.id] = o
    attachable = []
    for i in ids:
        row = found.get(i)
        if row is None or i in outcomes:
            continue
        if row.state != "recognised" or row.decision_id is not None:
            outcomes[i] = engine.Outcome(i, False, row.state, error=InvalidAction(
                "invalid_action", action="decision", state=row.state))
        else:
            attachable.append(i)
    if attachable:
        outcomes.update(_attach_recognised(decision, actor, attachable))
    # Issue 12 §2 (part F2): the chunk's recognised files get their certificates set-wise, in the same transaction
    from . import certificates

    certificates.issue(decision, [i for i in ids if outcomes.get(i) is not None and outcomes[i].ok])
    _expire(ids)
    return outcomes


def _attach_recognised(decision: Decision, actor: Actor, ids: list[int]) -> dict[int, engine.Outcome]:
    """Recognised files join the decision in one UPDATE (still recognised and without a decision when it runs:
    a concurrent revoke or decision wins, reported as refused) and one batched INSERT of their audit events."""
    changed = dict(db.session.execute(
        update(apps).where(apps.c.id.in_(ids), apps.c.state == "recognised", apps.c.decision_id.is_(None))
        .values(decision_id=decision.id, version=apps.c.version + 1).returning(apps.c.id, apps.c.version)).all())
    now = clock.now()
    if changed:
        db.session.execute(insert(AuditEvent.__table__), [{
            "application_id": i, "actor_id": actor.id, "actor_name": actor.username, "action": "decision",
            "from_state": "recognised", "to_state": "recognised", "reason": None,
            "payload": {"decision_id": decision.id, "number": decision.number, "version": changed[i]},
            "created_at": now} for i in sorted(changed)])
    return {i: (engine.Outcome(i, True, "recognised", "recognised", changed[i]) if i in changed else
                engine.Outcome(i, False, "recognised", error=InvalidAction("invalid_action", action="decision",
                                                                           state="recognised")))
            for i in ids}


def _expire(ids: Sequence[int]) -> None:
    """The writes above bypass the ORM: a caller's loaded objects of these files are read again when used."""
    wanted = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Application) and obj.id in wanted:
            db.session.expire(obj)


def create_decision(campaign: Campaign, unit: Unit, actor: Any, number: str, signed_on: date, signer: str,
                    application_ids: Sequence[int]) -> tuple[Decision, list[engine.Outcome]]:
    """Issue a decision over these files within the caller's transaction (the pages do so up to SYNC_LIMIT
    files): an outcome per id; refused when nothing would be in it. The caller commits."""
    actor = _actor(actor)
    decision = _open(campaign, unit, actor, number, signed_on, signer)
    ids = list(dict.fromkeys(application_ids))
    outcomes: dict[int, engine.Outcome] = {}
    for start in range(0, len(ids), CHUNK):
        outcomes.update(_attach(decision, campaign, unit, actor, ids[start:start + CHUNK]))
    result = [outcomes[i] for i in ids]
    if not any(o.ok for o in result):
        raise GuardRefused("nothing_to_decide")
    return decision, result


def matching_ids(campaign: Campaign, unit: Unit, actor: Any, flt: Filter, as_of: datetime | None,
                 limit: int) -> list[int]:
    """The ids of the candidates matching the filter, oldest first, at most `limit` (a small decision resolved
    here rather than posted by the browser)."""
    stmt = candidates(campaign, unit, actor, flt, as_of).with_only_columns(Application.id)
    return list(db.session.scalars(stmt.order_by(None).order_by(Application.id).limit(limit)))


def start_job(campaign: Campaign, unit: Unit, actor: Any, number: str, signed_on: date, signer: str, flt: Filter,
              as_of: datetime) -> tuple[Decision, Job]:
    """A decision over every candidate matching `flt` as of `as_of`, too many for one request: the decision row
    and its job, stored together (the caller commits, then launches the job with notifications.jobs.launch)."""
    actor = _actor(actor)
    decision = _open(campaign, unit, actor, number, signed_on, signer)
    total = count(candidates(campaign, unit, actor, flt, as_of))
    if not total:
        raise GuardRefused("nothing_to_decide")
    job = Job(kind=KIND, owner_id=actor.id, campaign_id=campaign.id, unit_id=unit.id, total=total, errors=[],
              created_at=decision.created_at,
              params={"decision_id": decision.id, "number": decision.number, "commune_id": flt.commune_id,
                      "q": flt.q, "as_of": as_of.isoformat(), "after": 0})
    db.session.add(job)
    db.session.flush()
    return decision, job


def run_decision(job: Job, *, chunk: int | None = None, after_chunk: Hook | None = None) -> None:
    """The job's body (workflow.jobs.KINDS["decision"]): the candidates matching the job's filter, unit by unit
    and by id within each, from the committed cursor on, a chunk per transaction with the job's counters. Refused
    files are counted and their first reasons kept; a decision that ends with no file at all is removed and the
    job fails."""
    params = dict(job.params or {})
    decision = db.session.get(Decision, params.get("decision_id"))
    if decision is None:
        raise GuardRefused("nothing_to_decide")
    campaign, unit = db.session.get(Campaign, job.campaign_id), db.session.get(Unit, job.unit_id)
    actor = actor_of(job.owner)
    from .operations import _require_stage

    _require_stage(unit, campaign.title_code, "final_approval", actor, "decision", hidden=False)
    flt = Filter(params.get("commune_id"), params.get("q"))
    as_of = datetime.fromisoformat(params["as_of"])
    start = (int(params.get("unit") or 0), int(params.get("after") or 0))
    for ids, cursor in _chunks(campaign, unit, actor, flt, as_of, start, chunk or CHUNK):
        outcomes = _attach(decision, campaign, unit, actor, ids)
        refused = [outcomes[i] for i in ids if not outcomes[i].ok]
        room = MAX_STORED_ERRORS - len(job.errors or [])
        if refused and room > 0:
            job.errors = [*(job.errors or []), *(_error(o) for o in refused[:room])]
        job.done += len(ids)
        job.created += len(ids) - len(refused)
        job.error_count += len(refused)
        params["unit"], params["after"] = cursor
        job.params = dict(params)
        job.heartbeat_at = clock.now()
        db.session.commit()
        if after_chunk is not None:
            after_chunk(job)
    if not db.session.scalar(select(exists(select(Application.id).where(Application.decision_id == decision.id)))):
        db.session.delete(decision)  # nothing could be recognised: the empty decision goes, the job fails saying so
        db.session.commit()
        raise GuardRefused("nothing_to_decide")


def _chunks(campaign: Campaign, unit: Unit, actor: Actor, flt: Filter, as_of: datetime, cursor: tuple[int, int],
            size: int) -> Iterator[tuple[list[int], tuple[int, int]]]:
    """The job's candidates in chunks of `size`, each with the cursor (unit id, file id) after it. Walked unit by
    unit along ix_applications_undecided and by id within a unit: one query reads a unit's few hundred
    candidates, where "the next 2,000 by id" over a province read every candidate to sort them (2.6 s a chunk at
    2,000,000 files). Each query runs after the previous chunk is committed."""
    target = _target(unit, flt)
    if target is None:
        return
    units = list(db.session.scalars(select(Unit.id).where(Unit.path.startswith(target.path, autoescape=False),
                                                          visible_units_clause(actor, Unit.path))
                                    .order_by(Unit.id)))
    base = (queries.applications(actor, campaign_id=campaign.id, states=CANDIDATE_STATES, q=flt.q)
            .with_only_columns(Application.id).order_by(None)
            .where(Application.decision_id.is_(None), Application.state_changed_at <= as_of))
    batch: list[int] = []
    position = cursor
    for unit_id in (u for u in units if u >= cursor[0]):
        last = cursor[1] if unit_id == cursor[0] else 0
        while True:
            ids = list(db.session.scalars(base.where(Application.unit_id == unit_id, Application.id > last)
                                          .order_by(Application.id).limit(size - len(batch))))
            if not ids:
                break
            batch += ids
            last = ids[-1]
            position = (unit_id, last)
            if len(batch) == size:
                yield batch, position
                batch = []
    if batch:
        yield batch, position


def _error(outcome: engine.Outcome) -> dict[str, Any]:
    exc: WorkflowError | None = outcome.error
    return {"row": outcome.id, "column": "", "code": exc.code if exc else "",
            "message_vi": exc.message("vi") if exc else "", "message_en": exc.message("en") if exc else ""}


def issuing_job(decision: Decision) -> Job | None:
    """The job that issues (or issued) this decision, if it was issued as one: stored in the decision's own
    transaction, so it is among the unit's first decision jobs made from the decision's creation on."""
    near = db.session.scalars(select(Job).where(Job.kind == KIND, Job.campaign_id == decision.campaign_id,
                                                Job.unit_id == decision.unit_id,
                                                Job.created_at >= decision.created_at)
                              .order_by(Job.id).limit(20))
    return next((j for j in near if (j.params or {}).get("decision_id") == decision.id), None)


def members(decision: Decision, actor: Any) -> Select:
    """The decision's files the actor may see, in the order of the printed list (folded name, then id)."""
    return (queries.applications(_actor(actor)).where(Application.decision_id == decision.id)
            .order_by(None).order_by(Application.full_name_folded, Application.id))


def size(decision: Decision) -> int:
    """How many files the decision holds (ix_applications_decision alone)."""
    return db.session.scalar(select(func.count()).where(Application.decision_id == decision.id)) or 0


def members_page(decision: Decision, actor: Any, offset: int, limit: int) -> list[Application]:
    """One page of `members`: the page's ids are found along ix_applications_decision (skipping `offset` index
    entries, not `offset` joined rows), then only those files are loaded. The numbering is the printed list's:
    whoever may open a decision covers its unit, under which every one of its files was issued."""
    page_ids = list(db.session.scalars(select(Application.id).where(Application.decision_id == decision.id)
                                       .order_by(Application.full_name_folded, Application.id)
                                       .offset(offset).limit(limit)))
    # Two statements on purpose: as one (IN a LIMIT subquery) the planner, whose statistics still say the new
    # decision holds one file, ran the subquery once per file of the decision (minutes at 50,000).
    if not page_ids:
        return []
    return list(db.session.scalars(queries.applications(_actor(actor)).where(Application.id.in_(page_ids))
                                   .order_by(None).order_by(Application.full_name_folded, Application.id)))


def listing(decision: Decision, actor: Any) -> Select:
    """The exported columns of `members`, without loading ORM objects (CSV and XLSX read it in chunks)."""
    return (members(decision, actor)
            .with_only_columns(Application.id, Application.full_name, Application.date_of_birth,
                               Application.citizen_id, Unit.name, Application.score_total))


# Issue 12 §4 (part G): decisions for everyone they concern. Branch and commune officers see, read-only, the
# decisions that recognise files of their units, and only those files: the list is `members` (scoped by the
# actor's grants), its size and pages counted over that scope, never the whole decision.
def covers_whole(decision: Decision, actor: Any) -> bool:
    """Whether the actor sees the whole decision: its grants cover the issuing unit."""
    unit = db.session.get(Unit, decision.unit_id)
    return unit is not None and _actor(actor).covers(unit.path)


def concerns_clause(actor: Any):
    """Decisions that hold a file of the actor's units (an EXISTS along ix_applications_decision)."""
    from sqlalchemy.orm import aliased

    actor, unit = _actor(actor), aliased(Unit)  # aliased: the caller's query may join units itself
    mine = (select(Application.id).join(unit, unit.id == Application.unit_id)
            .where(Application.decision_id == Decision.id, visible_units_clause(actor, unit.path)))
    return exists(mine)


def visible_clause(actor: Any):
    """Decisions the actor may open: issued under its units, or recognising files of its units."""
    from sqlalchemy import or_
    from sqlalchemy.orm import aliased

    unit = aliased(Unit)
    issuer = select(unit.id).where(unit.id == Decision.unit_id, visible_units_clause(_actor(actor), unit.path))
    return or_(exists(issuer), concerns_clause(actor))


def may_open(decision: Decision, actor: Any) -> bool:
    if covers_whole(decision, actor):
        return True
    return db.session.scalar(select(exists(members(decision, actor).with_only_columns(Application.id)
                                           .order_by(None)))) or False


def scoped_size(decision: Decision, actor: Any) -> int:
    """How many of the decision's files the actor sees (all of them for whoever covers the issuing unit)."""
    return size(decision) if covers_whole(decision, actor) else count(members(decision, actor))


def scoped_page(decision: Decision, actor: Any, offset: int, limit: int) -> list[Application]:
    """A page of the actor's part of the decision (members_page for whoever sees the whole)."""
    if covers_whole(decision, actor):
        return members_page(decision, actor, offset, limit)
    return list(db.session.scalars(members(decision, actor).offset(offset).limit(limit)))
