"""The auditor's pages: one application's timeline, the global log with filters and CSV export, and the status
of the tamper-evident chain."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, Response, render_template, request
from flask_babel import format_datetime
from flask_login import login_required
from sqlalchemy import select

from workflow import clock, operations, queries
from workflow.authz import visible_units_clause
from workflow.db import db
from workflow.models import Application, AuditEvent, Unit

from .common import ID, actor, csv_rows, int_arg, paginate, roles_required

bp = Blueprint("auditing", __name__)
AUDIT_ROLES = queries.AUDIT_ROLES
LOG_ACTIONS = ("create", "evidence", "score", "submit", "approve", "return", "reject", "withdraw", "revoke",
               "decision")


@bp.get(f"/applications/<{ID}:application_id>/timeline")
@login_required
def timeline(application_id: int):
    app = operations.get_visible(application_id, actor())
    events = list(db.session.scalars(queries.history(app.id)))
    return render_template("timeline.html", app=app, events=events)


def _day(name: str):
    from datetime import date

    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _log_query():
    me = actor()
    stmt = (select(AuditEvent, Application.full_name, Unit.name)
            .join(Application, Application.id == AuditEvent.application_id)
            .join(Unit, Unit.id == Application.unit_id)
            .where(visible_units_clause(me, Unit.path, roles=AUDIT_ROLES))
            .order_by(AuditEvent.id.desc()))
    filters = {"unit": int_arg("unit"), "actor": (request.args.get("actor") or "").strip(),
               "action": request.args.get("action") or "", "from": _day("from"), "to": _day("to")}
    if filters["unit"]:
        sub = select(Unit.path).where(Unit.id == filters["unit"]).scalar_subquery()
        stmt = stmt.where(Unit.path.startswith(sub))
    if filters["actor"]:
        stmt = stmt.where(AuditEvent.actor_name == filters["actor"])
    if filters["action"] in LOG_ACTIONS:
        stmt = stmt.where(AuditEvent.action == filters["action"])
    if filters["from"]:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(filters["from"], time(), clock.VN))
    if filters["to"]:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(filters["to"] + timedelta(days=1), time(),
                                                                   clock.VN))
    return stmt, filters


@bp.get("/audit/log")
@roles_required(*AUDIT_ROLES)
def log():
    stmt, filters = _log_query()
    page = paginate(stmt.with_only_columns(AuditEvent), per_page=50, max_per_page=200)
    ids = {e.application_id for e in page.items}
    names = {i: (n, u) for i, n, u in db.session.execute(
        select(Application.id, Application.full_name, Unit.name).join(Unit, Unit.id == Application.unit_id)
        .where(Application.id.in_(ids)))}
    me = actor()
    units = list(db.session.scalars(select(Unit).where(visible_units_clause(me, Unit.path, roles=AUDIT_ROLES))
                                    .order_by(Unit.path).limit(500)))
    actors = queries.audit_actor_names(me, AUDIT_ROLES)  # only those who acted within my units
    return render_template("audit_log.html", page=page, names=names, filters=filters, units=units, actors=actors,
                           actions=LOG_ACTIONS, query=request.args.to_dict())


@bp.get("/audit/log.csv")
@roles_required(*AUDIT_ROLES)
def log_csv():
    stmt, _filters = _log_query()
    header = ["event_id", "time", "actor", "action", "from_state", "to_state", "application_id", "name", "unit",
              "reason"]

    def rows():
        yield header
        for event, name, unit in db.session.execute(stmt.limit(100_000)):
            yield [event.id, format_datetime(event.created_at, "yyyy-MM-dd HH:mm:ss"), event.actor_name,
                   event.action, event.from_state, event.to_state, event.application_id, name, unit, event.reason]

    return Response(csv_rows(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-kiem-toan.csv"'})


@bp.get("/audit/chain")
@roles_required(*AUDIT_ROLES)
def chain():
    return render_template("audit_chain.html", report=queries.audit_status(actor(), AUDIT_ROLES))
