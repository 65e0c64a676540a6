"""Mutations that are not state changes: creating an application, scoring, recording evidence. Like `fire` they
check scope and role through the approval chain, bump the application's version (so optimistic locking covers
them) and write an audit event; the caller commits."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError

from . import clock, deadlines, definitions, subjects, validity
from .authz import Actor, actor_of, province_of
from .chains import chain_for
from .db import db
from .errors import Conflict, GuardRefused, InvalidAction, NotAuthorized, NotFound
from .inputs import canonical_citizen_id, clean_name, text_problem
from .models import Application, AuditEvent, Campaign, Collective, Evidence, Score, Unit
from .rubrics import spec
from .states import appraisal, approval, evidence, scoring
from .text import fold, nfc

SCORE_STATES = evidence.STATES + scoring.STATES
ADJUST_STATES = appraisal.STATES + approval.STATES  # appraisers may adjust a score, with a reason
EVIDENCE_STATES = evidence.STATES + scoring.STATES


def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def _require_stage(application_unit: Unit, title: str, stage: str, actor: Actor, action: str,
                   hidden: bool = True) -> None:
    """`hidden`: outside one's scope an existing application is reported as not found (never leak it); a unit
    named by the caller (creation) is not secret, so that refusal says so."""
    if not actor.covers(application_unit.path):
        raise NotFound("not_found") if hidden else NotAuthorized("outside_scope")
    chain_stage = chain_for(title, province_of(application_unit.path), clock.today()).stages.get(stage)
    if chain_stage is None or not actor.acts_at(chain_stage, application_unit.path):
        raise NotAuthorized("wrong_role", action=action, state=stage)


def _audit(app: Application, actor: Actor, action: str, payload: dict[str, Any], reason: str | None = None,
           *, created: bool = False) -> None:
    """An audit event for a change that keeps the state (from = to); a creation has no state before it."""
    db.session.execute(insert(AuditEvent.__table__), [{
        "application_id": app.id, "actor_id": actor.id, "actor_name": actor.username, "action": action,
        "from_state": None if created else app.state, "to_state": app.state, "reason": reason, "payload": payload,
        "created_at": clock.now()}])


def _applicable(app: Application, code: str) -> None:
    """Only criteria of the application's own level (XHT level 1 or 2) may be scored or evidenced."""
    if code not in {c.code for c in spec(app.rubric_id).criteria_for(app.target_level)}:
        raise GuardRefused("unknown_criterion", criterion=code)


def _check_version(app: Application, version: int | None) -> None:
    if version is not None and version != app.version:
        raise Conflict("conflict", expected=version, actual=app.version)


def _flush_versioned(app: Application) -> None:
    """Flush the ORM change; a concurrent writer makes the version check fail, reported as a conflict."""
    from sqlalchemy.orm.exc import StaleDataError

    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict("conflict", expected=app.version, actual="?") from exc


