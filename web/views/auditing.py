"""The auditor's pages: one application's timeline, the global log with filters and CSV export, and the status
of the tamper-evident chain."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from workflow import clock, operations, queries
from workflow.authz import visible_units_clause
from workflow.db import db
from workflow.models import Application, AuditEvent, Unit, User

from ..i18n import ACTION_LABELS, STATE_LABELS
from ..wording import people
from .common import ID, actor, csv_rows, int_arg, roles_required

bp = Blueprint("auditing", __name__)
AUDIT_ROLES = queries.AUDIT_ROLES
LOG_ACTIONS = ("create", "evidence", "score", "submit", "approve", "return", "reject", "withdraw", "revoke",
               "decision")


@bp.get(f"/applications/<{ID}:application_id>/timeline")
@login_required
def timeline(application_id: int):
    app = operations.get_visible(application_id, actor())
    events = list(db.session.scalars(queries.history(app.id)))
    people(e.actor_id for e in events)
    return render_template("timeline.html", app=app, events=events, check=_file_check(app.id))


def _file_check(application_id: int):
    """This file's events against the sealed chain (workflow.audit.verify_application); None when the app has
    no chain key configured (nothing can be checked)."""
    from workflow import audit, auditkey

    try:
        return audit.verify_application(application_id)
    except auditkey.AuditKeyError:
        return None


def _day(name: str):
    """A day of the filters as typed (dd/mm/yyyy) or linked (YYYY-MM-DD); None when blank or not a date."""
    from workflow.inputs import parse_date

    return parse_date(request.args.get(name) or "")


def _filters() -> tuple[dict[str, Any], dict[str, Any]]:
    """The log's filters as the form shows them, and as workflow.queries.audit_log_query takes them."""
    filters = {"unit": int_arg("unit"), "actor": (request.args.get("actor") or "").strip(),
               "action": request.args.get("action") or "", "from": _day("from"), "to": _day("to")}
    for name in ("from", "to"):  # a day that is no date: said beside its field, the log is not filtered by it
        typed = (request.args.get(name) or "").strip()
        if typed and filters[name] is None:
            filters[f"{name}_text"] = typed
            filters[f"{name}_error"] = _("Enter a real date as dd/mm/yyyy, for example 01/12/2026.")
    given = {"unit_id": filters["unit"], "actor_name": filters["actor"] or None,
             "action": filters["action"] if filters["action"] in LOG_ACTIONS else None,
             "since": datetime.combine(filters["from"], time(), clock.VN) if filters["from"] else None,
             "until": (datetime.combine(filters["to"] + timedelta(days=1), time(), clock.VN)
                       if filters["to"] else None)}
    # A search by name (ignoring diacritics and case) or CCCD prefix: the matching files within the auditor's
    # units first (at most queries.SEARCH_CAP of them, said so past it), then their events.
    filters["q"] = (request.args.get("q") or "").strip()[:100]
    if filters["q"]:
        given["application_ids"], filters["q_capped"] = queries.audit_search_ids(actor(), filters["q"], AUDIT_ROLES)
    return filters, given


def _names(application_ids: set[int]) -> dict[int, tuple[str | None, str]]:
    """(full name, unit name) of the listed events' applications: one primary-key lookup per file shown."""
    return {i: (n, u) for i, n, u in db.session.execute(
        select(Application.id, Application.full_name, Unit.name).join(Unit, Unit.id == Application.unit_id)
        .where(Application.id.in_(application_ids)))}


