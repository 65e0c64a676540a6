"""Applications (hồ sơ): list, read, create, score, evidence, actions, batches and history.

Reads go through workflow.queries / operations.get_visible (an application outside one's units is "not found",
never "forbidden", so its existence does not leak); writes through workflow.engine / workflow.operations, which
judge scope, role, state and guards. The API validates only the shape of the input, then commits once."""
from __future__ import annotations

import os
from typing import Any

from flask import current_app, request, send_file, url_for
from sqlalchemy import select

from web import uploads
from workflow import citizens, engine, operations, queries, subjects
from workflow import summary as state_counts
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.declared import MAX_BATCH, ActionInput, BatchInput, NominationInput, ScoreSheetInput, person_missing
from workflow.errors import GuardRefused, NotAuthorized
from workflow.inputs import is_ascii_digits
from workflow.models import Application, Collective, Evidence, TitleType, Unit
from workflow.rubrics import spec
from workflow.vocabulary import ACTIONS, STATES

from ..views.report_lists import capped_list_count
from . import bp
from .auth import current_actor
from .campaigns import visible_campaign
from .errors import ApiError, FieldErrors, upload_limit
from .openapi import declare
from .util import ID, MAX_PER_PAGE, commit, int_field, iso, json_body, paged, query_int, string_field

__all__ = ["MAX_BATCH", "detail", "summary"]


# ---------------------------------------------------------------- serialisation

def _unit(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"id": unit.id, "code": unit.code, "name": unit.name, "level": unit.level}


def summary(app: Application) -> dict[str, Any]:
    """What a list shows: enough to pick a file and act on it (version for optimistic locking)."""
    return {"id": app.id, "campaign_id": app.campaign_id, "title": app.campaign.title_code, "unit": _unit(app.unit),
            "state": app.state, "version": app.version, "full_name": app.full_name, "citizen_id": app.citizen_id,
            "score_total": app.score_total, "state_changed_at": iso(app.state_changed_at)}


def evidence_dict(item: Evidence) -> dict[str, Any]:
    return {"id": item.id, "criterion": item.criterion_code, "original_name": item.original_name, "size": item.size,
            "media_type": item.media_type, "sha256": item.sha256, "uploaded_at": iso(item.uploaded_at),
            "download_url": url_for("api.download_evidence", app_id=item.application_id, evidence_id=item.id)}


def detail(app: Application) -> dict[str, Any]:
    """The full file as the caller may see it, with what the caller may do now (`allowed_actions`)."""
    rubric = spec(app.rubric_id)
    campaign = app.campaign
    return {
        "id": app.id,
        "campaign": {"id": campaign.id, "title": campaign.title_code, "year": campaign.year, "name": campaign.name},
        "rubric": {"id": rubric.id, "version": rubric.version, "kind": rubric.kind},
        "unit": _unit(app.unit), "state": app.state, "version": app.version,
        "full_name": app.full_name, "date_of_birth": iso(app.date_of_birth), "citizen_id": app.citizen_id,
        "subject_group": app.subject_group, "residence_unit": _unit(app.residence_unit),
        "target_level": app.target_level,
        "score": {"total": app.score_total, "lowest": app.score_min, "scored": app.scored_count,
                  "required": len(rubric.scored_for(app.target_level)),
                  "passes": rubric.passes(app.score_total, app.score_min, app.scored_count, level=app.target_level,
                                          disadvantaged=app.unit.area_class == "disadvantaged")},
        "scores": [{"criterion": s.criterion_code, "value": s.value, "reason": s.reason,
                    "scored_by_id": s.scored_by_id, "scored_at": iso(s.scored_at)} for s in app.scores],
        "evidence": [evidence_dict(e) for e in app.evidence],
        "closed_reason": app.closed_reason, "recognised_at": iso(app.recognised_at),
        "created_at": iso(app.created_at), "state_changed_at": iso(app.state_changed_at),
        "allowed_actions": engine.allowed_actions(app, current_actor()),
        "flags": citizens.flags(app, current_actor()),  # citizens across years and places (workflow/citizens.py)
        **_subject(app, rubric),  # issue 14: who the file is about, its definition version, counted criteria
        **_papers(app),  # issue 12: its decision, last day in force, the recognition it renews
    }


