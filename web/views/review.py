"""Work queue, application detail, actions (approve / return / reject / submit / withdraw / revoke) and batches
(recognition decisions: web/views/decisions.py, on this blueprint). Every state change goes through
workflow.engine or workflow.operations; the view commits once after success and rolls back on a refusal."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import and_, false, or_, select

from workflow import clock, deadlines, engine, operations, queries, summary
from workflow.admin.inputs import parse
from workflow.db import db
from workflow.declared import ActionInput
from workflow.definitions import definition
from workflow.errors import WorkflowError
from workflow.models import Application, Unit
from workflow.rubrics import spec
from workflow.vocabulary import ACTIONS, STATES

from ..i18n import STATE_LABELS, locale
from .common import ID, actor, int_arg, int_list, keyset, version_arg
from .home import acting_states, campaigns_of
from .report_lists import capped_list_count, report_list

bp = Blueprint("review", __name__)
BATCH_ACTIONS = ("approve", "submit", "return", "reject")


def waiting_pairs() -> list[tuple[int, list[str]]]:
    """(campaign, states) pairs where the current user acts: the default filter of the work queue."""
    pairs = []
    for campaign in campaigns_of():
        states = {s for grant in actor().grants for s in acting_states(grant, campaign)}
        if states:
            pairs.append((campaign.id, sorted(states)))
    return pairs


def waiting_clause(pairs: list[tuple[int, list[str]]]):
    clauses = [and_(Application.campaign_id == c, Application.state.in_(s)) for c, s in pairs]
    return or_(*clauses) if clauses else false()


def _visible_units(most: int = 200) -> list[Unit]:
    """The queue's unit filter: every unit in scope for a commune (its branches), the districts and communes for a
    province (a thousand branches make a list nobody can use; a commune's page lists its branches)."""
    from workflow.authz import visible_units_clause

    stmt = select(Unit).where(visible_units_clause(actor(), Unit.path), Unit.level != "province").order_by(Unit.path)
    units = list(db.session.scalars(stmt.limit(most + 1)))
    if len(units) > most:
        units = list(db.session.scalars(stmt.where(Unit.level != "branch").limit(most * 5)))
    return units


@bp.get("/applications")
@login_required
def queue():
    me = actor()
    listed = report_list(request.args)  # the list behind a report figure (issue 11), or None
    # A report's list shows its files in every state unless a state is chosen ("waiting for me" included).
    state = request.args.get("state", "") if listed is None else (request.args.get("state") or "all")
    q = (request.args.get("q") or "").strip()
    filters = {"state": state if state in STATES else None, "unit_id": int_arg("unit"),
               "campaign_id": int_arg("campaign")}
    stmt = queries.applications(me, q=q, **filters)
    pairs = waiting_pairs() if state == "" else None
    if pairs is not None:
        stmt = stmt.where(waiting_clause(pairs))
    # The count from the summary (exact, no scan); a search is counted up to a cap and said so. A report's list
    # is counted exactly up to queries.SEARCH_CAP (the figure it is behind, from the summaries, says the rest:
    # counting a province's million files one by one would take seconds).
    capped = False
    if listed is None:
        total = None if q else summary.count(me, pairs=pairs, **filters)
    else:
        stmt = stmt.where(listed.clause)
        total, capped = capped_list_count(stmt)
    page = keyset(stmt, Application.id, total, per_page=25, max_per_page=200)
    page.capped = page.capped or capped
    return render_template("queue.html", page=page, state=state, states=STATES, units=_visible_units(),
                           campaigns=campaigns_of(), batch_actions=BATCH_ACTIONS,
                           lateness=deadlines.lateness_days, today=clock.today(), listed=listed)


def render_detail(app: Application, error: str | None = None, status: int = 200):
    """The detail page; also re-rendered with a message when an action on it is refused."""
    rubric = spec(app.rubric_id)
    d = definition(app.campaign.title_code)
    allowed = engine.allowed_actions(app, actor())
    steps = {a: d.step(app.state, a) for a in allowed}
    history = list(db.session.scalars(queries.history(app.id)))
    last_return = next((e for e in reversed(history) if e.action == "return"), None)
    evidence_by = {}
    for item in app.evidence:
        evidence_by.setdefault(item.criterion_code, []).append(item)
    scores = {s.criterion_code: s for s in app.scores}
    can_upload = app.state in operations.EVIDENCE_STATES and _acts_at(app, d.stages[0])
    can_score = ((app.state in operations.SCORE_STATES or app.state in operations.ADJUST_STATES)
                 and _acts_at(app, app.state))
    passes = rubric.passes(app.score_total, app.score_min, app.scored_count, level=app.target_level,
                           disadvantaged=app.unit.area_class == "disadvantaged")
    return render_template("detail.html", app=app, rubric=rubric, criteria=rubric.criteria_for(app.target_level),
                           allowed=allowed, steps=steps, history=history, evidence_by=evidence_by, scores=scores,
                           can_upload=can_upload, can_score=can_score, passes=passes, error=error,
                           last_return=last_return, late=deadlines.lateness_days(app.campaign, app.state,
                                                                                 clock.today()),
                           stage_deadline=deadlines.stage_deadline(app.campaign, app.state)), status


def _acts_at(app: Application, stage: str) -> bool:
    """Whether the current user's role acts at `stage` for this application (as the chain names it)."""
    from workflow import clock
    from workflow.chains import chain_for

    try:
        chain = chain_for(app.campaign.title_code, app.campaign.province_id, clock.today())
    except WorkflowError:
        return False
    st = chain.stages.get(stage)
    return st is not None and actor().acts_at(st, app.unit.path)


@bp.get(f"/applications/<{ID}:application_id>")
@login_required
def detail(application_id: int):
    return render_detail(operations.get_visible(application_id, actor()))


@bp.post(f"/applications/<{ID}:application_id>/actions/<action>")
@login_required
def act(application_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    app = operations.get_visible(application_id, actor())
    reason = (request.form.get("reason") or "").strip() or None
    version = version_arg()
    try:
        if version is not None:  # the same declared input as POST /api/v1/applications/<id>/actions/<action>
            taken = parse(ActionInput, {"version": version, "reason": reason})
            version, reason = taken.version, taken.reason
        outcome = engine.fire(app, action, actor(), version=version, reason=reason)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return render_detail(operations.get_visible(application_id, actor()), error=exc.message(locale()),
                             status=exc.status)
    db.session.commit()
    flash(_("Done: «%(name)s» is now %(state)s.", name=app.full_name, state=STATE_LABELS[outcome.to_state]),
          "success")
    return redirect(url_for("review.detail", application_id=application_id))


@bp.post("/applications/batch")
@login_required
def batch():
    action = request.form.get("action", "")
    ids = int_list("ids")
    if action not in BATCH_ACTIONS:
        abort(400)
    if not ids:
        flash(_("Select at least one application."), "error")
        return redirect(request.referrer or url_for("review.queue"))
    outcomes = engine.fire_batch(ids, action, actor(), reason=(request.form.get("reason") or "").strip() or None)
    db.session.commit()
    names = dict(db.session.execute(select(Application.id, Application.full_name)
                                    .where(Application.id.in_(ids))).all())
    me = actor()
    visible = {a.id for a in db.session.scalars(queries.applications(me).where(Application.id.in_(ids)))}
    rows = [(o, names.get(o.id) if o.id in visible else None) for o in outcomes]
    return render_template("batch_result.html", action=action, rows=rows,
                           ok=sum(1 for o in outcomes if o.ok), failed=sum(1 for o in outcomes if not o.ok))


# Recognition decisions: web/views/decisions.py registers its pages on this blueprint (review.new_decision,
# review.decision, review.decision_csv, ...), so every link keeps its endpoint name.
from . import decisions as _decisions  # noqa: E402, F401
from . import validity as _validity  # noqa: E402, F401  (issue 12: valid until, expiry lists, renewal)