@bp.get("/audit/log")
@roles_required(*AUDIT_ROLES)
def log():
    """Newest first, 50 a page, reached by cursors (?before= the last id seen, ?after= the first) rather than page
    numbers: over millions of events an OFFSET reads every row it skips and an exact count reads them all. The
    count is exact up to queries.LOG_COUNT_CAP and otherwise said to be "more than" on the page."""
    me = actor()
    whole = queries.covers_every_province(me, AUDIT_ROLES)
    filters, given = _filters()
    page = queries.audit_log_page(me, AUDIT_ROLES, before=int_arg("before"), after=int_arg("after"),
                                  per_page=int_arg("per_page", 50, minimum=1, maximum=200), whole_trail=whole,
                                  **given)
    names = _names({e.application_id for e in page.items})
    people(e.actor_id for e in page.items)  # the full names shown in "Who", in one query
    # The unit filter offers the province and its communes (a province has a thousand branches: a branch is still
    # a valid ?unit=, and stays selected when it is the one filtered on).
    units = db.session.execute(
        select(Unit.id, Unit.name).where(visible_units_clause(me, Unit.path, roles=AUDIT_ROLES),
                                         (Unit.level != "branch") | (Unit.id == (filters["unit"] or 0)))
        .order_by(Unit.path).limit(500)).all()
    actors = queries.audit_actor_names(me, AUDIT_ROLES, whole_trail=whole)  # only those who acted within my units
    query = {k: v for k, v in request.args.to_dict().items() if k not in ("before", "after", "page")}
    return render_template("audit_log.html", page=page, names=names, filters=filters, units=units, actors=actors,
                           actions=LOG_ACTIONS, query=query, cap=format_number(queries.LOG_COUNT_CAP),
                           search_cap=format_number(queries.SEARCH_CAP))


CSV_ROWS = 100_000


def _csv_time(value: datetime) -> str:
    """Vietnam time as dd/mm/yyyy HH:mm:ss (Asia/Ho_Chi_Minh is UTC+7 all year), a hundred times cheaper than
    format_datetime: an export formats up to CSV_ROWS of them."""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(clock.VN).strftime("%d/%m/%Y %H:%M:%S")


@bp.get("/audit/log.csv")
@roles_required(*AUDIT_ROLES)
def log_csv():
    """The filtered log, newest first, up to CSV_ROWS events, read a thousand at a time along the key."""
    me = actor()
    stmt = queries.audit_log_query(me, AUDIT_ROLES, whole_trail=queries.covers_every_province(me, AUDIT_ROLES),
                                   **_filters()[1])
    # In the reader's language, with labels and names (issue 13): the account column keeps the username the
    # trail recorded (and hashed), beside the person's full name.
    header = [_("Event no."), _("Time"), _("Person"), _("Account"), _("Action"), _("From state"), _("To state"),
              _("Application no."), _("Name"), _("Unit"), _("Reason")]
    columns = (AuditEvent.id, AuditEvent.created_at, User.full_name, AuditEvent.actor_name, AuditEvent.action,
               AuditEvent.from_state, AuditEvent.to_state, AuditEvent.application_id, Application.full_name,
               Unit.name, AuditEvent.reason)
    actions = {code: str(label) for code, label in ACTION_LABELS.items()}
    states = {code: str(label) for code, label in STATE_LABELS.items()}

    def rows():
        yield header
        before, left = None, CSV_ROWS
        while left > 0:  # a thousand at a time along the key: each chunk is one index range, as a page is
            window = stmt if before is None else stmt.where(AuditEvent.id < before)
            ids = window.with_only_columns(AuditEvent.id).limit(min(1000, left)).subquery()
            chunk = db.session.execute(
                select(*columns).join(Application, Application.id == AuditEvent.application_id)
                .join(Unit, Unit.id == Application.unit_id).outerjoin(User, User.id == AuditEvent.actor_id)
                .where(AuditEvent.id.in_(select(ids.c.id))).order_by(AuditEvent.id.desc())).all()
            if not chunk:
                return
            for (eid, created_at, person, account, action, from_state, to_state, application_id, name, unit,
                 reason) in chunk:
                yield [eid, _csv_time(created_at), person or account, account, actions.get(action, action),
                       states.get(from_state, from_state or ""),
                       states.get(to_state, to_state or "") if to_state != from_state else "", application_id,
                       name, unit, reason]
            before, left = chunk[-1][0], left - len(chunk)

    return Response(csv_rows(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-kiem-toan.csv"'})


@bp.get("/audit/chain")
@roles_required(*AUDIT_ROLES)
def chain():
    return render_template("audit_chain.html", report=queries.audit_status(actor(), AUDIT_ROLES),
                           cap=format_number(queries.COUNT_CAP))
