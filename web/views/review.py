"""Work queue, application detail, actions (approve / return / reject / submit / withdraw / revoke) and batches
(recognition decisions: web/views/decisions.py, on this blueprint). Every state change goes through
workflow.engine or workflow.operations; the view commits once after success and rolls back on a refusal."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import Select, and_, false, or_, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from workflow import clock, counting, deadlines, engine, mass_actions, operations, queries, queue_marks, summary
from workflow.admin.inputs import parse
from workflow.db import db
from workflow.declared import ActionInput
from workflow.definitions import for_application
from workflow.errors import WorkflowError
from workflow.inputs import parse_int
from workflow.models import Application, TitleType, Unit
from workflow.rubrics import spec
from workflow.states import Step
from workflow.vocabulary import ACTIONS, STATES

from ..i18n import ACTION_LABELS, STATE_LABELS, step_label
from ..wording import explain
from .common import ID, actor, int_list, keyset, version_arg
from .home import acting_states, campaigns_of
from .report_lists import capped_list_count, report_list

bp = Blueprint("review", __name__)
BATCH_ACTIONS = ("approve", "submit", "return", "reject")
# Steps that cannot be taken back by the one who takes them (issue 13): the page asks first (a <dialog>, or without
# scripts a confirmation page) and the server acts only on a post that says confirm=yes. Batches always confirm.
CONFIRMED_ACTIONS = ("approve", "reject", "withdraw", "revoke")
BATCH_SHOWN = 200  # a batch's confirmation lists at most a queue page's worth of files (its count is of all)


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


@dataclass
class QueueFilter:
    """The work queue's filter read from a query string: the statement (newest first), and what the page shows."""

    stmt: Select
    state: str
    q: str
    filters: dict[str, Any]
    pairs: list[tuple[int, list[str]]] | None
    listed: Any  # report_lists.ReportList or None


def queue_filter(args: Mapping[str, str]) -> QueueFilter:
    """The queue's own filter, also read again from the query string a file was opened from (its "next file")."""
    listed = report_list(args)  # the list behind a report figure (issue 11), or None
    # A report's list shows its files in every state unless a state is chosen ("waiting for me" included).
    state = args.get("state", "") if listed is None else (args.get("state") or "all")
    q = (args.get("q") or "").strip()
    filters = {"state": state if state in STATES else None, "unit_id": parse_int(args.get("unit", "")),
               "campaign_id": parse_int(args.get("campaign", ""))}
    stmt = queries.applications(actor(), q=q, **filters)
    pairs = waiting_pairs() if state == "" else None
    if pairs == [] and listed is None:  # auditors and admins act at no stage: their default is every file in scope
        state, pairs = "all", None
    if pairs is not None:
        stmt = stmt.where(waiting_clause(pairs))
    if listed is not None:
        stmt = stmt.where(listed.clause)
    return QueueFilter(stmt, state, q, filters, pairs, listed)


def next_waiting(current_id: int, came_from: str | None) -> tuple[Application | None, str | None]:
    """After acting on a file opened from the queue: the next file of the same filter in the queue's order (older
    than this one, else from the top again), and the queue's address with that filter. (None, None) without a
    queue to go back to; a malformed filter is no queue."""
    if not came_from or len(came_from) > 2000:
        return None, None
    args = MultiDict(parse_qsl(came_from, keep_blank_values=True))
    try:
        stmt = queue_filter(args).stmt
    except HTTPException:
        return None, None
    back = url_for("review.queue", **{k: args.getlist(k) for k in args if args.get(k) != ""})
    after = db.session.scalars(stmt.where(Application.id < current_id).limit(1)).first()
    nxt = after or db.session.scalars(stmt.where(Application.id != current_id).limit(1)).first()
    return nxt, back


