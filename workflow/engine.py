"""The engine's one entry point for state changes: `fire` (one application) and `fire_batch` (many).

Each checks who may act (the approval chain names the role and level of every stage; a grant covers its unit's
subtree), runs the title's shared `transitions` machine (guards raise their reason), then writes the state change
with a version check, one audit event and one outbox row in the caller's transaction. The caller commits: one
commit point per request. A refusal raises (or, in a batch, reports) a typed WorkflowError before anything is
written. The SQL lives in workflow/writes.py: a single action costs one SELECT (when given an id) and one write
statement on PostgreSQL; a batch costs the same per (title, from, to) group of up to 2,000 applications.

A batch judges each distinct case once: rows that agree on every column the judgement reads (all of `_Row` but the
id and version, plus the evidence present) get the same answer from scope, role, reason, deadline, guards and
machine, so the answer is computed for the first and reused (guards must not read a subject's id or version;
tests/test_engine_speed_paths.py checks that they do not). The version check stays per row, in the write.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from transitions import MachineError

from . import clock, counting, deadlines, definitions, validity, writes
from .authz import Actor, actor_of, province_of
from .chains import chain_for
from .db import db
from .definitions import Definition
from .errors import Conflict, GuardRefused, InvalidAction, NotAuthorized, NotFound, WorkflowError
from .models import Application, Evidence
from .rubrics import spec
from .states import Step, Subject
from .states.guards import level_ready, passes_rubric

apps = Application.__table__

BATCH_CHUNK = 2000


@dataclass(slots=True)
class Outcome:
    """The result for one application: ok with its new state and version, or the refusal."""

    id: int
    ok: bool
    from_state: str | None = None
    to_state: str | None = None
    version: int | None = None
    event_id: int | None = None
    error: WorkflowError | None = None

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        if self.ok:
            return {"id": self.id, "ok": True, "from": self.from_state, "state": self.to_state,
                    "version": self.version}
        return {"id": self.id, "ok": False, "error": self.error.as_dict(locale) if self.error else None}


@dataclass(slots=True)
class _Row:
    id: int
    state: str
    version: int
    unit_path: str
    area_class: str
    title: str
    rubric_id: int
    score_total: int
    score_min: int | None
    scored_count: int
    target_level: int
    submit_deadline: object = None  # the campaign's nominations deadline and closing (workflow.deadlines)
    closed_at: object = None
    definition_id: int | None = None  # the definition version the file follows (issue 14 §3)
    subject_key: str = ""  # read by counted criteria and level rules only, whose rows are judged one by one


# Every column the judgement (_decide) reads except the row's identity: rows equal on these are judged alike.
_JUDGED = attrgetter(*(f.name for f in fields(_Row) if f.name not in ("id", "version", "subject_key")))


def _load_rows(ids: Sequence[int], lock: bool) -> dict[int, _Row]:
    return {r[0]: _Row(*r) for r in writes.load_rows(list(ids), lock)}


def _row_of(app: Application) -> _Row:
    return _Row(app.id, app.state, app.version, app.unit.path, app.unit.area_class, app.campaign.title_code,
                app.rubric_id, app.score_total, app.score_min, app.scored_count, app.target_level,
                app.campaign.submit_deadline, app.campaign.closed_at, app.definition_id, app.subject_key)


def _evidence_codes(ids: Iterable[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    ev = Evidence.__table__
    for app_id, code in db.session.execute(
            select(ev.c.application_id, ev.c.criterion_code).where(ev.c.application_id.in_(list(ids)),
                                                                   ev.c.removed_at.is_(None))  # evidence in bulk
            .distinct()):
        found[app_id].add(code)
    return found


def _authorize(row: _Row, step: Step, actor: Actor, on) -> None:
    if not actor.covers(row.unit_path):
        raise NotFound("not_found")
    stage = chain_for(row.title, province_of(row.unit_path), on).stages.get(step.actor)
    if stage is None or not actor.acts_at(stage, row.unit_path):
        raise NotAuthorized("wrong_role", action=step.action, state=row.state)


def _decide(d: Definition, row: _Row, action: str, actor: Actor, reason: str | None, payload: dict[str, Any],
            evidence: set[str] | None, on) -> tuple[Step, Subject]:
    """Everything short of writing: scope, role, reason, guards, machine. Raises the first refusal."""
    step = d.step(row.state, action)
    if step is None:
        if not actor.covers(row.unit_path):
            raise NotFound("not_found")
        raise InvalidAction("invalid_action", action=action, state=row.state)
    _authorize(row, step, actor, on)
    if step.needs_reason and not (reason or "").strip():
        raise GuardRefused("reason_required")
    if step.action == "submit" and step.source == d.stages[0]:  # the applicant side, after the deadline
        deadlines.require_nominations_open(row, on)
    subject = Subject(
        id=row.id, state=row.state, version=row.version, unit_path=row.unit_path,
        disadvantaged=row.area_class == "disadvantaged", rubric=spec(row.rubric_id), score_total=row.score_total,
        score_min=row.score_min, scored_count=row.scored_count, target_level=row.target_level,
        evidence_codes=evidence, reason=(reason or "").strip() or None, payload=payload)
    if level_ready in step.guards and validity.level_rule(row.title, row.target_level):
        # issue 12: the level's requirement reads the subject's history (its other recognitions), so a batch
        # judges such rows subject by subject (_per_subject)
        subject.prerequisite, subject.on = validity.prerequisite(row.title, row.target_level, row.subject_key), on
    if passes_rubric in step.guards and subject.rubric.computed:  # issue 14: counted criteria, row by row
        subject.figures = counting.figures(subject.rubric, row.target_level, row.subject_key, on,
                                           education=counting.is_education(row.subject_key))
        subject.on = on
    try:
        d.machine.events[action].trigger(subject)
    except MachineError as exc:  # the step table and the machine disagree: a definition bug, reported plainly
        raise InvalidAction("invalid_action", action=action, state=row.state) from exc
    return step, subject


def _group(row: _Row, step: Step, subject: Subject, actor: Actor, now: datetime) -> writes.Group:
    effects = step.effects(subject, now) if step.effects else {}
    return writes.Group(title=row.title, action=step.action, source=step.source, dest=step.dest,
                        actor_id=actor.id, actor_name=actor.username, reason=subject.reason,
                        extra=dict(subject.payload), with_score=bool(step.guards), effects=effects)


def fire(application: Application | int, action: str, actor, *, version: int | None = None,
         reason: str | None = None, payload: dict[str, Any] | None = None) -> Outcome:
    """Perform `action` on one application for `actor` (a User or Actor); raise a WorkflowError if refused.

    `version` is the version the actor saw; when given and stale, the action is refused as a conflict."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    obj = application if isinstance(application, Application) else None
    cur = writes.cursor()
    if obj is not None:
        row = _row_of(obj)
    else:
        found = writes.load_row(application, cur)
        if found is None:
            raise NotFound("not_found")
        row = _Row(*found)
    if version is not None and version != row.version:
        if not actor.covers(row.unit_path):
            raise NotFound("not_found")
        raise Conflict("conflict", expected=version, actual=row.version)
    d = definitions.of(row.title, row.definition_id)
    step = d.step(row.state, action)
    evidence = _evidence_codes([row.id]).get(row.id, set()) if step is not None and step.needs_evidence else None
    now = clock.now()
    step, subject = _decide(d, row, action, actor, reason, payload or {}, evidence, now.astimezone(clock.VN).date())
    group = _group(row, step, subject, actor, now)
    event_id = writes.apply(group, [(row.id, row.version, row.score_total)], now, cur).get(row.id)
    if event_id is None:
        current = db.session.execute(select(apps.c.version).where(apps.c.id == row.id)).scalar()
        raise Conflict("conflict", expected=row.version, actual=current)
    db.session.info["outbox_written"] = True
    if obj is not None:
        _refresh(obj, {"state": step.dest, "version": row.version + 1, "state_changed_at": now} | group.effects)
    return Outcome(row.id, True, row.state, step.dest, row.version + 1, event_id)