def _subject(app: Application, rubric) -> dict[str, Any]:
    from workflow import counting, definitions, subjects

    band = rubric.band(app.score_total) if rubric.bands else None
    return {
        "subject": {"kind": subjects.kind_of(app.campaign.title_code), "key": app.subject_key,
                    "collective": app.collective and {"id": app.collective.id, "kind": app.collective.kind,
                                                      "name": app.collective.name},
                    "village": _unit(app.subject_unit) if app.subject_unit_id else None},
        "definition_version": definitions.for_application(app).version,
        "band": band and {"code": band.code, "name": band.name_vi, "name_en": band.name_en},
        "counted": [{"criterion": f.criterion, "counts": f.counts, "members_kind": f.members_kind,
                     "holders": f.holders, "members": f.members, "percent": float(f.percent),
                     "required_percent": float(f.required), "met": f.met,
                     "self_assessed": next((s.value for s in app.scores if s.criterion_code == f.criterion), None)}
                    for f in counting.for_application(app).values()],
    }


def _papers(app: Application) -> dict[str, Any]:
    """Issue 12 §3-4: the decision that recognised the file, its last day in force (workflow.validity) and the
    recognition it renews (workflow.renewals), for the caller's eyes."""
    from workflow import renewals, validity
    from workflow.models import Decision

    until = (validity.valid_until(app.campaign.title_code, validity.vn_day(app.recognised_at))
             if app.recognised_at is not None and app.state in ("recognised", "revoked") else None)
    decision = db.session.get(Decision, app.decision_id) if app.decision_id is not None else None
    renewed = renewals.renews(app)
    return {"valid_until": iso(until),
            "decision": decision and {"id": decision.id, "number": decision.number,
                                      "signed_on": iso(decision.signed_on)},
            "renews_id": renewed.id if renewed is not None and current_actor().covers(renewed.unit.path) else None}


# ---------------------------------------------------------------- reads