def create_application(campaign: Campaign, unit: Unit, actor, *, full_name: str | None = None,
                       date_of_birth: date | None = None, citizen_id: str | None = None,
                       subject_group: str | None = None, residence_unit: Unit | None = None,
                       target_level: int = 1, collective: Collective | None = None,
                       subject_unit: Unit | None = None) -> Application:
    """Open a file at the first stage about the title's kind of subject (workflow/subjects.py): a person, unique
    by citizen ID across the whole campaign (every unit); the commune itself; a village of the commune; a
    household, clan or organisation of it. Once per subject and campaign among live files."""
    actor = _actor(actor)
    d = definitions.for_campaign(campaign)
    kind = subjects.kind_of(campaign.title_code)
    person = kind == "person"
    require_can_create(campaign, unit, actor)
    rubric = spec(campaign.rubric_id)
    if residence_unit is not None and not residence_allowed(unit, residence_unit, actor):
        raise GuardRefused("unknown_unit", field="residence_unit")  # as if it did not exist: never echo its name
    if target_level not in rubric.levels:
        raise GuardRefused("invalid_field", field="target_level", detail=str(target_level))
    if person:
        full_name = clean_name(full_name, "full_name")
        if not full_name:
            raise GuardRefused("invalid_field", field="full_name", detail="trống / empty")
        citizen_id = canonical_citizen_id(citizen_id)
        if not isinstance(date_of_birth, date) or not date(1900, 1, 1) <= date_of_birth <= clock.today():
            raise GuardRefused("invalid_field", field="date_of_birth", detail=str(date_of_birth))
        if rubric.frameworks and subject_group not in rubric.frameworks:
            raise GuardRefused("invalid_field", field="subject_group", detail=str(subject_group))
    else:
        subjects.check_subject(kind, unit, collective=collective, subject_unit=subject_unit)
        full_name = (collective.name if collective is not None else subject_unit.name if subject_unit is not None
                     else unit.name)
        citizen_id, date_of_birth, subject_group = None, None, None
    key = subjects.key_of(kind, citizen_id=citizen_id, unit=unit, collective=collective, subject_unit=subject_unit)
    duplicate = (GuardRefused("duplicate_subject", citizen_id=citizen_id) if person else
                 GuardRefused("duplicate_commune") if kind == "commune" else
                 GuardRefused("duplicate_collective", name=full_name))
    validity.require_level(campaign.title_code, target_level, key, clock.today())  # issue 12: XHT level 2
    live = select(Application.id).where(Application.campaign_id == campaign.id, Application.subject_key == key,
                                        Application.state != "withdrawn")
    if db.session.scalar(select(exists(live))):
        raise duplicate
    app = Application(
        campaign=campaign, rubric_id=campaign.rubric_id, unit=unit, state=d.stages[0], subject_key=key,
        full_name=full_name, full_name_folded=fold(full_name), date_of_birth=date_of_birth, citizen_id=citizen_id,
        subject_group=subject_group, residence_unit=residence_unit, target_level=target_level,
        collective_id=collective.id if collective is not None else None,
        subject_unit_id=subject_unit.id if subject_unit is not None else None,
        definition_id=campaign.definition_id or definitions.first_id(campaign.title_code), created_by_id=actor.id,
        created_at=clock.now(), state_changed_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(app)
            db.session.flush()
    except IntegrityError as exc:  # the partial unique index: a concurrent twin won the race
        raise duplicate from exc
    _audit(app, actor, "create", {"subject_key": key, "unit_id": unit.id}, created=True)
    return app


def subject_key(campaign: Campaign, unit: Unit, citizen_id: str | None) -> str:
    """Who a file of a person or commune title is about, as the partial unique index sees it (subjects.key_of)."""
    return subjects.key_of(subjects.kind_of(campaign.title_code), citizen_id=citizen_id, unit=unit)


def live_file(campaign: Campaign, unit: Unit, citizen_id: str | None) -> Application | None:
    """The live file (not withdrawn) a nomination of this person (CDHT: by citizen ID) or this commune (XHT) in
    this campaign would duplicate: a repeated submit of the same form is led to it (issue 13)."""
    try:
        key = subject_key(campaign, unit, citizen_id)
    except (GuardRefused, AttributeError):  # a collective's or village's key needs the subject itself
        return None
    return db.session.scalar(select(Application).where(
        Application.campaign_id == campaign.id, Application.subject_key == key, Application.state != "withdrawn"))


def require_can_create(campaign: Campaign, unit: Unit, actor) -> None:
    """Whether `actor` may open files of `campaign` at `unit` today: scope and role at the first stage, the unit
    in the campaign's province and at the chain's level, nominations still open. One rule for a nomination typed
    by hand and for a spreadsheet import (workflow/imports, checked once per job)."""
    actor = _actor(actor)
    first = definitions.for_campaign(campaign).stages[0]
    _require_stage(unit, campaign.title_code, first, actor, "create", hidden=False)
    if not unit.path.startswith(f"/{campaign.province_id}/"):
        raise GuardRefused("unit_outside_campaign", unit=unit.name)
    deadlines.require_nominations_open(campaign, clock.today())  # after the deadline, or closed: refused
    chain_level = chain_for(campaign.title_code, campaign.province_id, clock.today()).stages[first].level
    if unit.level != chain_level:
        raise GuardRefused("wrong_unit_level", unit=unit.name, level=chain_level)


def residence_scope(unit: Unit) -> str:
    """Where a nominee of `unit` may live: the commune of a branch (its villages are its siblings), or the
    creating unit's own subtree for a commune or above. A path prefix."""
    if unit.level == "branch":
        return unit.path.rsplit("/", 2)[0] + "/"
    return unit.path


def residence_allowed(unit: Unit, residence: Unit, actor) -> bool:
    """A residence unit must lie within the creator's grants or the creating unit's commune: a unit of another
    province (or commune) is refused like an unknown one."""
    return _actor(actor).covers(residence.path) or residence.path.startswith(residence_scope(unit))


def set_scores(app: Application, actor, values: dict[str, int], *, reason: str | None = None,
               version: int | None = None) -> Application:
    """Record scores per criterion. At the scoring stage the applicant side scores; at appraisal and approval the
    acting appraiser may adjust, with a reason. Bounds come from the pinned rubric version."""
    actor = _actor(actor)
    _check_version(app, version)
    title = app.campaign.title_code
    if app.state in ADJUST_STATES and not (reason or "").strip():
        raise GuardRefused("reason_required")
    if app.state not in SCORE_STATES + ADJUST_STATES:
        if not actor.covers(app.unit.path):
            raise NotFound("not_found")
        raise InvalidAction("invalid_action", action="score", state=app.state)
    _require_stage(app.unit, title, app.state, actor, "score")
    rubric = spec(app.rubric_id)
    for code, value in values.items():
        rubric.check_value(code, value)
        _applicable(app, code)
    existing = {s.criterion_code: s for s in app.scores}
    changes, now = {}, clock.now()
    for code, value in values.items():
        old = existing.get(code)
        if old is None:
            db.session.add(Score(application=app, criterion_code=code, value=value, scored_by_id=actor.id,
                                 scored_at=now, reason=reason))
            changes[code] = [None, value]
        elif old.value != value:
            changes[code] = [old.value, value]
            old.value, old.scored_by_id, old.scored_at, old.reason = value, actor.id, now, reason
    current = {s.criterion_code: s.value for s in app.scores} | values
    app.score_total, app.score_min, app.scored_count = rubric.summarise(current, app.target_level)
    _touch(app)
    _flush_versioned(app)
    _audit(app, actor, "score", {"changes": changes, "total": app.score_total}, reason)
    return app


def _touch(app: Application) -> None:
    """Force an UPDATE of the application row so version_id_col bumps the version even if no column changed."""
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(app, "target_level")


def add_evidence(app: Application, actor, *, criterion_code: str, original_name: str, size: int, sha256: str,
                 media_type: str, version: int | None = None) -> Evidence:
    """Record a stored evidence file against one criterion (the web layer stores the bytes under sha256)."""
    actor = _actor(actor)
    _check_version(app, version)
    if app.state not in EVIDENCE_STATES:
        if not actor.covers(app.unit.path):
            raise NotFound("not_found")
        raise InvalidAction("invalid_action", action="evidence", state=app.state)
    _require_stage(app.unit, app.campaign.title_code, definitions.for_application(app).stages[0], actor,
                   "evidence")
    _applicable(app, criterion_code)
    if not original_name or text_problem(original_name):
        raise GuardRefused("invalid_name", field="original_name")
    item = Evidence(application=app, criterion_code=criterion_code, original_name=nfc(original_name), size=size,
                    sha256=sha256, media_type=media_type, uploaded_by_id=actor.id, uploaded_at=clock.now())
    db.session.add(item)
    _touch(app)
    _flush_versioned(app)
    _audit(app, actor, "evidence", {"criterion": criterion_code, "name": item.original_name, "sha256": sha256})
    return item


def get_visible(application_id: int, actor) -> Application:
    """Load an application the actor may see; NotFound otherwise (never reveal that it exists)."""
    actor = _actor(actor)
    app = db.session.get(Application, application_id)
    if app is None or not actor.covers(app.unit.path):
        raise NotFound("not_found")
    return app


def create_decision(campaign: Campaign, unit: Unit, actor, number: str, signed_on: date, signer: str,
                    application_ids: list[int]) -> tuple[Any, list[Any]]:
    """Issue a recognition decision (quyết định công nhận) at the final stage and group these applications under
    it: workflow.decisions.create_decision (files awaiting final approval recognised through the engine's batch
    approve, the decision id in each audit event; files already recognised without a decision attached with an
    audit event of their own). Returns the decision and an outcome per id; refuses when nothing would be in it.
    The caller commits. A decision over every file matching a filter, too many for one request, is a job:
    workflow.decisions.start_job."""
    from . import decisions

    return decisions.create_decision(campaign, unit, actor, number, signed_on, signer, application_ids)