def _refresh(obj: Application, values: dict[str, Any]) -> None:
    """Keep a caller's ORM object equal to the row just written, without another SELECT."""
    from sqlalchemy.orm.attributes import set_committed_value

    for key, value in values.items():
        set_committed_value(obj, key, value)


def fire_batch(ids: Sequence[int], action: str, actor, *, reason: str | None = None,
               payload: dict[str, Any] | None = None) -> list[Outcome]:
    """Perform one action on many applications under the same rules as `fire`; report an outcome per id.

    Rows are read (and on PostgreSQL locked) a chunk at a time, judged in Python by the shared machine, and
    written set-wise, one writes.apply per (title, from, to) group."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    lock = db.session.get_bind().dialect.name == "postgresql"
    outcomes: dict[int, Outcome] = {}
    order = list(dict.fromkeys(ids))
    for start in range(0, len(order), BATCH_CHUNK):
        chunk = order[start:start + BATCH_CHUNK]
        outcomes.update(_batch_chunk(chunk, action, actor, reason, payload or {}, lock))
    return [outcomes[i] for i in order]


def _per_subject(row: _Row) -> bool:
    """The judgement reads the subject's own records: its counted criteria (issue 14) or its level history."""
    return spec(row.rubric_id).computed or bool(validity.rule(row.title).get("levels"))


