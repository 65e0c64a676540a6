"""Work queue, application detail, actions (approve / return / reject / submit / withdraw / revoke), batches,
and recognition decisions. Every state change goes through workflow.engine or workflow.operations; the view
commits once after success and rolls back on a refusal."""
from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import and_, false, or_, select

from workflow import clock, deadlines, engine, operations, queries
from workflow.admin.inputs import parse
from workflow.db import db
from workflow.declared import ActionInput
from workflow.definitions import definition
from workflow.errors import WorkflowError
from workflow.models import Application, Campaign, Decision, Unit
from workflow.rubrics import spec
from workflow.vocabulary import ACTIONS, STATES

from ..i18n import STATE_LABELS, locale
from .common import ID, actor, csv_rows, csv_safe, int_arg, int_list, paginate, roles_required, version_arg
from .home import acting_states, campaigns_of

bp = Blueprint("review", __name__)
BATCH_ACTIONS = ("approve", "submit", "return", "reject")


def waiting_clause():
    """(campaign, state) pairs where the current user acts: the default filter of the work queue."""
    clauses = []
    for campaign in campaigns_of():
        states = {s for grant in actor().grants for s in acting_states(grant, campaign)}
        if states:
            clauses.append(and_(Application.campaign_id == campaign.id, Application.state.in_(sorted(states))))
    return or_(*clauses) if clauses else false()


def _visible_units() -> list[Unit]:
    me = actor()
    from workflow.authz import visible_units_clause

    return list(db.session.scalars(select(Unit).where(visible_units_clause(me, Unit.path), Unit.level != "province")
                                   .order_by(Unit.path).limit(500)))


@bp.get("/applications")
@login_required
def queue():
    me = actor()
    state = request.args.get("state", "")
    stmt = queries.applications(me, state=state if state in STATES else None, unit_id=int_arg("unit"),
                                campaign_id=int_arg("campaign"), q=request.args.get("q"))
    if state == "":
        stmt = stmt.where(waiting_clause())
    page = paginate(stmt, per_page=25, max_per_page=200)
    return render_template("queue.html", page=page, state=state, states=STATES, units=_visible_units(),
                           campaigns=campaigns_of(), batch_actions=BATCH_ACTIONS,
                           lateness=deadlines.lateness_days, today=clock.today())


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


# Recognition decisions -------------------------------------------------------------------------------------------

def _decision_campaign() -> Campaign:
    campaign = db.session.get(Campaign, int_arg("campaign") or 0)
    if campaign is None:
        options = [c for c in campaigns_of() if _final_units(c)]
        if not options:
            abort(403)
        campaign = options[0]
    return campaign


def _final_units(campaign: Campaign) -> list[Unit]:
    return [db.session.get(Unit, g.unit_id) for g in actor().grants if "final_approval" in acting_states(g, campaign)]


@bp.route("/decisions/new", methods=["GET", "POST"])
@roles_required("district_approver", "provincial_approver")
def new_decision():
    campaign = _decision_campaign()
    units = _final_units(campaign)
    if not units:
        abort(403)
    unit = units[0]
    stmt = (queries.applications(actor(), campaign_id=campaign.id, unit_id=unit.id,
                                 states=("final_approval", "recognised"))
            .where(Application.decision_id.is_(None)).limit(1000))
    candidates = list(db.session.scalars(stmt))
    form = {k: (request.form.get(k) or "").strip() for k in ("number", "signed_on", "signer")}
    error = None
    if request.method == "POST":
        ids = int_list("ids")
        try:
            signed_on = date.fromisoformat(form["signed_on"])
        except ValueError:
            signed_on = None
        if not form["number"] or not form["signer"] or signed_on is None:
            error = _("Enter the decision number, the signing date and the signer.")
        elif not ids:
            error = _("Select at least one application.")
        else:
            try:
                decision, outcomes = operations.create_decision(campaign, unit, actor(), form["number"], signed_on,
                                                                form["signer"], ids)
            except WorkflowError as exc:
                db.session.rollback()
                if exc.status == 404:
                    raise
                error = exc.message(locale())
            else:
                db.session.commit()
                refused = [o for o in outcomes if not o.ok]
                flash(_("Decision %(number)s recognises %(n)s applications.", number=decision.number,
                        n=len(outcomes) - len(refused)), "success")
                for o in refused:
                    flash(f"#{o.id}: {o.error.message(locale()) if o.error else ''}", "error")
                return redirect(url_for("review.decision", decision_id=decision.id))
        return render_template("decision_new.html", campaign=campaign, unit=unit, candidates=candidates, form=form,
                               error=error, campaigns=campaigns_of()), 422
    return render_template("decision_new.html", campaign=campaign, unit=unit, candidates=candidates, form=form,
                           error=error, campaigns=campaigns_of())


def _decision_or_404(decision_id: int) -> tuple[Decision, list[Application]]:
    decision = db.session.get(Decision, decision_id) or abort(404)
    unit = db.session.get(Unit, decision.unit_id)
    if not actor().covers(unit.path):
        abort(404)
    apps = list(db.session.scalars(queries.applications(actor()).where(Application.decision_id == decision.id)
                                   .order_by(None).order_by(Application.full_name_folded, Application.id)))
    return decision, apps


@bp.get("/decisions")
@login_required
def decisions():
    me = actor()
    from workflow.authz import visible_units_clause

    rows = list(db.session.scalars(select(Decision).join(Unit, Unit.id == Decision.unit_id)
                                   .where(visible_units_clause(me, Unit.path))
                                   .order_by(Decision.signed_on.desc(), Decision.id.desc()).limit(200)))
    return render_template("decisions.html", rows=rows, can_create=bool(me.roles() & {"district_approver",
                                                                                      "provincial_approver"}))


@bp.get(f"/decisions/<{ID}:decision_id>")
@login_required
def decision(decision_id: int):
    decision, apps = _decision_or_404(decision_id)
    return render_template("decision.html", decision=decision, apps=apps,
                           campaign=db.session.get(Campaign, decision.campaign_id))


def _decision_table(decision: Decision, apps: list[Application]) -> list[list[object]]:
    header = [_("No."), _("Full name"), _("Date of birth"), _("Citizen ID"), _("Unit"), _("Total score"),
              _("Decision"), _("Signed on")]
    rows: list[list[object]] = [header]
    for i, a in enumerate(apps, 1):
        rows.append([i, a.full_name, a.date_of_birth.strftime("%d/%m/%Y") if a.date_of_birth else "",
                     a.citizen_id or "", a.unit.name, a.score_total, decision.number,
                     decision.signed_on.strftime("%d/%m/%Y")])
    return rows


@bp.get(f"/decisions/<{ID}:decision_id>.csv")
@login_required
def decision_csv(decision_id: int):
    decision, apps = _decision_or_404(decision_id)
    return Response(csv_rows(_decision_table(decision, apps)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="quyet-dinh-{decision.id}.csv"'})


@bp.get(f"/decisions/<{ID}:decision_id>.xlsx")
@login_required
def decision_xlsx(decision_id: int):
    from openpyxl import Workbook

    decision, apps = _decision_or_404(decision_id)
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sach"
    ws.append([_("Recognition decision %(number)s, signed %(date)s by %(signer)s", number=decision.number,
                 date=format_date(decision.signed_on, "short"), signer=decision.signer)])
    for row in _decision_table(decision, apps):
        ws.append([v if isinstance(v, int) else csv_safe(v) for v in row])
    for col, width in zip("ABCDEFGH", (6, 28, 14, 16, 40, 10, 16, 12), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"quyết-định-{decision.number.replace('/', '-')}.xlsx")