@bp.get("/applications")
@login_required
def queue():
    me = actor()
    f = queue_filter(request.args)
    listed, state, q, filters, pairs, stmt = f.listed, f.state, f.q, f.filters, f.pairs, f.stmt
    # The count from the summary (exact, no scan); a search is counted up to a cap and said so. A report's list
    # is counted exactly up to queries.SEARCH_CAP (the figure it is behind, from the summaries, says the rest:
    # counting a province's million files one by one would take seconds).
    capped = False
    if listed is None:
        total = None if q else summary.count(me, pairs=pairs, **filters)
    else:
        total, capped = capped_list_count(stmt)
    page = keyset(stmt, Application.id, total, per_page=25, max_per_page=200)
    page.capped = page.capped or capped
    items = list(page.items)
    codes = {a.campaign.title_code for a in items}
    titles = {t.code: t for t in db.session.scalars(select(TitleType).where(TitleType.code.in_(codes)))} \
        if codes else {}
    shown = mass_actions.QueueFilter(state=state if state in ("", "all", *STATES) else "",
                                     campaign=filters["campaign_id"])
    return render_template("queue.html", page=page, state=state, states=STATES, units=_visible_units(),
                           campaigns=campaigns_of(), batch_actions=_batch_choices(items),
                           mass_choices=mass_actions.offered(me, shown), marks=queue_marks.marks(items),
                           titles=titles, lateness=deadlines.lateness_days, today=clock.today(), listed=listed)


def _batch_choices(items: list[Application]) -> list[tuple[str, str]]:
    """The batch actions the user may take on at least one file of the page, from the engine's permissions for
    each row's title, state and unit (issue 13: a branch officer is never offered approve or reject); each named
    for the step it takes when every such file takes the same one."""
    me = actor()
    steps: dict[str, dict[tuple[str, str], Step]] = {}
    seen: set[tuple] = set()
    for a in items:
        case = (a.campaign_id, a.state, a.unit_id, a.definition_id)  # rows alike in these are judged alike
        if case in seen:
            continue
        seen.add(case)
        d = for_application(a)
        for action in engine.allowed_actions(a, me):
            if action in BATCH_ACTIONS:
                step = d.step(a.state, action)
                steps.setdefault(action, {})[(step.source, step.dest)] = step
    return [(action, step_label(next(iter(steps[action].values()))) if len(steps[action]) == 1
             else str(ACTION_LABELS[action])) for action in BATCH_ACTIONS if action in steps]


def render_detail(app: Application, error: str | None = None, status: int = 200):
    """The detail page; also re-rendered with a message when an action on it is refused."""
    rubric = spec(app.rubric_id)
    d = for_application(app)
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
    figures = counting.for_application(app)  # issue 14: counted criteria, as the guard would judge them today
    passes = passes and all(f.met for f in figures.values())
    return render_template("detail.html", app=app, rubric=rubric, criteria=rubric.criteria_for(app.target_level),
                           figures=figures, band=rubric.band(app.score_total) if rubric.bands else None,
                           definition_version=d.version,
                           allowed=allowed, steps=steps, history=history, evidence_by=evidence_by, scores=scores,
                           can_upload=can_upload, can_score=can_score, passes=passes, error=error,
                           last_return=last_return, late=deadlines.lateness_days(app.campaign, app.state,
                                                                                 clock.today()),
                           stage_deadline=deadlines.stage_deadline(app.campaign, app.state),
                           **_queue_nav(app), **_safe_actions(app, steps, passes)), status


def _safe_actions(app: Application, steps: dict[str, Step], passes: bool) -> dict[str, Any]:
    """Issue 13: each action's button named for its step, the confirmation asked before the irreversible ones,
    and the branch's one-click path from a complete, scored file to the commune (engine.onward: every stage kept,
    each with its audit event)."""
    me = actor()
    through = None
    if "submit" in steps and passes:
        path = engine.onward(app, "submit", me)
        through = step_label(path[-1]) if len(path) > 1 else None
    return {"labels": {a: step_label(st) for a, st in steps.items()}, "through": through,
            "confirms": {a: confirm_text(app, st) for a, st in steps.items() if a in CONFIRMED_ACTIONS}}


def confirm_text(app: Application, step: Step) -> str:
    """What an irreversible step will do, said before it is taken (the dialog and the confirmation page)."""
    return _("«%(action)s»: the file of %(name)s (1 file) will move to «%(state)s». You cannot undo this.",
             action=step_label(step), name=app.full_name, state=STATE_LABELS.get(step.dest, step.dest))


def _confirm_action(app: Application, step: Step, version: int | None, reason: str | None):
    """Without scripts (or with a form posted without confirm=yes) the step is not taken: this page says what
    will happen and posts it again with confirm=yes."""
    return render_template("action_confirm.html", app=app, step=step, text=confirm_text(app, step),
                           version=version, reason=reason, label=step_label(step),
                           came_from=(request.form.get("from") or "").strip()[:2000] or None)


