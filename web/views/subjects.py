"""Households, clans and organisations with their members (issue 14): registered by the branch or the commune,
every change audited (workflow/subjects.py); and the list behind a counted criterion, so the appraiser sees who is
counted and who holds the title."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import or_, select

from workflow import clock, counting, operations, subjects
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.declared import typed_form
from workflow.errors import WorkflowError
from workflow.models import Application, Collective, Membership, Unit
from workflow.rubrics import spec

from ..i18n import locale
from .common import ID, actor

bp = Blueprint("subjects", __name__)
KINDS = ("household", "clan", "organisation")


def _reach_paths() -> list[str]:
    return subjects.reach_paths(actor())


def _places() -> list[Unit]:
    """Where a collective may be registered: the communes and villages within reach."""
    paths = _reach_paths()
    if not paths:
        return []
    return list(db.session.scalars(select(Unit).where(
        Unit.level.in_(("commune", "village")), or_(*[Unit.path.startswith(p) for p in paths]))
        .order_by(Unit.path)))


def _visible(collective_id: int) -> Collective:
    row = db.session.get(Collective, collective_id)
    if row is None or not any(row.unit.path.startswith(p) for p in _reach_paths()):
        abort(404)
    return row


def _errors(exc: WorkflowError) -> dict[str, str]:
    if isinstance(exc, InvalidInput):
        return exc.field_messages(locale())
    field = str(exc.params.get("field") or "_")
    return {field: exc.message(locale())}


@bp.route("/collectives", methods=["GET", "POST"])
@login_required
def index():
    kind = request.values.get("kind") if request.values.get("kind") in KINDS else "household"
    paths = _reach_paths()
    if not paths:
        abort(403)
    form = {k: (request.form.get(k) or "").strip() for k in ("name", "unit_id", "head_citizen_id", "org_type")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = typed_form({k: v for k, v in form.items() if v}, ints={"unit_id"}) | {"kind": kind}
        try:
            row = subjects.create_collective(actor(), parse(subjects.CollectiveInput, data))
        except WorkflowError as exc:
            db.session.rollback()
            if exc.status not in (404, 422):
                raise
            errors = _errors(exc) if exc.status == 422 else {"unit_id": _("Choose a place.")}
        else:
            db.session.commit()
            flash(_("%(name)s has been registered. Now add its members.", name=row.name), "success")
            return redirect(url_for("subjects.detail", collective_id=row.id))
    q = (request.args.get("q") or "").strip()
    stmt = (select(Collective).join(Unit, Unit.id == Collective.unit_id)
            .where(Collective.kind == kind, or_(*[Unit.path.startswith(p) for p in paths])))
    if q:
        from workflow.text import fold

        stmt = stmt.where(Collective.name_folded.contains(fold(q)))
    rows = list(db.session.scalars(stmt.order_by(Collective.name_folded).limit(200)))
    places = [u for u in _places() if kind != "household" or u.level == "village"]
    return render_template("collectives.html", kind=kind, rows=rows, places=places, form=form, errors=errors,
                           q=q), 422 if errors else 200


@bp.route(f"/collectives/<{ID}:collective_id>", methods=["GET", "POST"])
@login_required
def detail(collective_id: int):
    group = _visible(collective_id)
    form = {k: (request.form.get(k) or "").strip() for k in
            ("member_citizen_id", "member_name", "member_collective_id", "joined_on", "left_on")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = typed_form({k: v for k, v in form.items() if v}, ints={"member_collective_id"},
                          dates={"joined_on", "left_on"}) | {"collective_id": group.id}
        try:
            subjects.add_member(actor(), parse(subjects.MembershipInput, data))
        except WorkflowError as exc:
            db.session.rollback()
            if exc.status not in (403, 404, 422):
                raise
            errors = _errors(exc) if exc.status == 422 else {"_": exc.message(locale())}
        else:
            db.session.commit()
            flash(_("The member has been added."), "success")
            return redirect(url_for("subjects.detail", collective_id=group.id))
    members = list(db.session.scalars(select(Membership).where(Membership.collective_id == group.id)
                                      .order_by(Membership.left_on.is_not(None), Membership.member_name,
                                                Membership.id)))
    households = (subjects.collectives_of("household", group.unit) if subjects.MEMBER_KINDS.get(group.kind)
                  == "household" else [])
    files = list(db.session.scalars(select(Application).where(Application.collective_id == group.id)
                                    .order_by(Application.id.desc())))
    return render_template("collective.html", group=group, members=members, households=households,
                           files=[f for f in files if actor().covers(f.unit.path)], form=form, errors=errors,
                           member_kind=subjects.MEMBER_KINDS.get(group.kind), today=clock.today()), \
        422 if errors else 200


@bp.post(f"/collectives/<{ID}:collective_id>/members/<{ID}:membership_id>/end")
@login_required
def end(collective_id: int, membership_id: int):
    group = _visible(collective_id)
    row = db.session.get(Membership, membership_id)
    if row is None or row.collective_id != group.id:
        abort(404)
    raw = typed_form({"left_on": (request.form.get("left_on") or "").strip()}, dates={"left_on"})
    left_on = raw.get("left_on") if isinstance(raw.get("left_on"), date) else clock.today()
    try:
        subjects.end_member(actor(), row.id, left_on)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message(locale()), "error")
    else:
        db.session.commit()
        flash(_("The membership ends on %(day)s.", day=left_on.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("subjects.detail", collective_id=group.id))


@bp.get(f"/applications/<{ID}:application_id>/counted/<criterion>")
@login_required
def counted(application_id: int, criterion: str):
    """The list behind a counted criterion: every member counted on the day, and whether each holds the title."""
    try:
        app = operations.get_visible(application_id, actor())
    except WorkflowError:
        abort(404)
    figures = counting.for_application(app)
    figure = figures.get(criterion) or abort(404)
    rows = counting.members_list(app.subject_key, figure.members_kind, figure.counts, clock.today())
    return render_template("counted.html", app=app, figure=figure, criterion=spec(app.rubric_id).criterion(criterion),
                           rows=rows,
                           today=clock.today())


@bp.route("/collectives/import", methods=["GET", "POST"])
@login_required
def import_members():
    """Households, clans and organisations with their members from a spreadsheet: a dry run first (the default),
    then the same file stored; every problem named with its line, nothing stored while one remains."""
    from workflow import memberships_import

    if not _reach_paths():
        abort(403)
    report = None
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.read(5_000_001) if upload else b""
        report = memberships_import.import_members(actor(), data, upload.filename if upload else "",
                                                   dry_run=request.form.get("store") != "1")
        if report.ok and not report.dry_run:
            db.session.commit()
            flash(_("%(c)s registered, %(m)s members added.", c=report.collectives, m=report.members), "success")
            return redirect(url_for("subjects.index"))
        db.session.rollback()
    return render_template("collectives_import.html", report=report,
                           headers=memberships_import.TEMPLATE_HEADERS), 422 if report and not report.ok else 200