def _batch_chunk(ids: list[int], action: str, actor: Actor, reason: str | None, payload: dict[str, Any],
                 lock: bool) -> dict[int, Outcome]:
    rows = _load_rows(ids, lock)
    now = clock.now()
    on = now.astimezone(clock.VN).date()
    outcomes: dict[int, Outcome] = {i: Outcome(i, False, error=NotFound("not_found")) for i in ids if i not in rows}
    needs_evidence = [r.id for r in rows.values() if (s := definitions.of(r.title, r.definition_id)
                                                      .step(r.state, action)) is not None and s.needs_evidence]
    evidence = _evidence_codes(needs_evidence) if needs_evidence else {}
    groups: dict[tuple[str, str, str], list[tuple[_Row, Step, Subject]]] = defaultdict(list)
    judged: dict[tuple, tuple[Step, Subject] | WorkflowError] = {}  # one judgement per distinct case (see top)
    for row in rows.values():
        codes = evidence.get(row.id, set())
        case = (_JUDGED(row), frozenset(codes), row.subject_key if _per_subject(row) else None)
        verdict = judged.get(case)
        if verdict is None:
            try:
                d = definitions.of(row.title, row.definition_id)
                verdict = _decide(d, row, action, actor, reason, payload, codes, on)
            except WorkflowError as exc:
                verdict = exc
            judged[case] = verdict
        if isinstance(verdict, WorkflowError):
            outcomes[row.id] = Outcome(row.id, False, row.state, error=verdict)
            continue
        step, subject = verdict
        groups[(row.title, step.source, step.dest)].append((row, step, subject))
    for items in groups.values():
        _, step, subject = items[0]
        written = writes.apply(_group(items[0][0], step, subject, actor, now),
                               [(r.id, r.version, r.score_total) for r, _, _ in items], now)
        for row, step, _ in items:
            event_id = written.get(row.id)
            outcomes[row.id] = (Outcome(row.id, True, row.state, step.dest, row.version + 1, event_id)
                                if event_id is not None else
                                Outcome(row.id, False, row.state, error=Conflict(
                                    "conflict", expected=row.version, actual=row.version + 1)))
        if written:
            db.session.info["outbox_written"] = True
    return outcomes


def allowed_actions(application: Application, actor) -> list[str]:
    """The actions this actor may take on this application now (scope, role and state; guards that need input,
    such as the pass rule or a reason, are judged when the action is taken)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    row = _row_of(application)
    d = definitions.of(row.title, row.definition_id)
    allowed = []
    for step in d.actions_from(row.state):
        try:
            _authorize(row, step, actor, clock.today())
        except WorkflowError:
            continue
        allowed.append(step.action)
    return allowed


def check(application: Application, action: str, actor, *, version: int | None = None,
          reason: str | None = None) -> Step:
    """Judge `action` as `fire` would (scope, role, version, reason, deadline, guards, machine) and write nothing:
    a page asks its confirmation only for an action that would be taken (issue 13). Raises the first refusal."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    row = _row_of(application)
    if version is not None and version != row.version:
        if not actor.covers(row.unit_path):
            raise NotFound("not_found")
        raise Conflict("conflict", expected=version, actual=row.version)
    d = definitions.of(row.title, row.definition_id)
    step = d.step(row.state, action)
    evidence = _evidence_codes([row.id]).get(row.id, set()) if step is not None and step.needs_evidence else None
    step, _subject = _decide(d, row, action, actor, reason, {}, evidence, clock.today())
    return step


def onward(application: Application, action: str, actor) -> list[Step]:
    """The steps `action` takes this file through while the same actor acts at each stage it reaches: at the
    branch, "submit" leads from evidence collection to branch scoring and on to the commune. A page may offer the
    whole path as one button; each step stays its own state change with its own audit event (fire_through)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    row = _row_of(application)
    d = definitions.of(row.title, row.definition_id)
    on = clock.today()
    path: list[Step] = []
    while len(path) < len(d.stages) and (step := d.step(row.state, action)) is not None:
        try:
            _authorize(row, step, actor, on)
        except WorkflowError:
            break
        path.append(step)
        row = _Row(**{f.name: getattr(row, f.name) for f in fields(_Row)} | {"state": step.dest})
    return path


def fire_through(application: Application, action: str, actor, *, version: int | None = None,
                 reason: str | None = None) -> list[Outcome]:
    """`fire` along `onward` in the caller's transaction: one state change and one audit event per stage; the
    first refusal raises, and the caller's rollback keeps nothing of the earlier steps."""
    outcomes = []
    for _step in onward(application, action, actor):
        outcome = fire(application, action, actor, version=version, reason=reason)
        outcomes.append(outcome)
        version = outcome.version
    if not outcomes:  # nothing in this actor's hands: the plain refusal `fire` gives
        outcomes.append(fire(application, action, actor, version=version, reason=reason))
    return outcomes