def _queue_nav(app: Application) -> dict[str, Any]:
    """For a file opened from the queue (?from= its query string, kept by the action forms): the queue's address
    with that filter and the next file waiting in it, so an appraiser goes on without searching again."""
    came_from = (request.values.get("from") or "").strip() or None
    nxt, back = next_waiting(app.id, came_from)
    return {"came_from": came_from if back else None, "queue_back": back, "next_app": nxt}


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
        if action in CONFIRMED_ACTIONS and request.form.get("confirm") != "yes":  # issue 13: asked first
            return _confirm_action(app, engine.check(app, action, actor(), version=version, reason=reason),
                                   version, reason)
        if request.form.get("through") == "1":  # the branch's one click to the commune, stage by stage
            outcome = engine.fire_through(app, action, actor(), version=version, reason=reason)[-1]
        else:
            outcome = engine.fire(app, action, actor(), version=version, reason=reason)
    except WorkflowError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return render_detail(operations.get_visible(application_id, actor()), error=explain(exc),
                             status=exc.status)
    db.session.commit()
    flash(_("Done: «%(name)s» is now %(state)s.", name=app.full_name, state=STATE_LABELS[outcome.to_state]),
          "success")
    came_from = (request.form.get("from") or "").strip()[:2000] or None  # the queue it was opened from
    return redirect(url_for("review.detail", application_id=application_id, **({"from": came_from} if came_from
                                                                                else {})))


@bp.post("/applications/batch")
@login_required
def batch():
    action = request.form.get("action", "")
    ids = int_list("ids")
    if action not in ("", *BATCH_ACTIONS):
        abort(400)
    if not ids:
        flash(_("Select at least one application."), "error")
        return redirect(request.referrer or url_for("review.queue"))
    reason = (request.form.get("reason") or "").strip() or None
    if not action or request.form.get("confirm") != "yes":  # issue 13: never a default action, always asked
        return _confirm_batch(action, ids, reason)
    outcomes = engine.fire_batch(ids, action, actor(), reason=reason)
    db.session.commit()
    names = dict(db.session.execute(select(Application.id, Application.full_name)
                                    .where(Application.id.in_(ids))).all())
    me = actor()
    visible = {a.id for a in db.session.scalars(queries.applications(me).where(Application.id.in_(ids)))}
    rows = [(o, names.get(o.id) if o.id in visible else None) for o in outcomes]
    return render_template("batch_result.html", action=action, rows=rows,
                           ok=sum(1 for o in outcomes if o.ok), failed=sum(1 for o in outcomes if not o.ok))


def _confirm_batch(action: str, ids: list[int], reason: str | None):
    """The batch's confirmation (issue 13): the action and how many files it is taken on, how many of them are at
    a stage where the user takes it; with no action chosen (the placeholder), the choice first (422)."""
    me = actor()
    chosen = list(db.session.scalars(queries.applications(me).where(Application.id.in_(ids[:BATCH_SHOWN]))))
    choices = _batch_choices(chosen)
    eligible = 0
    if action:
        judged: dict[tuple, bool] = {}
        for a in chosen:
            case = (a.campaign_id, a.state, a.unit_id, a.definition_id)
            if case not in judged:
                judged[case] = action in engine.allowed_actions(a, me)
            eligible += judged[case]
    label = dict(choices).get(action) or (str(ACTION_LABELS[action]) if action else "")
    return render_template("batch_confirm.html", action=action, label=label, ids=list(dict.fromkeys(ids)),
                           chosen=chosen, eligible=eligible, choices=choices, reason=reason or "",
                           needs_reason=action in mass_actions.REASON_ACTIONS,
                           error=None if action else _("Choose an action for the selected applications.")), \
        200 if action else 422


# Recognition decisions: web/views/decisions.py registers its pages on this blueprint (review.new_decision,
# review.decision, review.decision_csv, ...), so every link keeps its endpoint name.
from . import decisions as _decisions  # noqa: E402, F401
from . import validity as _validity  # noqa: E402, F401  (issue 12: valid until, expiry lists, renewal)