@bp.get("/applications")
def list_applications():
    """Applications within the caller's units, newest first; filters state, unit (with its subtree), campaign, q."""
    errors = FieldErrors()
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        errors.add("state", "choice", choices=", ".join(STATES))
    unit_id = query_int("unit", errors)
    campaign_id = query_int("campaign", errors)
    q = string_field(request.args, "q", errors, required=False, max_len=100) or None
    before, after = query_int("before", errors), query_int("after", errors)
    number = query_int("page", errors, default=1, maximum=1_000_000)  # judged with the rest: every wrong field
    per_page = query_int("per_page", errors, default=20, maximum=MAX_PER_PAGE)
    me = current_actor()
    filters = {"state": state, "unit_id": unit_id, "campaign_id": campaign_id}
    stmt = queries.applications(me, q=q, **filters)
    listed = _report_list(errors)  # ?list=: the files behind a report figure (issue 11), as the queue shows them
    errors.raise_if_any()
    # The total: the summary's (exact, no COUNT over millions); a search's is the planner's estimate on
    # PostgreSQL, else counted up to a cap; a report's list is counted exactly up to queries.SEARCH_CAP.
    capped = estimated = False
    if listed is not None:
        stmt = stmt.where(listed)
        total, capped = capped_list_count(stmt)
    elif not q:
        total = state_counts.count(me, **filters)
    elif (total := queries.estimate(stmt)) is not None:
        estimated = True
    else:
        total, capped = queries.capped_count(stmt, queries.SEARCH_CAP)
    flags = {"capped": capped, "estimated": estimated}
    if before is None and after is None and number > 1:  # OFFSET, for old clients
        result = paged(stmt, summary, errors, total=total)
        more = result["page"] * result["per_page"] < total and result["items"]
        return result | {"older": result["items"][-1]["id"] if more else None, "newer": None} | flags
    page = queries.keyset_page(stmt, Application.id, before=before, after=after, per_page=per_page, total=total)
    first = before is None and after is None
    return {"items": [summary(a) for a in page.items], "page": 1 if first else None, "per_page": per_page,
            "total": total, "pages": -(-total // per_page) if first else None, "older": page.older,
            "newer": page.newer} | flags


def _report_list(errors: FieldErrors):
    """The WHERE clause of ?list= with its own parameters (workflow.reports.list_clause), or None without one; an
    unknown name or a bad parameter is a field error like any other."""
    from workflow.reports import LISTS, list_clause

    name = request.args.get("list")
    if not name:
        return None
    try:
        clause = list_clause(name, request.args.to_dict())
    except InvalidInput as exc:
        errors.absorb(exc)
        return None
    if clause is None:
        errors.add("list", "choice", choices=", ".join(sorted(LISTS)))
    return clause


@bp.get(f"/applications/<{ID}:app_id>")
def get_application(app_id: int):
    return detail(operations.get_visible(app_id, current_actor()))


@bp.get(f"/applications/<{ID}:app_id>/history")
def application_history(app_id: int):
    """The audit events of one file, oldest first: who did what, when, from which state to which, and why."""
    operations.get_visible(app_id, current_actor())
    events = db.session.scalars(queries.history(app_id)).all()
    return {"items": [{"id": e.id, "action": e.action, "from": e.from_state, "to": e.to_state,
                       "actor_id": e.actor_id, "actor": e.actor_name, "reason": e.reason, "payload": e.payload,
                       "created_at": iso(e.created_at)} for e in events]}


# ---------------------------------------------------------------- create

@bp.post("/applications")
@declare(json=NominationInput, operation_id="createApplication")
def create_application():
    """Open a nomination at the first stage of a campaign's workflow (CDHT: a person; XHT: a commune)."""
    body = json_body()
    errors = FieldErrors()
    actor = current_actor()
    nomination, refused = _declared(NominationInput, body, errors)
    campaign_id = body.get("campaign") if "campaign" not in refused else None
    unit_id = body.get("unit") if "unit" not in refused else None
    residence_id = body.get("residence_unit") if "residence_unit" not in refused else None
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit_id and unit is None:
        errors.add("unit", "unknown_unit")
    if unit is not None and not actor.covers(unit.path):  # the caller named the unit: say it is not theirs
        raise NotAuthorized("outside_scope")
    campaign = visible_campaign(campaign_id, actor) if campaign_id else None
    if campaign_id and campaign is None:
        errors.add("campaign", "unknown_campaign")
    if unit is not None and campaign is not None and not unit.path.startswith(f"/{campaign.province_id}/"):
        errors.add("unit", "unit_outside_campaign")
    residence = db.session.get(Unit, residence_id) if residence_id else None
    if residence is not None and unit is not None and not operations.residence_allowed(unit, residence, actor):
        residence = None  # another province's (or commune's) unit is answered exactly like one that does not exist
    if residence_id and residence is None:
        errors.add("residence_unit", "unknown_unit")
    person = campaign is None or db.session.get(TitleType, campaign.title_code).subject_kind == "person"
    if person:
        errors.absorb(InvalidInput(person_missing(body, already=refused)))
    collective = db.session.get(Collective, nomination.collective) if nomination and nomination.collective else None
    subject_unit = db.session.get(Unit, nomination.subject_unit) if nomination and nomination.subject_unit else None
    errors.raise_if_any()
    if campaign is not None and nomination is not None and (
            (nomination.collective and collective is None) or (nomination.subject_unit and subject_unit is None)):
        kind = subjects.kind_of(campaign.title_code)  # an id that names nothing: refused as one outside the commune
        if kind in subjects.COLLECTIVE_KINDS or kind == "village":
            raise GuardRefused("wrong_subject", **subjects.words(kind))
        raise GuardRefused("invalid_field", field="collective" if nomination.collective else "subject_unit",
                           detail="")
    if nomination is None or campaign is None or unit is None:  # both required: errors above already said so
        raise ApiError(422, "invalid_input", fields={})
    app = operations.create_application(
        campaign, unit, actor, full_name=nomination.full_name if person else None,
        date_of_birth=nomination.date_of_birth if person else None,
        citizen_id=nomination.citizen_id if person else None, subject_group=nomination.subject_group,
        residence_unit=residence, target_level=nomination.target_level, collective=collective,
        subject_unit=subject_unit)
    commit()
    app = operations.get_visible(app.id, actor)
    return detail(app), 201, {"Location": url_for("api.get_application", app_id=app.id)}


def _declared(model, body: dict[str, Any], errors: FieldErrors):
    """The body judged by its declared input (workflow/declared.py): the model, or None and the refused fields
    (their messages joined to `errors`, so a client learns about every bad field at once)."""
    try:
        return parse(model, body), set()
    except InvalidInput as exc:
        errors.absorb(exc)
        return None, set(exc.fields)


# ---------------------------------------------------------------- scores

@bp.put(f"/applications/<{ID}:app_id>/scores")
@declare(json=ScoreSheetInput, operation_id="putScores")
def put_scores(app_id: int):
    """Record points per criterion: {"scores": {"1.1": 9, ...}, "reason": "...", "version": n}. Only the codes
    given change; at appraisal stages an appraiser's adjustment needs a reason."""
    errors = FieldErrors()
    sheet, _refused = _declared(ScoreSheetInput, json_body(), errors)
    actor = current_actor()
    app = operations.get_visible(app_id, actor)  # not found beats a malformed body: existence never leaks
    errors.raise_if_any()
    operations.set_scores(app, actor, sheet.scores, reason=sheet.reason, version=sheet.version)
    commit()
    return detail(operations.get_visible(app_id, actor))


# ---------------------------------------------------------------- evidence

def _upload_dir() -> str:
    return current_app.config["UPLOAD_DIR"]


@bp.post(f"/applications/<{ID}:app_id>/evidence")
def upload_evidence(app_id: int):
    """Multipart: `criterion` (a rubric code), `file`, optional `version`. The type is judged from the content;
    the bytes are written under their sha256 only after the engine accepted the record."""
    actor = current_actor()
    app = operations.get_visible(app_id, actor)
    errors = FieldErrors()
    criterion = string_field(request.form, "criterion", errors, max_len=32)  # reading the form may raise 413
    raw_version = request.form.get("version") or None
    if raw_version is not None and not is_ascii_digits(raw_version):
        errors.add("version", "integer")
        raw_version = None
    version = int_field({"version": int(raw_version[:12])}, "version", errors) if raw_version else None
    files = request.files.getlist("file")
    if len(files) != 1:
        errors.add("file", "file")
    errors.raise_if_any()
    upload = files[0]
    limit = upload_limit()
    checked = uploads.check(upload.filename, upload.stream.read(limit + 1), limit)
    item = operations.add_evidence(app, actor, criterion_code=criterion, original_name=checked.original_name,
                                   size=checked.size, sha256=checked.sha256, media_type=checked.media_type,
                                   version=version)
    uploads.store(_upload_dir(), checked)
    commit()
    return {"evidence": evidence_dict(item), "application": {"id": app.id, "version": app.version}}, 201


@bp.get(f"/applications/<{ID}:app_id>/evidence/<{ID}:evidence_id>")
def download_evidence(app_id: int, evidence_id: int):
    """The stored file as an attachment under its original (Vietnamese) name; never rendered inline."""
    operations.get_visible(app_id, current_actor())
    item = db.session.scalar(select(Evidence).where(Evidence.id == evidence_id, Evidence.application_id == app_id))
    if item is not None and item.removed_at is not None and "auditor" not in current_actor().roles():
        item = None  # evidence in bulk: a removed file is gone from the dossier except for auditors
    path = uploads.path_of(_upload_dir(), item.sha256) if item is not None else None
    if path is None or not os.path.isfile(path):
        raise ApiError(404, "evidence_not_found")
    resp = send_file(path, mimetype=item.media_type, as_attachment=True,
                     download_name=uploads.named_as(item.original_name, item.media_type), max_age=0,
                     conditional=False, etag=False)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ---------------------------------------------------------------- actions

def _action(action: str) -> str:
    if action not in ACTIONS:
        raise ApiError(404, "unknown_action", action=action[:40])
    return action


@bp.post(f"/applications/<{ID}:app_id>/actions/<action>")
@declare(json=ActionInput, operation_id="act")
def act(app_id: int, action: str):
    """One workflow action with the version the caller saw: {"version": n, "reason": "..."}."""
    action = _action(action)
    errors = FieldErrors()
    taken, _refused = _declared(ActionInput, json_body(), errors)
    actor = current_actor()
    operations.get_visible(app_id, actor)  # not found beats a malformed body: existence never leaks
    errors.raise_if_any()
    outcome = engine.fire(app_id, action, actor, version=taken.version, reason=taken.reason)
    commit()
    result = outcome.as_dict()
    result["event_id"] = outcome.event_id
    result["allowed_actions"] = engine.allowed_actions(operations.get_visible(app_id, actor), actor)
    return result


@bp.post("/batches/<action>")
@declare(json=BatchInput, operation_id="batch")
def batch(action: str):
    """One action over many applications: {"ids": [...], "reason": "..."}; a result per id, in the order given.
    Items refused (not found, wrong role, guard) are reported and do not stop the others."""
    action = _action(action)
    errors = FieldErrors()
    batch_input, _refused = _declared(BatchInput, json_body(), errors)
    errors.raise_if_any()
    outcomes = engine.fire_batch(batch_input.ids, action, current_actor(), reason=batch_input.reason)
    commit()
    from .errors import locale

    results = [o.as_dict(locale()) for o in outcomes]
    succeeded = sum(1 for o in outcomes if o.ok)
    return {"action": action, "succeeded": succeeded, "failed": len(outcomes) - succeeded, "results": results}
